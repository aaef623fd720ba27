"""Frozen records: data only, plain words with units, no I/O.

Venue wire shapes never travel past `sources/<venue>.parse_*`; these records do. Decimals are
`Decimal`, times are aware UTC `datetime`, Hyperliquid addresses are lower-case.
The bottom layer with `tracker.net`: imports only the base modules (`tracker.errors`, ...).
"""

from tracker.records.ethereum import (
    AaveAccount,
    AaveLiquidationCall,
    AaveReserveBalance,
    EthereumReport,
    Holding,
    WhaleTransfer,
)
from tracker.records.events import Alert, LiquidationEpisode
from tracker.records.history import Fill, FundingPayment, LedgerEntry
from tracker.records.positions import (
    AccountReport,
    AccountSnapshot,
    MarginMode,
    MarginTable,
    MarginTier,
    Market,
    MarketMeta,
    Position,
    Side,
    SpotBalance,
    VenueAccount,
    VenuePosition,
)
from tracker.records.stream import (
    AssetCtxUpdate,
    MidsUpdate,
    StreamStatus,
    Trade,
    UserFills,
    UserLiquidation,
)

__all__ = [
    "AaveAccount",
    "AaveLiquidationCall",
    "AaveReserveBalance",
    "AccountReport",
    "AccountSnapshot",
    "Alert",
    "AssetCtxUpdate",
    "EthereumReport",
    "Fill",
    "FundingPayment",
    "Holding",
    "LedgerEntry",
    "LiquidationEpisode",
    "MarginMode",
    "MarginTable",
    "MarginTier",
    "Market",
    "MarketMeta",
    "MidsUpdate",
    "Position",
    "Side",
    "SpotBalance",
    "StreamStatus",
    "Trade",
    "UserFills",
    "UserLiquidation",
    "VenueAccount",
    "VenuePosition",
    "WhaleTransfer",
]
