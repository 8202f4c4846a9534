"""`python -m archive.cli`: the command line without the console script (the scheduler's crawls)."""

from __future__ import annotations

from archive.cli import main

main()
