"""The venue's leaderboard: one account's row as read by `tracker discover`."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

WINDOWS = ("day", "week", "month", "all_time")
# Column names of the `leaderboard` table, in table order (also the keys of `discover --json`).
LEADERBOARD_FIELDS = (
    "ts",
    "address",
    "account_value_usd",
    "display_name",
    *(f"pnl_{w}_usd" for w in WINDOWS),
    *(f"roi_{w}" for w in WINDOWS),
    *(f"volume_{w}_usd" for w in WINDOWS),
)


@dataclass(frozen=True, slots=True, kw_only=True)
class LeaderboardRow:
    """One account on the leaderboard at one read; display_name is a stranger's text."""

    ts: datetime
    address: str
    account_value_usd: Decimal
    display_name: str | None
    pnl_day_usd: Decimal | None = None
    pnl_week_usd: Decimal | None = None
    pnl_month_usd: Decimal | None = None
    pnl_all_time_usd: Decimal | None = None
    roi_day: Decimal | None = None
    roi_week: Decimal | None = None
    roi_month: Decimal | None = None
    roi_all_time: Decimal | None = None
    volume_day_usd: Decimal | None = None
    volume_week_usd: Decimal | None = None
    volume_month_usd: Decimal | None = None
    volume_all_time_usd: Decimal | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class SubAccount:
    """A sub-account of a master account (the venue's `subAccounts` answer)."""

    address: str
    name: str
    master: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Discovered:
    """An account `tracker discover` picked: its row, rank by account value, label, subs."""

    row: LeaderboardRow
    rank: int  # 1 = the largest account value of the read
    label: str  # the display name, else "leaderboard #RANK"
    sub_accounts: tuple[SubAccount, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class Leaderboard:
    """One read of the leaderboard: the valid rows and how many rows were skipped as bad."""

    ts: datetime
    rows: tuple[LeaderboardRow, ...]
    skipped: int = 0
    first_problem: str | None = field(default=None)
