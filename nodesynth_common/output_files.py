"""Output paths: checked before any work starts, and written whole.

A command checks every path it will write before its first model call, so a typo in `-o` costs
nothing; `OutputPathError` says in one sentence what is there and which flag to change. Files
are written through a uniquely named temporary file in the same folder and renamed into place,
so a reader (or a second writer racing the first) sees the old file or a whole new one.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO

from .errors import NodeSynthError


class OutputPathError(NodeSynthError):
    """An output path the tool will not write; names what is there and the flag to change."""


def check_parents(path: Path, flag: str) -> None:
    """Refuse a path whose folders cannot be made: an ancestor that is a file, or not writable."""
    path = Path(path)
    for parent in reversed(path.parents):
        if parent.exists() and not parent.is_dir():
            raise OutputPathError(f"{flag} {path}: {parent} is a file, not a folder; choose another {flag}.")
    existing = next((parent for parent in path.parents if parent.exists()), Path("."))
    if not os.access(existing, os.W_OK | os.X_OK):
        raise OutputPathError(f"{flag} {path}: cannot write in {existing} (permission denied); choose another {flag}.")


def check_output_file(path: Path, flag: str, *, overwrite: bool = True) -> Path:
    """The path of a file a command will write, refused now if it cannot be.

    Args:
      path: The file to write.
      flag: The option that named it (`-o`, `--tables`), for the message.
      overwrite: False for a file a person may have edited (a review sheet): an existing one is refused.
    """
    path = Path(path)
    if path.is_dir():
        raise OutputPathError(f"{flag} {path}: is a folder; give a file name (e.g. {path / 'out'}{path.suffix}).")
    check_parents(path, flag)
    if not overwrite and path.exists():
        raise OutputPathError(f"{flag} {path}: already exists and may hold someone's work; choose another {flag} or pass --force.")
    return path


def check_output_folder(path: Path, flag: str) -> Path:
    """The path of a folder a command will write files into (created if absent), refused now if it cannot be."""
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise OutputPathError(f"{flag} {path}: is a file, not a folder; choose another {flag}.")
    check_parents(path, flag)
    return path


@contextmanager
def open_atomic(path: Path, *, encoding: str = "utf-8", newline: str | None = None) -> Iterator[IO[str]]:
    """A text handle whose content replaces `path` only when the block ends without an error."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding=encoding, newline=newline) as handle:
            yield handle
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def write_text_atomic(path: Path, text: str, *, encoding: str = "utf-8") -> None:
    """Write a file so a reader sees the old file or the new one, never half of one."""
    with open_atomic(path, encoding=encoding) as handle:
        handle.write(text)
