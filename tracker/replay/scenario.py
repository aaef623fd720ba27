"""The demo's venue at the start of its cascade: a main dex, leaderboard whales, the HLP vaults.

Generated, not recorded: four perps at Jan 31-like prices, six whales modelled as cross cash plus
positions (their `clearinghouseState` is rendered by the venue's margin math at every mark, so
their values and liquidation prices follow the marks), a leaderboard listing them beside smaller
accounts, and HLP's parent vault naming the liquidator vault that takes backstops. The names are
made up and the addresses derived from them; nothing here is a real account but the HLP vaults.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from tracker.replay.leaderboard import leaderboard_row
from tracker.replay.liquidations import HLP_PARENT
from tracker.replay.model import ModelPosition, fmt
from tracker.replay.venue import Venue

HLP_LIQUIDATOR = "0x2e3d94f0562703b25c83308a05046ddaf9a8dd14"  # the venue's backstop vault

# coin: (mark USD, the day's open USD, max leverage, size decimals)
COINS: dict[str, tuple[str, str, int, int]] = {
    "BTC": ("84000", "86900", 40, 5),
    "ETH": ("2700", "2840", 25, 4),
    "SOL": ("118", "124.5", 20, 2),
    "HYPE": ("29", "31.2", 10, 2),
}


def address_of(name: str) -> str:
    """A made-up account's address: derived from its name, the same on every run."""
    return "0x" + hashlib.sha256(f"tracker demo {name}".encode()).hexdigest()[:40]


@dataclass(frozen=True, slots=True, kw_only=True)
class Whale:
    """A leaderboard account: its display name (None: none shown), equity and positions."""

    key: str
    name: str | None
    equity_usd: Decimal  # account value with every mark at the entry price
    positions: tuple[ModelPosition, ...]

    @property
    def address(self) -> str:
        return address_of(self.key)

    def cash_usd(self) -> Decimal:
        """Cross cash (`totalRawUsd`) that gives equity_usd at the entry prices."""
        cash = self.equity_usd
        for p in self.positions:
            cash -= p.allocated_margin() if p.margin_mode == "isolated" else p.size * p.entry_px
        return cash


def _pos(coin: str, size: str, entry: str, leverage: int, mode: str = "cross") -> ModelPosition:
    return ModelPosition.from_mapping(
        {"coin": coin, "size": size, "entry_px": entry, "leverage": leverage, "margin_mode": mode}
    )


# The whale the cascade liquidates: 5,000 ETH long, cross, liquidated near 2,520.
DOOMED = Whale(
    key="doomed",
    name="ethmaxi.hl",
    equity_usd=Decimal(1_452_000),
    positions=(_pos("ETH", "5000", "2760", 20),),
)
# The whale who sells into the fall: flat ETH at the start, opens a 2,000 ETH short.
MOVER = Whale(
    key="mover",
    name="macro_shorts",
    equity_usd=Decimal(8_000_000),
    positions=(_pos("BTC", "20", "80000", 10),),
)
WHALES: tuple[Whale, ...] = (
    DOOMED,
    MOVER,
    Whale(
        key="basis",
        name="BasisTrader",
        equity_usd=Decimal(4_000_000),
        positions=(_pos("BTC", "-150", "86000", 20), _pos("ETH", "1200", "2790", 20)),
    ),
    Whale(
        key="sol",
        name="SOLsurfer",
        equity_usd=Decimal(1_750_000),
        positions=(_pos("SOL", "60000", "125", 10),),
    ),
    Whale(
        key="quiet",
        name=None,
        equity_usd=Decimal(3_000_000),
        positions=(
            _pos("HYPE", "200000", "31", 5, "isolated"),
            _pos("ETH", "-300", "2650", 10),
        ),
    ),
    Whale(
        key="hlp-fan",
        name="HLP enjoyer",
        equity_usd=Decimal(5_000_000),
        positions=(_pos("BTC", "40", "82000", 5), _pos("ETH", "1000", "2600", 5)),
    ),
)
SMALL_ACCOUNTS = 12  # leaderboard rows under the demo's threshold: listed, not tracked


def stage(venue: Venue) -> None:
    """Put the market, the whales, the leaderboard and the HLP vaults on venue."""
    venue.add_dex("", *_market())
    for whale in WHALES:
        venue.put_model_account(whale.address, whale.cash_usd(), whale.positions)
    rows = []
    for whale in WHALES:
        value = venue.clearinghouse_state(whale.address)["marginSummary"]["accountValue"]
        rows.append(leaderboard_row(whale.address, value, whale.name))
    for i in range(SMALL_ACCOUNTS):
        value = fmt(Decimal(40_000 + 70_000 * i))
        rows.append(leaderboard_row(address_of(f"small-{i}"), value, f"small-{i}"))
    venue.put_leaderboard(rows)
    venue.put_vault_details(HLP_PARENT, _vault("Hyperliquidity Provider (HLP)", HLP_PARENT))
    venue.put_vault_details(HLP_LIQUIDATOR, _vault("HLP Liquidator", HLP_LIQUIDATOR))


def _market() -> tuple[dict[str, Any], list[dict[str, Any]]]:
    universe, ctxs = [], []
    for coin, (mark, day_open, leverage, decimals) in COINS.items():
        universe.append(
            {
                "szDecimals": decimals,
                "name": coin,
                "maxLeverage": leverage,
                "marginTableId": leverage,  # below 50: one tier at that leverage
            }
        )
        ctxs.append(
            {
                "funding": "0.0000125",
                "openInterest": fmt(Decimal(400_000_000) / Decimal(mark)),
                "prevDayPx": day_open,
                "dayNtlVlm": "1250000000.0",
                "premium": "0.0",
                "oraclePx": mark,
                "markPx": mark,
                "midPx": mark,
                "impactPxs": [mark, mark],
                "dayBaseVlm": fmt(Decimal(1_250_000_000) / Decimal(mark)),
            }
        )
    meta = {"universe": universe, "marginTables": [], "collateralToken": 0}
    return meta, ctxs


def _vault(name: str, address: str) -> dict[str, Any]:
    relationship: dict[str, Any] = (
        {"type": "parent", "data": {"childAddresses": [HLP_LIQUIDATOR]}}
        if address == HLP_PARENT
        else {"type": "child", "data": {"parentAddress": HLP_PARENT}}
    )
    return {"name": name, "vaultAddress": address, "relationship": relationship}
