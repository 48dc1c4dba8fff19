"""Property: no input a command reads makes it print a traceback or leave a partial file.

Random bytes, random CSV shapes and random YAML go to every input a `nodesynth` command reads
(spec, corpus document, benchmark file, review sheets, TaG data, logs, release CSV, labelled
CSV, novelty queries). Each run must exit 0, or exit 2 with one line on stderr, and leave no
temporary or half-written file beside its outputs. No model is ever called: the commands that
would call one are given a model name that cannot be created, so they stop after reading.
"""

from __future__ import annotations

import csv
import io
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from nodesynth_tasks.cli.main import app
from tests.tiny_log import make_tiny_log

runner = CliRunner()
SETTINGS = settings(max_examples=20, deadline=None, database=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
NO_MODEL = "nosuchprovider/none"  # cannot be created: a command that gets this far stops with one line

CELLS = st.one_of(
    st.sampled_from(["", "x", "1", "0", "yes", "Agree", "Replace", "Unsure", "match", "=1+1", "'q", "-1", "nan", "é", "a,b", '"']),
    st.text(max_size=12),
)
COLUMN_NAMES = [
    "sample_id", "epoch", "score", "human_label", "human_failure", "reviewer", "note", "row_id", "domain", "definition",
    "l1", "l2", "country", "language", "term_number", "term", "reason", "decision", "replacement", "prompt", "prompts",
    "Domain", "level1", "level2", "completion", "final_label", "text", "label", "id",
]
SPEC_KEYS = ["name", "domain", "definition", "countries", "languages", "size", "rubric", "evidence", "quality", "examples", "x"]


@st.composite
def csv_bytes(draw: Any) -> bytes:
    header = draw(st.lists(st.one_of(st.sampled_from(COLUMN_NAMES), st.text(max_size=6)), min_size=0, max_size=8))
    rows = draw(st.lists(st.lists(CELLS, max_size=len(header) + 2), max_size=6))
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(header)
    writer.writerows(rows)
    encoding = draw(st.sampled_from(["utf-8", "utf-8-sig", "latin-1"]))
    return out.getvalue().encode(encoding, errors="replace")


YAML_LEAVES = st.one_of(st.none(), st.booleans(), st.integers(-3, 10**6), st.text(max_size=10), st.sampled_from(["ALL", "en", "demo"]))
YAML_VALUES = st.recursive(YAML_LEAVES, lambda inner: st.one_of(st.lists(inner, max_size=3),
                                                                st.dictionaries(st.text(max_size=6), inner, max_size=3)), max_leaves=8)


@st.composite
def yaml_bytes(draw: Any) -> bytes:
    if draw(st.booleans()):
        data: Any = draw(st.dictionaries(st.sampled_from(SPEC_KEYS), YAML_VALUES, max_size=8))
    else:
        data = draw(YAML_VALUES)
    text = yaml.safe_dump(data, allow_unicode=True)
    return (text + draw(st.sampled_from(["", "\n: :\n", "\n- [", "\n!!python/object:os.system x\n", "\t"]))).encode()


ANY_INPUT = st.one_of(st.binary(max_size=300), csv_bytes(), yaml_bytes())

TEMPORARY_MARKS = (".tmp", ".building.", ".previous.")


def files_under(folder: Path) -> Iterator[Path]:
    return (path for path in folder.rglob("*"))


def check(args: list[str], *outputs: Path) -> None:
    """Exit 0, or exit 2 with one line; no temporary or partial file beside an output, and none at all on exit 2."""
    result = runner.invoke(app, [str(arg) for arg in args])
    shown = f"{args}: exit {result.exit_code}\nstdout: {result.stdout}\nstderr: {result.stderr}"
    assert result.exception is None or isinstance(result.exception, SystemExit), shown + f"\n{result.exception!r}"
    assert result.exit_code in (0, 2), shown
    if result.exit_code == 2:
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("error: "), shown
        assert [output for output in outputs if output.exists()] == [], shown  # each run writes into a fresh folder
    for output in outputs:
        for folder in {output.parent, output} if output.is_dir() else {output.parent}:
            leftovers = [p.name for p in files_under(folder) if any(mark in p.name for mark in TEMPORARY_MARKS)]
            assert leftovers == [], shown + f"\nleft: {leftovers}"


@pytest.fixture
def work(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    base = tmp_path_factory.mktemp("inputs")
    monkeypatch.setenv("NODESYNTH_INDEX_DIR", str(base / "index"))
    monkeypatch.chdir(base)
    yield base


def fresh(base: Path) -> Path:
    return Path(tempfile.mkdtemp(dir=base))


@pytest.fixture(scope="module")
def log_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real log with two scored samples, for `triage --import`."""
    return make_tiny_log(tmp_path_factory.mktemp("logs"))


SPEC = Path(__file__).resolve().parents[1] / "datasets" / "specs" / "demo.yaml"


@given(data=ANY_INPUT)
@SETTINGS
def test_build_spec(work: Path, data: bytes) -> None:
    folder = fresh(work)
    (folder / "spec.yaml").write_bytes(data)
    check(["build", folder / "spec.yaml", "-m", NO_MODEL, "--out", folder / "out"], folder / "out")


@given(data=ANY_INPUT, suffix=st.sampled_from([".txt", ".md", ".html"]))
@SETTINGS
def test_build_corpus_document(work: Path, data: bytes, suffix: str) -> None:
    folder = fresh(work)
    (folder / "corpus").mkdir()
    (folder / "corpus" / f"doc{suffix}").write_bytes(data)
    check(["build", SPEC, "--corpus", folder / "corpus", "-m", NO_MODEL, "--out", folder / "out"], folder / "out")


@given(data=ANY_INPUT)
@SETTINGS
def test_build_corpus_metadata(work: Path, data: bytes) -> None:
    folder = fresh(work)
    (folder / "corpus").mkdir()
    (folder / "corpus" / "doc.txt").write_text("Paracetamol doses are measured by weight for children.\n")
    (folder / "corpus" / "metadata.yaml").write_bytes(data)
    check(["build", SPEC, "--corpus", folder / "corpus", "-m", NO_MODEL, "--out", folder / "out"], folder / "out")


@given(data=ANY_INPUT, suffix=st.sampled_from([".csv", ".jsonl"]))
@SETTINGS
def test_build_and_novelty_benchmark(work: Path, data: bytes, suffix: str) -> None:
    folder = fresh(work)
    bench = folder / f"bench{suffix}"
    bench.write_bytes(data)
    check(["build", SPEC, "--benchmark", bench, "-m", NO_MODEL, "--out", folder / "out"], folder / "out")
    check(["novelty", str(bench), "--against", f"{bench}:prompt", "-o", folder / "novelty.json"], folder / "novelty.json")


@given(data=ANY_INPUT)
@SETTINGS
def test_triage_import_sheet(work: Path, log_file: Path, data: bytes) -> None:
    folder = fresh(work)
    (folder / "review.csv").write_bytes(data)
    check(["triage", log_file, "--import", folder / "review.csv", "--log-out", folder / "edited.eval"], folder / "edited.eval")


@given(data=ANY_INPUT, suffix=st.sampled_from([".eval", ".json"]))
@SETTINGS
def test_logs_for_triage_report_calibrate(work: Path, data: bytes, suffix: str) -> None:
    folder = fresh(work)
    log = folder / f"log{suffix}"
    log.write_bytes(data)
    check(["triage", log, "-o", folder / "review.csv"], folder / "review.csv")
    check(["report", log, "-o", folder / "report.html", "--tables", folder / "tables"], folder / "report.html", folder / "tables")
    check(["calibrate", log, "--scorer", "includes", "--json"])


@given(data=ANY_INPUT)
@SETTINGS
def test_labelled_csv_for_calibrate(work: Path, data: bytes) -> None:
    folder = fresh(work)
    (folder / "labels.csv").write_bytes(data)
    check(["calibrate", folder / "labels.csv", "--scorer", "refusal", "--columns", "text=completion,label=final_label", "--json"])
    check(["calibrate", folder / "labels.csv", "--scorer", "refusal", "--format", "triage", "--json"])


@given(data=ANY_INPUT)
@SETTINGS
def test_tag_sheet_and_data(work: Path, data: bytes) -> None:
    folder = fresh(work)
    (folder / "sheet.csv").write_bytes(data)
    check(["tag", "import-review", folder / "sheet.csv", "-o", folder / "rows.jsonl"], folder / "rows.jsonl")
    (folder / "rows.jsonl").write_bytes(data)
    check(["tag", "train", "--data", folder / "rows.jsonl", "--base", folder / "nobase", "--out", folder / "adapter"], folder / "adapter")
    check(["tag", "eval", "--data", folder / "rows.jsonl", "--json"])


@given(data=ANY_INPUT)
@SETTINGS
def test_import_release_csv(work: Path, data: bytes) -> None:
    folder = fresh(work)
    (folder / "release.csv").write_bytes(data)
    check(["import", "nodesynth-csv", folder / "release.csv", "--name", "fuzz", "--out", folder / "out"], folder / "out")
