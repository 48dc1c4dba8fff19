"""Import a CSV released by the NodeSynth authors (google-research/nodesynth) as a dataset directory.

List-valued cells are Python-literal strings and some cells are raw model text, so every cell is
read defensively, one concern per module:

- `release`: the file to rows, with one-sentence errors for a file that is not a release CSV;
- `cells`: list cells (`ast.literal_eval` only, never `eval`; a fallback to text is counted and
  noted in the manifest), labels, L3 keyterms, the modality;
- `model_text`: titles, verbatim quotes, countries and URLs in the raw model text;
- `record`: `record_to_query`, one row to a query or a reject with its reason, so
  `queries + rejects == rows` always holds;
- `evidence`: what the release supports, gathered per (node, source); nothing is invented;
- `spec_yaml` and `importer`: the synthesised spec, and `import_nodesynth_csv`, which writes it
  all through `artifact.write_dataset`.
"""

from __future__ import annotations

from .cells import (
    clean_label,
    clean_list,
    dedupe,
    is_placeholder,
    l3_terms,
    most_frequent,
    normalise_modality,
    parse_list_cell,
)
from .errors import ReleaseImportError
from .importer import ImportResult, import_nodesynth_csv
from .model_text import paper_countries_text, recover_quotes, recover_titles, recover_urls
from .record import ImportState, record_to_query
from .release import OPTIONAL_COLUMNS, REQUIRED_COLUMNS, ReleaseRow, read_release

__all__ = [
    "OPTIONAL_COLUMNS",
    "REQUIRED_COLUMNS",
    "ImportResult",
    "ImportState",
    "ReleaseImportError",
    "ReleaseRow",
    "clean_label",
    "clean_list",
    "dedupe",
    "import_nodesynth_csv",
    "is_placeholder",
    "l3_terms",
    "most_frequent",
    "normalise_modality",
    "paper_countries_text",
    "parse_list_cell",
    "read_release",
    "record_to_query",
    "recover_quotes",
    "recover_titles",
    "recover_urls",
]
