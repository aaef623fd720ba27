"""Re-exported from the package's replay venue (tracker/replay/venue.py)."""

from tracker.replay.venue import Venue, now_ms

__all__ = ["Venue", "now_ms"]
