"""The importer's one user-facing error."""

from __future__ import annotations

from nodesynth_common.errors import NodeSynthError


class ReleaseImportError(NodeSynthError):
    """A file the importer cannot use; the message is one sentence naming the file (and column)."""
