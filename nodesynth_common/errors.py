"""The one user-facing error type.

Every error a user can cause (a bad spec, file, flag, log or model name) subclasses
`NodeSynthError`. Its message is one sentence naming the file, field or model; the `nodesynth`
command prints it on one line and exits 2, and `inspect eval` shows it as a prerequisite error.
Errors of the tool itself stay ordinary exceptions, so they keep their tracebacks.
"""

from __future__ import annotations


class NodeSynthError(Exception):
    """A problem the user can fix, said in one sentence."""
