"""Leaderboard rows in the stats host's wire shape, and a seeded leaderboard for the fake venue."""

from __future__ import annotations

import random
from typing import Any


def leaderboard_row(
    address: str,
    account_value: str,
    name: str | None = None,
    *,
    pnl: tuple[str, ...] = ("0", "0", "0", "0"),
    roi: tuple[str, ...] = ("0", "0", "0", "0"),
    volume: tuple[str, ...] = ("0", "0", "0", "0"),
) -> dict[str, Any]:
    """One `leaderboardRows` item: day, week, month, allTime windows, decimals as strings."""
    windows = ("day", "week", "month", "allTime")
    return {
        "ethAddress": address,
        "accountValue": account_value,
        "displayName": name,
        "prize": 0,
        "windowPerformances": [
            [w, {"pnl": p, "roi": r, "vlm": v}]
            for w, p, r, v in zip(windows, pnl, roi, volume, strict=True)
        ],
    }


def seeded_leaderboard(count: int, seed: int = 14) -> list[dict[str, Any]]:
    """COUNT rows with account values from $1 to ~$500M (log-uniform), some without a name."""
    rng = random.Random(seed)
    rows = []
    for i in range(count):
        value = 10 ** rng.uniform(0, 8.7)
        name = None if i % 3 == 0 else f"whale-{i}"
        pnl = tuple(f"{rng.uniform(-1, 1) * value / 10:.6f}" for _ in range(4))
        roi = tuple(f"{rng.uniform(-1, 2):.6f}" for _ in range(4))
        volume = tuple(f"{rng.uniform(0, 50) * value:.2f}" for _ in range(4))
        rows.append(
            leaderboard_row(
                f"0x{rng.getrandbits(160):040x}",
                f"{value:.6f}",
                name,
                pnl=pnl,
                roi=roi,
                volume=volume,
            )
        )
    return rows
