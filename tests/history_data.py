"""Generated fill histories in the venue's shape, consistent with a final position."""

from __future__ import annotations

import random
from decimal import Decimal
from typing import Any

T0_MS = 1_769_800_000_000  # 2026-01-30


def make_fills(
    n: int,
    *,
    coin: str = "ETH",
    start_ms: int = T0_MS,
    step_ms: int = 1000,
    seed: int = 1,
    start_position: Decimal = Decimal(0),
    px: float = 2900.0,
) -> tuple[list[dict[str, Any]], Decimal]:
    """n fills (oldest first) with a consistent startPosition chain, and the final size."""
    rng = random.Random(seed)
    fills, position = [], start_position
    for i in range(n):
        size = Decimal(rng.randint(1, 50)) / 10
        buy = position <= 0 or rng.random() < 0.55
        after = position + (size if buy else -size)
        fills.append(
            {
                "coin": coin,
                "px": f"{px + rng.uniform(-50, 50):.1f}",
                "sz": str(size),
                "side": "B" if buy else "A",
                "time": start_ms + i * step_ms,
                "startPosition": str(position),
                "dir": "Open Long" if buy else "Close Long",
                "closedPnl": "0.0",
                "hash": f"0x{rng.getrandbits(256):064x}",
                "oid": 10_000_000 + i,
                "crossed": True,
                "fee": "0.1",
                "tid": 900_000_000_000 + i,
                "feeToken": "USDC",
                "twapId": None,
            }
        )
        position = after
    return fills, position
