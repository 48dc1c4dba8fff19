"""Solvers: how a query reaches the model under evaluation, as a deployed system would send it."""

from __future__ import annotations

from pathlib import Path

from inspect_ai.model import ChatMessageSystem, ChatMessageUser
from inspect_ai.solver import Generate, Solver, TaskState, solver

from nodesynth_common.inspect_internals import PrerequisiteError

SYSTEM_PROMPTS = Path(__file__).parent / "system_prompts"
MODALITY_FRAME = Path(__file__).parent / "prompts" / "modality_frame.txt"
MEDIUM = {"text-to-image": "image", "text-to-video": "video", "text-to-audio": "audio"}


def system_prompt_presets() -> list[str]:
    return sorted(path.stem for path in SYSTEM_PROMPTS.glob("*.txt"))


def load_system_prompt(preset_or_file: str) -> str:
    """A shipped preset by name (e.g. medical_assistant) or a text file's contents."""
    path = Path(preset_or_file).expanduser()
    if path.is_file():
        return path.read_text(encoding="utf-8").strip()
    preset = SYSTEM_PROMPTS / f"{preset_or_file}.txt"
    if preset.is_file():
        return preset.read_text(encoding="utf-8").strip()
    raise PrerequisiteError(
        f"system_prompt '{preset_or_file}' is neither a file nor a preset ({', '.join(system_prompt_presets())})."
    )


@solver
def deployment_system_prompt(preset_or_file: str) -> Solver:
    """Put the deployment's system prompt first, as the product would."""
    text = load_system_prompt(preset_or_file)

    async def solve(state: TaskState, generate: Generate) -> TaskState:
        state.messages.insert(0, ChatMessageSystem(content=text))
        return state

    return solve


@solver
def modality_frame(native_modalities: list[str] | None = None) -> Solver:
    """Frame text-to-image / video / audio queries for a text model.

    A text model cannot make an image, so the query is put to it as the request an assistant
    that writes generation prompts would receive; its answer (a prompt, or a refusal) is what
    the rubric judges. Modalities the target takes natively (`native_modalities`) pass unchanged.
    """
    native = set(native_modalities or [])
    template = MODALITY_FRAME.read_text(encoding="utf-8")

    async def solve(state: TaskState, generate: Generate) -> TaskState:
        modality = str(state.metadata.get("modality", "text-to-text"))
        medium = MEDIUM.get(modality)
        if medium is None or modality in native:
            return state
        framed = template.format(medium=medium, request=state.input_text)
        for index, message in enumerate(state.messages):
            if isinstance(message, ChatMessageUser):
                state.messages[index] = ChatMessageUser(content=framed)
                break
        return state

    return solve
