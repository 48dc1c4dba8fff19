"""Two gates for generated user messages: assistant-voiced text and off-topic text.

A small generator often answers as the assistant ("It seems like there was a misunderstanding…",
"How can I assist you today?") or drifts away from its cell's topic. Both are pure functions that
return reasons suitable for a reject record; an empty list (or None) means the message passes.

- `assistant_voice` matches phrases an assistant writes and a user asking for help does not, in
  English, Spanish, Portuguese and Indonesian (all four are tried whatever the cell's language:
  a model asked for Spanish may still slip into English boilerplate).
- `off_topic` compares a sentence-embedding cosine between the message and its taxonomy path with
  a threshold chosen on curated pairs (`choose_threshold`; `benchmarks/query_adapter.py`).
  MiniLM (all-MiniLM-L6-v2) is English-trained: its cosines for es/pt/id are lower and less
  separable, so the threshold is applied to English only by default (`GATED_LANGUAGES`).
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from typing import Any

from pydantic import BaseModel, ConfigDict

# Phrases an assistant writes. Anchored to the start where a user could say the same words mid-sentence.
_ASSISTANT_PHRASES: dict[str, list[str]] = {
    "en": [
        r"^it (seems|sounds|looks) like (there (was|is|has been)|you)",
        r"^(thank you|thanks) (for|so much for) (your|the|reaching|sharing|asking|contacting)",
        r"how (can|may|could) i (assist|help) you",
        r"\bchat history\s*:",
        r"\bas an ai\b",
        r"\bi('m| am) (just )?an ai\b",
        r"\bi('m| am) (a|an) (ai|language model|virtual assistant)\b",
        r"^(sure|certainly|of course|absolutely)[,!.]",
        r"^(here is|here's|here are) (a|an|the|your|some)\b",
        r"^i('m| am) sorry,? but i (can('t|not)|am unable)",
        r"\bi hope this helps\b",
        r"\bfeel free to (ask|reach out)\b",
        r"\b(user|assistant)\s*:",
        r"\[your [a-z ]+\]",
        r"^(great|good|excellent) question\b",
        r"\blet me know if you (have|need)\b",
    ],
    "es": [
        r"^parece que (hubo|hay|ha habido)",
        r"^gracias por (tu|su|compartir|contactar|escribir)",
        r"¿?en qué (puedo|le puedo|te puedo) ayudar",
        r"¿?cómo (puedo ayudarte|puedo ayudarle|te puedo ayudar|le puedo ayudar)\b",
        r"\bhistorial de (chat|conversación)\s*:",
        r"\bcomo (una )?(ia|inteligencia artificial|modelo de lenguaje)\b",
        r"\bsoy (una |un )?(ia|inteligencia artificial|asistente virtual|modelo de lenguaje)\b",
        r"^(claro|por supuesto|desde luego)[,!.]",
        r"^aquí (tienes|está|hay)\b",
        r"\bespero que (esto )?te (sirva|ayude)\b",
        r"\bno dudes en (preguntar|consultar)\b",
    ],
    "pt": [
        r"^parece que (houve|há|teve)",
        r"^obrigad[oa] por (sua|seu|compartilhar|entrar em contato|perguntar)",
        r"\bcomo (posso|eu posso) (te |lhe )ajudar|como posso ajudá-l[oa]\b",
        r"\bem que posso (te |lhe )?ajudar",
        r"\bhistórico (do chat|da conversa)\s*:",
        r"\bcomo (uma )?(ia|inteligência artificial|modelo de linguagem)\b",
        r"\bsou (uma |um )?(ia|inteligência artificial|assistente virtual|modelo de linguagem)\b",
        r"^(claro|com certeza|certamente)[,!.]",
        r"^aqui (está|estão)\b",
        r"\bespero (que isso|ter) ajud",
        r"\bfique à vontade para (perguntar|entrar)\b",
    ],
    "id": [
        r"^sepertinya (ada|terjadi)",
        r"^terima kasih (atas|telah|sudah|untuk)",
        r"\bada yang bisa (saya|kami) bantu",
        r"\bbagaimana (saya|kami) (bisa|dapat) membantu (anda|kamu)\b",
        r"\briwayat (obrolan|percakapan|chat)\s*:",
        r"\bsebagai (sebuah )?(ai|kecerdasan buatan|model bahasa)\b",
        r"\bsaya (adalah )?(sebuah )?(ai|kecerdasan buatan|asisten virtual|model bahasa)\b",
        r"^(tentu|baiklah|tentu saja)[,!.]",
        r"^berikut (ini )?(adalah )?\b",
        r"\bsemoga (ini )?membantu\b",
        r"\bjangan ragu untuk (bertanya|menghubungi)\b",
    ],
}
ASSISTANT_PATTERNS: dict[str, list[re.Pattern[str]]] = {
    language: [re.compile(pattern, re.IGNORECASE) for pattern in patterns] for language, patterns in _ASSISTANT_PHRASES.items()
}

OFF_TOPIC_THRESHOLD = 0.195
"""MiniLM cosine below which an English message is off its taxonomy path. Chosen on the 160 English
curated rows (`benchmarks/query_adapter.py --pairs-only`): keeps 94.4% of on-topic pairs and flags
98.1% of mismatched ones (precision 0.946). Figures per language: `datasets/query_tuning/README.md`."""

GATED_LANGUAGES: frozenset[str] = frozenset({"en"})
"""Languages the off-topic gate judges by default: see the module docstring and the data card."""


def assistant_voice(text: str) -> list[str]:
    """Why `text` reads as an assistant talking rather than a user asking; empty if it does not."""
    message = " ".join(text.split())
    reasons = []
    for language, patterns in ASSISTANT_PATTERNS.items():
        for pattern in patterns:
            found = pattern.search(message)
            if found:
                reasons.append(f"assistant-voiced ({language}): {found.group(0).strip()!r}")
    return reasons


def path_text(taxonomy_path: Sequence[str]) -> str:
    """The taxonomy path as the off-topic gate embeds it: `L1 > L2 > L3`."""
    return " > ".join(taxonomy_path)


def topic_similarities(encoder: Any, messages: Sequence[str], paths: Sequence[Sequence[str]]) -> list[float]:
    """Cosine between each message and its taxonomy path (normalised embeddings).

    Each distinct path is embedded once: a build has thousands of messages per few hundred paths.
    """
    if len(messages) != len(paths):
        raise ValueError("messages and paths differ in length")
    if not messages:
        return []
    texts = [path_text(path) for path in paths]
    distinct = list(dict.fromkeys(texts))
    index = {text: i for i, text in enumerate(distinct)}
    left = encoder.encode(list(messages), normalize_embeddings=True, convert_to_numpy=True)
    right = encoder.encode(distinct, normalize_embeddings=True, convert_to_numpy=True)[[index[text] for text in texts]]
    return [float(value) for value in (left * right).sum(axis=1)]


def off_topic(
    similarity: float, threshold: float = OFF_TOPIC_THRESHOLD, language: str = "en", languages: frozenset[str] = GATED_LANGUAGES
) -> str | None:
    """The reject reason when `similarity` is below `threshold` in a judged language, else None."""
    if language not in languages or math.isnan(similarity) or similarity >= threshold:
        return None
    return f"off-topic: similarity to its taxonomy path {similarity:.3f} < {threshold:.3f}"


class ThresholdChoice(BaseModel):
    """A threshold and how it separates on-topic from mismatched pairs (off-topic is the positive class)."""

    model_config = ConfigDict(frozen=True)

    threshold: float
    precision: float
    recall: float
    on_topic_kept: float
    """Share of on-topic pairs at or above the threshold (what the gate keeps of good messages)."""
    n_on: int
    n_off: int


def evaluate_threshold(on_topic: Sequence[float], mismatched: Sequence[float], threshold: float) -> ThresholdChoice:
    """Precision and recall of `similarity < threshold` as the off-topic verdict on labelled pairs."""
    tp = sum(1 for s in mismatched if s < threshold)
    fp = sum(1 for s in on_topic if s < threshold)
    return ThresholdChoice(
        threshold=round(threshold, 4),
        precision=tp / (tp + fp) if tp + fp else math.nan,
        recall=tp / len(mismatched) if mismatched else math.nan,
        on_topic_kept=1 - fp / len(on_topic) if on_topic else math.nan,
        n_on=len(on_topic),
        n_off=len(mismatched),
    )


def choose_threshold(on_topic: Sequence[float], mismatched: Sequence[float], min_kept: float = 0.95) -> ThresholdChoice:
    """The highest threshold that still keeps `min_kept` of the on-topic pairs.

    Keeping good messages comes first (the gate must not buy quality by emptying the set); within
    that, the highest threshold catches the most mismatched pairs.
    """
    if not on_topic or not mismatched:
        raise ValueError("need on-topic and mismatched similarities")
    ordered = sorted(on_topic)
    allowed = int(math.floor(len(ordered) * (1 - min_kept) + 1e-9))
    threshold = ordered[allowed]  # at most `allowed` on-topic pairs fall strictly below it
    return evaluate_threshold(on_topic, mismatched, threshold)
