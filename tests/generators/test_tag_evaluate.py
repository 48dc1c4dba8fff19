"""TaG evaluation through Inspect models: the build's L3 call, scored per language and domain."""

from __future__ import annotations

from inspect_ai.model import ChatMessage, get_model

from generators.tag.data import TagRow, TagTerm
from generators.tag.evaluate import EvalReport, evaluate_models, gain
from tests.scripted_model import register

ROWS = [
    TagRow(domain="Medical advice", l1="Medication safety", l2="Dosage", language="en",
           terms=[TagTerm(name=n, reason="r") for n in ("Paracetamol overdose", "Insulin errors", "Syrup dosing")]),
    TagRow(domain="Financial advice", l1="Credit", l2="Loans", country="Mexico", language="es",
           terms=[TagTerm(name=n, reason="r") for n in ("Montadeudas", "Gota a gota", "Casas de empeño")]),
]
BY_TOPIC = {row.l2: row for row in ROWS}


def _topic(messages: list[ChatMessage]) -> str:
    request = messages[-1].text if messages[-1].role == "user" else messages[-3].text
    return request.split("Topic: ")[1].split(".")[0]


def tuned_reply(messages: list[ChatMessage]) -> str:
    row = BY_TOPIC[_topic(messages)]
    # the first term exactly, the second with another case and an article, the third wrong
    names = [row.terms[0].name, "the " + row.terms[1].name.upper() if row.language == "en" else "la " + row.terms[1].name, "Something else"]
    return "\n".join(f"{name}: because" for name in names)


def base_reply(messages: list[ChatMessage]) -> str:
    return "1. Safety: generic\n2. Risk: generic\n3. Harm: generic"


async def test_base_against_tuned() -> None:
    base = get_model(register("tag-base", base_reply))
    tuned = get_model(register("tag-tuned", tuned_reply))
    base_report, tuned_report = await evaluate_models(ROWS, base, tuned)
    # tuned: 2 of 3 terms right, 4 distinct -> 0.5 on both rows
    assert tuned_report.term_jaccard == 0.5 and tuned_report.exact_terms == 2
    assert base_report.term_jaccard == 0.0 and base_report.no_terms == 0
    assert set(tuned_report.by_language) == {"en", "es"} and set(tuned_report.by_domain) == {"Medical advice", "Financial advice"}
    assert tuned_report.per_row[1].predicted[1] == "la Gota a gota"
    report = EvalReport(data_file="x", data_sha256="y", adapter="z", held_out_rows=2, same_split_as_training=True,
                        base=base_report, tuned=tuned_report, gain=gain(base_report, tuned_report))
    dumped = report.model_dump()
    assert {"term_jaccard", "char_jaccard"} <= set(dumped["base"]) and {"term_jaccard", "char_jaccard"} <= set(dumped["tuned"])
    assert dumped["gain"]["term_jaccard"] == 0.5 and dumped["gain"]["by_language"]["es"]["term_jaccard"] == 0.5


async def test_unusable_replies_count_as_no_terms() -> None:
    silent = get_model(register("tag-silent", lambda messages: "I cannot help with that."))
    report, _ = await evaluate_models(ROWS[:1], silent, silent)
    assert report.no_terms == 1 and report.term_jaccard == 0.0 and report.per_row[0].predicted == []


def test_copy_ceiling_hand_computed() -> None:
    from generators.tag.evaluate import copy_ceiling

    def row(language: str, country: str, names: tuple[str, str, str], l2: str = "Dosage") -> TagRow:
        return TagRow(domain="Medical advice", l1="Medication safety", l2=l2, country=country, language=language,
                      terms=[TagTerm(name=n, reason="r") for n in names])

    held = [row("en", "ALL", ("Paracetamol overdose", "Insulin errors", "Syrup dosing"))]
    training = [
        row("en", "India", ("Paracetamol overdoses", "Ayurvedic mixes", "Syrup dosing")),  # 2 shared of 4 keys: 0.5
        row("en", "Mexico", ("Insulin errors", "A", "B")),  # 1 of 5: 0.2
        row("es", "ALL", ("Paracetamol overdose", "Insulin errors", "Syrup dosing")),  # other language: not a sibling
        row("en", "ALL", ("Paracetamol overdose", "Insulin errors", "Syrup dosing"), l2="Other"),  # other topic
    ]
    assert copy_ceiling(held, training) == 0.5
    assert copy_ceiling(held, training[2:]) == 0.0
    assert copy_ceiling([], training) is None
