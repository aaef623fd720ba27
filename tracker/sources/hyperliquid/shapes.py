"""Hyperliquid wire shapes: the keys we read from each answer and message, as TypedDicts.

Sources: shared/reference/hyperliquid.md (§1.2 clearinghouseState, §1.3 fills, §1.4 per-account
requests, §1.5 market data, §2.4 WebSocket messages, §4.6 leaderboard). Only keys we read are
declared; the venue sends more. `NotRequired` marks keys the reference documents as optional or
that older answers lack; `| None` where the venue sends null (or where null reads as absent).

These types never leave `sources/hyperliquid`: parse_* checks an answer against them at the edge
(`Shape.of`: an object with every required key; each value's JSON type where it is read) and
returns records. Keys commented "read only as ..." are read defensively, as they always were:
a value of another type reads as absent instead of failing the answer.

No `from __future__ import annotations` here: on Python 3.11 a TypedDict whose annotations are
strings counts its NotRequired keys as required (`__required_keys__`), which the check reads.
"""

from typing import Literal, NotRequired, TypeAlias, TypedDict

from tracker.sources.check import Shape

DecimalText: TypeAlias = str  # a decimal as JSON text ("-0.5"); a JSON number is read too
Millis: TypeAlias = int  # epoch milliseconds
Whole: TypeAlias = int  # an integer; some recordings send numeric text, which is read too


# ---------------------------------------------------------------- clearinghouseState (§1.2)


class Leverage(TypedDict):
    type: Literal["cross", "isolated"]
    value: Whole  # the user's leverage
    rawUsd: NotRequired[DecimalText | None]  # isolated only


class CumFunding(TypedDict):  # read only as an object
    allTime: NotRequired[DecimalText | None]
    sinceOpen: NotRequired[DecimalText | None]


class Position(TypedDict):
    coin: str
    szi: DecimalText  # signed size
    leverage: Leverage
    positionValue: DecimalText
    unrealizedPnl: DecimalText
    marginUsed: DecimalText
    entryPx: NotRequired[DecimalText | None]
    returnOnEquity: NotRequired[DecimalText | None]
    liquidationPx: NotRequired[DecimalText | None]
    maxLeverage: NotRequired[Whole | None]  # older answers lack it
    cumFunding: NotRequired[CumFunding]


class AssetPosition(TypedDict):
    position: Position


class CrossMarginSummary(TypedDict):  # the venue sends MarginSummary's keys; one is read
    accountValue: DecimalText


class MarginSummary(CrossMarginSummary):
    totalNtlPos: DecimalText
    totalRawUsd: DecimalText
    totalMarginUsed: DecimalText


class ClearinghouseState(TypedDict):
    marginSummary: MarginSummary
    crossMarginSummary: CrossMarginSummary
    withdrawable: DecimalText
    assetPositions: NotRequired[list[AssetPosition]]
    crossMaintenanceMarginUsed: NotRequired[DecimalText | None]  # older answers lack it
    time: NotRequired[Millis | None]


# ---------------------------------------------------------------- other account state (§1.4)


class SpotBalance(TypedDict):
    coin: str
    total: DecimalText
    hold: NotRequired[DecimalText | None]
    entryNtl: NotRequired[DecimalText | None]


class SpotClearinghouseState(TypedDict):
    balances: NotRequired[list[SpotBalance]]


class VaultChildren(TypedDict):  # read only as an object
    childAddresses: NotRequired[list[str]]


class VaultRelationship(TypedDict):  # read only as an object
    type: NotRequired[str]  # "parent" | "child" | "normal"
    data: NotRequired[VaultChildren]


class VaultDetails(TypedDict):  # the answer is null for an unknown vault
    name: NotRequired[str]  # read only as text
    relationship: NotRequired[VaultRelationship]


class SubAccount(TypedDict):
    subAccountUser: str
    name: str


# ---------------------------------------------------------------- market data (§1.5)


class MarginTier(TypedDict):
    lowerBound: DecimalText
    maxLeverage: Whole


