"""`python -m nodesynth_tasks.cli`: the `nodesynth` command."""

from .main import main

main()
