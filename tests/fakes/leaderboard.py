"""Re-exported from the package's replay venue (tracker/replay/leaderboard.py)."""

from tracker.replay.leaderboard import leaderboard_row, seeded_leaderboard

__all__ = ["leaderboard_row", "seeded_leaderboard"]
