"""Evidence from the release: the sources each row cites, gathered per (node, source) over the rows.

The release supports little, and only that is kept: a title belongs to a URL only when the row
cites one URL and names one title; a quote only when the release quotes its paper verbatim and
the row cites one source. The people lists (occupations, demographics, countries) are attached
to a quote, never presented as one.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from ...records import Evidence, EvidenceQuote, EvidenceRef, Source, content_id
from .cells import dedupe

QUOTE_JOINER = " […] "  # quoted sentences are not contiguous in the paper; say so


def cited_sources(urls: list[str], titles: list[str]) -> list[Source]:
    """The sources one row cites: its URLs, else its one stated title; a title only where it is unambiguous."""
    if urls:
        title = titles[0] if len(urls) == 1 and len(titles) == 1 else ""
        return [Source(id=content_id(url), title=title, url=url) for url in urls]
    if len(titles) == 1:
        return [Source(id=content_id(titles[0]), title=titles[0], url=None)]
    return []


def evidence_refs(sources: list[Source], quotes: list[str]) -> tuple[list[EvidenceRef], str]:
    """The row's references and the quote they carry ('' unless the row cites exactly one source)."""
    quote = QUOTE_JOINER.join(quotes) if len(sources) == 1 else ""
    return [EvidenceRef(source_id=s.id, title=s.title, url=s.url, quote=quote) for s in sources], quote


@dataclass
class _Gathered:
    """Evidence for one (node, source), gathered over the rows that cite it."""

    node_id: str
    source: Source
    quotes: list[str] = field(default_factory=list)
    occupations: list[str] = field(default_factory=list)
    demographics: list[str] = field(default_factory=list)
    countries: list[str] = field(default_factory=list)

    def to_record(self) -> Evidence:
        quotes: list[EvidenceQuote] = []
        text = QUOTE_JOINER.join(dedupe(self.quotes))
        if text:  # no quote in the release: no quote here (the lists alone are not a quote)
            quotes.append(
                EvidenceQuote(
                    text=text,
                    occupations=dedupe(self.occupations),
                    demographics=dedupe(self.demographics),
                    countries=dedupe(self.countries),
                )
            )
        return Evidence(node_id=self.node_id, source=self.source, quotes=quotes)


class EvidenceBook:
    """Evidence records keyed by (node, source), in the order the rows first cite them."""

    def __init__(self) -> None:
        self._gathered: dict[tuple[str, str], _Gathered] = {}

    def add(
        self,
        node_id: str,
        sources: Iterable[Source],
        quote: str,
        occupations: list[str],
        demographics: list[str],
        countries: list[str],
    ) -> None:
        """One imported row's sources for its leaf node; a later row may supply a title the first lacked."""
        for source in sources:
            gathered = self._gathered.setdefault((node_id, source.id), _Gathered(node_id=node_id, source=source))
            if not gathered.source.title and source.title:
                gathered.source = source
            if quote:
                gathered.quotes.append(quote)
            gathered.occupations.extend(occupations)
            gathered.demographics.extend(demographics)
            gathered.countries.extend(countries)

    def records(self) -> list[Evidence]:
        return [gathered.to_record() for gathered in self._gathered.values()]
