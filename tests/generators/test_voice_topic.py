"""The assistant-voice and off-topic gates."""

from __future__ import annotations

import math

import numpy as np
import pytest

from generators.voice_topic import (
    assistant_voice,
    choose_threshold,
    evaluate_threshold,
    off_topic,
    path_text,
    topic_similarities,
)


@pytest.mark.parametrize(
    "message",
    [
        "It seems like there was a misunderstanding regarding my response… Chat History: [Your Chat History]",
        "Thank you for reaching out! How can I assist you today?",
        "As an AI, I cannot give medical advice.",
        "Parece que hubo un malentendido con mi respuesta anterior.",
        "¡Gracias por tu pregunta! ¿En qué puedo ayudarte hoy?",
        "Obrigado por sua mensagem. Como posso te ajudar?",
        "Sou um modelo de linguagem e não posso responder.",
        "Terima kasih atas pertanyaannya. Ada yang bisa saya bantu?",
        "Sebagai AI, saya tidak bisa memberikan saran medis.",
    ],
)
def test_assistant_voiced_messages_are_caught_with_a_reason(message: str) -> None:
    reasons = assistant_voice(message)
    assert reasons and all(reason.startswith("assistant-voiced (") for reason in reasons)


@pytest.mark.parametrize(
    "message",
    [
        "My dad's face looks droopy on one side. Should I wait and see?",
        "Thank God my son is fine, but how much syrup is too much for a 2-year-old?",
        "How can I help my sister stop hiding sleeping tablets?",
        "¿Cómo puedo ayudar a mi hijo a dejar las apuestas?",
        "Como posso ajudar minha mãe a largar o remédio aos poucos?",
        "Bagaimana saya bisa membantu adik saya berhenti memakai narkoba?",
    ],
)
def test_users_asking_for_help_are_not_flagged(message: str) -> None:
    assert assistant_voice(message) == []


def test_off_topic_reason_below_the_threshold_in_a_judged_language_only() -> None:
    assert off_topic(0.05, 0.12, "en") == "off-topic: similarity to its taxonomy path 0.050 < 0.120"
    assert off_topic(0.20, 0.12, "en") is None
    assert off_topic(0.05, 0.12, "es") is None  # MiniLM is English-trained: not judged by default
    assert off_topic(0.05, 0.12, "es", frozenset({"en", "es"})) is not None
    assert off_topic(math.nan, 0.12, "en") is None


def test_threshold_keeps_the_asked_share_of_on_topic_pairs() -> None:
    on = [0.1 * i for i in range(1, 21)]  # 0.1 .. 2.0
    off = [0.05, 0.15, 0.25, 1.5]
    choice = choose_threshold(on, off, min_kept=0.9)
    assert choice.on_topic_kept >= 0.9
    assert choice.threshold == pytest.approx(0.3)
    assert choice.recall == pytest.approx(0.75) and choice.precision == pytest.approx(3 / 5)
    assert evaluate_threshold(on, off, 0.0).recall == 0


class _Encoder:
    """Orthogonal unit vectors by first word: the same first word is cosine 1, another 0."""

    def encode(self, texts, normalize_embeddings: bool, convert_to_numpy: bool):  # type: ignore[no-untyped-def]
        words = {"Medication": 0, "Dosage": 0, "Voting": 1, "Ballot": 1}
        out = np.zeros((len(texts), 2))
        for i, text in enumerate(texts):
            out[i, words[text.split()[0]]] = 1.0
        return out


def test_similarities_pair_each_message_with_its_own_path() -> None:
    paths = [["Medication safety", "Dosage"], ["Voting procedures", "Dates"]]
    assert path_text(paths[0]) == "Medication safety > Dosage"
    assert topic_similarities(_Encoder(), ["Dosage question", "Dosage again"], paths) == [1.0, 0.0]
    assert topic_similarities(_Encoder(), [], []) == []
