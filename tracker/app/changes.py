"""What a pass of `tracker run` stores: accounts that changed, the rest once per interval.

Marks move every position's figures every second, but a position changes only when its account
trades: its side, size, entry, leverage or margin mode. So an account (per dex) is stored, with
all its positions, when that set differs from what the store last holds for it (a position opened,
moved or closed, or the account was never stored), and otherwise only when its last stored row is
at least `keep_s` old (the full snapshot, `tracker run --interval`). Storing the whole account on
any change keeps `latest_accounts` and `latest_positions` exact: the latest account row names the
moment whose positions are the current ones, so a closed position drops out at once.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from decimal import Decimal

from tracker import resources
from tracker.records import AccountReport, AccountSnapshot
from tracker.store import Store
from tracker.venues import HYPERLIQUID

# What makes a position "the same": coin, side, size, entry, leverage, margin mode.
Shape = tuple[str, str, Decimal, Decimal | None, int, str]
# Scheduling jitter: a refresh due every keep_s may start a few milliseconds early.
SLACK_S = 0.5


@dataclass(slots=True)
class Stored:
    """What the store last holds per (address, dex): when, and the shape of its positions."""

    at: dict[tuple[str, str], datetime] = field(default_factory=dict)
    shapes: dict[tuple[str, str], frozenset[Shape]] = field(default_factory=dict)


def read_stored(store: Store, addresses: Sequence[str]) -> Stored:
    """The latest stored account rows and position shapes of these addresses."""
    stored = Stored()
    if not addresses:
        return stored
    shapes: dict[tuple[str, str], set[Shape]] = {}
    rows = store.con.execute(
        resources.sql("reads", "stored_positions"),
        {"venue": HYPERLIQUID, "addresses": list(addresses)},
    ).fetchall()
    for address, dex, ts, coin, side, size, entry, leverage, mode in rows:
        key = (address, dex)
        stored.at[key] = ts
        held = shapes.setdefault(key, set())
        if coin is not None:
            held.add((coin, side, size, entry, leverage, mode))
    stored.shapes = {k: frozenset(v) for k, v in shapes.items()}
    return stored


def shape(account: AccountSnapshot) -> frozenset[Shape]:
    """The shape of an account's positions (what a trade changes, not what a mark does)."""
    return frozenset(
        (p.coin, p.side, p.size, p.entry_px, p.leverage, p.margin_mode) for p in account.positions
    )


def changed_accounts(
    reports: Iterable[AccountReport], stored: Stored, keep_s: float
) -> tuple[list[AccountReport], int]:
    """Reports trimmed to the accounts to store, and how many accounts were left out.

    An account is kept when its positions' shape differs from the stored one, when it was never
    stored, or when its last stored row is at least keep_s (less SLACK_S) old.
    """
    keep = timedelta(seconds=max(keep_s - SLACK_S, 0.0))
    out: list[AccountReport] = []
    skipped = 0
    for report in reports:
        accounts = []
        for account in report.accounts:
            key = (account.address, account.dex)
            last = stored.at.get(key)
            if (
                last is None
                or account.ts - last >= keep
                or stored.shapes.get(key, frozenset()) != shape(account)
            ):
                accounts.append(account)
            else:
                skipped += 1
        out.append(replace(report, accounts=tuple(accounts)))
    return out, skipped
