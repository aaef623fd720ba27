"""Load recorded answers into the fake venue: a snapshot (dict or --state file) or a directory.

Recorded directory (what `load_directory` reads; every file is one verbatim `/info` answer):

    DIR/perpDexs.json                          {"type": "perpDexs"}
    DIR/metaAndAssetCtxs.json                  {"type": "metaAndAssetCtxs"}            main dex
    DIR/metaAndAssetCtxs.<dex>.json            {"type": "metaAndAssetCtxs", "dex": <dex>}
    DIR/spotMeta.json                          {"type": "spotMeta"}                    optional
    DIR/<address>/clearinghouseState.json      {"type": "clearinghouseState", "user": <address>}
    DIR/<address>/clearinghouseState.<dex>.json  same with "dex": <dex> (HIP-3)
    DIR/<address>/spotClearinghouseState.json
    DIR/<address>/userFills.json               newest first, as recorded
    DIR/<address>/userFunding.json             optional, any time order
    DIR/<address>/userNonFundingLedgerUpdates.json  optional
    DIR/<address>/vaultDetails.json            optional, when <address> is a vault

Snapshot (what `load_snapshot` takes and `--state FILE.json` holds): one JSON object with the
optional keys "perpDexs", "metaAndAssetCtxs" ({dex: [meta, ctxs]}), "spotMeta",
"spotMetaAndAssetCtxs", "accounts" ({address: {file stem as above: answer}}), "marks"
({dex: {coin: px}}) and "models" ([{"user", "dex", "cash_usd", "positions": [{coin, size,
entry_px, leverage, margin_mode, isolated_margin?}]}]).

Marks: every coin held in a loaded clearinghouseState is listed on its dex; when the snapshot
has no recorded metaAndAssetCtxs for that dex (or `override_marks=True`), its mark is set to
positionValue / |szi| so marks agree with the states, the most recent recording winning.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson

from tracker.replay.model import fmt
from tracker.replay.wire import ADDRESS

if TYPE_CHECKING:
    from tracker.replay.venue import Venue

_ACCOUNT_FILES = frozenset(
    {
        "clearinghouseState",
        "spotClearinghouseState",
        "userFills",
        "userFunding",
        "userNonFundingLedgerUpdates",
        "vaultDetails",
    }
)
_MARKET_FILES = frozenset({"perpDexs", "spotMeta", "spotMetaAndAssetCtxs"})

_INT_KEYS = frozenset(
    {
        "time",
        "maxLeverage",
        "oid",
        "tid",
        "timestamp",
        "statusTimestamp",
        "token",
        "szDecimals",
        "nonce",
        "twapId",
    }
)
_INT_TEXT = re.compile(r"-?\d+")


def read_json(path: Path) -> Any:
    """Parse one JSON file."""
    return orjson.loads(path.read_bytes())


def normalise_numbers(value: Any) -> Any:
    """Copy of `value` with ccxt-stringified integers (time, oid, leverage...) as numbers."""
    if isinstance(value, list):
        return [normalise_numbers(v) for v in value]
    if not isinstance(value, dict):
        return value
    leverage = value.get("type") in ("cross", "isolated")
    return {
        k: int(v)
        if isinstance(v, str)
        and (k in _INT_KEYS or (leverage and k == "value"))
        and _INT_TEXT.fullmatch(v)
        else normalise_numbers(v)
        for k, v in value.items()
    }


def load_directory(fake: Venue, directory: Path, *, normalise: bool = False) -> None:
    """Load a directory of recorded answers laid out as in this module's docstring."""
    load_snapshot(fake, snapshot_from_directory(directory), normalise=normalise)


