"""The fake venue's state, scripting API and `/info` answers (no I/O; server.py serves it).

State: perp dexes (meta, asset ctxs, marks), per (user, dex) clearinghouse states recorded
verbatim or modelled from cash + positions (re-rendered whenever a mark moves), spot balances,
fills, funding, ledger updates and vault details. Users are matched case-insensitively.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping
from decimal import Decimal
from typing import Any

import orjson

from tracker.replay.market import Dex
from tracker.replay.model import ModelAccount, ModelPosition, dec, render_clearinghouse_state
from tracker.replay.wire import (
    DESERIALIZE,
    Answer,
    Series,
    VenueError,
    address,
    as_bytes,
    end_millis,
    start_millis,
)

Handler = Callable[["Venue", dict[str, Any]], Answer]

_EMPTY_STATE_PREFIX = (
    orjson.dumps(
        {
            "marginSummary": dict.fromkeys(
                ("accountValue", "totalNtlPos", "totalRawUsd", "totalMarginUsed"), "0.0"
            ),
            "crossMarginSummary": dict.fromkeys(
                ("accountValue", "totalNtlPos", "totalRawUsd", "totalMarginUsed"), "0.0"
            ),
            "crossMaintenanceMarginUsed": "0.0",
            "withdrawable": "0.0",
            "assetPositions": [],
        }
    )[:-1]
    + b',"time":'
)


def now_ms() -> int:
    """Wall-clock epoch milliseconds."""
    return time.time_ns() // 1_000_000


class Venue:
    """Venue state and its answers to parsed `/info` bodies."""

    def __init__(self) -> None:
        self.perp_dexs: list[dict[str, Any] | None] = [None]
        self.dexes: dict[str, Dex] = {"": Dex("")}
        self._spot_meta_cache: tuple[Any, bytes] = ({}, b"")
        self._spot_ctxs_cache: tuple[Any, bytes] = ([], b"")
        self.spot_meta = {"universe": [], "tokens": []}
        self.spot_meta_and_ctxs = [{"universe": [], "tokens": []}, []]
        self._states: dict[tuple[str, str], bytes] = {}
        self._models: dict[tuple[str, str], ModelAccount] = {}
        self._rendered: dict[tuple[str, str], tuple[int, dict[str, Any]]] = {}
        self._spot: dict[str, bytes] = {}
        self._fills: dict[str, Series] = {}
        self._funding: dict[str, Series] = {}
        self._ledger: dict[str, Series] = {}
        self._vaults: dict[str, bytes] = {}
        self._sub_accounts: dict[str, list[dict[str, Any]]] = {}
        # GET /Mainnet/leaderboard of the stats host, served verbatim (see put_leaderboard).
        self.leaderboard_body: bytes = b'{"leaderboardRows":[]}'

    # --- market data -------------------------------------------------------------------------

    @property
    def spot_meta(self) -> Any:
        """The `spotMeta` answer (assign a new value to change it: it is served pre-serialised)."""
        return self._spot_meta_cache[0]

    @spot_meta.setter
    def spot_meta(self, value: Any) -> None:
        self._spot_meta_cache = (value, orjson.dumps(value))

    @property
    def spot_meta_and_ctxs(self) -> Any:
        """The `spotMetaAndAssetCtxs` answer (assign to change, like `spot_meta`)."""
        return self._spot_ctxs_cache[0]

    @spot_meta_and_ctxs.setter
    def spot_meta_and_ctxs(self, value: Any) -> None:
        self._spot_ctxs_cache = (value, orjson.dumps(value))

    def add_dex(
        self,
        name: str,
        meta: dict[str, Any] | None = None,
        ctxs: list[dict[str, Any]] | None = None,
        *,
        entry: dict[str, Any] | None = None,
    ) -> Dex:
        """Create or replace perp dex `name` ("" = main) and list it in `perp_dexs`."""
        dex = self.dexes[name] = Dex(name, meta, ctxs)
        listed = {e["name"]: i for i, e in enumerate(self.perp_dexs) if e is not None}
        if name and (entry is not None or name not in listed):
            entry = entry if entry is not None else default_dex_entry(name)
            if name in listed:
                self.perp_dexs[listed[name]] = entry
            else:
                self.perp_dexs.append(entry)
        self._rendered.clear()
        return dex

    def dex(self, name: str = "") -> Dex:
        """The perp dex called `name` (KeyError when unknown)."""
        try:
            return self.dexes[name]
        except KeyError:
            raise KeyError(f"unknown perp dex {name!r}") from None

    def set_mark(self, coin: str, px: Decimal | str | float, dex: str = "") -> None:
        """Move `coin`'s mark to `px` USD; modelled accounts on that dex re-render at it."""
        self.dex(dex).set_mark(coin, px)

    # --- accounts ----------------------------------------------------------------------------

    def put_clearinghouse_state(self, user: str, state: Any, dex: str = "") -> None:
        """Serve `state` verbatim for (user, dex); replaces any modelled account there."""
        key = (user.lower(), dex)
        self._models.pop(key, None)
        self._rendered.pop(key, None)
        self._states[key] = orjson.dumps(state)

    def put_model_account(
        self,
        user: str,
        cash_usd: Decimal | str | float,
        positions: Iterable[Mapping[str, Any] | ModelPosition] = (),
        dex: str = "",
    ) -> None:
        """Model (user, dex) as cross cash (USD) + positions, rendered at the current marks."""
        market = self.dex(dex)
        parsed = tuple(
            p if isinstance(p, ModelPosition) else ModelPosition.from_mapping(p) for p in positions
        )
        for position in parsed:
            if position.coin not in market:
                raise KeyError(f"coin {position.coin!r} is not listed on dex {dex or '(main)'!r}")
        key = (user.lower(), dex)
        self._states.pop(key, None)
        self._rendered.pop(key, None)
        self._models[key] = ModelAccount(cash_usd=dec(cash_usd), positions=parsed)

    def model_account(self, user: str, dex: str = "") -> ModelAccount | None:
        """The modelled account of (user, dex), or None when it is not modelled."""
        return self._models.get((user.lower(), dex))

    def clearinghouse_state(self, user: str, dex: str = "") -> Any:
        """The `clearinghouseState` answer (user, dex) would get now, as a fresh JSON value."""
        return orjson.loads(as_bytes(self._clearinghouse_answer(user.lower(), dex).data))

    def put_spot_state(self, user: str, state: Any) -> None:
        """Serve `state` verbatim for `spotClearinghouseState` of `user`."""
        self._spot[user.lower()] = orjson.dumps(state)

    def put_fills(self, user: str, fills: list[dict[str, Any]]) -> None:
        """Replace all fills of `user` (any order; each needs a `time` in ms)."""
        self._fills[user.lower()] = Series(fills)

    def put_funding(self, user: str, items: list[dict[str, Any]]) -> None:
        """Replace the `userFunding` records of `user`."""
        self._funding[user.lower()] = Series(items)

    def put_ledger(self, user: str, items: list[dict[str, Any]]) -> None:
        """Replace the `userNonFundingLedgerUpdates` records of `user`."""
        self._ledger[user.lower()] = Series(items)

    def put_vault_details(self, vault: str, details: Any) -> None:
        """Serve `details` verbatim for `vaultDetails` of `vault`."""
        self._vaults[vault.lower()] = orjson.dumps(details)

    def put_leaderboard(self, rows: list[dict[str, Any]]) -> None:
        """Serve these rows (wire shape, see leaderboard.py) as the leaderboard."""
        self.leaderboard_body = orjson.dumps({"leaderboardRows": rows})

    def put_sub_accounts(self, master: str, subs: list[tuple[str, str]]) -> None:
        """`subAccounts` of `master`: (name, address) pairs, in the venue's answer shape."""
        self._sub_accounts[master.lower()] = [
            {
                "name": name,
                "subAccountUser": sub.lower(),
                "master": master.lower(),
                "clearinghouseState": self.clearinghouse_state(sub),
                "spotState": {"balances": []},
            }
            for name, sub in subs
        ]

    def users(self) -> set[str]:
        """Every address holding some state (lower-case)."""
        keys = {u for u, _ in self._states} | {u for u, _ in self._models}
        return keys | set(self._spot) | set(self._fills) | set(self._funding) | set(self._ledger)

    # --- answers -----------------------------------------------------------------------------

    def answer(self, body: dict[str, Any]) -> Answer:
        """Answer one parsed `/info` body (raises VenueError for venue-style errors)."""
        handler = _HANDLERS.get(body["type"])
        if handler is None:
            raise VenueError(422, f"{DESERIALIZE}unknown variant `{body['type']}`")
        return handler(self, body)

    def _clearinghouse_answer(self, user: str, dex: str) -> Answer:
        key = (user, dex)
        verbatim = self._states.get(key)
        if verbatim is not None:
            return Answer(verbatim)
        model = self._models.get(key)
        if model is None:
            return Answer(_EMPTY_STATE_PREFIX + str(now_ms()).encode() + b"}")
        market = self.dexes[dex]
        cached = self._rendered.get(key)
        if cached is None or cached[0] != market.version:
            assets = {p.coin: market.asset_info(p.coin) for p in model.positions}
            cached = self._rendered[key] = (
                market.version,
                render_clearinghouse_state(model, assets, 0),
            )
        return Answer({**cached[1], "time": now_ms()})

    def _dex_of(self, body: dict[str, Any]) -> Dex:
        name = body.get("dex") or ""
        if not isinstance(name, str) or name not in self.dexes:
            raise VenueError(422, f"unknown perp dex {name!r}")
        return self.dexes[name]

    def _clearinghouse_state(self, body: dict[str, Any]) -> Answer:
        user = address(body)
        return self._clearinghouse_answer(user, self._dex_of(body).name)

    def _spot_state(self, body: dict[str, Any]) -> Answer:
        return Answer(self._spot.get(address(body), b'{"balances":[]}'))

    def _meta(self, body: dict[str, Any]) -> Answer:
        return Answer(self._dex_of(body).meta_bytes())

    def _meta_and_ctxs(self, body: dict[str, Any]) -> Answer:
        return Answer(self._dex_of(body).meta_and_ctxs_bytes())

    def _all_mids(self, body: dict[str, Any]) -> Answer:
        return Answer(self._dex_of(body).all_mids_bytes())

    def _perp_dexs(self, body: dict[str, Any]) -> Answer:
        return Answer(self.perp_dexs)

    def _spot_meta(self, body: dict[str, Any]) -> Answer:
        return Answer(self._spot_meta_cache[1])

    def _spot_meta_and_ctxs(self, body: dict[str, Any]) -> Answer:
        return Answer(self._spot_ctxs_cache[1])

    def _user_fills(self, body: dict[str, Any]) -> Answer:
        series = self._fills.get(address(body))
        if series is None:
            return Answer(b"[]")
        data, count = series.latest_fills()
        return Answer(data, count)

    def _user_fills_by_time(self, body: dict[str, Any]) -> Answer:
        user, start, end = _window(body)
        series = self._fills.get(user)
        page = series.fills_by_time(start, end) if series is not None else []
        return Answer(page, len(page))

    def _user_funding(self, body: dict[str, Any]) -> Answer:
        return self._time_range(self._funding, body)

    def _ledger_updates(self, body: dict[str, Any]) -> Answer:
        return self._time_range(self._ledger, body)

    def _time_range(self, store: dict[str, Series], body: dict[str, Any]) -> Answer:
        user, start, end = _window(body)
        series = store.get(user)
        page = series.time_range(start, end) if series is not None else []
        return Answer(page, len(page))

    def _vault_details(self, body: dict[str, Any]) -> Answer:
        return Answer(self._vaults.get(address(body, "vaultAddress"), b"null"))

    def _sub_accounts_answer(self, body: dict[str, Any]) -> Answer:
        subs = self._sub_accounts.get(address(body))
        return Answer(subs) if subs else Answer(b"null")

    def _batch_states(self, body: dict[str, Any]) -> Answer:
        # As the venue answered (cassette removed_from_master/test_batch_clearinghouse_states).
        raise VenueError(500, "null")


