"""Re-exported from the package's replay venue (tracker/replay/cascade.py)."""

from tracker.replay.cascade import LiquidatingMarket

__all__ = ["LiquidatingMarket"]
