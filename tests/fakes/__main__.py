"""`python -m tests.fakes` = `python -m tests.fakes.hyperliquid`."""

from .hyperliquid import main

main()
