"""The `nodesynth` app: created once here, each command attached from its own module.

Errors a user can cause (`NodeSynthError`, from any command or sub-command) are caught once,
by the app's group, and end as one line on stderr and exit code 2, never a traceback.
"""

from __future__ import annotations

from typing import Any

import typer
from typer.core import TyperGroup

from nodesynth_common.errors import NodeSynthError

from .assets import assets_app
from .build import build
from .calibrate import calibrate
from .common import print_error
from .import_ import import_app
from .novelty import novelty
from .prompts import prompts
from .report import report
from .tag import tag_app
from .triage import triage

USER_ERROR_EXIT_CODE = 2


def announce_hooks_on_stderr() -> None:
    """Let Inspect announce its hooks now, on stderr (on stdout it broke `--json` output).

    Said only when a hook is enabled: "hooks enabled: 0" (our own accounting hook, registered and
    idle outside a build) would precede every one-line error.
    """
    import contextlib
    import io
    import re
    import sys

    from nodesynth_common.inspect_internals import init_hooks

    banner = io.StringIO()
    with contextlib.redirect_stdout(banner):
        init_hooks()
    text = banner.getvalue()
    if text.strip() and not (re.search(r"hooks enabled: 0\b", text) and text.count("\n- ") <= 1):
        sys.stderr.write(text)


class NodeSynthGroup(TyperGroup):
    """The root command group: turns a `NodeSynthError` raised anywhere below it into one line and exit 2."""

    def invoke(self, ctx: Any) -> Any:  # typer's own (vendored) click Context, which has no public name
        announce_hooks_on_stderr()
        try:
            return super().invoke(ctx)
        except NodeSynthError as error:
            print_error(str(error).strip() or type(error).__name__)
            raise typer.Exit(code=USER_ERROR_EXIT_CODE) from None


app = typer.Typer(
    name="nodesynth",
    cls=NodeSynthGroup,
    help="NodeSynth for Inspect: build socially grounded safety evaluation datasets and run them with Inspect.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
# the order of `nodesynth --help`: commands as registered, then the command groups
app.command()(build)
app.command()(prompts)
app.command()(calibrate)
app.command()(triage)
app.command("report")(report)
app.command()(novelty)
app.add_typer(import_app, name="import")
app.add_typer(tag_app, name="tag")
app.add_typer(assets_app, name="assets")


def main() -> None:
    app()


if __name__ == "__main__":
    main()
