"""One perp dex of the fake: `meta` + asset ctxs, marks, and the cached answers built from them."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

import orjson

from tracker.replay.model import AssetInfo, Tier, build_tiers, dec, fmt

EMPTY_META: dict[str, Any] = {"universe": [], "marginTables": [], "collateralToken": 0}


class Dex:
    """Market data of one perp dex (`""` = main dex); `version` changes whenever a mark moves."""

    def __init__(
        self,
        name: str,
        meta: dict[str, Any] | None = None,
        ctxs: list[dict[str, Any]] | None = None,
    ) -> None:
        self.name = name
        self.meta: dict[str, Any] = (
            meta if meta is not None else orjson.loads(orjson.dumps(EMPTY_META))
        )
        self.ctxs: list[dict[str, Any]] = ctxs if ctxs is not None else []
        if len(self.ctxs) != len(self.meta["universe"]):
            raise ValueError(
                f"dex {name!r}: {len(self.ctxs)} ctxs for {len(self.meta['universe'])} assets"
            )
        self.version = 0
        self._index = {str(a["name"]): i for i, a in enumerate(self.meta["universe"])}
        self._tiers: dict[str, tuple[Tier, ...]] = {}
        self._cache: dict[str, bytes] = {}

    def __contains__(self, coin: object) -> bool:
        return coin in self._index

    def coins(self) -> list[str]:
        """Coin names in universe order."""
        return list(self._index)

    def mark(self, coin: str) -> Decimal:
        """Current mark price (USD) of `coin`."""
        return dec(self.ctxs[self._position(coin)]["markPx"])

    def set_mark(self, coin: str, px: Decimal | str | float) -> None:
        """Move the mark (and the mid, when the book has one) of `coin` to `px` USD."""
        ctx = self.ctxs[self._position(coin)]
        text = fmt(dec(px), 10)
        ctx["markPx"] = text
        if ctx.get("midPx") is not None:
            ctx["midPx"] = text
        self._changed()

    def add_coin(
        self,
        coin: str,
        mark_px: Decimal | str | float,
        *,
        max_leverage: int = 20,
        sz_decimals: int = 2,
        margin_table_id: int | None = None,
    ) -> None:
        """Append `coin` with a flat ctx at `mark_px` (only moves the mark if listed)."""
        if coin in self._index:
            self.set_mark(coin, mark_px)
            return
        px = fmt(dec(mark_px), 10)
        table = max_leverage if margin_table_id is None else margin_table_id
        self.meta["universe"].append(
            {
                "szDecimals": sz_decimals,
                "name": coin,
                "maxLeverage": max_leverage,
                "marginTableId": table,
            }
        )
        self.ctxs.append(
            {
                "funding": "0.0",
                "openInterest": "0.0",
                "prevDayPx": px,
                "dayNtlVlm": "0.0",
                "premium": "0.0",
                "oraclePx": px,
                "markPx": px,
                "midPx": px,
                "impactPxs": [px, px],
                "dayBaseVlm": "0.0",
            }
        )
        self._index[coin] = len(self.ctxs) - 1
        self._changed()

    def asset_info(self, coin: str) -> AssetInfo:
        """Mark, max leverage and margin tiers of `coin` for the account renderer."""
        i = self._position(coin)
        tiers = self._tiers.get(coin)
        if tiers is None:
            tiers = self._tiers[coin] = build_tiers(self.meta, self.meta["universe"][i])
        return AssetInfo(
            mark=dec(self.ctxs[i]["markPx"]),
            max_leverage=int(self.meta["universe"][i]["maxLeverage"]),
            tiers=tiers,
        )

    def meta_bytes(self) -> bytes:
        """Serialized `meta` answer."""
        return self._cached("meta", lambda: self.meta)

    def meta_and_ctxs_bytes(self) -> bytes:
        """Serialized `metaAndAssetCtxs` answer (`[meta, ctxs]`)."""
        return self._cached("metaAndAssetCtxs", lambda: [self.meta, self.ctxs])

    def all_mids_bytes(self) -> bytes:
        """Serialized `allMids` answer: `{coin: midPx or markPx}`."""
        return self._cached("allMids", self.mids)

    def mids(self) -> dict[str, str]:
        """Mid per coin, falling back to the mark when the book is empty."""
        return {
            coin: self.ctxs[i].get("midPx") or self.ctxs[i]["markPx"]
            for coin, i in self._index.items()
        }

    def _cached(self, key: str, build: Callable[[], Any]) -> bytes:
        body = self._cache.get(key)
        if body is None:
            body = self._cache[key] = orjson.dumps(build())
        return body

    def _changed(self) -> None:
        self.version += 1
        self._cache.clear()

    def _position(self, coin: str) -> int:
        try:
            return self._index[coin]
        except KeyError:
            raise KeyError(
                f"coin {coin!r} is not listed on dex {self.name or '(main)'!r}"
            ) from None
