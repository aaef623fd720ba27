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
from tracker.sources.hyperliquid import shapes
from tracker.sources.hyperliquid.wire import (
    _Bad,
    _num,
    _obj,
    _opt_num,
    _opt_whole,
    _seq,
    _text,
    _whole,
    _wrap,
    ms_to_datetime,
)
from tracker.venues import HYPERLIQUID

VENUE = HYPERLIQUID
InfoRequest = dict[str, object]  # an info request body, {"type": ..., ...}: JSON values
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

    async def info(self, body: InfoRequest, *, address: str | None = None) -> object:
        """POST one info request; its weight and largest surcharge are held until the answer.

        The answer is JSON as decoded, of no declared shape yet: a parse_* checks it.
        """
        kind = str(body["type"])
        dex = body.get("dex")
        ctx = RequestContext(
            venue=VENUE, request=kind, address=address, dex=dex if isinstance(dex, str) else None
        )

        def surcharge(data: object) -> int:
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

    async def fetch_clearinghouse_state(self, address: str, dex: str = "") -> object:
        """Raw perp state of one account on one dex."""
        return await self.info(
            {"type": "clearinghouseState", "user": address, "dex": dex}, address=address
        )

    async def fetch_spot_state(self, address: str) -> object:
        """Raw spot balances of one account."""
        return await self.info({"type": "spotClearinghouseState", "user": address}, address=address)

    async def fetch_perp_dexs(self) -> object:
        """Raw list of perp dexes (null first = the main dex)."""
        return await self.info({"type": "perpDexs"})

    async def fetch_meta_and_asset_ctxs(self, dex: str = "") -> object:
        """Raw [meta, asset contexts] of one dex."""
        return await self.info({"type": "metaAndAssetCtxs", "dex": dex})

    async def fetch_vault_details(self, vault: str) -> object:
        """Raw vaultDetails of a vault (name, relationship with its children)."""
        return await self.info({"type": "vaultDetails", "vaultAddress": vault})

    async def fetch_all_mids(self, dex: str = "") -> object:
        """Raw {coin: mid} of one dex."""
        return await self.info({"type": "allMids", "dex": dex})


# ---------------------------------------------------------------- parse_* (pure)


def parse_clearinghouse_state(raw: object, address: str, dex: str = "") -> VenueAccount:
    """A clearinghouseState answer to a VenueAccount (raises VenueResponseError on bad shape)."""
    with _wrap("clearinghouseState", address, dex):
        state = shapes.CLEARINGHOUSE_STATE.of(raw, "the answer")
        cross = shapes.CROSS_MARGIN_SUMMARY.of(state["crossMarginSummary"], "crossMarginSummary")
        total = shapes.MARGIN_SUMMARY.of(state["marginSummary"], "marginSummary")
        positions: list[VenuePosition] = []
        for entry in _seq(state.get("assetPositions", []), "assetPositions"):
            asset_position = shapes.ASSET_POSITION.of(entry, "an assetPositions entry")
            position = _parse_position(asset_position["position"])
            if position is not None:
                if any(p.coin == position.coin for p in positions):
                    raise _Bad(f"two positions on {position.coin!r:.40}")
                positions.append(position)
        time_ms = _opt_whole(state.get("time"), "time")
        return VenueAccount(
            venue=VENUE,
            address=address,
            dex=dex,
            venue_time=ms_to_datetime(time_ms) if time_ms is not None else None,
            account_value_usd=_num(total["accountValue"], "accountValue"),
            cross_account_value_usd=_num(cross["accountValue"], "accountValue"),
            total_notional_usd=_num(total["totalNtlPos"], "totalNtlPos"),
            total_raw_usd=_num(total["totalRawUsd"], "totalRawUsd"),
            margin_used_usd=_num(total["totalMarginUsed"], "totalMarginUsed"),
            cross_maintenance_margin_usd=_opt_num(
                state.get("crossMaintenanceMarginUsed"), "crossMaintenanceMarginUsed"
            )
            or Decimal(0),
            withdrawable_usd=_num(state["withdrawable"], "withdrawable"),
            positions=tuple(positions),
        )


