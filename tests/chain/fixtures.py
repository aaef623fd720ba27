"""pytest fixtures for tests on a real anvil node with a real Aave v3 market.

Use them from a test module:
    from tests.chain.fixtures import aave, aave_market, anvil, chain  # noqa: F401
or for every test, from the root conftest.py:
    pytest_plugins = ["tests.chain.fixtures"]

`anvil` and `aave_market` live for the whole session (one node, one deployment). `chain` and
`aave` wrap each test in evm_snapshot/evm_revert, so tests see a freshly deployed market and
cannot leak state into each other. Without node_modules (`npm ci`) the tests skip.
"""

import logging
import time
from collections.abc import Iterator

import pytest

from .aave import AaveMarket, deploy_aave
from .anvil import Anvil
from .artifacts import aave_artifacts
from .errors import ToolMissing

log = logging.getLogger(__name__)


@pytest.fixture(scope="session")
def anvil() -> Iterator[Anvil]:
    """A running anvil (chain id 1) for the session; skips if the npm tools are not installed."""
    try:
        node = Anvil().start()
    except ToolMissing as exc:
        pytest.skip(f"local chain unavailable: {exc}")
    try:
        yield node
    finally:
        node.stop()


@pytest.fixture(scope="session")
def aave_market(anvil: Anvil) -> AaveMarket:
    """Aave v3.6 (WETH, USDC, e-mode 1) and Multicall3, deployed once per session."""
    try:
        started = time.monotonic()
        aave_artifacts()  # compiles on the first run per content hash (~20 s), then cached
        compiled = time.monotonic()
        market = deploy_aave(anvil)
    except ToolMissing as exc:
        pytest.skip(f"Aave artifacts unavailable: {exc}")
    done = time.monotonic()
    log.info(
        "Aave market ready: artifacts %.2f s, deployment %.2f s",
        compiled - started,
        done - compiled,
    )
    return market


@pytest.fixture
def chain(anvil: Anvil, aave_market: AaveMarket) -> Iterator[Anvil]:
    """The session anvil, rolled back after the test to the freshly deployed market."""
    snapshot = anvil.snapshot()
    try:
        yield anvil
    finally:
        anvil.revert(snapshot)


@pytest.fixture
def aave(chain: Anvil, aave_market: AaveMarket) -> AaveMarket:
    """The deployed market's addresses, for a test isolated by `chain`."""
    return aave_market