def default_dex_entry(name: str) -> dict[str, Any]:
    """A `perpDexs` entry for a dex created without a recorded one."""
    return {
        "name": name,
        "fullName": name,
        "deployer": "0x0000000000000000000000000000000000000000",
        "oracleUpdater": None,
        "feeRecipient": None,
        "assetToStreamingOiCap": [],
        "assetToFundingMultiplier": [],
    }


def _window(body: dict[str, Any]) -> tuple[str, int, int | None]:
    return address(body), start_millis(body), end_millis(body)


_HANDLERS: dict[str, Handler] = {
    "subAccounts": Venue._sub_accounts_answer,
    "clearinghouseState": Venue._clearinghouse_state,
    "spotClearinghouseState": Venue._spot_state,
    "meta": Venue._meta,
    "metaAndAssetCtxs": Venue._meta_and_ctxs,
    "allMids": Venue._all_mids,
    "perpDexs": Venue._perp_dexs,
    "spotMeta": Venue._spot_meta,
    "spotMetaAndAssetCtxs": Venue._spot_meta_and_ctxs,
    "userFills": Venue._user_fills,
    "userFillsByTime": Venue._user_fills_by_time,
    "userFunding": Venue._user_funding,
    "userNonFundingLedgerUpdates": Venue._ledger_updates,
    "vaultDetails": Venue._vault_details,
    "batchClearinghouseStates": Venue._batch_states,
}