def snapshot_from_directory(directory: Path) -> dict[str, Any]:
    """Read a recorded directory into the snapshot shape (raises ValueError on unknown files)."""
    metas: dict[str, Any] = {}
    snapshot: dict[str, Any] = {"metaAndAssetCtxs": metas, "accounts": {}}
    for path in sorted(directory.glob("*.json")):
        kind, _, dex = path.stem.partition(".")
        if kind == "metaAndAssetCtxs":
            metas[dex] = read_json(path)
        elif kind in _MARKET_FILES and not dex:
            snapshot[kind] = read_json(path)
        else:
            raise ValueError(f"{path}: unknown recorded file (see tests/fakes/loaders.py)")
    for sub in sorted(p for p in directory.iterdir() if p.is_dir()):
        if not ADDRESS.fullmatch(sub.name):
            raise ValueError(f"{sub}: account directories must be named by their 0x address")
        files = {path.stem: read_json(path) for path in sorted(sub.glob("*.json"))}
        for stem in files:
            if stem.partition(".")[0] not in _ACCOUNT_FILES:
                raise ValueError(
                    f"{sub / stem}.json: unknown recorded file (see tests/fakes/loaders.py)"
                )
        snapshot["accounts"][sub.name.lower()] = files
    return snapshot


def load_snapshot(
    fake: Venue,
    snapshot: Mapping[str, Any],
    *,
    normalise: bool = False,
    override_marks: bool | None = None,
) -> None:
    """Load a snapshot (shape in this module's docstring) on top of what `fake` holds."""
    norm: Callable[[Any], Any] = normalise_numbers if normalise else _same
    if "perpDexs" in snapshot:
        fake.perp_dexs = list(snapshot["perpDexs"])
        for entry in fake.perp_dexs:
            if entry is not None and entry["name"] not in fake.dexes:
                fake.add_dex(entry["name"])
    recorded = snapshot.get("metaAndAssetCtxs") or {}
    for dex, (meta, ctxs) in recorded.items():
        fake.add_dex(dex, norm(meta), norm(ctxs))
    if "spotMeta" in snapshot:
        fake.spot_meta = snapshot["spotMeta"]
    if "spotMetaAndAssetCtxs" in snapshot:
        fake.spot_meta_and_ctxs = snapshot["spotMetaAndAssetCtxs"]
    states: list[tuple[str, str, Any]] = []
    for user, files in (snapshot.get("accounts") or {}).items():
        for stem, answer in files.items():
            kind, _, dex = stem.partition(".")
            if kind == "clearinghouseState":
                states.append((user, dex, norm(answer)))
            else:
                _put_account_file(fake, user, kind, norm(answer))
    for user, dex, state in sorted(states, key=lambda s: int(s[2].get("time") or 0)):
        override = override_marks if override_marks is not None else dex not in recorded
        _list_coins(fake, dex, state, override=override)
        fake.put_clearinghouse_state(user, state, dex)
    for dex, marks in (snapshot.get("marks") or {}).items():
        for coin, px in marks.items():
            fake.set_mark(coin, px, dex)
    for model in snapshot.get("models") or []:
        fake.put_model_account(
            model["user"], model["cash_usd"], model.get("positions", ()), model.get("dex", "")
        )


def _put_account_file(fake: Venue, user: str, kind: str, answer: Any) -> None:
    if kind == "spotClearinghouseState":
        fake.put_spot_state(user, answer)
    elif kind == "userFills":
        fake.put_fills(user, answer)
    elif kind == "userFunding":
        fake.put_funding(user, answer)
    elif kind == "userNonFundingLedgerUpdates":
        fake.put_ledger(user, answer)
    elif kind == "vaultDetails":
        fake.put_vault_details(user, answer)
    else:
        raise ValueError(f"{user}: unknown account answer {kind!r}")


def _list_coins(fake: Venue, dex: str, state: Mapping[str, Any], *, override: bool) -> None:
    """List every coin of `state` on `dex`; set its mark from the position when `override`."""
    market = fake.dexes.get(dex) or fake.add_dex(dex)
    for entry in state.get("assetPositions") or []:
        position = entry["position"]
        size = abs(Decimal(position["szi"]))
        if size == 0:
            continue
        mark = fmt(Decimal(position["positionValue"]) / size, 10)
        if position["coin"] not in market:
            decimals = len(str(position["szi"]).partition(".")[2].rstrip("0"))
            market.add_coin(
                position["coin"],
                mark,
                max_leverage=int(position["maxLeverage"]),
                sz_decimals=decimals,
            )
        elif override:
            market.set_mark(position["coin"], mark)


def _same(value: Any) -> Any:
    return value
