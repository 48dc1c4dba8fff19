"""Importers: turn datasets released elsewhere into the same artifact a `nodesynth build` writes."""

from __future__ import annotations

from .nodesynth_csv import ImportResult, ReleaseImportError, import_nodesynth_csv

__all__ = ["ReleaseImportError", "ImportResult", "import_nodesynth_csv"]
