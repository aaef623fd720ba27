"""Seed the fake venue with the shared fixtures (../shared/fixtures/hyperliquid).

Every recorded clearinghouseState gets its own deterministic address (`SEEDED_ACCOUNTS`); the
HIP-3 dex `flx` and its account are synthetic around the real ccxt fills on `flx:CRCL`; the HLP
parent's vaultDetails is synthetic (no recording exists). Marks follow the loaded states
(positionValue / |szi|, the most recent recording winning where several hold a coin).
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson

from .cassettes import response_bodies
from .loaders import load_snapshot, read_json

if TYPE_CHECKING:
    from tracker.replay.venue import Venue

FIXTURES_DIR = Path(__file__).resolve().parents[3] / "shared" / "fixtures" / "hyperliquid"

CROSS_LONG_2024 = "0xfa4e000000000000000000000000000000000001"
CROSS_SHORT_SOL = "0xfa4e000000000000000000000000000000000002"
EMPTY_ACCOUNT = "0xfa4e000000000000000000000000000000000003"
ISOLATED_SHORT_HYPE = "0xfa4e000000000000000000000000000000000004"
DOCS_ISOLATED_ETH = "0xfa4e000000000000000000000000000000000005"
HIP3_FLX = "0xfa4e000000000000000000000000000000000006"
HLP_LIQUIDATOR = "0x2e3d94f0562703b25c83308a05046ddaf9a8dd14"
SDK_FILLS_USER = "0xb7b6f3cea3f66bf525f5d8f965f6dbf6d9b017b2"
SDK_LEDGER_USER = "0x2ba553d9f990a3b66b03b2dc0d030dfc1c061036"
HLP_PARENT = "0xdfc24b077bc1425ad1dea75bcb6f8158e10df303"

SEEDED_ACCOUNTS: dict[str, str] = {
    CROSS_LONG_2024: "ccxt cross_long_2024: cross SOL+ETH longs, liquidationPx null",
    CROSS_SHORT_SOL: "ccxt cross_short_SOL: cross SOL short (liq 22881.19788911) + ETH long",
    EMPTY_ACCOUNT: "ccxt empty_account: no positions; PURR spot fill, deposit/withdraw ledger",
    ISOLATED_SHORT_HYPE: "ccxt isolated_short_HYPE: isolated HYPE short (liq 50.2724802381)",
    DOCS_ISOLATED_ETH: "docs example: isolated ETH long; docs spot balances, fills, funding",
    HIP3_FLX: "HIP-3 dex flx: modelled isolated flx:CRCL long; ccxt spot + liquidation fills",
    HLP_LIQUIDATOR: "HLP Liquidator (real address): 5 recorded fills, 2 backstop liquidations",
    SDK_FILLS_USER: "SDK cassette user (real address): 500 fills from 2023 + userFunding",
    SDK_LEDGER_USER: "SDK cassette user (real address): userNonFundingLedgerUpdates",
    HLP_PARENT: "HLP parent vault (real address): synthetic vaultDetails listing its child vaults",
}
_CCXT_STATES = {
    "clearinghouseState_cross_long_2024.json": CROSS_LONG_2024,
    "clearinghouseState_cross_short_SOL.json": CROSS_SHORT_SOL,
    "clearinghouseState_empty_account.json": EMPTY_ACCOUNT,
    "clearinghouseState_isolated_short_HYPE.json": ISOLATED_SHORT_HYPE,
}
# Synthetic HIP-3 dex around the real ccxt fills on flx:CRCL (collateral USDH = spot token 360).
_FLX_ENTRY: dict[str, Any] = {
    "name": "flx",
    "fullName": "flx",
    "deployer": "0xfa4e0000000000000000000000000000000f1f00",
    "oracleUpdater": None,
    "feeRecipient": None,
    "assetToStreamingOiCap": [["flx:CRCL", "5000000.0"]],
    "assetToFundingMultiplier": [],
}
_FLX_META: dict[str, Any] = {
    "universe": [
        {
            "szDecimals": 2,
            "name": "flx:CRCL",
            "maxLeverage": 10,
            "marginTableId": 10,
            "onlyIsolated": True,
            "marginMode": "strictIsolated",
        }
    ],
    "marginTables": [
        [50, {"description": "", "marginTiers": [{"lowerBound": "0.0", "maxLeverage": 50}]}]
    ],
    "collateralToken": 360,
}
_FLX_CTX: dict[str, Any] = {
    "funding": "0.0000125",
    "openInterest": "1200.0",
    "prevDayPx": "56.5",
    "dayNtlVlm": "0.0",
    "premium": "0.0",
    "oraclePx": "55.92",
    "markPx": "55.92",
    "midPx": "55.92",
    "impactPxs": ["55.9", "55.94"],
    "dayBaseVlm": "0.0",
}
_FLX_MODEL: dict[str, Any] = {
    "user": HIP3_FLX,
    "dex": "flx",
    "cash_usd": "25.0",
    "positions": [
        {
            "coin": "flx:CRCL",
            "size": "0.27",
            "entry_px": "62.8",
            "leverage": 3,
            "margin_mode": "isolated",
        }
    ],
}
_HLP_CHILDREN = [
    "0x010461c14e146ac35fe42271bdc1134ee31c703a",
    "0x31ca8395cf837de08b24da3f660e77761dfb974b",
    "0x469f690213c467c39a23efacfd2816896009d7d8",
    HLP_LIQUIDATOR,
]


def seed_from_fixtures(
    fake: Venue, fixtures_dir: Path = FIXTURES_DIR, *, normalise: bool = False
) -> None:
    """Load the shared fixtures under `SEEDED_ACCOUNTS` (marks follow the states)."""
    snapshot = orjson.loads(_fixture_snapshot(fixtures_dir.resolve()))
    load_snapshot(fake, snapshot, normalise=normalise, override_marks=True)


@functools.cache
def _fixture_snapshot(root: Path) -> bytes:
    """The shared fixtures as one serialised snapshot (read once per process; read-only)."""
    ccxt, yassi = root / "other_repos" / "ccxt", root / "other_repos" / "Yassi80_hyperliquid"
    docs, info_test = root / "docs_examples", root / "cassettes" / "info_test"
    spot_cassette = root / "cassettes" / "removed_from_master" / "test_spot_asset_ctx.yaml"
    accounts: dict[str, dict[str, Any]] = {user: {} for user in SEEDED_ACCOUNTS}
    for path in sorted(ccxt.glob("clearinghouseState*.json")):
        if path.name not in _CCXT_STATES:
            raise ValueError(
                f"{path.name}: new ccxt fixture; give it an address in seed._CCXT_STATES"
            )
        accounts[_CCXT_STATES[path.name]]["clearinghouseState"] = read_json(path)
    accounts[EMPTY_ACCOUNT]["userFills"] = read_json(ccxt / "userFills_spot_PURR_2024.json")
    accounts[EMPTY_ACCOUNT]["userNonFundingLedgerUpdates"] = read_json(
        ccxt / "userNonFundingLedgerUpdates_deposit_withdraw.json"
    )
    accounts[DOCS_ISOLATED_ETH] = {
        "clearinghouseState": read_json(docs / "clearinghouseState.json"),
        "spotClearinghouseState": read_json(docs / "spotClearinghouseState.json"),
        "userFills": read_json(docs / "userFills.json"),
        "userFunding": read_json(docs / "userFunding_first_dex.json")
        + read_json(docs / "userFunding_hip3_dex.json"),
    }
    accounts[HIP3_FLX] = {
        "spotClearinghouseState": read_json(ccxt / "spotClearinghouseState.json"),
        "userFills": read_json(ccxt / "userFills_with_market_liquidation.json"),
    }
    accounts[HLP_LIQUIDATOR] = {"userFills": read_json(yassi / "userFills_liquidator.json")}
    accounts[SDK_FILLS_USER] = {
        "userFills": _cassette(info_test / "test_get_user_fills.yaml"),
        "userFunding": _cassette(info_test / "test_user_funding_history_without_end_time.yaml"),
    }
    ledger = _cassette(info_test / "test_user_non_funding_ledger_updates_without_end_time.yaml")
    accounts[SDK_LEDGER_USER] = {"userNonFundingLedgerUpdates": ledger}
    accounts[HLP_PARENT] = {"vaultDetails": _hlp_vault_details()}
    spot_meta_and_ctxs = _cassette(spot_cassette)
    snapshot = {
        "perpDexs": [None, _FLX_ENTRY],
        "metaAndAssetCtxs": {
            "": read_json(yassi / "metaAndAssetCtxs.json"),
            "flx": [_FLX_META, [_FLX_CTX]],
        },
        "spotMeta": spot_meta_and_ctxs[0],
        "spotMetaAndAssetCtxs": spot_meta_and_ctxs,
        "accounts": accounts,
        "models": [_FLX_MODEL],
    }
    return orjson.dumps(snapshot)


def _hlp_vault_details() -> dict[str, Any]:
    """Synthetic `vaultDetails` of the HLP parent in the documented shape (no recording exists)."""
    return {
        "name": "Hyperliquidity Provider (HLP)",
        "vaultAddress": HLP_PARENT,
        "leader": "0x677d831aef5328190852e24f13c46cac05f984e7",
        "description": "Synthetic (fake server); childAddresses per shared reference §4.2.",
        "portfolio": [],
        "apr": 0.0,
        "followerState": None,
        "leaderFraction": 0.0,
        "leaderCommission": 0.0,
        "followers": [],
        "maxDistributable": 0.0,
        "maxWithdrawable": 0.0,
        "isClosed": False,
        "relationship": {"type": "parent", "data": {"childAddresses": _HLP_CHILDREN}},
        "allowDeposits": True,
        "alwaysCloseOnWithdraw": False,
    }


def _cassette(path: Path) -> Any:
    """The parsed first response body of a vcrpy cassette."""
    return orjson.loads(response_bodies(path)[0])
