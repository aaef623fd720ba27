"""Hyperliquid Info API: async fetch_* (POST /info) and pure parse_* (wire -> records).

Wire shapes and venue jargon (`szi`, `ntl`, `px`) stay in this module. Decimals arrive as JSON
strings and are parsed once into Decimal; integers may arrive as numbers or (in some recordings)
numeric strings, and both are accepted. Request weights follow the venue's rate-limit page
(shared/reference/hyperliquid.md §2.1).
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime
from decimal import Decimal
from typing import Any

import aiohttp

from tracker.net.http import RequestContext, RetryPolicy, post_json
from tracker.net.limiter import WeightLimiter
from tracker.records import (
    MarginTable,
    MarginTier,
    Market,
    MarketMeta,
    SpotBalance,
    VenueAccount,
    VenuePosition,
)
from tracker.sources.hyperliquid.wire import (
    _Bad,
    _coin,
    _dec,
    _dict,
    _int,
    _list,
    _opt_dec,
    _wrap,
    ms_to_datetime,
)
from tracker.venues import HYPERLIQUID

VENUE = HYPERLIQUID
_WEIGHT_2 = frozenset(
    {
        "l2Book",
        "allMids",
        "clearinghouseState",
        "orderStatus",
        "spotClearinghouseState",
        "exchangeStatus",
    }
)
_ITEM_WEIGHTED = frozenset(
    {
        "recentTrades",
        "historicalOrders",
        "userFills",
        "userFillsByTime",
        "fundingHistory",
        "userFunding",
        "nonUserFundingUpdates",
        "twapHistory",
        "userTwapSliceFills",
        "userTwapSliceFillsByTime",
        "delegatorHistory",
        "delegatorRewards",
        "validatorStats",
    }
)


def request_weight(request_type: str) -> int:
    """Weight the venue charges for an info request of this type, before item surcharges."""
    if request_type in _WEIGHT_2:
        return 2
    if request_type == "userRole":
        return 60
    return 20


# The most items one answer carries: 2000 for fills and orders, 500 for other time ranges.
_MAX_ITEMS = {"userFills": 2000, "userFillsByTime": 2000, "historicalOrders": 2000}


def item_surcharge(request_type: str, items: int) -> int:
    """Extra weight per 20 items returned (read as +1 per 20; the exact step is unconfirmed)."""
    return items // 20 if request_type in _ITEM_WEIGHTED else 0


def max_item_surcharge(request_type: str) -> int:
    """The largest item surcharge one answer of this type can cost."""
    return item_surcharge(request_type, _MAX_ITEMS.get(request_type, 500))


class HyperliquidClient:
    """The Info API over one shared aiohttp session, one weight budget and one retry policy."""

    def __init__(
        self,
        session: aiohttp.ClientSession,
        base_url: str,
        *,
        limiter: WeightLimiter,
        policy: RetryPolicy,
    ) -> None:
        self.session = session
        self.url = base_url.rstrip("/") + "/info"
        self.limiter = limiter
        self.policy = policy
        self.weight_by_type: Counter[str] = Counter()  # as charged, retries included
        self.retries: Counter[str] = Counter()  # failed attempts retried, by reason

    async def info(self, body: dict[str, Any], *, address: str | None = None) -> Any:
        """POST one info request; its weight and largest surcharge are held until the answer."""
        kind = str(body["type"])
        ctx = RequestContext(venue=VENUE, request=kind, address=address, dex=body.get("dex"))

        def surcharge(data: Any) -> int:
            return item_surcharge(kind, len(data)) if isinstance(data, list) else 0

        data = await post_json(
            self.session,
            self.url,
            body,
            ctx=ctx,
            policy=self.policy,
            limiter=self.limiter,
            weight=request_weight(kind),
            surcharge=surcharge,
            max_surcharge=max_item_surcharge(kind),
            on_retry=lambda reason: self.retries.update((reason,)),
        )
        self.weight_by_type[kind] += request_weight(kind) + surcharge(data)
        return data

    async def fetch_clearinghouse_state(self, address: str, dex: str = "") -> Any:
        """Raw perp state of one account on one dex."""
        return await self.info(
            {"type": "clearinghouseState", "user": address, "dex": dex}, address=address
        )

    async def fetch_spot_state(self, address: str) -> Any:
        """Raw spot balances of one account."""
        return await self.info({"type": "spotClearinghouseState", "user": address}, address=address)

    async def fetch_perp_dexs(self) -> Any:
        """Raw list of perp dexes (null first = the main dex)."""
        return await self.info({"type": "perpDexs"})

    async def fetch_meta_and_asset_ctxs(self, dex: str = "") -> Any:
        """Raw [meta, asset contexts] of one dex."""
        return await self.info({"type": "metaAndAssetCtxs", "dex": dex})

    async def fetch_vault_details(self, vault: str) -> Any:
        """Raw vaultDetails of a vault (name, relationship with its children)."""
        return await self.info({"type": "vaultDetails", "vaultAddress": vault})

    async def fetch_all_mids(self, dex: str = "") -> Any:
        """Raw {coin: mid} of one dex."""
        return await self.info({"type": "allMids", "dex": dex})


# ---------------------------------------------------------------- parse_* (pure)


def parse_clearinghouse_state(raw: Any, address: str, dex: str = "") -> VenueAccount:
    """A clearinghouseState answer to a VenueAccount (raises VenueResponseError on bad shape)."""
    with _wrap("clearinghouseState", address, dex):
        state = _dict(raw, "answer")
        cross = _dict(state.get("crossMarginSummary"), "crossMarginSummary")
        total = _dict(state.get("marginSummary"), "marginSummary")
        positions = []
        for entry in _list(state.get("assetPositions", []), "assetPositions"):
            position = _parse_position(
                _dict(_dict(entry, "assetPosition").get("position"), "position")
            )
            if position is not None:
                positions.append(position)
        time_ms = state.get("time")
        return VenueAccount(
            venue=VENUE,
            address=address,
            dex=dex,
            venue_time=ms_to_datetime(_int(state, "time")) if time_ms is not None else None,
            account_value_usd=_dec(total, "accountValue"),
            cross_account_value_usd=_dec(cross, "accountValue"),
            total_notional_usd=_dec(total, "totalNtlPos"),
            total_raw_usd=_dec(total, "totalRawUsd"),
            margin_used_usd=_dec(total, "totalMarginUsed"),
            cross_maintenance_margin_usd=_opt_dec(state, "crossMaintenanceMarginUsed")
            or Decimal(0),
            withdrawable_usd=_dec(state, "withdrawable"),
            positions=tuple(positions),
        )


def _parse_position(p: dict[str, Any]) -> VenuePosition | None:
    size = _dec(p, "szi")
    if size == 0:
        return None
    leverage = _dict(p.get("leverage"), "leverage")
    mode = leverage.get("type")
    if mode not in ("cross", "isolated"):
        raise _Bad(f"unknown leverage type {mode!r}")
    cum = p.get("cumFunding")
    funding: dict[str, Any] = cum if isinstance(cum, dict) else {}
    value = _dec(p, "positionValue")
    if value <= 0:
        raise _Bad(f"positionValue {value} for a non-zero position")
    set_leverage = _int(leverage, "value")
    return VenuePosition(
        coin=_coin(p),
        size=size,
        entry_px=_opt_dec(p, "entryPx"),
        position_value_usd=value,
        unrealized_pnl_usd=_dec(p, "unrealizedPnl"),
        return_on_equity=_opt_dec(p, "returnOnEquity"),
        liquidation_px=_opt_dec(p, "liquidationPx"),
        margin_mode=mode,
        leverage=set_leverage,
        isolated_raw_usd=_opt_dec(leverage, "rawUsd") if mode == "isolated" else None,
        margin_used_usd=_dec(p, "marginUsed"),
        # Old answers lack maxLeverage; the user's leverage is then the best lower bound we have.
        max_leverage=_int(p, "maxLeverage", default=set_leverage),
        cum_funding_all_time_usd=_opt_dec(funding, "allTime"),
        cum_funding_since_open_usd=_opt_dec(funding, "sinceOpen"),
    )


def parse_perp_dexs(raw: Any) -> tuple[str, ...]:
    """Dex names from a perpDexs answer, the main dex ("") first."""
    with _wrap("perpDexs"):
        names = [""]
        for entry in _list(raw, "answer"):
            if entry is None:
                continue
            name = _dict(entry, "dex").get("name")
            if not isinstance(name, str) or not name:
                raise _Bad("dex without a name")
            if name not in names:
                names.append(name)
        return tuple(names)


def parse_meta_and_asset_ctxs(raw: Any, dex: str, ts: datetime) -> MarketMeta:
    """A metaAndAssetCtxs answer to markets per coin and margin tables."""
    with _wrap("metaAndAssetCtxs", dex=dex):
        pair = _list(raw, "answer")
        if len(pair) != 2:
            raise _Bad("expected [meta, assetCtxs]")
        meta = _dict(pair[0], "meta")
        ctxs = _list(pair[1], "assetCtxs")
        universe = _list(meta.get("universe"), "universe")
        tables = parse_margin_tables(meta.get("marginTables", []))
        markets: dict[str, Market] = {}
        for asset, ctx in zip(universe, ctxs, strict=False):
            asset = _dict(asset, "asset")
            ctx = _dict(ctx, "assetCtx")
            coin = _coin({"coin": asset.get("name")})
            table_id = asset.get("marginTableId")
            markets[coin] = Market(
                venue=VENUE,
                dex=dex,
                coin=coin,
                ts=ts,
                mark_px=_opt_dec(ctx, "markPx"),
                oracle_px=_opt_dec(ctx, "oraclePx"),
                mid_px=_opt_dec(ctx, "midPx"),
                funding_rate=_opt_dec(ctx, "funding"),
                open_interest=_opt_dec(ctx, "openInterest"),
                max_leverage=_int(asset, "maxLeverage"),
                margin_table_id=_implicit_table(table_id, asset, tables),
                day_notional_volume_usd=_opt_dec(ctx, "dayNtlVlm"),
                prev_day_px=_opt_dec(ctx, "prevDayPx"),
            )
        return MarketMeta(dex=dex, markets=markets, margin_tables=tables)


def _implicit_table(
    table_id: Any, asset: dict[str, Any], tables: dict[int, MarginTable]
) -> int | None:
    if table_id is None:
        return None
    number = _int({"id": table_id}, "id")
    if number not in tables and number < 50:
        # margin-tiers doc: "for IDs less than 50, there is a single tier with max leverage = ID"
        tables[number] = MarginTable(
            id=number, tiers=(MarginTier(lower_bound_usd=Decimal(0), max_leverage=number),)
        )
    return number


def parse_margin_tables(raw: Any) -> dict[int, MarginTable]:
    """meta.marginTables ([[id, {marginTiers: [...]}], ...]) to tables by id."""
    tables: dict[int, MarginTable] = {}
    for entry in _list(raw, "marginTables"):
        pair = _list(entry, "marginTable")
        if len(pair) != 2:
            raise _Bad("marginTable is not [id, table]")
        table_id = _int({"id": pair[0]}, "id")
        tiers = tuple(
            sorted(
                (
                    MarginTier(
                        lower_bound_usd=_dec(t, "lowerBound"), max_leverage=_int(t, "maxLeverage")
                    )
                    for t in _list(_dict(pair[1], "table").get("marginTiers"), "marginTiers")
                ),
                key=lambda t: t.lower_bound_usd,
            )
        )
        if not tiers:
            raise _Bad(f"margin table {table_id} has no tiers")
        tables[table_id] = MarginTable(id=table_id, tiers=tiers)
    return tables


def parse_spot_state(raw: Any, address: str, ts: datetime) -> tuple[SpotBalance, ...]:
    """A spotClearinghouseState answer to non-zero spot balances."""
    with _wrap("spotClearinghouseState", address):
        balances = []
        for entry in _list(_dict(raw, "answer").get("balances", []), "balances"):
            b = _dict(entry, "balance")
            total = _dec(b, "total")
            if total == 0:
                continue
            balances.append(
                SpotBalance(
                    ts=ts,
                    venue=VENUE,
                    address=address,
                    coin=_coin(b),
                    total=total,
                    hold=_opt_dec(b, "hold") or Decimal(0),
                    entry_notional_usd=_opt_dec(b, "entryNtl"),
                )
            )
        return tuple(balances)


def parse_vault_details(raw: Any, vault: str) -> tuple[str | None, tuple[str, ...]]:
    """A vaultDetails answer to (name, child vault addresses); (None, ()) for an unknown vault."""
    if raw is None:
        return None, ()
    with _wrap("vaultDetails", vault):
        details = _dict(raw, "answer")
        name = details.get("name") if isinstance(details.get("name"), str) else None
        relationship = details.get("relationship")
        children: list[str] = []
        if isinstance(relationship, dict) and isinstance(relationship.get("data"), dict):
            for child in _list(relationship["data"].get("childAddresses", []), "childAddresses"):
                if not isinstance(child, str) or not _is_address(child):
                    raise _Bad(f"child address {child!r}")
                children.append(child.lower())
        return name, tuple(children)


def _is_address(text: str) -> bool:
    from tracker.addresses import is_address

    return is_address(text)
