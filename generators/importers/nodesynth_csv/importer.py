"""`import_nodesynth_csv`: a release CSV read row by row into a dataset directory, as a build writes one.

The result is written through `artifact.write_dataset`, so an imported dataset is read by the same
loaders as a built one. The quality gates only measure it (diversity): released data is kept as
released.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from pathlib import Path

from pydantic import BaseModel, ConfigDict

from ...artifact import check_output_dir, new_build_id, new_canary, package_versions, sha256_file, utc_now, write_dataset
from ...quality import apply_quality_gates
from ...records import Manifest, QueryRecord, Reject, Taxonomy
from ...spec import QualitySpec
from .cells import dedupe
from .errors import ReleaseImportError
from .record import ImportState, record_to_query
from .release import LANGUAGE, MODELS, read_release
from .spec_yaml import spec_yaml

SOURCE_TAG = "import:nodesynth-csv"
NOTES_ROWS_SHOWN = 10

# DomainSpec.name's pattern: the synthesised spec.yaml must load with `load_spec`.
NAME_PATTERN = re.compile(r"^[a-z0-9][a-z0-9_\-]*$")


class ImportResult(BaseModel):
    """What an import wrote, with the figures a user wants to see printed."""

    model_config = ConfigDict(extra="forbid")

    manifest: Manifest
    out_dir: Path
    rows: int
    imported: int
    rejected: int
    rejected_by_reason: dict[str, int]
    parse_fallbacks: int
    fallbacks_by_column: dict[str, int]
    depth_counts: dict[int, int]


def import_nodesynth_csv(csv_path: Path, name: str, out_dir: Path) -> ImportResult:
    """Import one NodeSynth release CSV into `out_dir` (replaced atomically) as dataset `name`.

    Raises ReleaseImportError for problems a user can fix (missing file, not a CSV, a required column
    missing, several domains in one file, a bad dataset name, an out_dir that is not a dataset).
    """
    csv_path = Path(csv_path)
    out_dir = Path(out_dir)
    _check_arguments(csv_path, name, out_dir)
    release = read_release(csv_path)
    state = ImportState(domain=release.domain, build_id=new_build_id())
    queries: list[QueryRecord] = []
    rejects: list[Reject] = []
    for row in release.rows:
        result = record_to_query(row, state)
        if isinstance(result, Reject):
            rejects.append(result)
        else:
            queries.append(result)

    reject_codes = Counter(str(reject.context["code"]) for reject in rejects)
    definition = (
        f"Imported from the NodeSynth authors' release ({csv_path.name}): {len(queries)} generated queries "
        f"in the domain {release.domain}, with their taxonomy (L1 category, L2 topic, L3 keyterms), user groups "
        f"and the sources they cite."
    )
    spec_text = spec_yaml(
        name, release.domain, csv_path.name, definition, dedupe(state.countries), dedupe(state.modalities),
        Counter(state.use_cases).most_common(1)[0][0] if state.use_cases else None,
    )
    # released data is kept as released: the gates only measure (diversity), they drop nothing
    _, _, quality = apply_quality_gates(queries, QualitySpec(near_duplicate_jaccard=None, check_language=False, check_voice=False, off_topic_similarity=None))
    manifest = Manifest(
        name=name,
        build_id=state.build_id,
        created=utc_now(),
        domain=release.domain,
        counts=_counts(len(release.rows), len(queries), state, reject_codes),
        models=dict(MODELS),
        versions=package_versions(),
        canary=new_canary(),
        source=SOURCE_TAG,
        notes=_notes(csv_path, state, release.missing_optional),
        quality=quality,
    )
    try:
        written = write_dataset(
            out_dir,
            spec_text=spec_text,
            taxonomy=Taxonomy(domain=release.domain, nodes=list(state.nodes.values())),
            evidence=state.evidence.records(),
            queries=queries,
            rejects=rejects,
            manifest=manifest,
            spec_summary={"languages": [LANGUAGE], "definition": definition},
        )
    except OSError as error:
        raise ReleaseImportError(f"{csv_path}: cannot write the dataset to {out_dir} ({error.strerror or error}).") from None
    return ImportResult(
        manifest=written,
        out_dir=out_dir,
        rows=len(release.rows),
        imported=len(queries),
        rejected=len(rejects),
        rejected_by_reason=dict(sorted(reject_codes.items())),
        parse_fallbacks=len(state.fallbacks),
        fallbacks_by_column=dict(Counter(f.column for f in state.fallbacks)),
        depth_counts=dict(sorted(Counter(q.depth for q in queries).items())),
    )


def _check_arguments(csv_path: Path, name: str, out_dir: Path) -> None:
    if not NAME_PATTERN.match(name):
        raise ReleaseImportError(f"{csv_path}: dataset name {name!r} is not valid (use lowercase letters, digits, '-' and '_').")
    # write_dataset replaces out_dir wholesale: only an absent or empty folder, or a dataset this tool wrote
    check_output_dir(out_dir)


def _counts(rows: int, imported: int, state: ImportState, reject_codes: Counter[str]) -> dict[str, int]:
    return {
        "rows": rows,
        "imported": imported,
        "rejected": sum(reject_codes.values()),
        "parse_fallbacks": len(state.fallbacks),
        "country_disagrees_with_paper": len(state.mismatches),
        **{f"rejected_{code}": n for code, n in sorted(reject_codes.items())},
    }


def _shown(rows: list[str]) -> str:
    more = len(rows) - NOTES_ROWS_SHOWN
    return ", ".join(rows[:NOTES_ROWS_SHOWN]) + (f" and {more} more" if more > 0 else "")


def _notes(csv_path: Path, state: ImportState, missing_optional: list[str]) -> list[str]:
    """The manifest notes: where the data comes from, how it was read, and every cell not read as released."""
    notes = [
        f"imported from the NodeSynth authors' release (google-research/nodesynth); Apache-2.0; {csv_path.name} "
        f"(sha256 {sha256_file(csv_path)})",
        "country is each row's most frequent extracted_Country (ties: the first listed); the full country "
        "lists are kept only in evidence quotes, which exist only where the release quotes its paper",
        "each level3 cell (a set of keyterms) is one L3 node: the release generated each query from the set",
        "titles and quotes are attached to a source only when a row cites exactly one URL and names one title",
    ]
    notes += [f"column '{column}' is absent from the file; that field is left empty" for column in missing_optional]
    grouped: dict[tuple[str, str], list[str]] = defaultdict(list)
    for fallback in state.fallbacks:
        grouped[(fallback.column, fallback.what)].append(str(fallback.row))
    for (column, what), rows_hit in grouped.items():
        notes.append(f"{column}: {len(rows_hit)} cell(s) {what} (rows {_shown(rows_hit)})")
    if state.mismatches:
        notes.append(
            f"extracted_Country names none of the countries in the row's own paper_content 'Country:' field in "
            f"{len(state.mismatches)} row(s) (rows {_shown([str(row) for row in state.mismatches])}); kept as released"
        )
    for (column, raw), cleaned in state.label_changes.items():
        notes.append(f"{column} label {raw!r} cleaned to {cleaned!r}")
    return notes
