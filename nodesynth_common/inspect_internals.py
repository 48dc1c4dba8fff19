"""Every private `inspect_ai._*` name this project uses, in one place, with the reason.

Inspect has no public API for these. The pin (`inspect-ai==0.3.285`) keeps them where they
are; `tests/test_inspect_internals.py` fails loudly, naming the symbol, if an upgrade moves
one. Import them from here, never from `inspect_ai._*` directly.
"""

from __future__ import annotations

# The report reads a finished log's header.json and summaries.json in one pass over the zip
# directory (the public readers validate every sample summary: half a minute per 200,000).
from inspect_ai._util._async import run_coroutine
from inspect_ai._util.async_zip import AsyncZipReader
from inspect_ai._util.asyncfiles import AsyncFilesystem

# Inspect prints a PrerequisiteError as one plain message, without a traceback or an
# ExceptionGroup: the right way for a task or provider to say "your -T argument is wrong".
# There is no public export of it (checked in 0.3.285).
from inspect_ai._util.error import PrerequisiteError

# Inspect announces registered hooks ("inspect_ai v..., hooks enabled: 0") on stdout the first time
# a model is used; our CLI runs that once with stdout sent to stderr, so `--json` output stays JSON.
from inspect_ai.hooks._startup import init_hooks
from inspect_ai.log._recorders.eval import HEADER_JSON, SUMMARIES_JSON

# Outside an eval, every model call's event (input, output, raw request and response) goes into
# the current transcript and stays for the life of the process; a build is not an eval and keeps
# its own accounting, so it installs a transcript that keeps none. Only `Transcript` is public.
from inspect_ai.log._transcript import init_transcript

__all__ = [
    "HEADER_JSON",
    "SUMMARIES_JSON",
    "AsyncFilesystem",
    "AsyncZipReader",
    "PrerequisiteError",
    "init_hooks",
    "init_transcript",
    "run_coroutine",
]
