"""Re-exported from the package's replay venue (tracker/replay/liquidations.py)."""

from tracker.replay.liquidations import HLP_PARENT, ZERO_HASH, Liquidated, Tape

__all__ = ["HLP_PARENT", "ZERO_HASH", "Liquidated", "Tape"]
