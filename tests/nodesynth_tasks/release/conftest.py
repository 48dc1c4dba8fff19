"""Release tests read the pinned files from the reference mirror, with a private user cache."""

from __future__ import annotations

from pathlib import Path

import pytest

from nodesynth_common.assets import MIRROR_ENV

ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture
def mirror(reference_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv(MIRROR_ENV, str(reference_dir))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    return reference_dir
