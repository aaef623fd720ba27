"""The market page's reads: `tracker market COIN --json` and the liquidation map of one coin, both
from the store alone. Blocking: the server calls these in a worker thread.

The dashboard never asks the venue (it is read-only and works offline): the market figures are
the newest stored `markets` row, which every pass of `tracker snapshot`/`tracker run` writes, and
the document's keys are those of `tracker market COIN --json` (`output.market.coin_json`).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from tracker.output import market as view
from tracker.output.liqmap import CAVEAT, held_coins, liqmap_json, read_liqmap
from tracker.store import Store, open_store


def _known(store: Store, coin: str, dex: str | None) -> tuple[str, str] | None:
    """(dex, exact coin name) when the store has seen the coin (any case); None otherwise."""
    view.check_dex(dex)
    on_dex, name = view.split_coin(coin, dex)
    names = [c for d, c in view.known_coins(store) if d == on_dex]
    if name in names:
        return on_dex, name
    folded = [c for c in names if c.lower() == name.lower()]
    return (on_dex, folded[0]) if len(folded) == 1 else None


def market(
    db: Path, coin: str, dex: str | None, labels: Mapping[str, str]
) -> dict[str, Any] | None:
    """`tracker market COIN --json` of the stored state (None: a coin the store never saw)."""
    with open_store(db, read_only=True) as store:
        view.check_schema(store)
        found = _known(store, coin, dex)
        if found is None:
            return None
        on_dex, name = found
        quote = view.stored_quotes(store, on_dex).get(name)
        return view.coin_json(view.read_coin(store, on_dex, name, quote, labels))


def liqmap(db: Path, coin: str, dex: str | None, buckets: int) -> dict[str, Any] | None:
    """The liquidation map of COIN's tracked positions as JSON, no buckets when none is held
    (None: a coin the store never saw)."""
    with open_store(db, read_only=True) as store:
        found = _known(store, coin, dex)
        if found is None:
            return None
        if found[1] in held_coins(store):
            return liqmap_json(read_liqmap(store, found[1], buckets))
    return {"coin": found[1], "buckets": [], "positions": 0, "accounts": 0, "caveat": CAVEAT}
