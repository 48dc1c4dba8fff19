"""A local evidence corpus: a folder of documents with optional metadata, split into passages.

Documents are `.txt`, `.md` and `.html`/`.htm` files anywhere under the folder (names starting
with `.` or `_` are skipped). Metadata (title, url, date) comes from, in order of precedence:

1. a sidecar `metadata.yaml` in the corpus root, mapping a document's relative path to fields;
2. YAML front matter at the top of a `.txt`/`.md` file (`---` ... `---`);
3. an HTML document's `<title>`, `<link rel="canonical">` and `<meta name="date">`;
4. the file name (as the title) when nothing else is given.
"""

from __future__ import annotations

import hashlib
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from nodesynth_common.errors import NodeSynthError

from ..records import Source, content_id

DOCUMENT_SUFFIXES = (".txt", ".md", ".html", ".htm")
SIDECAR = "metadata.yaml"
# Passages are about a paragraph: short enough for a small model's context, long enough to quote.
PASSAGE_WORDS = 120

_FRONT_MATTER = re.compile(r"\A---[ \t]*\r?\n(.*?)\r?\n---[ \t]*(?:\r?\n|\Z)", re.DOTALL)
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9\"'“(])")


class CorpusError(NodeSynthError):
    """A corpus that cannot be used; the message is one sentence naming the directory or file."""


class DocumentMeta(BaseModel):
    """The metadata a document may carry."""

    model_config = ConfigDict(extra="ignore")

    title: str | None = None
    url: str | None = None
    date: str | None = None


class Document(BaseModel):
    """One corpus document: its source record and its plain text."""

    source: Source
    path: str = Field(description="path relative to the corpus root")
    text: str


class Passage(BaseModel):
    """A retrievable piece of a document (or of a web search result), with where it came from."""

    id: str
    source: Source
    text: str
    score: float = 0.0


@dataclass(frozen=True)
class CorpusFile:
    path: str  # a str, not a Path: building 10,000 Path objects is a measurable part of opening a corpus
    relative: str
    mtime_ns: int
    size: int


def resolve_corpus_dir(corpus: str | Path, spec_path: Path | None = None) -> Path:
    """The corpus folder for a path given in a spec or on the command line.

    A relative path is tried against the working directory first, then against the spec file's
    folder and each folder above it, so `datasets/corpus/x` in a shipped spec works from the
    project root and from anywhere else.
    """
    path = Path(corpus).expanduser()
    if path.is_absolute():
        return path
    candidates = [Path.cwd() / path]
    if spec_path is not None:
        folder = spec_path.resolve().parent
        candidates += [folder / path, *(parent / path for parent in folder.parents)]
    return next((candidate for candidate in candidates if candidate.is_dir()), path)


def list_corpus(root: Path) -> list[CorpusFile]:
    """The corpus's document files, sorted; raises CorpusError for a missing or empty folder."""
    if not root.exists():
        raise CorpusError(f"{root}: no such corpus directory.")
    if not root.is_dir():
        raise CorpusError(f"{root}: the corpus must be a directory of .txt, .md or .html documents.")
    # os.walk with DirEntry stats: several times faster than Path.rglob + stat on a large corpus
    files = []
    prefix = len(str(root)) + 1
    for folder, subfolders, _ in os.walk(root):
        subfolders[:] = sorted(d for d in subfolders if not d.startswith((".", "_")))
        for entry in os.scandir(folder):
            name = entry.name
            if name.startswith((".", "_")) or not name.lower().endswith(DOCUMENT_SUFFIXES) or not entry.is_file():
                continue
            stat = entry.stat()
            files.append(CorpusFile(entry.path, entry.path[prefix:].replace(os.sep, "/"), stat.st_mtime_ns, stat.st_size))
    files.sort(key=lambda file: file.relative)
    if not files:
        raise CorpusError(f"{root}: the corpus directory has no .txt, .md or .html documents.")
    return files


def fingerprint(root: Path, files: list[CorpusFile], *, salt: str = "") -> str:
    """A hash of the documents' names, mtimes and sizes (and the sidecar's): changes when the folder does."""
    digest = hashlib.sha256(salt.encode())
    sidecar = root / SIDECAR
    entries = [(f.relative, f.mtime_ns, f.size) for f in files]
    if sidecar.is_file():
        stat = sidecar.stat()
        entries.append((SIDECAR, stat.st_mtime_ns, stat.st_size))
    for entry in entries:
        digest.update(repr(entry).encode())
    return digest.hexdigest()[:20]


