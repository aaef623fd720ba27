"""Re-exported from the package's replay venue (tracker/replay/wire.py)."""

from tracker.replay.wire import ADDRESS, Answer, RecordedRequest, Series, VenueError, as_bytes

__all__ = ["ADDRESS", "Answer", "RecordedRequest", "Series", "VenueError", "as_bytes"]
