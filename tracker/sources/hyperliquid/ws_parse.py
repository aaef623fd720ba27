"""Hyperliquid WebSocket frames to records: pure parse_* per channel, no I/O.

Shapes follow shared/reference/hyperliquid.md §2.3-2.4: every frame is `{"channel", "data"}`
except the greeting text; prices are decimal strings. Feeds without a time of their own (mids,
asset contexts, liquidation events) are stamped with the receive time `ts` the caller passes.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import cast

import orjson

from tracker.addresses import is_address
from tracker.errors import VenueResponseError
from tracker.records import AssetCtxUpdate, MidsUpdate, Trade, UserFills, UserLiquidation
from tracker.sources.hyperliquid import shapes
from tracker.sources.hyperliquid.history import parse_fills
from tracker.sources.hyperliquid.wire import (
    VENUE,
    _Bad,
    _num,
    _obj,
    _opt_num,
    _opt_text,
    _seq,
    _text,
    _whole,
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
        frame = shapes.WS_FRAME.of(message, "frame")
        channel = frame["channel"]
        if not isinstance(channel, str):
            raise _Bad("frame without a channel")
    data = frame.get("data")
    if channel == "error":
        return Frame(channel, error=data if isinstance(data, str) else orjson.dumps(data).decode())
    parse = _CHANNELS.get(channel)
    if parse is None:  # pong, subscriptionResponse, and feeds we never subscribe to
        return Frame(channel)
    return Frame(channel, parse(data, ts))


def parse_all_mids(data: object, ts: datetime) -> MidsUpdate:
    """`allMids` data ({"mids": {coin: px}}) to a MidsUpdate; the dex is read off the coins."""
    with _wrap("allMids"):
        body = shapes.WS_MIDS.of(data, "data")
        mids = _decimals(_obj(body["mids"], "mids"))
        dex = body.get("dex")
        if not isinstance(dex, str):
            # HIP-3 coins are named "dex:COIN"; the main dex's are bare (perps) or "@n" (spot).
            dex = next((c.split(":", 1)[0] for c in mids if ":" in c), "")
        return MidsUpdate(ts=ts, dex=dex, mids=mids)


def parse_asset_ctx(data: object, ts: datetime) -> AssetCtxUpdate:
    """`activeAssetCtx` / `activeSpotAssetCtx` data ({"coin", "ctx"}) to an AssetCtxUpdate."""
    with _wrap("activeAssetCtx"):
        body = shapes.WS_ASSET_CTX.of(data, "data")
        ctx = shapes.WS_ASSET_CTX_BODY.of(body["ctx"], "ctx")
        return AssetCtxUpdate(
            ts=ts,
            coin=_text(body["coin"], "coin"),
            mark_px=_num(ctx["markPx"], "markPx"),
            mid_px=_opt_num(ctx.get("midPx"), "midPx"),
            oracle_px=_opt_num(ctx.get("oraclePx"), "oraclePx"),
            funding_rate=_opt_num(ctx.get("funding"), "funding"),
            open_interest=_opt_num(ctx.get("openInterest"), "openInterest"),
        )


def parse_trades(data: object, ts: datetime | None = None) -> tuple[Trade, ...]:
    """`trades` data (a list) to trades; `users` is [buyer, seller]."""
    with _wrap("trades"):
        return tuple(_parse_trade(t) for t in _seq(data, "data"))


def _parse_trade(raw: object) -> Trade:
    t = shapes.WS_TRADE.of(raw, "a trade")
    side = t["side"]
    if side != "B" and side != "A":
        raise _Bad(f"trade side {side!r:.40}")
    time_ms = _whole(t["time"], "time")
    users = t.get("users")
    buyer = seller = None
    if users is not None:
        pair = _seq(users, "users")
        if len(pair) != 2:
            raise _Bad(f"users has {len(pair)} entries, expected [buyer, seller]")
        buyer, seller = _address(pair[0], "users"), _address(pair[1], "users")
    return Trade(
        ts=ms_to_datetime(time_ms),
        time_ms=time_ms,
        coin=_text(t["coin"], "coin"),
        side="buy" if side == "B" else "sell",
        px=_num(t["px"], "px"),
        size=_num(t["sz"], "sz"),
        tid=_whole(t["tid"], "tid"),
        hash=_opt_text(t.get("hash")),
        buyer=buyer,
        seller=seller,
    )


def parse_user_fills(data: object, ts: datetime | None = None) -> tuple[UserFills]:
    """`userFills` data ({"isSnapshot"?, "user", "fills"}) to one UserFills."""
    with _wrap("userFills"):
        body = shapes.WS_USER_FILLS.of(data, "data")
        user = _address(body["user"], "user")
        raw_fills = _seq(body["fills"], "fills")
    fills = parse_fills(raw_fills, user)
    return (UserFills(user=user, fills=tuple(fills), snapshot=body.get("isSnapshot") is True),)


def parse_user_event(data: object, ts: datetime) -> tuple[UserLiquidation, ...]:
    """`userEvents` data (channel `user`) to liquidations; other events give nothing.

    The event names no user, so its fills cannot be told apart between several subscribed
    accounts: fills come from `userFills` instead, which names the user. A liquidation names
    the liquidated account itself.
    """
    with _wrap("userEvents"):
        body = shapes.WS_USER_EVENT.of(data, "data")
        raw = body.get("liquidation")
        if raw is None:
            return ()
        liq = shapes.WS_LIQUIDATION.of(raw, "liquidation")
        return (
            UserLiquidation(
                user=_address(liq["liquidated_user"], "liquidated_user"),
                ts=ts,
                liquidation_id=_whole(liq["lid"], "lid"),
                liquidator=_address(liq["liquidator"], "liquidator"),
                liquidated_notional_usd=_num(liq["liquidated_ntl_pos"], "liquidated_ntl_pos"),
                liquidated_account_value_usd=_num(
                    liq["liquidated_account_value"], "liquidated_account_value"
                ),
            ),
        )


def _decimals(raw: dict[str, object]) -> dict[str, Decimal]:
    """{coin: decimal text} to Decimals; allMids is the widest frame, so text goes fast."""
    values = raw.values()
    if all(type(v) is str for v in values):
        try:
            out = dict(zip(raw, map(Decimal, cast("Iterable[str]", values)), strict=True))
        except InvalidOperation:
            out = {}
        if len(out) == len(raw) and all(v.is_finite() for v in out.values()):
            return out
    return {coin: _num(px, coin) for coin, px in raw.items()}  # names the bad value


def _address(value: object, what: str) -> str:
    if not isinstance(value, str) or not is_address(value):
        raise _Bad(f"{what} is not an address: {value!r:.50}")
    return value.lower()


def _mids(data: object, ts: datetime) -> tuple[MidsUpdate]:
    return (parse_all_mids(data, ts),)


def _ctx(data: object, ts: datetime) -> tuple[AssetCtxUpdate]:
    return (parse_asset_ctx(data, ts),)


_CHANNELS: dict[str, Callable[[object, datetime], tuple[WsRecord, ...]]] = {
    "allMids": _mids,
    "activeAssetCtx": _ctx,
    "activeSpotAssetCtx": _ctx,
    "trades": parse_trades,
    "userFills": parse_user_fills,
    "user": parse_user_event,
}