def read_sidecar(root: Path) -> dict[str, DocumentMeta]:
    path = root / SIDECAR
    if not path.is_file():
        return {}
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        if not isinstance(data, dict):
            raise CorpusError(f"{path}: expected a mapping of document path -> {{title, url, date}}.")
        return {str(name): DocumentMeta.model_validate(fields or {}) for name, fields in data.items()}
    except (yaml.YAMLError, ValidationError) as error:
        raise CorpusError(f"{path}: not valid corpus metadata ({str(error).splitlines()[0]}).") from None


def split_front_matter(text: str) -> tuple[dict[str, Any], str]:
    """YAML front matter (if any) and the rest of the text."""
    match = _FRONT_MATTER.match(text)
    if not match:
        return {}, text
    try:
        data = yaml.safe_load(match.group(1))
    except yaml.YAMLError:
        return {}, text
    return (data if isinstance(data, dict) else {}), text[match.end() :]


def html_to_text(html: str) -> tuple[dict[str, Any], str]:
    """The visible text of an HTML page, one block per line, and the metadata its head gives."""
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(html, "html.parser")
    meta: dict[str, Any] = {}
    if soup.title and soup.title.string:
        meta["title"] = soup.title.string.strip()
    canonical = soup.find("link", rel="canonical")
    if canonical is not None and canonical.get("href"):
        meta["url"] = canonical["href"]
    for name in ("url", "og:url", "date", "dc.date", "article:published_time"):
        tag = soup.find("meta", attrs={"name": name}) or soup.find("meta", attrs={"property": name})
        if tag is not None and tag.get("content"):
            meta.setdefault("url" if name.endswith("url") else "date", tag["content"])
    for tag in soup(["script", "style", "noscript", "head", "nav", "footer"]):
        tag.decompose()
    blocks = [" ".join(line.split()) for line in soup.get_text("\n").splitlines()]
    return meta, "\n\n".join(block for block in blocks if block)


def read_document(file: CorpusFile, sidecar: dict[str, DocumentMeta]) -> Document:
    path = Path(file.path)
    try:
        raw = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise CorpusError(f"{path}: cannot read this corpus document ({error}).") from None
    if path.suffix.lower() in (".html", ".htm"):
        found, text = html_to_text(raw)
    else:
        found, text = split_front_matter(raw)
        text = re.sub(r"^#{1,6}\s+", "", text, flags=re.MULTILINE)  # markdown headings read as plain lines
    meta = DocumentMeta.model_validate({k: str(v) for k, v in found.items() if v is not None})
    side = sidecar.get(file.relative)
    if side is not None:
        meta = meta.model_copy(update=side.model_dump(exclude_none=True))
    title = meta.title or path.stem.replace("_", " ").replace("-", " ").strip().capitalize()
    source = Source(
        id="doc-" + content_id(file.relative, length=10),
        title=title,
        url=meta.url,
        date=meta.date,
        retriever="corpus",
    )
    return Document(source=source, path=file.relative, text=text.strip())


def split_passages(document: Document, max_words: int = PASSAGE_WORDS) -> list[Passage]:
    """Paragraphs, with long ones cut at sentence ends into pieces of about `max_words` words."""
    passages: list[Passage] = []
    for paragraph in re.split(r"\n\s*\n", document.text):
        paragraph = " ".join(paragraph.split())
        if not paragraph:
            continue
        piece: list[str] = []
        for sentence in _SENTENCE_END.split(paragraph):
            if piece and len(" ".join([*piece, sentence]).split()) > max_words:
                passages.append(_passage(document, " ".join(piece), len(passages)))
                piece = []
            piece.append(sentence)
        if piece:
            passages.append(_passage(document, " ".join(piece), len(passages)))
    return passages


def _passage(document: Document, text: str, index: int) -> Passage:
    return Passage(id=f"{document.source.id}#{index}", source=document.source, text=text)


def load_documents(root: Path) -> list[Document]:
    """Every document of the corpus, read and with its metadata."""
    files = list_corpus(root)
    sidecar = read_sidecar(root)
    return [read_document(file, sidecar) for file in files]
