"""Re-exported from the package's replay venue (tracker/replay/ws.py)."""

from tracker.replay.ws import ETH_SLIDE_2026, FakeWebSocket, compress, interpolate

__all__ = ["ETH_SLIDE_2026", "FakeWebSocket", "compress", "interpolate"]
