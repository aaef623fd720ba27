"""Transport every client shares: JSON over HTTP with the one retry policy (`net.http`) and the
weight limiter that holds a request's weight until its answer arrives (`net.limiter`). No venue
knowledge: callers pass the venue's name and the request for the error's
context. May import only the base modules (`tracker.errors`, `tracker.config`, ...), never a
layer above (sources, store, alerts, output, app, cli).

`net.http.with_retries` with a `RetryPolicy` is the one retry policy of idempotent reads: venue
reads (`sources.hyperliquid.client`), Ethereum RPC reads (`sources.ethereum.rpc`, web3's own
retries off) and alert sinks (`alerts._http`). Two waits keep their own loops on purpose, since
neither is a read that may give up after N attempts: the WebSocket's reconnect
(`sources.hyperliquid.stream.backoff_delay`, forever, half jitter) and DuckDB's lock wait
(`store.db`, a deadline in seconds). Atomic writes and redaction are base modules
(`tracker.atomic`, `tracker.redact`) because settings and watchlists, below every layer, use them.
"""
