"""LiveBook: every watched position re-marked on each mids message, vectorised, no API call.

Decimal stops at the boundary: `upsert` converts a refreshed VenueAccount to float64 columns once
(columns.py), `apply_marks` recomputes PnL, maintenance with tiers, liquidation prices, distance
and each cross account's shock for the accounts holding the coins that moved (kernel.py,
shock.py), and the queries read the columns; `positions` / `snapshots` turn them back into Decimal
records (view.py). tests/test_live_book.py proves agreement with `assess_account` at the same
marks; bench/book.py measures the tick at 10,000 accounts.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from time import perf_counter_ns
from typing import NamedTuple

import numpy as np

from tracker.records import AccountSnapshot, MarketMeta, Position, VenueAccount, VenuePosition
from tracker.risk import perps as risk
from tracker.risk.assess import position_tiers
from tracker.risk.live import figures, queries, view
from tracker.risk.live.columns import Bools, Columns, Ints
from tracker.risk.live.kernel import recompute
from tracker.risk.live.shock import exact_shock
from tracker.risk.live.tiers import TierArrays

# Below this share of the live rows, recomputing only the touched accounts' rows is cheaper.
PARTIAL_SHARE = 1 / 3
# Squeeze tombstoned rows out once there are this many and they are a third of the book.
COMPACT_MIN_DEAD = 4096


class AccountKey(NamedTuple):
    """One account on one dex."""

    address: str
    dex: str


class NearPosition(NamedTuple):
    """A position closer to liquidation than a level: distance in % of mark."""

    address: str
    dex: str
    coin: str
    distance_pct: float
    level_pct: float  # the tightest level it is below


class NearAccount(NamedTuple):
    """A cross account a uniform move of |shock_pct| % from maintenance."""

    address: str
    dex: str
    shock_pct: float
    level_pct: float


@dataclass(frozen=True, slots=True, kw_only=True)
class MarkUpdate:
    """What one apply_marks did."""

    dex: str
    coins: int  # coins of the message held by some account
    positions: int  # rows recomputed
    accounts: int  # accounts recomputed
    shock_fallbacks: int  # accounts whose shock went through the exact Decimal function
    elapsed_ns: int


@dataclass(frozen=True, slots=True, kw_only=True)
class BookStats:
    """Size of the book."""

    accounts: int
    positions: int
    dead_rows: int
    tier_tables: int
    array_bytes: int


class LiveBook:
    """Positions of many accounts as columns, re-marked in one vectorised pass per mids message."""

    def __init__(self, *, compact_min_dead: int = COMPACT_MIN_DEAD) -> None:
        self._compact_min_dead = compact_min_dead
        self._cols = Columns()
        self._tiers = TierArrays()
        self._coins: dict[str, dict[str, int]] = {}  # dex -> coin -> id
        self._coin_count = 0
        self._dexes: dict[str, None] = {}  # every dex an account was seen on, in order
        self._slot_of: dict[AccountKey, int] = {}
        self._keys: list[AccountKey | None] = [None]
        self._accounts: list[VenueAccount | None] = [None]
        self._slot_rows: list[list[int]] = [[]]
        self._free: list[int] = []
        self._row_position: list[VenuePosition | None] = []
        self._row_tiers: list[risk.Tiers | None] = []
        self._dirty: set[int] = set()
        self._gen: list[int] = [0]  # per slot: raised at each upsert and removal (figures.py)

    # ------------------------------------------------------------ refresh path

    def upsert(
        self, account: VenueAccount, meta: MarketMeta | None, *, ts: datetime | None = None
    ) -> None:
        """Replace one account on one dex with a fresh venue state; O(its positions)."""
        key = AccountKey(account.address.lower(), account.dex)
        self._dexes.setdefault(account.dex)
        slot = self._slot_of.get(key)
        if slot is None:
            slot = self._new_slot(key)
        rows = self._place(slot, len(account.positions))
        offset = account.cross_maintenance_margin_usd
        for row, p in zip(rows, account.positions, strict=True):
            tiers = position_tiers(p, meta)
            coin, table = self._coin_id(account.dex, p.coin), self._tiers.id_for(tiers)
            self._cols.write_row(row, p, slot=slot, coin=coin, tbl=table)
            self._row_position[row], self._row_tiers[row] = p, tiers
            if p.margin_mode == "cross":
                offset -= risk.maintenance_margin(tiers, p.position_value_usd)
        when = ts or account.venue_time or datetime.now(UTC)
        self._cols.write_slot(slot, account, offset=offset, ts=when)
        self._accounts[slot] = account
        self._gen[slot] += 1
        self._dirty.add(slot)
        self._maybe_compact()

    def state(self, address: str, dex: str = "") -> tuple[VenueAccount, dict[str, Decimal]] | None:
        """The account as last upserted and the book's current mark of each of its coins (the
        tape moves it from there: tracker.risk.tape); None when the book does not hold it."""
        slot = self._slot_of.get(AccountKey(address.lower(), dex))
        if slot is None:
            return None
        account = self._accounts[slot]
        assert account is not None
        mark = self._cols.f("mark")
        marks = {}
        for row in self._slot_rows[slot]:
            position = self._row_position[row]
            if position is not None:
                marks[position.coin] = Decimal(repr(float(mark[row])))
        return account, marks

    def settle(self) -> None:
        """Recompute the accounts upserted since the last recompute (queries do it anyway)."""
        self._flush()

    def remove(self, address: str, dex: str = "") -> bool:
        """Forget one account; False if the book did not hold it."""
        slot = self._slot_of.pop(AccountKey(address.lower(), dex), None)
        if slot is None:
            return False
        self._place(slot, 0)
        self._cols.slot["alive"][slot] = False
        self._keys[slot] = None
        self._accounts[slot] = None
        self._gen[slot] += 1
        self._dirty.discard(slot)
        self._free.append(slot)
        self._maybe_compact()
        return True

    def compact(self) -> None:
        """Squeeze tombstoned rows out (done automatically once they pile up)."""
        remap = self._cols.compact()
        keep = np.flatnonzero(remap >= 0).tolist()
        self._row_position = [self._row_position[i] for i in keep]
        self._row_tiers = [self._row_tiers[i] for i in keep]
        self._slot_rows = [[int(remap[r]) for r in rows] for rows in self._slot_rows]

    def _new_slot(self, key: AccountKey) -> int:
        if self._free:
            slot = self._free.pop()
            self._keys[slot] = key
        else:
            slot = self._cols.add_slot()
            self._keys.append(key)
            self._accounts.append(None)
            self._slot_rows.append([])
            self._gen.append(0)
        self._slot_of[key] = slot
        return slot

    def _place(self, slot: int, count: int) -> list[int]:
        """Rows for `count` positions of a slot: its old rows reused, the rest added or killed."""
        old = self._slot_rows[slot]
        surplus = old[count:]
        self._cols.kill_rows(surplus)
        for row in surplus:
            self._row_position[row] = None
            self._row_tiers[row] = None
        fresh = list(self._cols.add_rows(max(0, count - len(old))))
        self._row_position.extend([None] * len(fresh))
        self._row_tiers.extend([None] * len(fresh))
        rows = old[:count] + fresh
        self._slot_rows[slot] = rows
        return rows

    def _coin_id(self, dex: str, coin: str) -> int:
        ids = self._coins.setdefault(dex, {})
        found = ids.get(coin)
        if found is None:
            found = ids[coin] = self._coin_count
            self._coin_count += 1
        return found

    def _maybe_compact(self) -> None:
        dead = self._cols.dead
        if dead >= self._compact_min_dead and 3 * dead >= self._cols.n:
            self.compact()

    # ------------------------------------------------------------ mark path

    def apply_marks(
        self, mids: Mapping[str, Decimal | float], dex: str = "", *, ts: datetime | None = None
    ) -> MarkUpdate:
        """Set the marks of these coins (the venue's names) and re-mark every position on them."""
        start = perf_counter_ns()
        ids = self._coins.get(dex, {})
        found, values = [], []
        for coin, px in mids.items():
            cid = ids.get(coin)
            if cid is not None:
                value = float(px)
                if value > 0 and math.isfinite(value):  # a bad mid keeps the last good mark
                    found.append(cid)
                    values.append(value)
        cols, n = self._cols, self._cols.n
        moved = np.zeros(cols.slots, dtype=bool)
        if found:
            lut = np.full(self._coin_count, np.nan)
            lut[found] = values
            new = lut[cols.i("coin")[:n]]
            hit = ~np.isnan(new) & cols.b("alive")[:n]
            np.copyto(cols.f("mark")[:n], new, where=hit)
            moved[cols.i("acct")[:n][hit]] = True
            cols.sf("ts")[: cols.slots][moved] = (ts or datetime.now(UTC)).timestamp()
        positions, accounts, fallbacks = self._recompute(moved)
        return MarkUpdate(
            dex=dex,
            coins=len(found),
            positions=positions,
            accounts=accounts,
            shock_fallbacks=fallbacks,
            elapsed_ns=perf_counter_ns() - start,
        )

    def _recompute(self, touched_mask: Bools) -> tuple[int, int, int]:
        """Recompute the touched and dirty slots; returns (rows, slots, shock fallbacks)."""
        cols, n = self._cols, self._cols.n
        touched_mask[list(self._dirty)] = True
        touched_mask[0] = False
        self._dirty.clear()
        if not touched_mask.any():
            return 0, 0, 0
        acct, alive = cols.i("acct")[:n], cols.b("alive")[:n]
        in_touched = touched_mask[acct] & alive
        count = int(in_touched.sum())
        if count > PARTIAL_SHARE * (n - cols.dead):
            # Every row is recomputed anyway: report and write every account.
            count = n - cols.dead
            touched: Ints = np.flatnonzero(cols.sb("alive")[: cols.slots])
            fallback = recompute(cols, self._tiers, slice(0, n), touched)
        else:
            touched = np.flatnonzero(touched_mask)
            fallback = recompute(cols, self._tiers, np.flatnonzero(in_touched), touched)
        for slot in fallback.tolist():
            self._exact_shock(slot)
        return count, len(touched), len(fallback)

    def _exact_shock(self, slot: int) -> None:
        mark, cross = self._cols.f("mark"), self._cols.b("cross")
        legs = []
        for row in self._slot_rows[slot]:
            position, tiers = self._row_position[row], self._row_tiers[row]
            if cross[row] and position is not None and tiers is not None:
                legs.append((position.size, float(mark[row]), tiers))
        slots = self._cols.slot
        shock = exact_shock(legs, float(slots["equity"][slot]), float(slots["offset"][slot]))
        slots["shock"][slot] = shock

    def _flush(self) -> None:
        if self._dirty:
            self._recompute(np.zeros(self._cols.slots, dtype=bool))

    # ------------------------------------------------------------ queries

    def stats(self) -> BookStats:
        """Counts and the bytes held by the columns."""
        cols = self._cols
        arrays = [*cols.row.values(), *cols.slot.values()]
        return BookStats(
            accounts=len(self._slot_of),
            positions=cols.n - cols.dead,
            dead_rows=cols.dead,
            tier_tables=len(self._tiers.tables),
            array_bytes=sum(a.nbytes for a in arrays),
        )

    def account_keys(self) -> list[AccountKey]:
        """Every account held, in slot order."""
        return [k for k in self._keys if k is not None]

    def below(self, levels_pct: Sequence[float]) -> list[NearPosition]:
        """Positions whose distance to liquidation (% of mark) is under the widest level, nearest
        first, each with the tightest level it is under.
        """
        self._flush()
        rows, distance, level = queries.near_rows(self._cols, levels_pct)
        slots = self._cols.i("acct")[rows].tolist()
        out = []
        for row, slot, d, lv in zip(
            rows.tolist(), slots, distance.tolist(), level.tolist(), strict=True
        ):
            key, position = self._key(slot), self._row_position[row]
            assert position is not None
            out.append(NearPosition(key.address, key.dex, position.coin, d, lv))
        return out

    def accounts_below(self, levels_pct: Sequence[float]) -> list[NearAccount]:
        """Cross accounts whose |shock to liquidation| is under the widest level, nearest first."""
        self._flush()
        slots, shock, level = queries.near_slots(self._cols, levels_pct)
        return [
            NearAccount(*self._key(slot), value, lv)
            for slot, value, lv in zip(slots.tolist(), shock.tolist(), level.tolist(), strict=True)
        ]

    def risk_order(self) -> list[AccountKey]:
        """Accounts nearest to liquidation first (the smaller of |shock| and any position's
        distance), then by notional, largest first; accounts without either go last.
        """
        self._flush()
        return [self._key(slot) for slot in queries.risk_order(self._cols).tolist()]

    def account_risk(self) -> dict[str, tuple[float | None, float]]:
        """Per address, over its dexes: closeness to liquidation (%, None = none), notional."""
        self._flush()
        closeness, notional = queries.slot_risk(self._cols)
        out: dict[str, tuple[float | None, float]] = {}
        for slot in np.flatnonzero(self._cols.sb("alive")[: self._cols.slots]).tolist():
            address = self._key(slot).address
            near = float(closeness[slot])
            best, total = out.get(address, (None, 0.0))
            if near != float("inf") and (best is None or near < best):
                best = near
            out[address] = (best, total + float(notional[slot]))
        return out

    def held_coins(self) -> set[tuple[str, str]]:
        """(dex, coin) of every position in the book."""
        alive = self._cols.b("alive")[: self._cols.n]
        ids = set(np.unique(self._cols.i("coin")[: self._cols.n][alive]).tolist())
        return {
            (dex, coin)
            for dex, coins in self._coins.items()
            for coin, cid in coins.items()
            if cid in ids
        }

    def changed_accounts(self, since: figures.Look | None) -> tuple[list[str], figures.Look]:
        """Addresses whose figures differ from the look `since` (every held one when None), and
        the look to pass next time; O(positions) in numpy, no record built."""
        self._flush()
        now = figures.look(self._cols, self._gen)
        found = {self._keys[s] for s in figures.changed(since, now).tolist()}
        return sorted({k.address for k in found if k is not None}), now

    def positions(self, address: str | None = None) -> list[Position]:
        """Position records at the current marks, largest notional first within each account."""
        return [p for s in self.snapshots(address) for p in s.positions]

    def snapshots(self, address: str | None = None) -> list[AccountSnapshot]:
        """AccountSnapshot records at the current marks, for one address (every dex) or all."""
        self._flush()
        if address is None:
            slots = [slot for slot, key in enumerate(self._keys) if key is not None]
        else:
            found = (self._slot_of.get(AccountKey(address.lower(), d)) for d in self._dexes)
            slots = sorted(slot for slot in found if slot is not None)
        return [self._snapshot(slot) for slot in slots]

    def _key(self, slot: int) -> AccountKey:
        key = self._keys[slot]
        assert key is not None
        return key

    def _snapshot(self, slot: int) -> AccountSnapshot:
        account, rows = self._accounts[slot], self._slot_rows[slot]
        assert account is not None
        positions: list[VenuePosition] = []
        for row in rows:
            position = self._row_position[row]
            assert position is not None
            positions.append(position)
        return view.account_snapshot(self._cols, slot, rows, account, positions)


class BookView:
    """A read-only window on a LiveBook for readers outside the engine (the dashboard): which
    accounts changed and their records at the current marks, nothing that moves the book."""

    __slots__ = ("_book",)

    def __init__(self, book: LiveBook) -> None:
        self._book = book

    def changed_accounts(self, since: figures.Look | None) -> tuple[list[str], figures.Look]:
        """LiveBook.changed_accounts."""
        return self._book.changed_accounts(since)

    def snapshots(self, address: str) -> list[AccountSnapshot]:
        """The address's AccountSnapshots at the current marks (every dex); O(its positions)."""
        return self._book.snapshots(address)
