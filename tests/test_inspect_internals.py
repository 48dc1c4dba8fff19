"""The private Inspect names we rely on are still where nodesynth_common.inspect_internals says.

If this fails after an Inspect upgrade, the message names the symbol that moved: find its new
home (or a public replacement) and update nodesynth_common/inspect_internals.py.
"""

from __future__ import annotations

import importlib

import pytest

PRIVATE = [
    ("inspect_ai._util.error", "PrerequisiteError"),
    ("inspect_ai._util._async", "run_coroutine"),
    ("inspect_ai._util.async_zip", "AsyncZipReader"),
    ("inspect_ai._util.asyncfiles", "AsyncFilesystem"),
    ("inspect_ai.log._recorders.eval", "HEADER_JSON"),
    ("inspect_ai.log._recorders.eval", "SUMMARIES_JSON"),
    ("inspect_ai.log._transcript", "init_transcript"),
    ("inspect_ai.hooks._startup", "init_hooks"),
]


@pytest.mark.parametrize(("module", "name"), PRIVATE)
def test_private_inspect_symbol_is_where_we_import_it(module: str, name: str) -> None:
    try:
        found = importlib.import_module(module)
    except ImportError as error:  # pragma: no cover - only after an Inspect upgrade
        pytest.fail(f"Inspect moved module {module} (needed for {name}): {error}")
    assert hasattr(found, name), f"Inspect no longer has {module}.{name}: update nodesynth_common/inspect_internals.py"


def test_wrapper_exports_every_private_symbol() -> None:
    from nodesynth_common import inspect_internals

    assert sorted(inspect_internals.__all__) == sorted({name for _, name in PRIVATE})
    from inspect_ai._util.error import PrerequisiteError

    assert inspect_internals.PrerequisiteError is PrerequisiteError


def test_no_private_inspect_import_outside_the_wrapper() -> None:
    import pathlib
    import re

    root = pathlib.Path(__file__).resolve().parents[1]
    pattern = re.compile(r"^\s*(from|import)\s+inspect_ai\.(_\w+|\w+\._\w+)", re.MULTILINE)
    offenders = [
        str(path.relative_to(root))
        for package in ("nodesynth_common", "generators", "scorers", "nodesynth_tasks")
        for path in (root / package).rglob("*.py")
        if path.name != "inspect_internals.py" and pattern.search(path.read_text(encoding="utf-8"))
    ]
    assert offenders == [], f"private inspect_ai imports outside nodesynth_common/inspect_internals.py: {offenders}"
