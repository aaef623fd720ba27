"""Margin tier tables as padded float64 arrays, so every row picks its tier without a Python loop.

Row `tbl` indexes a table; column k is tier k. `lower` has one column more than there are tiers,
padded with +inf, so tier k's notional range is [lower[:, k], lower[:, k + 1]) for every k and
padded tiers never match. The tables themselves come from `tracker.risk.perps` (margin-tiers doc).
"""

from __future__ import annotations

from itertools import pairwise

import numpy as np

from tracker.risk import perps as risk
from tracker.risk.live.columns import Bools, Floats, Ints


class TierArrays:
    """Registry of the distinct tier tables in a book, as (tables, tiers) float64 arrays."""

    def __init__(self) -> None:
        self.tables: list[risk.Tiers] = []
        self._ids: dict[risk.Tiers, int] = {}
        self.width = 1
        self.lower: Floats = np.full((0, 2), np.inf)
        self.mmr: Floats = np.zeros((0, 1))
        self.deduction: Floats = np.zeros((0, 1))
        # mmr non-decreasing with the tier: maintenance is then convex in notional (see shock.py).
        self.convex: Bools = np.zeros(0, dtype=bool)

    def id_for(self, tiers: risk.Tiers) -> int:
        """The table's row, registering it on first sight (a book holds a handful of tables)."""
        found = self._ids.get(tiers)
        if found is not None:
            return found
        self._ids[tiers] = len(self.tables)
        self.tables.append(tiers)
        self._rebuild()
        return len(self.tables) - 1

    def _rebuild(self) -> None:
        self.width = max(len(t) for t in self.tables)
        count = len(self.tables)
        self.lower = np.full((count, self.width + 1), np.inf)
        self.mmr = np.zeros((count, self.width))
        self.deduction = np.zeros((count, self.width))
        self.convex = np.ones(count, dtype=bool)
        for i, tiers in enumerate(self.tables):
            for k, tier in enumerate(tiers):
                self.lower[i, k] = float(tier.lower_bound_usd)
                self.mmr[i, k] = float(tier.mmr)
                self.deduction[i, k] = float(tier.deduction_usd)
            self.convex[i] = all(a.mmr <= b.mmr for a, b in pairwise(tiers))

    def tier_of(self, tbl: Ints, notional: Floats, *, strict: bool = False) -> Ints:
        """Tier index per row as risk.tier_index (lower <= notional); strict: lower < notional.

        strict gives the tier just below a boundary, the one a falling notional is in.
        """
        index = np.zeros(len(tbl), dtype=np.intp)
        for k in range(1, self.width):
            bound = self.lower[tbl, k]
            index += (notional > bound) if strict else (notional >= bound)
        return index

    def maintenance(self, tbl: Ints, notional: Floats) -> Floats:
        """Maintenance margin in USD per row: notional * mmr(tier) - deduction(tier)."""
        tier = self.tier_of(tbl, notional)
        return notional * self.mmr[tbl, tier] - self.deduction[tbl, tier]
