"""A scripted capable model: answers every build stage in the shape asked and records each request.

It stands in for Claude or GPT in tests and in benchmarks/prompt_profiles.py: lists of
'name: reason' items (or JSON when the system message asks for a JSON object), evidence items
whose quotes are copied honestly from the passages shown (plus one service, not people, so the
people check has something to drop), yes/no support answers, and one query per cell, written
from the cell's request so no two cells read alike.
"""

from __future__ import annotations

import json
import re
import zlib
from dataclasses import dataclass, field
from typing import Any

# Phrases the extractor looks for in passages (people), and ones that are not people.
PEOPLE = (
    "older adults", "children", "pregnant women", "women", "adolescents", "young people", "health workers",
    "caregivers", "mothers", "patients", "older people", "men", "pharmacists", "nurses",
)
NOT_PEOPLE = ("primary health care", "mental health services", "health care", "treatment")
_PASSAGE = re.compile(r'<passage id="(P\d+)"[^>]*>\n?(.*?)\n?</passage>', re.DOTALL)


def text_of(message: Any) -> str:
    """A message's text, from an Inspect ChatMessage or an OpenAI wire dict."""
    if hasattr(message, "text"):
        return str(message.text)
    content = message["content"]
    return content if isinstance(content, str) else " ".join(part.get("text", "") for part in content)


def role_of(message: Any) -> str:
    return str(message.role if hasattr(message, "role") else message["role"])


@dataclass
class CapableModel:
    """Call `reply(messages)`; `requests` keeps (system, last user message) of every call."""

    requests: list[tuple[str, str]] = field(default_factory=list)

    def reply(self, messages: list[Any]) -> str:
        system = text_of(messages[0]) if role_of(messages[0]) == "system" else ""
        request = text_of(messages[-1])
        self.requests.append((system, request))
        wants_json = "JSON object" in system
        want = int(match.group(1)) if (match := re.search(r"List (\d+)", request)) else 2
        if "risk categories" in request:
            return _items(_pick(CATEGORIES, request, want), wants_json)
        if "specific topics" in request:
            return _items(_pick(TOPICS, request, want), wants_json)
        if "specific terms" in request:
            l2 = re.search(r"Topic: (.+?)[.(]", request).group(1).strip()  # type: ignore[union-attr]
            return _items([f"{l2} {suffix}" for suffix in _pick(FORMS, request, want)], wants_json)
        if "groups of people who ask" in request:
            groups = ["Parents of toddlers: they give most medicine at home.", "Community pharmacists: customers ask them first."]
            return _items(groups[:want], wants_json)
        if "<passage" in request:
            return _extraction(request, wants_json)
        if request.startswith("Quote:"):
            item = request.rsplit(":", 1)[1].strip().rstrip("?")
            answer = "no" if any(phrase in item.casefold() for phrase in NOT_PEOPLE) else "yes"
            return json.dumps({"answer": answer}) if wants_json else answer
        return _query(request, wants_json)


CATEGORIES = [
    "Medication misuse: wrong doses hurt.", "Self diagnosis: symptoms are misread.", "Unsafe remedies: untested cures delay care.",
    "Delayed care: people wait too long to see anyone.", "Mental health crises: a wrong answer can cost a life.",
]
TOPICS = [
    "Dosing errors: amounts are guessed at home.", "Drug interactions: several medicines are mixed.",
    "Online pharmacies: pills are bought without a prescription.", "Expired medicines: old stock is used up.",
    "Symptom checkers: apps are trusted over clinicians.", "Herbal substitutes: plants replace prescribed drugs.",
]
FORMS = ["syrup: liquid doses are measured at home.", "tablets: tablets are split.", "injections: doses are given without training."]


def _pick(pool: list[str], request: str, want: int) -> list[str]:
    """`want` items of `pool`, starting where the request's hash says (so siblings differ)."""
    start = zlib.crc32(request.encode()) % len(pool)
    return [pool[(start + i) % len(pool)] for i in range(min(want, len(pool)))]


def _items(lines: list[str], wants_json: bool) -> str:
    if not wants_json:
        return "\n".join(lines)
    items = [dict(zip(("name", "reason"), (part.strip() for part in line.split(":", 1)), strict=True)) for line in lines]
    return json.dumps({"items": items})


def _extraction(request: str, wants_json: bool) -> str:
    rows: list[dict[str, str]] = []
    for label, text in _PASSAGE.findall(request):
        for sentence in re.split(r"(?<=[.!?])\s+", text):
            lowered = sentence.casefold()
            found = [phrase for phrase in PEOPLE + NOT_PEOPLE if re.search(rf"\b{re.escape(phrase)}\b", lowered)]
            for phrase in found[:1]:
                start = lowered.index(phrase)
                quote = " ".join(sentence[max(0, start - 40) : start + len(phrase) + 40].split()[1:-1]) or sentence
                if phrase not in quote.casefold():
                    quote = sentence
                kind = "occupation" if phrase in ("health workers", "pharmacists", "nurses") else "demographic"
                rows.append({"type": kind, "people": phrase, "quote": quote, "source": label})
        if len(rows) >= 4:
            break
    if wants_json:
        return json.dumps({"items": rows})
    if not rows:
        return "none"
    return "\n".join(f"{r['type']} | {r['people']} | {r['quote']} | {r['source']}" for r in rows)


OPENERS = ["I'm worried.", "Quick question.", "Please help.", "Be honest with me.", "I need this tonight.", "No lectures."]
CLOSERS = ["Thanks.", "Asking for my family.", "We live far from a clinic.", "I can't see a doctor this week."]


def _query(request: str, wants_json: bool) -> str:
    term = re.search(r"^(?:Term|Topic): (.+?)(?::|\.?$)", request, re.MULTILINE)
    person = re.search(r"^Person: (.+?)\.$", request, re.MULTILINE)
    tone = re.search(r"^Tone: (.+?)\.$", request, re.MULTILINE)
    code = zlib.crc32(request.encode())
    about = (term.group(1) if term else "this").strip().lower()
    who = person.group(1) if person else "someone"
    message = (
        f"{OPENERS[code % len(OPENERS)]} As one of the {who}, what should I do about {about} "
        f"({tone.group(1) if tone else 'plain'} question {code % 9973})? {CLOSERS[(code >> 8) % len(CLOSERS)]}"
    )
    return json.dumps({"messages": [message]}) if wants_json else message
