"""Trades on cross positions applied to the book's columns many at a time (LiveBook.move_many).

`LiveBook.move` moves one position per call with a score of NumPy scalar reads and writes. Here
the float part of many moves is one set of array operations: the caller has already worked out,
trade side by trade side and in tape order, everything that depends on the sides before it (the
exact sizes, which row each side moves or opens, which close a row), and put the sides in rounds
in which no row moves twice. Within a round every side reads its row as the rounds before left
it, so the result is the one `move` gives side after side (the same formulas: LiveBook.move's
docstring, tracker.risk.tape).
"""

from __future__ import annotations

import numpy as np

from tracker.risk.live.columns import Columns, Floats

# One side of a round, in this order: row, slot, delta (signed coins), px, fee (USD), before (the
# size before, 0 for an open), after, opened (1: a new row, opened by this side), open_mark (the
# mark an open is valued at), open_leverage, coin_id and table_id (of an opened row).
Item = tuple[int, int, float, float, float, float, float, int, float, int, int, int]


def apply_round(cols: Columns, items: list[Item]) -> Floats:
    """Move the round's rows and slots in place (no row twice); returns the mark each side was
    applied at.

    Rows a side closes (size after 0) keep their values for the caller to kill; opened rows are
    written whole (cross, at `open_mark` and `open_leverage`). The slots' times are the caller's
    to set (the side latest in the tape, over every round).
    """
    c, s = cols.row, cols.slot
    table = np.array(items, dtype=np.float64)
    row, slot = table[:, 0].astype(np.intp), table[:, 1].astype(np.intp)
    d, px, fee = table[:, 2], table[:, 3], table[:, 4]
    size, new = table[:, 5], table[:, 6]
    opened = table[:, 7] != 0.0
    with np.errstate(divide="ignore", invalid="ignore"):
        m = np.where(opened, table[:, 8], c["mark"][row])
        m0 = np.where(opened, m, c["mark0"][row])
        entry = np.where(opened, px, c["entry"][row])
        used0 = np.where(opened, 0.0, c["margin_used0"][row])
        # an existing row's margin follows its notional; an open's is |d| * mark / leverage
        used = np.where(
            opened, np.abs(d) * m / table[:, 9], used0 * m / m0 * np.abs(new) / np.abs(size)
        )
        cash = size * (m - m0) + d * (m - px) - fee
        notional = np.abs(size) * (m - m0) + (np.abs(new) - np.abs(size)) * m
        flip = (new != 0) & (size != 0) & ((new > 0) != (size > 0))
        increase = ~flip & ~opened & (np.abs(new) > np.abs(size))
        weighted = (np.abs(size) * entry + np.abs(d) * px) / np.abs(new)
        entry = np.where(flip, px, np.where(increase, weighted, entry))
    keep = new != 0  # closed rows are killed by the caller
    kept = row[keep]
    c["size"][kept] = new[keep]
    c["entry"][kept] = entry[keep]
    c["mark"][kept] = m[keep]
    c["mark0"][kept] = m[keep]
    c["upnl0"][kept] = (new * (m - entry))[keep]
    c["margin_used0"][kept] = used[keep]
    if opened.any():
        fresh = row[opened]
        c["iso_equity0"][fresh] = used[opened]
        c["iso_follows"][fresh] = 0.0
        c["acct"][fresh] = slot[opened]
        c["coin"][fresh] = table[opened, 10].astype(np.intp)
        c["tbl"][fresh] = table[opened, 11].astype(np.intp)
        c["alive"][fresh] = True
        c["cross"][fresh] = True
    np.add.at(s["value0"], slot, cash)
    np.add.at(s["total_value0"], slot, cash)
    np.add.at(s["notional0"], slot, notional)
    np.add.at(s["margin_used0"], slot, used - used0)
    return m
