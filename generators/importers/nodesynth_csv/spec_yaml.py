"""The spec.yaml an import writes: what the imported data covers, loadable by `load_spec`.

The dataset was not built from it; it records the domain, countries, modalities and use case the
release's rows hold, so an imported dataset is described like a built one.
"""

from __future__ import annotations

from typing import Any, get_args

import pycountry
import yaml
from pydantic import ValidationError

from ...records import Modality
from ...spec import DomainSpec
from .errors import ReleaseImportError
from .release import LANGUAGE


def spec_yaml(
    name: str,
    domain: str,
    csv_name: str,
    definition: str,
    countries: list[str],
    modalities: list[str],
    use_case: str | None,
) -> str:
    """A spec describing the import, loadable by `load_spec` (countries it cannot look up go in a comment)."""
    known: dict[str, str] = {}  # canonical name -> first spelling in the data ("USA", "United States")
    unknown: list[str] = []
    for country in countries:
        try:
            known.setdefault(pycountry.countries.lookup(country).name, country)
        except LookupError:
            unknown.append(country)
    data: dict[str, Any] = {
        "name": name,
        "domain": domain,
        "definition": definition,
        "countries": list(known.values()) or ["ALL"],
        "languages": [LANGUAGE],
        "modalities": [m for m in modalities if m in get_args(Modality)] or ["text-to-text"],
    }
    if use_case:
        data["use_case"] = use_case
    header = [
        f"# Synthesised by `nodesynth import nodesynth-csv` from {csv_name}; this dataset was not built",
        "# from this spec: it records what the imported data covers.",
    ]
    if unknown:
        header.append(f"# Also in the data, not country names: {', '.join(unknown)}")
    text = "\n".join(header) + "\n" + yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=100)
    try:  # the spec must stay loadable by `load_spec`; fail here, not when someone reads it
        DomainSpec.model_validate(yaml.safe_load(text))
    except ValidationError as error:
        first = error.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        raise ReleaseImportError(f"{csv_name}: the data gives an unusable spec field '{where}' ({first['msg']}).") from None
    return text
