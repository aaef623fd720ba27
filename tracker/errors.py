"""The exceptions the tracker raises, all under one root (in brackets: where a subclass lives).

    TrackerError              anything the tracker raises on purpose
    ├── BadInput              the user's input is wrong: exit 2, one line, nothing changed
    │   ├── BadAddress        not 0x + 40 hex digits
    │   ├── ConfigError       an environment variable or .env value is invalid
    │   │   ├── EthereumNotConfigured  (sources.ethereum.rpc) no TRACKER_ETH_RPC_URL: side skipped
    │   │   └── ChainMismatch  (sources.ethereum.rpc) the RPC serves another chain than configured
    │   ├── QueryError        SQL that DuckDB rejects, or a named query that does not exist
    │   ├── WatchlistError    (watchlists) a watchlist file that cannot be read, parsed or written
    │   └── StreamLimitError  (sources.hyperliquid.stream) over the venue's 10 users or 1000 subs
    ├── VenueError            a venue did not give what we asked (context: venue, request, address)
    │   ├── VenueUnavailable  connection refused/reset, timeouts, 5xx and 429 after every retry
    │   └── VenueResponseError  an answer we cannot use: not JSON, or JSON of an unexpected shape
    │       └── NoAaveMarket  (sources.ethereum.aave) no Aave v3 pool at the configured address
    ├── StoreError            the DuckDB file could not be opened, migrated or written
    │   └── StoreBusy         another process holds the lock longer than we wait
    └── SinkError             an alert sink could not deliver (the reason holds no secret)

Outside the tree, by design: `net.http.Retryable` and `net.http.GaveUp` are the retry policy's own
signals (an attempt worth repeating; every attempt failed); callers turn GaveUp into the error of
their layer (VenueUnavailable, SinkError), so neither reaches a command. Likewise
`sources.check.WireError`, a value of the wrong shape in an answer, never leaves parse_*: it
becomes the VenueResponseError naming the request, the address and the key. And
`config.Invalid`, a value a setting's parser refuses, never leaves config: it becomes the
ConfigError that starts with the variable's name.

A `VenueError` for one account is logged, counted and skipped; the pass goes on. A `StoreError`
aborts the batch in flight, which leaves nothing half-written (one transaction per snapshot).
"""

from __future__ import annotations


class TrackerError(Exception):
    """Root of every error the tracker raises on purpose."""


class BadInput(TrackerError):
    """The user's input is wrong; the CLI prints one line and exits 2."""


class BadAddress(BadInput):
    """An address that is not 0x followed by 40 hex digits."""


class ConfigError(BadInput):
    """An environment or .env setting that cannot be used."""


class QueryError(BadInput):
    """SQL that DuckDB rejects, or an unknown named query."""


class VenueError(TrackerError):
    """A venue request failed; carries the venue, request type and address."""

    def __init__(
        self,
        message: str,
        *,
        venue: str,
        request: str | None = None,
        address: str | None = None,
        dex: str | None = None,
    ) -> None:
        self.venue = venue
        self.request = request
        self.address = address
        self.dex = dex
        parts = [f"venue={venue}"]
        if request:
            parts.append(f"request={request}")
        if address:
            parts.append(f"address={address}")
        if dex:
            parts.append(f"dex={dex}")
        super().__init__(f"{message} ({', '.join(parts)})")
        self.reason = message


class VenueUnavailable(VenueError):
    """The venue did not answer usefully after every retry (network, timeout, 5xx, 429)."""


class VenueResponseError(VenueError):
    """The venue answered with something we cannot parse or that has an unexpected shape."""


class StoreError(TrackerError):
    """The DuckDB store could not be opened, migrated or written."""


class StoreBusy(StoreError):
    """Another process held the DuckDB write lock for longer than we were willing to wait."""


class SinkError(TrackerError):
    """A sink could not deliver an alert; the reason never holds a URL, token or other secret."""

    def __init__(self, sink: str, reason: str) -> None:
        super().__init__(f"{sink}: {reason}")
        self.sink = sink
        self.reason = reason