def _parse_position(raw: object) -> VenuePosition | None:
    obj = _obj(raw, "position")
    if "szi" not in obj:
        raise _Bad("position lacks 'szi'")
    size = _num(obj["szi"], "szi")
    if size == 0:  # read before the shape: a closed position's other keys do not matter
        return None
    p = shapes.POSITION.of(raw, "position")
    leverage = shapes.LEVERAGE.of(p["leverage"], "leverage")
    mode = leverage["type"]
    if mode != "cross" and mode != "isolated":
        raise _Bad(f"unknown leverage type {mode!r:.40}")
    cum = p.get("cumFunding")
    funding: shapes.CumFunding = cum if isinstance(cum, dict) else {}
    value = _num(p["positionValue"], "positionValue")
    if value <= 0:
        raise _Bad(f"positionValue {value} for a non-zero position")
    set_leverage = _whole(leverage["value"], "leverage.value")
    max_leverage = _opt_whole(p.get("maxLeverage"), "maxLeverage")
    return VenuePosition(
        coin=_text(p["coin"], "coin"),
        size=size,
        entry_px=_opt_num(p.get("entryPx"), "entryPx"),
        position_value_usd=value,
        unrealized_pnl_usd=_num(p["unrealizedPnl"], "unrealizedPnl"),
        return_on_equity=_opt_num(p.get("returnOnEquity"), "returnOnEquity"),
        liquidation_px=_opt_num(p.get("liquidationPx"), "liquidationPx"),
        margin_mode=mode,
        leverage=set_leverage,
        isolated_raw_usd=_opt_num(leverage.get("rawUsd"), "rawUsd") if mode == "isolated" else None,
        margin_used_usd=_num(p["marginUsed"], "marginUsed"),
        # Old answers lack maxLeverage; the user's leverage is then the best lower bound we have.
        max_leverage=set_leverage if max_leverage is None else max_leverage,
        cum_funding_all_time_usd=_opt_num(funding.get("allTime"), "allTime"),
        cum_funding_since_open_usd=_opt_num(funding.get("sinceOpen"), "sinceOpen"),
    )


def parse_perp_dexs(raw: object) -> tuple[str, ...]:
    """Dex names from a perpDexs answer, the main dex ("") first."""
    with _wrap("perpDexs"):
        names = [""]
        for entry in _seq(raw, "the answer"):
            if entry is None:
                continue
            name = _text(shapes.PERP_DEX.of(entry, "a dex")["name"], "name")
            if name not in names:
                names.append(name)
        return tuple(names)


def parse_meta_and_asset_ctxs(raw: object, dex: str, ts: datetime) -> MarketMeta:
    """A metaAndAssetCtxs answer to markets per coin and margin tables."""
    with _wrap("metaAndAssetCtxs", dex=dex):
        pair = _seq(raw, "the answer")
        if len(pair) != 2:
            raise _Bad("expected [meta, assetCtxs]")
        meta = shapes.META.of(pair[0], "meta")
        ctxs = _seq(pair[1], "assetCtxs")
        universe = _seq(meta["universe"], "universe")
        tables = parse_margin_tables(meta.get("marginTables", []))
        markets: dict[str, Market] = {}
        for asset_raw, ctx_raw in zip(universe, ctxs, strict=False):
            asset = shapes.ASSET.of(asset_raw, "a universe entry")
            ctx = shapes.ASSET_CTX.of(ctx_raw, "an assetCtx")
            coin = _text(asset["name"], "name")
            table_id = _opt_whole(asset.get("marginTableId"), "marginTableId")
            markets[coin] = Market(
                venue=VENUE,
                dex=dex,
                coin=coin,
                ts=ts,
                mark_px=_opt_num(ctx.get("markPx"), "markPx"),
                oracle_px=_opt_num(ctx.get("oraclePx"), "oraclePx"),
                mid_px=_opt_num(ctx.get("midPx"), "midPx"),
                funding_rate=_opt_num(ctx.get("funding"), "funding"),
                open_interest=_opt_num(ctx.get("openInterest"), "openInterest"),
                max_leverage=_whole(asset["maxLeverage"], "maxLeverage"),
                margin_table_id=_implicit_table(table_id, tables),
                day_notional_volume_usd=_opt_num(ctx.get("dayNtlVlm"), "dayNtlVlm"),
                prev_day_px=_opt_num(ctx.get("prevDayPx"), "prevDayPx"),
            )
        return MarketMeta(dex=dex, markets=markets, margin_tables=tables)


