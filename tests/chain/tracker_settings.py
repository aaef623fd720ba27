"""Settings that point the tracker's Ethereum side at the local anvil and its Aave market."""

from dataclasses import replace
from pathlib import Path
from typing import Any

from tracker.config import Settings
from tracker.redact import Secret

from .aave import AaveMarket
from .anvil import Anvil


def tracker_settings(chain: Anvil, market: AaveMarket, db_path: Path, **overrides: Any) -> Settings:
    """The deployed market's addresses provider, its WETH/USDC as the holdings token list.

    WETH's decimals are left to be read on chain (decimals()), USDC's come from the setting.
    """
    base = Settings(
        db_path=db_path,
        eth_rpc_url=Secret(chain.url),
        eth_chain_id=chain.chain_id,
        eth_tokens=(("WETH", market.weth.lower(), None), ("USDC", market.usdc.lower(), 6)),
        aave_pool_addresses_provider=market.pool_addresses_provider,
        eth_confirmations=0,
        http_retries=1,
        http_timeout_s=10.0,
    )
    return replace(base, **overrides)
