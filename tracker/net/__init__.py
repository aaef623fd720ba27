"""Transport every client shares: JSON over HTTP with the one retry policy (`net.http`), the
weight limiter that holds a request's weight until its answer arrives (`net.limiter`), and atomic
file writes. No venue knowledge: callers pass the venue's name and the request for the error's
context. May import only the base modules (`tracker.errors`, `tracker.config`, ...), never a
layer above (sources, store, alerts, output, app, cli).
"""
