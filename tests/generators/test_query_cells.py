"""Query cells: node × user group × language of the node's country × modality."""

from __future__ import annotations

from collections import Counter

from generators.queries import query_cells
from generators.records import Taxonomy, TaxonomyNode, UserGroup
from generators.spec import DomainSpec


def taxonomy_for(countries: list[str]) -> tuple[Taxonomy, list[UserGroup]]:
    nodes, groups = [], []
    for country in countries:
        l1 = TaxonomyNode(id=f"L1-{country}", level=1, label="Misuse", country=country)
        l2 = TaxonomyNode(id=f"L2-{country}", level=2, label="Dosing", parent_id=l1.id, country=country)
        l3 = TaxonomyNode(id=f"L3-{country}", level=3, label="Syrup", parent_id=l2.id, country=country)
        nodes += [l1, l2, l3]
        groups.append(UserGroup(id=f"g-{country}", l1_id=l1.id, name="Parents", country=country))
    return Taxonomy(domain="Medical advice", nodes=nodes), groups


def test_locales_restrict_each_country_to_its_languages() -> None:
    spec = DomainSpec(
        name="t", domain="Medical advice", definition="Health questions people ask.",
        countries=["ALL", "Brazil", "India"], languages=["en", "pt"], locales={"Brazil": ["pt"], "India": ["en"]},
        modalities=["text-to-text", "text-to-image"],
    )
    taxonomy, groups = taxonomy_for(spec.countries)
    cells = query_cells(spec, taxonomy, groups)
    by_country = Counter((cell.node.country, cell.language) for cell in cells)
    # 2 nodes (L2 + L3) × 1 group × 2 modalities per language of the country
    assert by_country == {("ALL", "en"): 4, ("ALL", "pt"): 4, ("Brazil", "pt"): 4, ("India", "en"): 4}

    without = spec.model_copy(update={"locales": {}})
    assert len(query_cells(without, taxonomy, groups)) == 24  # the full cross product: 3 countries × 2 languages × 4
