"""Release tests read the pinned files from the reference mirror, with a private user cache."""

from __future__ import annotations

import importlib
import importlib.util
from pathlib import Path
from types import ModuleType

import pytest

from nodesynth_common.assets import MIRROR_ENV

ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture
def mirror(reference_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv(MIRROR_ENV, str(reference_dir))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    return reference_dir


def cli_module(name: str) -> ModuleType:
    """nodesynth_tasks.cli.<name>; loaded from its file while `nodesynth_tasks.cli` is still a module, not a package."""
    try:
        return importlib.import_module(f"nodesynth_tasks.cli.{name}")
    except ModuleNotFoundError:
        spec = importlib.util.spec_from_file_location(f"_cli_{name}", ROOT / "nodesynth_tasks" / "cli" / f"{name}.py")
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return module
