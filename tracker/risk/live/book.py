"""LiveBook: every watched position re-marked on each mids message, vectorised, no API call.

Decimal stops at the boundary: `upsert` converts a refreshed VenueAccount to float64 columns once
(columns.py), `apply_marks` recomputes PnL, maintenance with tiers, liquidation prices, distance
and each cross account's shock for the accounts holding the coins that moved (kernel.py,
shock.py), and the queries read the columns; `positions` / `snapshots` turn them back into Decimal
records (view.py). tests/test_live_book.py proves agreement with `assess_account` at the same
marks; bench/book.py measures the tick at 10,000 accounts.

The tape moves positions on the columns too (`move`, O(1) per trade side, or `move_many` for a
lot of them, the float part in array operations: tracker.risk.live.moves; the Decimal records
catch up when read), about five times cheaper than rebuilding the account's records per trade
(bench/tape_apply.py); tests/test_tape_fast_path.py holds both equal to the exact path and the
venue. The module is over the usual size because both paths write the same private columns and
records, which no other module may touch.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from time import perf_counter_ns
from typing import Final, NamedTuple

import numpy as np

from tracker.records import AccountSnapshot, MarketMeta, Position, VenueAccount, VenuePosition
from tracker.risk import perps as risk
from tracker.risk.assess import position_tiers
from tracker.risk.live import figures, moves, queries, view
from tracker.risk.live.columns import Bools, Columns, Floats, Ints
from tracker.risk.live.kernel import recompute
from tracker.risk.live.shock import exact_shock
from tracker.risk.live.tiers import TierArrays
from tracker.risk.tape import TapeFill, apply_fill, fill_of, rebuilt, remark

ZERO = Decimal(0)
# Fills `move` keeps per account for its records; at this many the records are rebuilt from the
# columns instead (`_fold`), so a busy account's memory and catch-up stay bounded.
FOLD_AT = 32
# A read replays at most this many waiting fills exactly; more are folded (rebuilt from columns)
REPLAY_MAX = 4
# Below this share of the live rows, recomputing only the touched accounts' rows is cheaper.
PARTIAL_SHARE = 1 / 3
# Squeeze tombstoned rows out once there are this many and they are a third of the book.
COMPACT_MIN_DEAD = 4096


class AccountKey(NamedTuple):
    """One account on one dex."""

    address: str
    dex: str


# A fill `move` applied to a slot's columns, not yet to its records: (coin, delta, px, fee_usd,
# ts, mark, max_leverage, table), the fill first (`tracker.risk.tape.fill_of`); mark is the mark
# it was applied at (a position it closed has no row to ask), max_leverage that of a position it
# opened, table its position's tiers (`TierArrays.tables`). A plain tuple of plain values: the
# garbage collector stops tracking such a tuple at its first look, where it walks a NamedTuple or
# a dataclass at every collection (the book holds one per trade side until the next fold or
# read: tens of thousands at 50,000 accounts. bench/universe.py there: middle-generation passes
# of 150-291 ms with NamedTuples, 92-103 ms with these).
_Pending = tuple[str, Decimal, Decimal, Decimal, datetime | None, float, int, int]
P_COIN: Final = 0
P_TS: Final = 4
P_MARK: Final = 5
P_LEVERAGE: Final = 6
P_TABLE: Final = 7


class Side(NamedTuple):
    """One trade side: `move`'s arguments (`address` lower-case), and for `move_many` the fill's
    figures as floats (its caller has them once per trade; `move` reads the Decimals)."""

    address: str
    dex: str
    fill: TapeFill
    mark: Decimal  # of a position it opens
    max_leverage: int  # of a position it opens
    tiers: risk.Tiers  # of a position it opens
    ts: datetime | None
    delta: float
    px: float
    fee_usd: float


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


class NearScan(NamedTuple):
    """Every position and cross account under the widest level (`LiveBook.near_scan`)."""

    keys: Ints  # per entry: equal between two scans while the same position or account stays
    # under the same tightest level (its account's tenancy of the slot, coin, level)
    slots: Ints  # whose it is
    level: Floats  # the tightest level it is under (%)


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

    def __init__(
        self,
        *,
        compact_min_dead: int = COMPACT_MIN_DEAD,
        fold_at: int = FOLD_AT,
        replay_max: int = REPLAY_MAX,
    ) -> None:
        self._compact_min_dead = compact_min_dead
        self._fold_at = fold_at
        self._replay_max = replay_max
        self.folds = 0  # records rebuilt from the columns (`_fold`)
        self._cols = Columns()
        self._tiers = TierArrays()
        self._coins: dict[str, dict[str, int]] = {}  # dex -> coin -> id
        self._coin_count = 0
        self._dexes: dict[str, None] = {}  # every dex an account was seen on, in order
        self._slot_of: dict[tuple[str, str], int] = {}  # AccountKey -> slot
        self._keys: list[AccountKey | None] = [None]
        self._accounts: list[VenueAccount | None] = [None]
        # per slot: its rows by coin (a trade side finds its row in one lookup, where a scan
        # of the account's rows read each row's coin)
        self._slot_rows: list[dict[str, int]] = [{}]
        self._free: list[int] = []
        self._row_position: list[VenuePosition | None] = []
        self._row_tiers: list[risk.Tiers | None] = []
        self._row_coin: list[str | None] = []
        self._dirty: set[int] = set()
        self._gen: list[int] = [0]  # per slot: raised at each upsert and removal (figures.py)
        # per slot: which account holds it, numbered as accounts come (a reused slot's next
        # holder gets a new number): `near_scan`'s keys never carry over to another account
        self._tenant: list[int] = [0]
        self._tenants = 0
        # The tape's fast path (`move`): fills applied to a slot's columns but not yet to its
        # Decimal records, and the exact sizes they left, per coin (see `move`).
        self._pending: dict[int, list[_Pending]] = {}
        self._exact: dict[int, dict[str, Decimal]] = {}
        self.moves = 0  # fills `move` applied (the rest of the tape took the exact path)

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
        self._write(slot, account, lambda p: position_tiers(p, meta), ts or account.venue_time)
        self._maybe_compact()

    def _write(
        self,
        slot: int,
        account: VenueAccount,
        tiers_of: Callable[[VenuePosition], risk.Tiers],
        ts: datetime | None,
    ) -> None:
        """The slot's columns and records from one account state; O(its positions)."""
        rows = self._place(slot, [p.coin for p in account.positions])
        offset = account.cross_maintenance_margin_usd
        for row, p in zip(rows, account.positions, strict=True):
            tiers = tiers_of(p)
            coin, table = self._coin_id(account.dex, p.coin), self._tiers.id_for(tiers)
            self._cols.write_row(row, p, slot=slot, coin=coin, tbl=table)
            self._row_position[row], self._row_tiers[row], self._row_coin[row] = p, tiers, p.coin
            if p.margin_mode == "cross":
                offset -= risk.maintenance_margin(tiers, p.position_value_usd)
        self._cols.write_slot(slot, account, offset=offset, ts=ts or datetime.now(UTC))
        self._accounts[slot] = account
        self._pending.pop(slot, None)
        self._exact.pop(slot, None)
        self._gen[slot] += 1
        self._dirty.add(slot)

    def state(self, address: str, dex: str = "") -> tuple[VenueAccount, dict[str, Decimal]] | None:
        """The account as last upserted and the book's current mark of each of its coins (the
        tape moves it from there: tracker.risk.tape); None when the book does not hold it."""
        slot = self._slot_of.get(AccountKey(address.lower(), dex))
        if slot is None:
            return None
        self._materialize(slot)
        account = self._accounts[slot]
        assert account is not None
        mark = self._cols.f("mark")
        marks = {}
        for row in self._slot_rows[slot].values():
            position = self._row_position[row]
            if position is not None:
                marks[position.coin] = Decimal(repr(float(mark[row])))
        return account, marks

    def move(
        self,
        address: str,
        dex: str,
        fill: TapeFill,
        *,
        mark: Decimal,
        max_leverage: int,
        tiers: risk.Tiers,
        ts: datetime | None = None,
    ) -> tuple[Decimal, Decimal] | None:
        """The tape's fast path: one fill on a cross position (or opening one), applied to the
        float columns in O(1); returns (size before, size after), exact. None when the book
        does not hold the account, or the position is isolated or has no entry price: the
        caller then takes the exact path (`state` + `tracker.risk.tape.apply_fill` + `upsert`).

        The columns move as `apply_fill` moves the records (tracker.risk.tape's docstring): the
        position is first brought to its current mark (its refresh baseline `mark0` becomes the
        mark), then cash moves by d * (mark - px) - fee, the size by d (kept exact beside the
        columns), the entry by the venue's rule, the margin with the notional. A new position
        opens at `mark` (the caller's: the book's, else the mid) with `max_leverage` and `tiers`.
        The Decimal records catch up only when someone reads them (`state`, `snapshots`): the
        fills kept per slot are applied then with `apply_fill` at that moment's marks, which
        gives the same figures, each term being linear in the mark. `address` is lower-case.
        """
        slot = self._slot_of.get((address, dex))  # a plain tuple: equal to its AccountKey
        if slot is None:
            return None
        row = self._slot_rows[slot].get(fill.coin, -1)
        c, s = self._cols.row, self._cols.slot
        d, px = float(fill.delta), float(fill.px)
        exact = self._exact.get(slot, {})
        if row < 0:  # a new position, cross at the coin's max leverage, as `apply_fill` opens it
            before, after = ZERO, fill.delta
            m = float(mark)
            row = self._add_row(slot, fill.coin)
            used = abs(d) * m / max_leverage
            self._cols.write_opened(
                row,
                slot=slot,
                coin=self._coin_id(dex, fill.coin),
                tbl=self._tiers.id_for(tiers),
                size=d,
                px=px,
                mark=m,
                margin_used=used,
            )
            self._row_tiers[row] = tiers  # no record until read
            cash = d * (m - px) - float(fill.fee_usd)
            s["notional0"][slot] += abs(d) * m
            s["margin_used0"][slot] += used
        else:
            entry = float(c["entry"][row])
            if not c["cross"][row] or math.isnan(entry):
                return None
            before = self._held_size(row, fill.coin, exact)
            after = before + fill.delta
            size, new = float(before), float(after)
            m, m0 = float(c["mark"][row]), float(c["mark0"][row])
            used0 = float(c["margin_used0"][row])
            used = used0 * m / m0 * abs(new) / abs(size)
            cash = size * (m - m0) + d * (m - px) - float(fill.fee_usd)
            s["notional0"][slot] += abs(size) * (m - m0) + (abs(new) - abs(size)) * m
            s["margin_used0"][slot] += used - used0
            if after == 0:  # closed: the row goes
                del self._slot_rows[slot][fill.coin]
                self._cols.kill_row(row)
                self._row_position[row] = self._row_coin[row] = None
                self._row_tiers[row] = None
            else:
                if (after > 0) != (before > 0):  # a flip opens the rest at the price
                    entry = px
                elif abs(after) > abs(before):
                    entry = (abs(size) * entry + abs(d) * px) / abs(new)
                c["size"][row], c["entry"][row], c["mark0"][row] = new, entry, m
                c["upnl0"][row], c["margin_used0"][row] = new * (m - entry), used
            tiers = self._row_tiers[row] or tiers
        s["value0"][slot] += cash
        s["total_value0"][slot] += cash
        if ts is not None:
            s["ts"][slot] = ts.timestamp()
        self._exact.setdefault(slot, exact)[fill.coin] = after
        pending = self._pending.setdefault(slot, [])
        table = self._tiers.id_for(tiers)
        pending.append((fill.coin, fill.delta, fill.px, fill.fee_usd, ts, m, max_leverage, table))
        self._gen[slot] += 1
        self._dirty.add(slot)
        self.moves += 1
        if len(pending) >= self._fold_at:
            self._fold(slot)
        if after == 0:
            self._maybe_compact()
        return before, after

    def move_many(self, sides: Sequence[Side]) -> list[tuple[Decimal, Decimal] | None]:
        """`move` for many trade sides in tape order, the float part in a few array operations
        (tracker.risk.live.moves); per side what `move` returns, and the book as `move` leaves it
        side after side. A side `move` refuses (None: the caller takes the exact path) leaves
        the others as if it came after them all: they touch none of its positions, and the
        cash moves add up the same in either order."""
        out: list[tuple[Decimal, Decimal] | None] = [None] * len(sides)
        rounds: list[list[moves.Item]] = []
        in_round: list[list[int]] = []  # each round's sides (their index in `sides`)
        depth: dict[tuple[int, str], int] = {}  # (slot, coin) -> its sides so far
        opened: set[int] = set()  # rows opened by this call
        closing: list[int] = []
        closers: set[int] = set()  # the sides that closed a row
        tables: dict[int, int] = {}  # id(tiers) -> its table, for this call (the tiers live)

        def table_of(tiers: risk.Tiers) -> int:
            table = tables.get(id(tiers))
            if table is None:
                table = tables[id(tiers)] = self._tiers.id_for(tiers)
            return table

        c = self._cols.row
        cross, entries = c["cross"], c["entry"]  # rows added below are in `opened`
        coins, slot_rows, exacts = self._row_coin, self._slot_rows, self._exact
        latest: dict[int, float] = {}  # slot -> time of its latest side
        done: list[tuple[int, int, int]] = []  # (side, slot, row)
        for i, side in enumerate(sides):
            slot = self._slot_of.get((side.address, side.dex))  # equal to its AccountKey
            if slot is None:
                continue
            coin = side.fill.coin
            row = slot_rows[slot].get(coin, -1)
            exact = exacts.get(slot)
            if row < 0:
                before, fresh = ZERO, 1
                row = self._add_row(slot, coin)
                self._row_tiers[row] = side.tiers
                opened.add(row)
                coin_id, table_id = self._coin_id(side.dex, coin), table_of(side.tiers)
                open_mark = float(side.mark)
            else:
                if row not in opened and not (cross[row] and entries[row] == entries[row]):
                    continue  # isolated, or no entry price: the exact path
                known = self._held_size(row, coin, exact)
                before, fresh, coin_id, table_id, open_mark = known, 0, 0, 0, 0.0
            after = before + side.fill.delta
            if exact is None:
                exact = exacts[slot] = {}
            exact[coin] = after
            key = (slot, coin)
            level = depth.get(key, 0)
            depth[key] = level + 1
            if level == len(rounds):
                rounds.append([])
                in_round.append([])
            rounds[level].append(
                (
                    row,
                    slot,
                    side.delta,
                    side.px,
                    side.fee_usd,
                    float(before),
                    float(after),
                    fresh,
                    open_mark,
                    side.max_leverage,
                    coin_id,
                    table_id,
                )
            )
            in_round[level].append(i)
            if not after:  # closed: the row goes after its round, a reopen gets a new one
                del slot_rows[slot][coin]
                coins[row] = None
                closing.append(row)
                closers.add(i)
            if side.ts is not None:
                latest[slot] = side.ts.timestamp()
            out[i] = (before, after)
            done.append((i, slot, row))
        marks: dict[int, float] = {}
        for items, indices in zip(rounds, in_round, strict=True):
            marks.update(zip(indices, moves.apply_round(self._cols, items).tolist(), strict=True))
        for row in closing:
            self._cols.kill_row(row)
            self._row_position[row] = None
        ts = self._cols.slot["ts"]
        for slot, when in latest.items():
            ts[slot] = when
        folds: list[int] = []
        row_tiers, pendings, gen, dirty = self._row_tiers, self._pending, self._gen, self._dirty
        for i, slot, row in done:
            side = sides[i]
            pending = pendings.get(slot)
            if pending is None:
                pending = pendings[slot] = []
            tiers = side.tiers if i in closers else row_tiers[row] or side.tiers
            table = table_of(tiers)
            fill = side.fill
            pending.append(
                (
                    fill.coin,
                    fill.delta,
                    fill.px,
                    fill.fee_usd,
                    side.ts,
                    marks[i],
                    side.max_leverage,
                    table,
                )
            )
            gen[slot] += 1
            dirty.add(slot)
            if len(pending) == self._fold_at:
                folds.append(slot)
        for row in closing:
            row_tiers[row] = None
        self.moves += len(done)
        for slot in folds:  # after every round: a fold renumbers the slot's rows
            self._fold(slot)
        if closing:
            self._maybe_compact()
        return out

    def _held_size(self, row: int, coin: str, exact: Mapping[str, Decimal] | None) -> Decimal:
        """The exact size of a row's position: the tape's since the last fold, else the record's
        (only rows the tape opened lack a record, and those are in `exact`)."""
        known = exact.get(coin) if exact is not None else None
        if known is None:
            position = self._row_position[row]
            assert position is not None
            known = position.size
        return known

    def _add_row(self, slot: int, coin: str) -> int:
        row = self._cols.add_rows(1)[0]
        self._row_position.append(None)
        self._row_tiers.append(None)
        self._row_coin.append(coin)
        self._slot_rows[slot][coin] = row
        return row

    def _materialize(self, slot: int) -> None:
        """Bring the slot's Decimal records up to the fills `move` applied to its columns, and
        the columns to those records (as `upsert` writes them): the fills replayed exactly when
        they are few, else the records rebuilt from the columns (`_fold`, O(positions)), so a
        read of a busy account costs the same however many fills wait."""
        waiting = self._pending.get(slot)
        if waiting is not None and len(waiting) > self._replay_max:
            self._fold(slot)
            return
        pending = self._pending.pop(slot, None)
        self._exact.pop(slot, None)
        if not pending:
            return
        account = self._accounts[slot]
        assert account is not None
        marks, tiers = self._marks_and_tiers(slot, pending)
        for entry in pending:
            account = apply_fill(
                account,
                fill_of(*entry[:4]),
                mark=marks.get(entry[P_COIN]) or Decimal(repr(entry[P_MARK])),
                marks=marks,
                max_leverage=entry[P_LEVERAGE],
                tiers_of=lambda p: tiers[p.coin],
                ts=entry[P_TS],
            ).account
        when = datetime.fromtimestamp(float(self._cols.sf("ts")[slot]), UTC)
        self._write(slot, account, lambda p: tiers[p.coin], when)

    def _marks_and_tiers(
        self, slot: int, pending: list[_Pending]
    ) -> tuple[dict[str, Decimal], dict[str, risk.Tiers]]:
        """Per coin: the slot's mark now (its rows), and the tiers of every position it held
        since its records (its rows, and those the pending fills closed)."""
        mark = self._cols.f("mark")
        tables = self._tiers.tables
        tiers = {entry[P_COIN]: tables[entry[P_TABLE]] for entry in pending}
        marks: dict[str, Decimal] = {}
        for row in self._slot_rows[slot].values():
            coin, table = self._row_coin[row], self._row_tiers[row]
            assert coin is not None
            assert table is not None
            marks[coin] = Decimal(repr(float(mark[row])))
            tiers[coin] = table
        return marks, tiers

    def _fold(self, slot: int) -> None:
        """The slot's records rebuilt from its columns and exact sizes, the pending fills
        dropped: O(its positions) instead of replaying every fill (`_materialize`). The figures
        are the columns' (float64; entry prices and account value to ~1e-15 relative), the sizes
        exact."""
        pending = self._pending.pop(slot)
        exact = self._exact.pop(slot, {})
        self.folds += 1
        account = self._accounts[slot]
        assert account is not None
        c, s = self._cols.row, self._cols.slot
        leverage = {e[P_COIN]: e[P_LEVERAGE] for e in pending}
        marks, tiers = self._marks_and_tiers(slot, pending)
        positions: list[VenuePosition] = []
        cross_value = float(s["value0"][slot])
        for row in self._slot_rows[slot].values():
            coin, old = self._row_coin[row], self._row_position[row]
            assert coin is not None
            mark = float(c["mark"][row])
            if old is not None and coin not in exact:
                positions.append(old)  # untouched since its record: `remark` below re-values it
                continue
            # moved by the tape (cross, `move`): valued at today's mark here
            cross_value += float(c["size"][row]) * (mark - float(c["mark0"][row]))
            size = exact[coin]
            lev = old.leverage if old is not None else leverage[coin]
            entry = Decimal(repr(float(c["entry"][row])))
            value = abs(size) * marks[coin]
            upnl = size * (marks[coin] - entry)
            positions.append(
                VenuePosition(
                    coin=coin,
                    size=size,
                    entry_px=entry,
                    position_value_usd=value,
                    unrealized_pnl_usd=upnl,
                    return_on_equity=risk.roe(upnl, size, entry, lev),
                    liquidation_px=None,
                    margin_mode="cross",
                    leverage=lev,
                    isolated_raw_usd=None,
                    margin_used_usd=value / lev,
                    max_leverage=old.max_leverage if old is not None else lev,
                    cum_funding_all_time_usd=old.cum_funding_all_time_usd if old else None,
                    cum_funding_since_open_usd=old.cum_funding_since_open_usd if old else None,
                )
            )
        tiers_of: Callable[[VenuePosition], risk.Tiers] = lambda p: tiers[p.coin]  # noqa: E731
        account = rebuilt(
            account,
            tuple(positions),
            cross_value=Decimal(repr(cross_value)),
            tiers_of=tiers_of,
            ts=pending[-1][P_TS],
        )
        account = remark(account, marks, tiers_of)
        when = datetime.fromtimestamp(float(s["ts"][slot]), UTC)
        self._write(slot, account, tiers_of, when)

    def settle(self) -> None:
        """Recompute the accounts upserted since the last recompute (queries do it anyway)."""
        self._flush()

    def remove(self, address: str, dex: str = "") -> bool:
        """Forget one account; False if the book did not hold it."""
        slot = self._slot_of.pop(AccountKey(address.lower(), dex), None)
        if slot is None:
            return False
        self._place(slot, [])
        self._cols.slot["alive"][slot] = False
        self._keys[slot] = None
        self._accounts[slot] = None
        self._pending.pop(slot, None)
        self._exact.pop(slot, None)
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
        self._row_coin = [self._row_coin[i] for i in keep]
        self._slot_rows = [
            {coin: int(remap[r]) for coin, r in rows.items()} for rows in self._slot_rows
        ]

    def _new_slot(self, key: AccountKey) -> int:
        self._tenants += 1
        if self._free:
            slot = self._free.pop()
            self._keys[slot] = key
            self._tenant[slot] = self._tenants
        else:
            slot = self._cols.add_slot()
            self._keys.append(key)
            self._accounts.append(None)
            self._slot_rows.append({})
            self._gen.append(0)
            self._tenant.append(self._tenants)
        self._slot_of[key] = slot
        return slot

    def _place(self, slot: int, coins: Sequence[str]) -> list[int]:
        """Rows for a slot's positions on `coins`, in that order: its old rows reused, the rest
        added or killed."""
        count = len(coins)
        if len(set(coins)) < count:  # the parsers refuse such a state: one position per coin
            raise ValueError(f"an account state holds two positions on one coin: {coins}")
        old = list(self._slot_rows[slot].values())
        surplus = old[count:]
        self._cols.kill_rows(surplus)
        for row in surplus:
            self._row_position[row] = self._row_coin[row] = None
            self._row_tiers[row] = None
        fresh = list(self._cols.add_rows(max(0, count - len(old))))
        self._row_position.extend([None] * len(fresh))
        self._row_tiers.extend([None] * len(fresh))
        self._row_coin.extend([None] * len(fresh))
        rows = old[:count] + fresh
        self._slot_rows[slot] = dict(zip(coins, rows, strict=True))
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
        """Set the marks of these coins (the venue's names) and re-mark every position on them
        whose mark moved: a mark the message repeats recomputes nothing (the venue's allMids
        carries every coin's mid, most of them unchanged since the last), though the accounts
        holding it are then as of `ts`."""
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
            acct, mark = cols.i("acct")[:n], cols.f("mark")[:n]
            cols.sf("ts")[acct[hit]] = (ts or datetime.now(UTC)).timestamp()
            hit &= new != mark
            np.copyto(mark, new, where=hit)
            moved[acct[hit]] = True
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
            fallbacks = self._recompute_rows(slice(0, n), touched)
        else:
            touched = np.flatnonzero(touched_mask)
            fallbacks = self._recompute_rows(np.flatnonzero(in_touched), touched)
        return count, len(touched), fallbacks

    def _recompute_rows(self, rows: slice | Ints, touched: Ints) -> int:
        """The kernel on these rows of the touched slots, then the exact shock of the slots it
        could not solve; returns how many those were."""
        fallback = recompute(self._cols, self._tiers, rows, touched).tolist()
        for slot in fallback:
            self._exact_shock(slot)
        return len(fallback)

    def _exact_shock(self, slot: int) -> None:
        mark, cross = self._cols.f("mark"), self._cols.b("cross")
        legs = []
        exact = self._exact.get(slot, {})
        for row in self._slot_rows[slot].values():
            coin, position, tiers = (
                self._row_coin[row],
                self._row_position[row],
                self._row_tiers[row],
            )
            if cross[row] and coin is not None and tiers is not None:
                size = exact.get(coin) or (position.size if position is not None else None)
                if size is not None:
                    legs.append((size, float(mark[row]), tiers))
        slots = self._cols.slot
        shock = exact_shock(legs, float(slots["equity"][slot]), float(slots["offset"][slot]))
        slots["shock"][slot] = shock

    def _flush(self) -> None:
        """Recompute the dirty slots: their rows straight from the slots' row lists, so a settle
        costs what the tape moved, not a pass over the book's rows."""
        if not self._dirty:
            return
        cols = self._cols
        dirty = sorted(s for s in self._dirty if s != 0)
        rows = [r for slot in dirty for r in self._slot_rows[slot].values()]
        if not dirty or len(rows) > PARTIAL_SHARE * (cols.n - cols.dead):
            self._recompute(np.zeros(cols.slots, dtype=bool))
            return
        self._dirty.clear()
        picked = np.array(rows, dtype=np.int64)
        self._recompute_rows(picked[cols.b("alive")[picked]], np.array(dirty, dtype=np.int64))

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
            key, coin = self._key(slot), self._row_coin[row]
            assert coin is not None
            out.append(NearPosition(key.address, key.dex, coin, d, lv))
        return out

    def accounts_below(self, levels_pct: Sequence[float]) -> list[NearAccount]:
        """Cross accounts whose |shock to liquidation| is under the widest level, nearest first."""
        self._flush()
        slots, shock, level = queries.near_slots(self._cols, levels_pct)
        return [
            NearAccount(*self._key(slot), value, lv)
            for slot, value, lv in zip(slots.tolist(), shock.tolist(), level.tolist(), strict=True)
        ]

    def near_scan(self, levels_pct: Sequence[float]) -> NearScan:
        """What `below` and `accounts_below` find, as arrays: one entry per position and per
        cross account under the widest level, for a caller that looks only at the entries new
        since its last scan (`NearScan.keys`)."""
        self._flush()
        rows, _, row_level = queries.near_rows(self._cols, levels_pct)
        slots, _, slot_level = queries.near_slots(self._cols, levels_pct)
        levels = np.sort(np.asarray(levels_pct, dtype=np.float64))
        row_slots = self._cols.i("acct")[rows]
        tenant = np.asarray(self._tenant, dtype=np.int64)
        position = (tenant[row_slots] << 24 | self._cols.i("coin")[rows]) << 1
        account = (tenant[slots] << 24) << 1 | 1
        level = np.concatenate([row_level, slot_level])
        keys = np.concatenate([position, account]) << 3 | np.searchsorted(levels, level)
        return NearScan(keys, np.concatenate([row_slots, slots]), level)

    def addresses(self, slots: Ints) -> list[str]:
        """The address of each slot."""
        return [self._key(slot).address for slot in slots.tolist()]

    def risk_order(self) -> list[AccountKey]:
        """Accounts nearest to liquidation first (the smaller of |shock| and any position's
        distance), then by notional, largest first; accounts without either go last.
        """
        self._flush()
        return [self._key(slot) for slot in queries.risk_order(self._cols).tolist()]

    def riskiest_addresses(self, count: int) -> list[str]:
        """The first `count` distinct addresses in `risk_order`, without building the order's
        keys past them (the engine asks every 2 s, at up to 50,000 accounts)."""
        self._flush()
        out: list[str] = []
        for slot in queries.risk_order(self._cols).tolist():
            if len(out) >= count:
                break
            address = self._key(slot).address
            if address not in out:
                out.append(address)
        return out

    def account_risk(self) -> dict[str, tuple[float | None, float]]:
        """Per address, over its dexes: closeness to liquidation (%, None = none), notional."""
        self._flush()
        closeness, notional = queries.slot_risk(self._cols)
        alive = np.flatnonzero(self._cols.sb("alive")[: self._cols.slots])
        out: dict[str, tuple[float | None, float]] = {}
        inf = float("inf")
        # plain lists, not numpy scalars: ~5x cheaper per account at 50,000
        for slot, near, value in zip(
            alive.tolist(), closeness[alive].tolist(), notional[alive].tolist(), strict=True
        ):
            address = self._key(slot).address
            best, total = out.get(address, (None, 0.0))
            if near != inf and (best is None or near < best):
                best = near
            out[address] = (best, total + value)
        return out

    def row_figures(self) -> dict[tuple[str, str, str], tuple[float, ...]]:
        """(address, dex, coin) -> queries.ROW_FIGURES at the current marks as the columns
        stand, no record built: what the mark path and the live pages read between two
        refreshes (checks, diagnostics)."""
        self._flush()
        columns = [column.tolist() for column in queries.row_figures(self._cols)]
        acct = self._cols.i("acct").tolist()
        out = {}
        for row, coin in enumerate(self._row_coin):
            if coin is not None:
                key = self._key(acct[row])
                out[key.address, key.dex, coin] = tuple(column[row] for column in columns)
        return out

    def account_figures(self) -> dict[tuple[str, str], tuple[float, ...]]:
        """(address, dex) -> queries.ACCOUNT_FIGURES at the current marks as the columns stand,
        no record built (see `row_figures`)."""
        self._flush()
        columns = [column.tolist() for column in queries.account_figures(self._cols)]
        return {
            (key.address, key.dex): tuple(column[slot] for column in columns)
            for slot, key in enumerate(self._keys)
            if key is not None
        }

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
        if address is None:
            slots = [slot for slot, key in enumerate(self._keys) if key is not None]
        else:
            found = (self._slot_of.get(AccountKey(address.lower(), d)) for d in self._dexes)
            slots = sorted(slot for slot in found if slot is not None)
        for slot in slots:
            if slot in self._pending:
                self._materialize(slot)
        self._flush()
        return [self._snapshot(slot) for slot in slots]

    def _key(self, slot: int) -> AccountKey:
        key = self._keys[slot]
        assert key is not None
        return key

    def _snapshot(self, slot: int) -> AccountSnapshot:
        account, rows = self._accounts[slot], list(self._slot_rows[slot].values())
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
