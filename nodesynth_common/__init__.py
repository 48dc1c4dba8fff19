"""What all three packages share: the user-facing error type and small helpers.

`nodesynth_tasks`, `generators` and `scorers` may import this package; it imports none of them.
"""

from .errors import NodeSynthError
from .validation import validation_problem

__all__ = ["NodeSynthError", "validation_problem"]
