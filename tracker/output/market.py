"""`tracker market`, the read side: a coin's tracked positions, cohorts, largest positions,
liquidation clusters, recent changes and liquidations, with the venue's market figures.

Tracked figures are the store's: each account's latest snapshot (`latest_positions`), notional at
that snapshot's mark. Shares of open interest are in coins (tracked size / open interest), so they
do not depend on when each account was last read. Labels: the watchlist's, else the leaderboard's
display name (a stranger's text: data, never markup), else none.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from tracker import resources
from tracker.errors import BadInput
from tracker.jsonable import jsonable
from tracker.output.liqmap import DEFAULT_BUCKETS, LiqPosition, build_liqmap
from tracker.store import Store

HOURS_PER_YEAR = 24 * 365  # the venue pays funding every hour
LARGEST = 10  # positions listed
CLUSTERS = 3  # nearest liquidation clusters on each side of the mark
RECENT = 10  # position changes and liquidations listed
LARGE_CHANGE_USD = Decimal(100_000)  # the smallest position change listed


@dataclass(frozen=True, slots=True, kw_only=True)
class Quote:
    """The venue's figures for one coin (metaAndAssetCtxs), or the newest stored ones."""

    dex: str
    coin: str
    ts: datetime
    mark_px: Decimal | None
    oracle_px: Decimal | None
    funding_rate_hourly: Decimal | None  # fraction per hour
    open_interest: Decimal | None  # coins, one side
    volume_24h_usd: Decimal | None

    @property
    def funding_apr(self) -> Decimal | None:
        """The hourly rate times the hours of a year (a fraction, not compounded)."""
        rate = self.funding_rate_hourly
        return None if rate is None else rate * HOURS_PER_YEAR

    @property
    def open_interest_usd(self) -> Decimal | None:
        """Open interest (coins) at the mark."""
        if self.open_interest is None or self.mark_px is None:
            return None
        return self.open_interest * self.mark_px


@dataclass(frozen=True, slots=True, kw_only=True)
class Tracked:
    """Tracked longs and shorts of one coin (or one cohort of it): USD, coins and accounts."""

    long_notional_usd: Decimal
    short_notional_usd: Decimal
    long_size: Decimal
    short_size: Decimal
    accounts_long: int
    accounts_short: int

    def share_of_oi(self, open_interest: Decimal | None) -> dict[str, Decimal | None]:
        """Tracked long and short size over the open interest (fractions; None without OI)."""
        if not open_interest:
            return {"long": None, "short": None}
        return {"long": self.long_size / open_interest, "short": self.short_size / open_interest}

    def as_json(self, open_interest: Decimal | None) -> dict[str, Any]:
        """The `tracked` object of `--json`."""
        return {
            "long_notional_usd": self.long_notional_usd,
            "short_notional_usd": self.short_notional_usd,
            "accounts_long": self.accounts_long,
            "accounts_short": self.accounts_short,
            "share_of_oi": self.share_of_oi(open_interest),
        }


NOTHING = Tracked(
    long_notional_usd=Decimal(0),
    short_notional_usd=Decimal(0),
    long_size=Decimal(0),
    short_size=Decimal(0),
    accounts_long=0,
    accounts_short=0,
)


@dataclass(frozen=True, slots=True, kw_only=True)
class CoinRow:
    """One line of `tracker market` without a coin."""

    dex: str
    coin: str
    tracked: Tracked
    quote: Quote | None


@dataclass(frozen=True, slots=True, kw_only=True)
class Cohort:
    """One cohort's tracked positions in a coin."""

    kind: str  # account_value, all_time_pnl
    cohort: str
    tracked: Tracked


@dataclass(frozen=True, slots=True, kw_only=True)
class Cluster:
    """Liquidation notional of tracked positions in one price bucket of the liquidation map."""

    side: str  # long: liquidated if the mark falls here; short: if it rises
    price_low: Decimal
    price_high: Decimal
    notional_usd: Decimal
    distance_pct: Decimal  # of the mark to the bucket's middle, signed


@dataclass(frozen=True, slots=True, kw_only=True)
class CoinMarket:
    """Everything `tracker market COIN` shows."""

    dex: str
    coin: str
    quote: Quote | None
    tracked: Tracked
    cohorts: tuple[Cohort, ...]
    largest: tuple[dict[str, Any], ...]
    clusters: tuple[Cluster, ...]
    changes: tuple[dict[str, Any], ...]
    liquidations: tuple[dict[str, Any], ...]