def _implicit_table(table_id: int | None, tables: dict[int, MarginTable]) -> int | None:
    if table_id is not None and table_id not in tables and table_id < 50:
        # margin-tiers doc: "for IDs less than 50, there is a single tier with max leverage = ID"
        tables[table_id] = MarginTable(
            id=table_id, tiers=(MarginTier(lower_bound_usd=Decimal(0), max_leverage=table_id),)
        )
    return table_id


def parse_margin_tables(raw: object) -> dict[int, MarginTable]:
    """meta.marginTables ([[id, {marginTiers: [...]}], ...]) to tables by id."""
    tables: dict[int, MarginTable] = {}
    for entry in _seq(raw, "marginTables"):
        pair = _seq(entry, "a marginTables entry")
        if len(pair) != 2:
            raise _Bad("a marginTables entry is not [id, table]")
        table_id = _whole(pair[0], "id")
        body = shapes.MARGIN_TABLE_BODY.of(pair[1], "table")
        tiers = tuple(
            sorted(
                (_margin_tier(t) for t in _seq(body["marginTiers"], "marginTiers")),
                key=lambda t: t.lower_bound_usd,
            )
        )
        if not tiers:
            raise _Bad(f"margin table {table_id}: 'marginTiers' is empty")
        tables[table_id] = MarginTable(id=table_id, tiers=tiers)
    return tables


def _margin_tier(raw: object) -> MarginTier:
    tier = shapes.MARGIN_TIER.of(raw, "a margin tier")
    return MarginTier(
        lower_bound_usd=_num(tier["lowerBound"], "lowerBound"),
        max_leverage=_whole(tier["maxLeverage"], "maxLeverage"),
    )


def parse_spot_state(raw: object, address: str, ts: datetime) -> tuple[SpotBalance, ...]:
    """A spotClearinghouseState answer to non-zero spot balances."""
    with _wrap("spotClearinghouseState", address):
        state = shapes.SPOT_STATE.of(raw, "the answer")
        balances = []
        for entry in _seq(state.get("balances", []), "balances"):
            obj = _obj(entry, "a balances entry")
            if "total" not in obj:
                raise _Bad("a balances entry lacks 'total'")
            total = _num(obj["total"], "total")
            if total == 0:  # read before the shape: an empty balance's other keys do not matter
                continue
            b = shapes.SPOT_BALANCE.of(entry, "a balances entry")
            balances.append(
                SpotBalance(
                    ts=ts,
                    venue=VENUE,
                    address=address,
                    coin=_text(b["coin"], "coin"),
                    total=total,
                    hold=_opt_num(b.get("hold"), "hold") or Decimal(0),
                    entry_notional_usd=_opt_num(b.get("entryNtl"), "entryNtl"),
                )
            )
        return tuple(balances)


def parse_vault_details(raw: object, vault: str) -> tuple[str | None, tuple[str, ...]]:
    """A vaultDetails answer to (name, child vault addresses); (None, ()) for an unknown vault."""
    if raw is None:
        return None, ()
    with _wrap("vaultDetails", vault):
        details = shapes.VAULT_DETAILS.of(raw, "the answer")
        name = details.get("name")
        relationship = details.get("relationship")
        children: list[str] = []
        data = relationship.get("data") if isinstance(relationship, dict) else None
        if isinstance(data, dict):
            for child in _seq(data.get("childAddresses", []), "childAddresses"):
                if not isinstance(child, str) or not _is_address(child):
                    raise _Bad(f"a childAddresses entry is not an address: {child!r:.50}")
                children.append(child.lower())
        return name if isinstance(name, str) else None, tuple(children)


def _is_address(text: str) -> bool:
    from tracker.addresses import is_address

    return is_address(text)
