"""Re-exported from the package's replay venue (tracker/replay/tape.py)."""

from tracker.replay.tape import Tape, move_account, random_trades

__all__ = ["Tape", "move_account", "random_trades"]
