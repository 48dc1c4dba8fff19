"""What the `nodesynth` commands share: the stderr console, the errors the CLI itself detects,
model-arg parsing, model creation (with the TaG default) and the progress display.

Commands raise `NodeSynthError` subclasses and let them propagate; `main.py` prints them.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from enum import Enum
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, ProgressColumn, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from rich.text import Text

from nodesynth_common.errors import NodeSynthError

stderr = Console(stderr=True)
DEFAULT_MODEL = "nodesynth/smollm2"
GENERATOR_AS_TAG = "generator"


# --- errors the CLI itself detects -----------------------------------------------------------


class ModelArgError(NodeSynthError):
    """A `-M`/`--model-arg` style pair that is not key=value."""


class ModelUnavailableError(NodeSynthError):
    """A model cannot be created (or loaded) for the role a command needs it in."""


class OptionError(NodeSynthError):
    """A flag is missing, has an unknown value, or contradicts another flag."""


class MissingFileError(NodeSynthError):
    """An input file named on the command line does not exist."""


class UnreadableLogError(NodeSynthError):
    """A file exists but Inspect cannot read it as an eval log."""


class EmptyInputError(NodeSynthError):
    """The inputs hold nothing the command can work on (no scores, no terms)."""


class OutputWriteError(NodeSynthError):
    """The command's output file cannot be written."""


class PromptProfileOption(str, Enum):
    """`--prompt-profile`: the spec's `prompt_profile` values."""

    auto = "auto"
    compact = "compact"
    full = "full"


# every character str.splitlines() breaks on, shown escaped: "\n", "\r", and the rarer ones as \x.. / \u....
_LINE_BREAKS = {ord(c): ("\\n" if c == "\n" else "\\r" if c == "\r" else c.encode("unicode_escape").decode()) for c in
                "\n\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029"}


def print_error(message: str) -> None:
    """Print `error: <message>` as one line on stderr.

    The message is user text (paths, patterns, model names): it is neither parsed as rich
    markup nor highlighted (a `Text` is neither), so `a[/x]b` or `'^*$'` print as given; long
    lines are not wrapped. A line break inside it (a column name or a path holding one) is shown
    as `\\n`, so the message stays one line.
    """
    flat = message.translate(_LINE_BREAKS)
    stderr.print(Text.assemble(("error:", "bold red"), " ", flat), highlight=False, soft_wrap=True)


def first_line(error: BaseException) -> str:
    """An exception's first message line, else its type name: third-party errors can be long."""
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__


# --- models ------------------------------------------------------------------------------------


def parse_model_args(pairs: list[str] | None, flag: str) -> dict[str, Any]:
    """`key=value` pairs as model args; values are JSON when they parse, else strings."""
    args: dict[str, Any] = {}
    for pair in pairs or []:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise ModelArgError(f"{flag} {pair!r}: expected key=value.")
        try:
            args[key] = json.loads(value)
        except ValueError:
            args[key] = value
    return args


def make_model(name: str, model_args: dict[str, Any], max_connections: int | None, role: str, **settings: Any) -> Any:
    """Create a model once, with the connection limit the build wants (Inspect keeps the first).

    `settings` are further GenerateConfig fields every call of the model gets (a build's
    max_retries, timeout, attempt_timeout and batch).
    """
    from inspect_ai.model import GenerateConfig, get_model

    try:
        config = GenerateConfig(max_connections=max_connections, **settings)
        return get_model(name, config=config, memoize=False, **model_args)
    except Exception as error:  # Inspect raises many kinds here: unknown provider, missing key, bad args
        raise ModelUnavailableError(f"cannot use model {name!r} for the {role} role: {first_line(error)}") from error


def make_tag_model(
    name: str | None, model_args: dict[str, Any], generator: str, max_connections: int | None, **settings: Any
) -> Any:
    """The L3 stage's model, or None for "the generator".

    With no name, an embedded generator gets the shipped tuned TaG (base + LoRA adapter, served
    through the same `nodesynth/` provider); a hosted generator writes its own L3 terms.
    """
    if name == GENERATOR_AS_TAG:
        return None
    if name is None:
        from generators.tag.adapter import default_tag_model

        default = default_tag_model(generator)
        if default is None:
            return None
        name, shipped_args = default
        model_args = {**shipped_args, **model_args}
    return make_model(name, model_args, max_connections, "tag", **settings)


def make_query_model(name: str | None, generator: str, max_connections: int | None, **settings: Any) -> Any:
    """The query stage's model, or None for "the generator".

    With no name, an embedded generator gets the shipped query adapter (base + LoRA trained on the
    build's own query request, `generators/query_tuning/`); a hosted generator writes its own queries.
    """
    if name == GENERATOR_AS_TAG:
        return None
    model_args: dict[str, Any] = {}
    if name is None:
        from generators.query_tuning.adapter import default_query_model

        default = default_query_model(generator)
        if default is None:
            return None
        name, model_args = default
    return make_model(name, model_args, max_connections, "query", **settings)


# --- progress ----------------------------------------------------------------------------------


def progress_bars(*, time_remaining: bool = False) -> Progress:
    """The stages' progress bars on stderr (stdout is for results): name, bar, n/total, time."""
    columns: list[ProgressColumn] = [TextColumn("{task.description:<14}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn()]
    if time_remaining:
        columns.append(TimeRemainingColumn())
    return Progress(*columns, console=stderr, transient=False)


class RichBuildProgress:
    """Draws a build's (or a training run's) stages as rich progress bars."""

    def __init__(self, progress: Progress) -> None:
        self.progress = progress

    def stage(self, name: str, total: int) -> Callable[[], None]:
        task = self.progress.add_task(name, total=max(total, 1))
        if total == 0:
            self.progress.advance(task)
        return lambda: self.progress.advance(task)