def split_coin(coin: str, dex: str | None) -> tuple[str, str]:
    """(dex, coin as the venue names it): `xyz:ABC` is on dex xyz; --dex adds the prefix."""
    text = coin.strip()
    if not text or len(text) > 40 or any(c.isspace() for c in text):
        raise BadInput(f"not a coin name: {coin[:40]!r}")
    prefix, colon, _ = text.partition(":")
    if colon:
        check_dex(prefix)
        if dex is not None and dex != prefix:
            raise BadInput(f"coin {text!r} is on dex {prefix!r}, not on --dex {dex!r}")
        return prefix, text
    if dex:
        return dex, f"{dex}:{text}"
    return "", text


def check_dex(dex: str | None) -> None:
    """BadInput for a --dex that cannot be a dex name."""
    if dex is not None and (len(dex) > 20 or not dex.replace("_", "").isalnum()):
        raise BadInput(f"--dex must be a perp dex name such as xyz, got {dex[:40]!r}")


def resolve_coin(
    name: str, dex: str, listed: Sequence[str], stored: set[tuple[str, str]], error: str | None
) -> str:
    """The coin's exact name (case-insensitive match); BadInput when neither side knows it."""
    names = list(dict.fromkeys([*listed, *sorted(c for d, c in stored if d == dex)]))
    if name in names:
        return name
    folded = [c for c in names if c.lower() == name.lower()]
    if len(folded) == 1:
        return folded[0]
    where = f" on dex {dex!r}" if dex else ""
    some = ", ".join(names[:12]) + (", ..." if len(names) > 12 else "") if names else "none"
    if error:  # a dex the venue does not list fails like an unreachable venue: say both
        raise BadInput(
            f"unknown coin {name!r}{where} (known from the store: {some}; the venue: {error})"
        )
    raise BadInput(f"unknown coin {name!r}{where} (known: {some})")


def _rows(store: Store, name: str, params: Mapping[str, Any]) -> list[dict[str, Any]]:
    cursor = store.con.execute(resources.sql("reads", name), dict(params))
    columns = [d[0] for d in cursor.description]
    return [dict(zip(columns, row, strict=True)) for row in cursor.fetchall()]


def _tracked(row: Mapping[str, Any]) -> Tracked:
    return Tracked(
        long_notional_usd=row["long_notional_usd"],
        short_notional_usd=row["short_notional_usd"],
        long_size=row["long_size"],
        short_size=row["short_size"],
        accounts_long=int(row["accounts_long"]),
        accounts_short=int(row["accounts_short"]),
    )


def check_schema(store: Store) -> None:
    """BadInput when the file predates the cohort views (it was never opened for writing since)."""
    found = store.con.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_name = 'cohort_positions'"
    ).fetchone()
    if not found or not found[0]:
        raise BadInput(
            f"{store.path} has no cohort_positions view yet: run 'tracker snapshot' once to migrate"
        )


def coin_rows(store: Store, dex: str | None) -> list[tuple[str, str, Tracked]]:
    """(dex, coin, tracked) of every tracked coin (of one dex), largest tracked notional first."""
    rows = _rows(store, "market_coins", {"dex": dex, "coin": None})
    return [(r["dex"], r["coin"], _tracked(r)) for r in rows]


def known_coins(store: Store) -> set[tuple[str, str]]:
    """Every (dex, coin) in stored markets or positions."""
    return {(r["dex"], r["coin"]) for r in _rows(store, "market_known", {})}


def stored_quotes(store: Store, dex: str) -> dict[str, Quote]:
    """The newest stored market row of each coin of one dex."""
    return {
        r["coin"]: Quote(
            dex=dex,
            coin=r["coin"],
            ts=r["ts"],
            mark_px=r["mark_px"],
            oracle_px=r["oracle_px"],
            funding_rate_hourly=r["funding_rate"],
            open_interest=r["open_interest"],
            volume_24h_usd=r["day_notional_volume_usd"],
        )
        for r in _rows(store, "market_stored", {"dex": dex})
    }


def _labelled(row: dict[str, Any], labels: Mapping[str, str]) -> dict[str, Any]:
    name = row.pop("display_name", None)
    label = labels.get(row["address"]) or (name.strip() if name and name.strip() else None)
    return {"label": label, **row}


