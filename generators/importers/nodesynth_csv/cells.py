"""Reading one cell of the release: Python-literal list cells, labels, L3 keyterms, the modality.

List-valued cells are Python-literal strings ("['Ghana', 'Norway']"), parsed with
`ast.literal_eval` only (never `eval`); a cell that is not a list literal falls back to plain
text, and the caller is told so it can count the fallback in the manifest notes.
"""

from __future__ import annotations

import ast
import re
from collections import Counter
from collections.abc import Iterable
from typing import Any

# Values the release's extraction step writes when it found nothing; they are not data.
PLACEHOLDERS = frozenset(
    {
        "n/a", "na", "n.a", "none", "null", "nan", "nil", "unknown", "unspecified", "not specified",
        "not applicable", "not available", "not mentioned", "not stated", "not reported",
        "not provided", "various", "-", "--", "?",
    }
)
PLACEHOLDER_PREFIXES = ("not specified", "not mentioned", "not stated", "not reported", "none specified")

# An L3 cell longer than this, or spread over lines, is raw model output rather than keyterms
# (the authors' medical xlsx has such cells); it cannot be a node label.
MAX_L3_CHARS = 300
MAX_L3_TERMS = 10

WORD = re.compile(r"[^\W_]+")

_MEDIA = {
    "text": "text", "txt": "text", "chat": "text",
    "image": "image", "images": "image", "img": "image", "picture": "image", "photo": "image",
    "video": "video", "videos": "video", "vid": "video",
    "audio": "audio", "speech": "audio", "sound": "audio",
}
_MEDIA_SHORT = {"t2t": "text", "t2i": "image", "t2v": "video", "t2a": "audio"}


class _NotLiteral:
    """Sentinel: the cell is not a Python literal at all."""


_NOT_LITERAL = _NotLiteral()


def squash(value: object) -> str:
    """Collapse runs of whitespace (the cells carry newlines and double spaces from model text)."""
    return " ".join(str(value).split())


def clean_item(value: object) -> str:
    """One list item as clean text: no stray quotes, bullets or separators at either end."""
    return squash(value).strip(" \t\"'“”‘’*•;,")


def is_placeholder(text: str) -> bool:
    """True for empty cells and the 'not specified' kind of filler, which carry no information."""
    key = re.sub(r"[\s.;:,!]+$", "", text.casefold()).strip()
    if not WORD.search(key):
        return True
    return key in PLACEHOLDERS or key.startswith(PLACEHOLDER_PREFIXES)


def dedupe(items: Iterable[str]) -> list[str]:
    """Drop repeats (case-insensitively), keeping the first spelling and the order."""
    seen: set[str] = set()
    kept: list[str] = []
    for item in items:
        key = item.casefold()
        if key not in seen:
            seen.add(key)
            kept.append(item)
    return kept


def _flatten(value: Any, depth: int = 0) -> list[Any]:
    if isinstance(value, (list, tuple)) and depth < 4:
        return [leaf for item in value for leaf in _flatten(item, depth + 1)]
    return [value]


def _literal(text: str) -> Any:
    """The Python literal `text` spells, or the sentinel; `literal_eval` never runs code."""
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        return _NOT_LITERAL


def parse_list_cell(raw: str, *, plain_separators: str = r"[;\n]") -> tuple[list[str], str | None]:
    """Read a list-valued cell; returns (items, what fell back or None).

    `ast.literal_eval` only evaluates literals, so a cell holding code is a parse error here and
    is then read as text, never run. Items are returned raw (not yet cleaned or deduplicated), so
    callers can still count repeats, e.g. of a country.
    """
    text = raw.strip()
    if not text:
        return [], None
    value = _literal(text)
    if isinstance(value, (list, tuple)):
        return [str(item) for item in _flatten(value) if item is not None], None
    if isinstance(value, str):
        return [value], "a string literal, not a list; read as one item"
    if not isinstance(value, _NotLiteral):
        return [text], f"a {type(value).__name__} literal, not a list; read as text"
    if text.startswith("["):
        # a list literal cut short or with a stray quote: keep the items that are still quoted
        quoted = re.findall(r"'((?:[^'\\]|\\.)*)'|\"((?:[^\"\\]|\\.)*)\"", text)
        items = [single or double for single, double in quoted]
        if items:
            return items, "a broken list literal; its quoted items were kept"
        return text.strip("[]").split(","), "a broken list literal; split on commas"
    # Plain text: semicolons and newlines separate items in the release's own text, commas do not
    # reliably ("Jewish and Roma peoples, Yazidi" vs "Korea, Republic of"), so commas are kept.
    return re.split(plain_separators, text), "not a list literal; read as plain text"


def clean_list(items: Iterable[str]) -> list[str]:
    """Clean items, drop empties and placeholders, keep order; repeats are kept (see dedupe)."""
    cleaned = (clean_item(item) for item in items)
    return [item for item in cleaned if not is_placeholder(item)]


def most_frequent(items: list[str]) -> str | None:
    """The most frequent item (case-insensitively); ties go to the one listed first."""
    if not items:
        return None
    counts = Counter(item.casefold() for item in items)
    best = max(counts.values())
    return next(item for item in items if counts[item.casefold()] == best)


def clean_label(raw: str) -> str:
    """A taxonomy or user-group label without the export's artefacts.

    The release has "Researchers;" beside "Researchers", "Rituals , Traditional crafts" and the
    truncated "conflict)"; left alone these would split one node or group into two.
    """
    text = squash(raw)
    text = re.sub(r"\s+([,;:)\]])", r"\1", text)
    text = text.strip(" ;,:'\"*“”")
    while text.endswith(")") and text.count(")") > text.count("("):
        text = text[:-1].rstrip(" ;,:")
    while text.startswith("(") and text.count("(") > text.count(")"):
        text = text[1:].lstrip()
    return text


def l3_terms(raw: str) -> tuple[list[str], str | None]:
    """The L3 keyterms of a level3 cell ("Lifestyle, Genetics, Environment"), or why there are none."""
    text = raw.strip()
    if not text:
        return [], None
    if "\n" in text or len(text) > MAX_L3_CHARS:
        return [], "level3 is raw model output, not keyterms; the row is imported at depth 2"
    value = _literal(text)
    parts = [str(item) for item in _flatten(value)] if isinstance(value, (list, tuple)) else re.split(r"[,;]", text)
    terms = dedupe(term for term in (clean_label(part) for part in parts) if not is_placeholder(term))
    if len(terms) > MAX_L3_TERMS:
        return [], f"level3 has {len(terms)} terms, not a keyterm set; the row is imported at depth 2"
    return terms, None


def normalise_modality(raw: str) -> tuple[str, str | None]:
    """'text-to-image' and friends ('Text to Image', 'text2image', 't2i', 'image'), or why not."""
    text = raw.strip().casefold()
    if not text:
        return "text-to-text", "empty; text-to-text assumed"
    compact = re.sub(r"[^a-z0-9]", "", text)
    if compact in _MEDIA_SHORT:
        return f"text-to-{_MEDIA_SHORT[compact]}", None
    media = [_MEDIA[word] for word in re.findall(r"[a-z]+", text) if word in _MEDIA]
    if not media:
        return squash(raw), "not a modality this project knows; kept as written"
    # "text to image": the medium named last is the one the model must produce
    return f"text-to-{media[-1]}", None
