"""One sentence from a pydantic validation error."""

from __future__ import annotations

from pydantic import ValidationError


def validation_problem(error: ValidationError) -> tuple[str, str]:
    """The first problem of a pydantic error as (field path, message) for a one-sentence error.

    The path is dotted ("size.max_l1"), empty at the top level; the message drops pydantic's
    "Value error, " prefix and says plainly when a field is missing or unknown.
    """
    first = error.errors()[0]
    field = ".".join(str(part) for part in first["loc"])
    message = first["msg"].removeprefix("Value error, ")
    if first["type"] == "missing":
        message = "this required field is missing"
    elif first["type"] == "extra_forbidden":
        message = "unknown field"
    return field, message