def read_coin(
    store: Store, dex: str, coin: str, quote: Quote | None, labels: Mapping[str, str]
) -> CoinMarket:
    """A coin's tracked side of the market from the store, with the quote given (or none)."""
    params = {"dex": dex, "coin": coin}
    totals = _rows(store, "market_coins", params)
    cohorts = tuple(
        Cohort(kind=r["kind"], cohort=r["cohort"], tracked=_tracked(r))
        for r in _rows(store, "market_cohorts", params)
    )
    largest = [
        _labelled(r, labels) for r in _rows(store, "market_largest", {**params, "limit": LARGEST})
    ]
    positions = [
        LiqPosition(
            address=r["address"],
            ts=r["ts"],
            side=r["side"],
            notional_usd=r["notional_usd"],
            mark_px=r["mark_px"],
            liquidation_px=r["liquidation_px"],
        )
        for r in _rows(store, "liqmap_positions", {"coin": coin, "addresses": None})
    ]
    changes = _rows(
        store, "market_changes", {"coin": coin, "min_usd": LARGE_CHANGE_USD, "limit": RECENT}
    )
    liquidations = _rows(store, "market_liquidations", {"coin": coin, "limit": RECENT})
    return CoinMarket(
        dex=dex,
        coin=coin,
        quote=quote,
        tracked=_tracked(totals[0]) if totals else NOTHING,
        cohorts=cohorts,
        largest=tuple(largest),
        clusters=clusters(coin, positions, quote.mark_px if quote else None),
        changes=tuple(_labelled(r, labels) for r in changes),
        liquidations=tuple(_labelled(r, labels) for r in liquidations),
    )


def clusters(
    coin: str, positions: Sequence[LiqPosition], mark: Decimal | None, nearest: int = CLUSTERS
) -> tuple[Cluster, ...]:
    """The nearest non-empty buckets of the liquidation map (`tracker liqmap`'s buckets): longs
    below the mark, nearest first, then shorts above it, nearest first."""
    if not any(p.liquidation_px is not None for p in positions):
        return ()
    m = build_liqmap(coin, positions, DEFAULT_BUCKETS, mark)
    found: list[Cluster] = []
    for side, amounts, below in (("long", m.long_usd, True), ("short", m.short_usd, False)):
        picked: list[Cluster] = []
        for i, amount in enumerate(amounts):
            low, high = m.edges[i], m.edges[i + 1]
            middle = (low + high) / 2
            if not amount or (middle <= m.mark_px) != below:
                continue
            picked.append(
                Cluster(
                    side=side,
                    price_low=low,
                    price_high=high,
                    notional_usd=amount,
                    distance_pct=(middle / m.mark_px - 1) * 100,
                )
            )
        picked.sort(key=lambda c: abs(c.distance_pct))
        found += picked[:nearest]
    return tuple(found)


def coin_json(m: CoinMarket) -> dict[str, Any]:
    """`tracker market COIN --json`: exactly the keys the README lists."""
    q = m.quote
    oi = q.open_interest if q else None
    doc: dict[str, Any] = jsonable(
        {
            "coin": m.coin,
            "dex": m.dex,
            "mark_px": q.mark_px if q else None,
            "oracle_px": q.oracle_px if q else None,
            "funding_rate_hourly": q.funding_rate_hourly if q else None,
            "funding_apr": q.funding_apr if q else None,
            "open_interest": oi,
            "open_interest_usd": q.open_interest_usd if q else None,
            "volume_24h_usd": q.volume_24h_usd if q else None,
            "tracked": m.tracked.as_json(oi),
            "cohorts": [
                {"kind": c.kind, "cohort": c.cohort, **c.tracked.as_json(oi)} for c in m.cohorts
            ],
            "largest_positions": list(m.largest),
            "liquidation_clusters": [
                {
                    "side": c.side,
                    "price_low": c.price_low,
                    "price_high": c.price_high,
                    "notional_usd": c.notional_usd,
                    "distance_pct": c.distance_pct,
                }
                for c in m.clusters
            ],
            "recent_position_changes": list(m.changes),
            "recent_liquidations": list(m.liquidations),
        }
    )
    return doc


def list_json(rows: Sequence[CoinRow]) -> list[dict[str, Any]]:
    """`tracker market --json`: one object per tracked coin, largest tracked notional first."""
    docs = []
    for r in rows:
        q = r.quote
        oi = q.open_interest if q else None
        docs.append(
            {
                "coin": r.coin,
                "dex": r.dex,
                "mark_px": q.mark_px if q else None,
                "open_interest_usd": q.open_interest_usd if q else None,
                "tracked": r.tracked.as_json(oi),
            }
        )
    return [jsonable(d) for d in docs]
