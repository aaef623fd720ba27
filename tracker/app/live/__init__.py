"""Live mode: the engine that keeps the float64 book (`tracker.risk.live`) re-marked from the
WebSocket and refreshes accounts over REST on demand (`engine`, `scheduler`, `warm`), and the
C heap's housekeeping (`heap`). Part of `tracker.app`: may import every layer below it.
"""