class MarginTableBody(TypedDict):
    marginTiers: list[MarginTier]


MarginTableEntry: TypeAlias = tuple[Whole, MarginTableBody]  # JSON [id, table]


class Asset(TypedDict):
    name: str
    maxLeverage: Whole
    marginTableId: NotRequired[Whole | None]


class Meta(TypedDict):
    universe: list[Asset]
    marginTables: NotRequired[list[MarginTableEntry]]


class AssetCtx(TypedDict):  # one per universe entry, in the same order
    markPx: NotRequired[DecimalText | None]
    oraclePx: NotRequired[DecimalText | None]
    midPx: NotRequired[DecimalText | None]
    funding: NotRequired[DecimalText | None]
    openInterest: NotRequired[DecimalText | None]
    dayNtlVlm: NotRequired[DecimalText | None]
    prevDayPx: NotRequired[DecimalText | None]


MetaAndAssetCtxs: TypeAlias = tuple[Meta, list[AssetCtx]]  # JSON [meta, ctxs]


class PerpDex(TypedDict):
    name: str


PerpDexs: TypeAlias = list[PerpDex | None]  # null first: the main dex


# ---------------------------------------------------------------- history (§1.3, §1.4)


class FillLiquidation(TypedDict):  # read only as an object
    liquidatedUser: NotRequired[str]  # read only as text
    method: NotRequired[str]  # "market" | "backstop"; read only as text
    markPx: NotRequired[DecimalText | None]


class Fill(TypedDict):
    coin: str
    side: Literal["B", "A"]  # this user's side: bought, sold
    px: DecimalText
    sz: DecimalText
    time: Millis
    tid: NotRequired[Whole | None]
    oid: NotRequired[Whole | None]
    hash: NotRequired[str]  # read only as text
    startPosition: NotRequired[DecimalText | None]
    dir: NotRequired[str]  # read only as text
    closedPnl: NotRequired[DecimalText | None]
    fee: NotRequired[DecimalText | None]
    feeToken: NotRequired[str]  # read only as text
    builderFee: NotRequired[DecimalText | None]
    crossed: NotRequired[bool]  # read only as a boolean
    twapId: NotRequired[Whole | None]
    cloid: NotRequired[str]  # read only as text
    liquidation: NotRequired[FillLiquidation]


class FundingDelta(TypedDict):
    coin: str
    usdc: DecimalText  # signed, the user's view
    szi: NotRequired[DecimalText | None]
    fundingRate: NotRequired[DecimalText | None]
    nSamples: NotRequired[Whole | None]


class FundingUpdate(TypedDict):
    time: Millis
    delta: FundingDelta
    hash: NotRequired[str]  # read only as text


class LedgerDelta(TypedDict):  # kept whole as JSON text, besides the keys read here
    type: str
    usdc: NotRequired[DecimalText]  # read only as a number
    liquidatedNtlPos: NotRequired[DecimalText | None]
    accountValue: NotRequired[DecimalText | None]
    leverageType: NotRequired[str]  # read only as text
    liquidatedPositions: NotRequired[list[object]]  # kept as JSON text


class LedgerUpdate(TypedDict):
    time: Millis
    delta: LedgerDelta
    hash: NotRequired[str]  # part of the entry key as sent


# ---------------------------------------------------------------- leaderboard (§4.6)


class WindowPerformance(TypedDict):
    pnl: NotRequired[DecimalText | None]
    roi: NotRequired[DecimalText | None]
    vlm: NotRequired[DecimalText | None]


class LeaderboardRow(TypedDict):
    ethAddress: str
    accountValue: DecimalText
    displayName: NotRequired[str | None]
    windowPerformances: NotRequired[list[tuple[str, WindowPerformance]]]  # JSON [name, perf]


class LeaderboardBody(TypedDict):
    leaderboardRows: list[LeaderboardRow]


# ---------------------------------------------------------------- WebSocket (§2.3, §2.4)


class WsFrame(TypedDict):
    channel: str
    data: NotRequired[object]  # per channel below; absent on pong


