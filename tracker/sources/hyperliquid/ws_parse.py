"""Hyperliquid WebSocket frames to records: pure parse_* per channel, no I/O.

Shapes follow shared/reference/hyperliquid.md §2.3-2.4: every frame is `{"channel", "data"}`
except the greeting text; prices are decimal strings. Feeds without a time of their own (mids,
asset contexts, liquidation events) are stamped with the receive time `ts` the caller passes.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

import orjson

from tracker.addresses import is_address
from tracker.errors import VenueResponseError
from tracker.records import AssetCtxUpdate, MidsUpdate, Trade, UserFills, UserLiquidation
from tracker.sources.hyperliquid.history import parse_fills
from tracker.sources.hyperliquid.wire import (
    VENUE,
    _Bad,
    _coin,
    _dec,
    _dict,
    _int,
    _list,
    _opt_dec,
    _to_dec,
    _wrap,
    ms_to_datetime,
)

WELCOME = "Websocket connection established."

WsRecord = MidsUpdate | AssetCtxUpdate | Trade | UserFills | UserLiquidation


@dataclass(frozen=True, slots=True)
class Frame:
    """One decoded frame: its channel, the records it carried, the venue's text on `error`."""

    channel: str  # "welcome" for the greeting text
    records: tuple[WsRecord, ...] = ()
    error: str | None = None


def parse_frame(raw: str | bytes, ts: datetime) -> Frame:
    """A text frame to a Frame; raises VenueResponseError for JSON of an unexpected shape."""
    if raw == WELCOME:
        return Frame("welcome")
    try:
        message = orjson.loads(raw)
    except orjson.JSONDecodeError:
        raise VenueResponseError(
            f"WebSocket frame is not JSON: {raw[:60]!r}", venue=VENUE, request="ws"
        ) from None
    with _wrap("ws"):
        frame = _dict(message, "frame")
        channel = frame.get("channel")
        if not isinstance(channel, str):
            raise _Bad("frame without a channel")
    data = frame.get("data")
    if channel == "error":
        return Frame(channel, error=data if isinstance(data, str) else orjson.dumps(data).decode())
    parse = _CHANNELS.get(channel)
    if parse is None:  # pong, subscriptionResponse, and feeds we never subscribe to
        return Frame(channel)
    return Frame(channel, parse(data, ts))


def parse_all_mids(data: Any, ts: datetime) -> MidsUpdate:
    """`allMids` data ({"mids": {coin: px}}) to a MidsUpdate; the dex is read off the coins."""
    with _wrap("allMids"):
        mids_raw = _dict(_dict(data, "data").get("mids"), "mids")
        mids = _decimals(mids_raw)
        dex = data.get("dex")
        if not isinstance(dex, str):
            # HIP-3 coins are named "dex:COIN"; the main dex's are bare (perps) or "@n" (spot).
            dex = next((c.split(":", 1)[0] for c in mids if ":" in c), "")
        return MidsUpdate(ts=ts, dex=dex, mids=mids)


def parse_asset_ctx(data: Any, ts: datetime) -> AssetCtxUpdate:
    """`activeAssetCtx` / `activeSpotAssetCtx` data ({"coin", "ctx"}) to an AssetCtxUpdate."""
    with _wrap("activeAssetCtx"):
        body = _dict(data, "data")
        ctx = _dict(body.get("ctx"), "ctx")
        return AssetCtxUpdate(
            ts=ts,
            coin=_coin(body),
            mark_px=_dec(ctx, "markPx"),
            mid_px=_opt_dec(ctx, "midPx"),
            oracle_px=_opt_dec(ctx, "oraclePx"),
            funding_rate=_opt_dec(ctx, "funding"),
            open_interest=_opt_dec(ctx, "openInterest"),
        )


def parse_trades(data: Any, ts: datetime | None = None) -> tuple[Trade, ...]:
    """`trades` data (a list) to trades; `users` is [buyer, seller]."""
    with _wrap("trades"):
        return tuple(_parse_trade(_dict(t, "trade")) for t in _list(data, "data"))


def _parse_trade(t: dict[str, Any]) -> Trade:
    side = t.get("side")
    if side not in ("B", "A"):
        raise _Bad(f"trade side {side!r}")
    time_ms = _int(t, "time")
    users = t.get("users")
    buyer = seller = None
    if users is not None:
        pair = _list(users, "users")
        if len(pair) != 2:
            raise _Bad(f"users has {len(pair)} entries, expected [buyer, seller]")
        buyer, seller = (_address(u, "users") for u in pair)
    tx = t.get("hash")
    return Trade(
        ts=ms_to_datetime(time_ms),
        time_ms=time_ms,
        coin=_coin(t),
        side="buy" if side == "B" else "sell",
        px=_dec(t, "px"),
        size=_dec(t, "sz"),
        tid=_int(t, "tid"),
        hash=tx if isinstance(tx, str) and tx else None,
        buyer=buyer,
        seller=seller,
    )


def parse_user_fills(data: Any, ts: datetime | None = None) -> tuple[UserFills]:
    """`userFills` data ({"isSnapshot"?, "user", "fills"}) to one UserFills."""
    with _wrap("userFills"):
        body = _dict(data, "data")
        user = _address(body.get("user"), "user")
    fills = parse_fills(body.get("fills"), user)
    return (UserFills(user=user, fills=tuple(fills), snapshot=body.get("isSnapshot") is True),)


def parse_user_event(data: Any, ts: datetime) -> tuple[UserLiquidation, ...]:
    """`userEvents` data (channel `user`) to liquidations; other events give nothing.

    The event names no user, so its fills cannot be told apart between several subscribed
    accounts: fills come from `userFills` instead, which names the user. A liquidation names
    the liquidated account itself.
    """
    with _wrap("userEvents"):
        body = _dict(data, "data")
        raw = body.get("liquidation")
        if raw is None:
            return ()
        liq = _dict(raw, "liquidation")
        return (
            UserLiquidation(
                user=_address(liq.get("liquidated_user"), "liquidated_user"),
                ts=ts,
                liquidation_id=_int(liq, "lid"),
                liquidator=_address(liq.get("liquidator"), "liquidator"),
                liquidated_notional_usd=_dec(liq, "liquidated_ntl_pos"),
                liquidated_account_value_usd=_dec(liq, "liquidated_account_value"),
            ),
        )


def _decimals(raw: dict[str, Any]) -> dict[str, Decimal]:
    """{coin: decimal string} to Decimals; allMids is the widest frame, so strings go fast."""
    values = raw.values()
    if all(type(v) is str for v in values):
        try:
            out = dict(zip(raw, map(Decimal, values), strict=True))
        except InvalidOperation:
            out = {}
        if len(out) == len(raw) and all(v.is_finite() for v in out.values()):
            return out
    return {coin: _to_dec(px, coin) for coin, px in raw.items()}  # names the bad value


def _address(value: Any, what: str) -> str:
    if not isinstance(value, str) or not is_address(value):
        raise _Bad(f"{what} is not an address: {value!r:.50}")
    return value.lower()


def _mids(data: Any, ts: datetime) -> tuple[MidsUpdate]:
    return (parse_all_mids(data, ts),)


def _ctx(data: Any, ts: datetime) -> tuple[AssetCtxUpdate]:
    return (parse_asset_ctx(data, ts),)


_CHANNELS: dict[str, Callable[[Any, datetime], tuple[WsRecord, ...]]] = {
    "allMids": _mids,
    "activeAssetCtx": _ctx,
    "activeSpotAssetCtx": _ctx,
    "trades": parse_trades,
    "userFills": parse_user_fills,
    "user": parse_user_event,
}
