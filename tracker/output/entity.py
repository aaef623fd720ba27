"""One actor across addresses and venues: notional, net exposure per asset, nearest liquidation.

Read from the store only (what the last snapshots saw). Exposure is signed USD: Hyperliquid longs
and Aave collateral count positive, shorts and Aave debt negative, on-chain holdings positive.
Coins map to the asset they track (`flx:ETH`, `WETH`, `stETH`, `wstETH` -> ETH; `WBTC` -> BTC;
stablecoins -> USD), so a perp short against staked ETH nets out as it does economically.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any

from tracker import resources
from tracker.errors import BadInput
from tracker.jsonable import jsonable
from tracker.store import open_store
from tracker.watchlists import WatchedAddress

ZERO = Decimal(0)
_ALIASES = {
    "WETH": "ETH",
    "STETH": "ETH",
    "WSTETH": "ETH",
    "WEETH": "ETH",
    "RETH": "ETH",
    "CBETH": "ETH",
    "UETH": "ETH",
    "WBTC": "BTC",
    "CBBTC": "BTC",
    "UBTC": "BTC",
    "USDC": "USD",
    "USDT": "USD",
    "DAI": "USD",
    "USDE": "USD",
    "USDS": "USD",
    "USDH": "USD",
    "PYUSD": "USD",
}


def underlying(coin: str) -> str:
    """The asset a coin tracks: `flx:ETH` -> ETH, `WETH-debt` -> ETH, `USDC` -> USD."""
    name = coin.split(":", 1)[-1].removesuffix("-debt").upper()
    return _ALIASES.get(name, name)


def entity_addresses(entries: Sequence[WatchedAddress], name: str) -> list[tuple[str, str]]:
    """(address, label) of every watched address of the entity (any case), in watchlist order.

    `entries` are merged (tracker.watchlists.merge), as every command sees them.
    """
    found = [(e.address, e.label) for e in entries if e.entity and e.entity.lower() == name.lower()]
    if not found:
        known = sorted({e.entity for e in entries if e.entity})
        raise BadInput(
            f"no entity {name!r} in the watchlists (known: {', '.join(known) or 'none'})"
        )
    return found


def entities(entries: Sequence[WatchedAddress]) -> dict[str, int]:
    """Entity name -> number of addresses, from merged entries."""
    counts: dict[str, int] = defaultdict(int)
    for entry in entries:
        if entry.entity:
            counts[entry.entity] += 1
    return dict(sorted(counts.items()))


def entity_view(db: Path, name: str, members: Sequence[tuple[str, str]]) -> dict[str, Any]:
    """Everything the store knows of an entity's addresses, aggregated."""
    addresses = [a for a, _ in members]
    params = {"addresses": addresses}
    with open_store(db, read_only=True) as store:

        def rows(query: str) -> list[dict[str, Any]]:
            cursor = store.con.execute(resources.sql("reads", query), params)
            cols = [d[0] for d in cursor.description]
            return [dict(zip(cols, r, strict=True)) for r in cursor.fetchall()]

        positions, accounts, holdings = (
            rows("entity_positions"),
            rows("entity_accounts"),
            rows("entity_holdings"),
        )
    exposure: dict[str, Decimal] = defaultdict(lambda: ZERO)
    notional: dict[str, Decimal] = defaultdict(lambda: ZERO)
    for p in positions:
        sign = 1 if p["side"] == "long" else -1
        exposure[underlying(p["coin"])] += sign * p["notional_usd"]
        notional[p["venue"]] += p["notional_usd"]
    for h in holdings:
        if h["usd_value"] is not None:
            exposure[underlying(h["asset"])] += h["usd_value"]
    at_risk = [p for p in positions if p["distance_to_liq_pct"] is not None]
    nearest = min(at_risk, key=lambda p: p["distance_to_liq_pct"], default=None)
    labels = dict(members)
    view: dict[str, Any] = jsonable(
        {
            "entity": name,
            "addresses": [{"address": a, "label": labels[a]} for a in addresses],
            "total_notional_usd": sum(notional.values(), ZERO),
            "notional_usd_by_venue": dict(sorted(notional.items())),
            "account_value_usd": sum((a["account_value_usd"] for a in accounts), ZERO),
            "net_exposure_usd": {
                k: v for k, v in sorted(exposure.items(), key=lambda kv: -abs(kv[1])) if v != 0
            },
            "nearest_liquidation": None
            if nearest is None
            else {
                k: nearest[k]
                for k in (
                    "venue",
                    "address",
                    "dex",
                    "coin",
                    "side",
                    "notional_usd",
                    "mark_px",
                    "liquidation_px",
                    "distance_to_liq_pct",
                    "ts",
                )
            },
            "positions": sorted(positions, key=lambda p: -p["notional_usd"]),
            "holdings": holdings,
            "as_of": max((r["ts"] for r in [*positions, *accounts, *holdings]), default=None),
        }
    )
    return view