class WsMids(TypedDict):  # channel allMids
    mids: dict[str, DecimalText]
    dex: NotRequired[str]  # read only as text; else read off the coin names


class WsAssetCtxBody(TypedDict):
    markPx: DecimalText
    midPx: NotRequired[DecimalText | None]
    oraclePx: NotRequired[DecimalText | None]
    funding: NotRequired[DecimalText | None]
    openInterest: NotRequired[DecimalText | None]


class WsAssetCtx(TypedDict):  # channels activeAssetCtx, activeSpotAssetCtx
    coin: str
    ctx: WsAssetCtxBody


class WsTrade(TypedDict):  # channel trades: data is a list of these
    coin: str
    side: Literal["B", "A"]  # the aggressor's side, as most clients read it
    px: DecimalText
    sz: DecimalText
    time: Millis
    tid: Whole
    hash: NotRequired[str]  # read only as text
    users: NotRequired[list[str] | None]  # [buyer, seller]; older answers lack it


class WsUserFills(TypedDict):  # channel userFills
    user: str
    fills: list[Fill]
    isSnapshot: NotRequired[bool]  # read only as true


class WsLiquidation(TypedDict):
    lid: Whole
    liquidator: str
    liquidated_user: str
    liquidated_ntl_pos: DecimalText
    liquidated_account_value: DecimalText


class WsUserEvent(TypedDict):  # channel user; fills, funding and cancels are not read
    liquidation: NotRequired[WsLiquidation | None]


# ---------------------------------------------------------------- the checks, one per shape

CLEARINGHOUSE_STATE = Shape[ClearinghouseState](ClearinghouseState)
ASSET_POSITION = Shape[AssetPosition](AssetPosition)
POSITION = Shape[Position](Position)
LEVERAGE = Shape[Leverage](Leverage)
MARGIN_SUMMARY = Shape[MarginSummary](MarginSummary)
CROSS_MARGIN_SUMMARY = Shape[CrossMarginSummary](CrossMarginSummary)
SPOT_STATE = Shape[SpotClearinghouseState](SpotClearinghouseState)
SPOT_BALANCE = Shape[SpotBalance](SpotBalance)
VAULT_DETAILS = Shape[VaultDetails](VaultDetails)
SUB_ACCOUNT = Shape[SubAccount](SubAccount)
META = Shape[Meta](Meta)
ASSET = Shape[Asset](Asset)
ASSET_CTX = Shape[AssetCtx](AssetCtx)
MARGIN_TABLE_BODY = Shape[MarginTableBody](MarginTableBody)
MARGIN_TIER = Shape[MarginTier](MarginTier)
PERP_DEX = Shape[PerpDex](PerpDex)
FILL = Shape[Fill](Fill)
FUNDING_UPDATE = Shape[FundingUpdate](FundingUpdate)
FUNDING_DELTA = Shape[FundingDelta](FundingDelta)
LEDGER_UPDATE = Shape[LedgerUpdate](LedgerUpdate)
LEDGER_DELTA = Shape[LedgerDelta](LedgerDelta)
LEADERBOARD_BODY = Shape[LeaderboardBody](LeaderboardBody)
LEADERBOARD_ROW = Shape[LeaderboardRow](LeaderboardRow)
WINDOW_PERFORMANCE = Shape[WindowPerformance](WindowPerformance)
WS_FRAME = Shape[WsFrame](WsFrame)
WS_MIDS = Shape[WsMids](WsMids)
WS_ASSET_CTX = Shape[WsAssetCtx](WsAssetCtx)
WS_ASSET_CTX_BODY = Shape[WsAssetCtxBody](WsAssetCtxBody)
WS_TRADE = Shape[WsTrade](WsTrade)
WS_USER_FILLS = Shape[WsUserFills](WsUserFills)
WS_LIQUIDATION = Shape[WsLiquidation](WsLiquidation)
WS_USER_EVENT = Shape[WsUserEvent](WsUserEvent)
