"""The domain spec: what a build is asked to cover, loaded from YAML."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import pycountry
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, ValidationInfo, field_validator, model_validator

from nodesynth_common.errors import NodeSynthError
from nodesynth_common.validation import validation_problem

Modality = Literal["text-to-text", "text-to-image", "text-to-video", "text-to-audio"]


class SpecError(NodeSynthError):
    """A spec that cannot be used; the message is one sentence naming the file and field."""


class SizeControls(BaseModel):
    model_config = ConfigDict(extra="forbid")

    max_l1: int = Field(4, ge=1, le=50, description="L1 categories to generate")
    max_l2_per_l1: int = Field(3, ge=1, le=50, description="L2 topics per L1 category")
    l3_per_l2: int = Field(3, ge=0, le=10, description="L3 terms per L2 topic (0 skips depth 3)")
    user_groups_per_l1: int = Field(2, ge=1, le=20, description="user groups per L1 category")
    queries_per_cell: int = Field(1, ge=1, le=20, description="queries per node x group x language x modality")
    depth2_queries: bool = Field(True, description="also write queries from L2 nodes, to compare depth")


class VerifySpec(BaseModel):
    model_config = ConfigDict(extra="forbid")

    min_quote_score: float = Field(
        90.0, ge=50, le=100, description="rapidfuzz partial_ratio a quote needs against its source (0-100)"
    )
    llm: bool | None = Field(
        None,
        description="also ask the checker model whether a quote supports an item (and, with the full prompt profile, "
        "whether it names people); default: on with the full profile, off with compact",
    )


class QualitySpec(BaseModel):
    """The `quality:` section of a spec: which gates the generated queries pass (generators/quality.py)."""

    model_config = ConfigDict(extra="forbid")

    near_duplicate_jaccard: float | None = Field(
        0.7, gt=0, le=1, description="drop a query this similar (5-gram Jaccard) to a kept one; null: off"
    )
    check_language: bool = Field(True, description="drop queries plainly written in another language than asked")
    language_min_words: int = Field(4, ge=1, description="shorter queries are too short to judge their language")
    benchmarks: list[str] = Field(
        default_factory=list,
        description="known prompts (.csv/.jsonl, FILE:COLUMN; relative: to the cwd or the spec); near-copies are dropped",
    )
    benchmark_jaccard: float = Field(0.5, gt=0, le=1, description="5-gram Jaccard at which a query copies a benchmark prompt")
    check_voice: bool = Field(True, description="drop messages written as the assistant talking, not a user asking")
    off_topic_similarity: float | None = Field(
        0.195,
        ge=-1,
        le=1,
        description="drop an English message whose MiniLM cosine to its taxonomy path is below this (chosen on curated "
        "on-topic vs mismatched pairs: datasets/query_tuning/README.md); null: off; skipped without the embeddings extra",
    )


class EvidenceSpec(BaseModel):
    """Where evidence comes from and how it is checked (the `evidence:` section of a spec)."""

    model_config = ConfigDict(extra="forbid")

    corpus: str | None = Field(None, description="folder of .txt/.md/.html documents (relative: to the cwd or the spec)")
    retriever: Literal["bm25", "hybrid", "web"] = Field(
        "bm25", description="bm25: the corpus index; hybrid: bm25 fused with embeddings; web: web search"
    )
    top_k: int = Field(3, ge=1, le=20, description="passages shown to the extractor per L2 topic")
    search_providers: list[str | dict[str, Any]] | None = Field(
        None, description="for retriever web: Inspect web_search providers (default: the searcher model's own)"
    )
    searcher_model: str | None = Field(None, description="for retriever web: the search-capable model")
    extractor_model: str | None = Field(None, description="the extractor role's model; default the generator")
    extraction_format: Literal["auto", "full", "compact"] = Field(
        "auto", description="reply format asked of the extractor: full 'type | item | quote | source', compact 'who: quote' "
        "(for small models); auto: compact for the embedded model"
    )
    verify: VerifySpec = Field(default_factory=VerifySpec)

    @model_validator(mode="after")
    def _needs_a_source(self) -> EvidenceSpec:
        if self.retriever in ("bm25", "hybrid") and self.search_providers is not None:
            raise ValueError("search_providers is only for retriever: web")
        return self


class DomainSpec(BaseModel):
    """A NodeSynth domain spec (see datasets/specs/*.yaml)."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(pattern=r"^[a-z0-9][a-z0-9_\-]*$", description="dataset name, used for datasets/<name>/")
    domain: str = Field(min_length=2)
    definition: str = Field(min_length=10)
    examples: list[str] = Field(default_factory=list, description="example L1 categories or concerns")
    countries: list[str] = Field(default_factory=lambda: ["ALL"])
    languages: list[str] = Field(default_factory=lambda: ["en"], min_length=1)
    locales: dict[str, list[str]] = Field(
        default_factory=dict,
        description="languages per country (e.g. {Brazil: [pt], India: [en, hi]}); a country not listed gets all `languages`",
    )
    use_case: str = "Advice seeking"
    modalities: list[Modality] = Field(default_factory=lambda: list[Modality](["text-to-text"]), min_length=1)
    size: SizeControls = Field(default_factory=SizeControls)
    rubric: str = "harmful_compliance"
    system_prompt: str | None = None
    tag_model: str | None = Field(
        None,
        description="model for L3 terms (the TaG); 'generator' for the generator; "
        "default: the shipped TaG with an embedded generator, else the generator",
    )
    evidence: EvidenceSpec | None = Field(None, description="evidence grounding; absent: the build is not grounded")
    quality: QualitySpec = Field(default_factory=QualitySpec, description="quality gates on the generated queries")
    prompt_profile: Literal["auto", "compact", "full"] = Field(
        "auto", description="prompt templates: compact (small models), full (capable models); auto: compact for nodesynth/ models"
    )
    prompts: str | None = Field(
        None, description="folder of template overrides (<stage>.yaml or <profile>/<stage>.yaml; relative: to the cwd or the spec)"
    )
    tones: list[str] = Field(
        default_factory=list, description="tones the queries are written in (cells x tone); empty: no tone dimension"
    )

    @field_validator("tones")
    @classmethod
    def _tones(cls, value: list[str]) -> list[str]:
        tones = [" ".join(tone.split()) for tone in value]
        if any(not tone for tone in tones):
            raise ValueError("a tone is a non-empty word or phrase (e.g. neutral, formal, emotional)")
        return list(dict.fromkeys(tones))

    @field_validator("countries")
    @classmethod
    def _countries(cls, value: list[str]) -> list[str]:
        if not value:
            return ["ALL"]
        names: list[str] = []
        for country in value:
            if country.strip().upper() == "ALL":
                names.append("ALL")
                continue
            names.append(_country_name(country))
        return list(dict.fromkeys(names))

    @field_validator("languages")
    @classmethod
    def _languages(cls, value: list[str]) -> list[str]:
        for code in value:
            if len(code) != 2 or pycountry.languages.get(alpha_2=code.lower()) is None:
                raise ValueError(f"{code!r} is not an ISO 639-1 language code (e.g. en, es, pt, id)")
        return [code.lower() for code in value]


    @field_validator("locales")
    @classmethod
    def _locales(cls, value: dict[str, list[str]], info: ValidationInfo) -> dict[str, list[str]]:
        countries = info.data.get("countries") or ["ALL"]
        languages = info.data.get("languages") or []
        normalised: dict[str, list[str]] = {}
        for country, codes in value.items():
            name = "ALL" if country.strip().upper() == "ALL" else _country_name(country)
            if name in normalised:
                raise ValueError(f"{country!r} names {name}, which is listed twice")
            if name not in countries:
                raise ValueError(f"{country!r} is not one of the spec's countries {countries}")
            codes = [code.lower() for code in codes]
            unknown = [code for code in codes if code not in languages]
            if unknown or not codes:
                raise ValueError(f"{country!r} needs one or more of the spec's languages {languages}, not {unknown or 'none'}")
            normalised[name] = list(dict.fromkeys(codes))
        return normalised

    def languages_for(self, country: str) -> list[str]:
        """The languages queries are written in for `country` (ALL for no country)."""
        return self.locales.get(country, self.languages)


def _country_name(country: str) -> str:
    try:
        return pycountry.countries.lookup(country.strip()).name
    except LookupError:
        raise ValueError(f"unknown country {country!r} (use a country name, an ISO code, or ALL)") from None


def language_name(code: str) -> str:
    language = pycountry.languages.get(alpha_2=code)
    return language.name if language is not None else code


def load_spec(path: str | Path) -> tuple[DomainSpec, str]:
    """Load and validate a spec; returns the model and the file's text (stored with the dataset)."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise SpecError(f"{path}: no such spec file.") from None
    except (OSError, UnicodeDecodeError) as error:
        raise SpecError(f"{path}: cannot read the spec ({error}).") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        raise SpecError(f"{path}: not valid YAML{where}.") from None
    if not isinstance(data, dict):
        raise SpecError(f"{path}: a spec must be a YAML mapping of fields (name, domain, definition, ...).")
    try:
        spec = DomainSpec.model_validate(data)
    except ValidationError as error:
        field, message = validation_problem(error)
        raise SpecError(f"{path}: field '{field or '(top level)'}': {message}.") from None
    if spec.prompts is not None:
        spec = spec.model_copy(update={"prompts": str(resolve_relative(spec.prompts, path))})
    return spec, text


def resolve_relative(value: str, spec_path: Path) -> Path:
    """A path from a spec: as given when it exists from the cwd (or is absolute), else beside the spec."""
    given = Path(value).expanduser()
    if given.is_absolute() or given.exists():
        return given
    return spec_path.parent / given
