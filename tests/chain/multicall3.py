"""Install the canonical Multicall3 on anvil (it is not predeployed there).

The runtime bytecode comes from npm `@eth-optimism/contracts-bedrock` (MIT),
`src/libraries/Preinstalls.sol`, constant `MultiCall3Code`: OP Stack chains preinstall the exact
mainnet bytes. Its keccak is pinned below; public code pins the same hash for chain 1, so a
package that ever shipped other bytes fails loudly here instead of testing against a look-alike.
"""

import re

from eth_typing import ChecksumAddress, HexAddress, HexStr
from web3 import Web3

from .anvil import Anvil
from .errors import ChainHarnessError
from .npm import package_dir

MULTICALL3_ADDRESS = ChecksumAddress(
    HexAddress(HexStr("0xcA11bde05977b3631167028862bE2a173976CA11"))
)
MULTICALL3_CODEHASH = "0xd5c15df687b16f2ff992fc8d767b4216323184a2bbc6ee2f9c398c318e770891"
_SOURCE = "src/libraries/Preinstalls.sol"
_CONSTANT = re.compile(r'MultiCall3Code\s*=\s*hex"([0-9a-fA-F]+)"')

_CALL3 = [
    {"name": "target", "type": "address"},
    {"name": "allowFailure", "type": "bool"},
    {"name": "callData", "type": "bytes"},
]
_RESULT = [{"name": "success", "type": "bool"}, {"name": "returnData", "type": "bytes"}]
MULTICALL3_ABI = [
    {
        "type": "function",
        "name": "aggregate3",
        "stateMutability": "payable",
        "inputs": [{"name": "calls", "type": "tuple[]", "components": _CALL3}],
        "outputs": [{"name": "returnData", "type": "tuple[]", "components": _RESULT}],
    },
    {
        "type": "function",
        "name": "getEthBalance",
        "stateMutability": "view",
        "inputs": [{"name": "addr", "type": "address"}],
        "outputs": [{"name": "balance", "type": "uint256"}],
    },
    {
        "type": "function",
        "name": "getBlockNumber",
        "stateMutability": "view",
        "inputs": [],
        "outputs": [{"name": "blockNumber", "type": "uint256"}],
    },
    {
        "type": "function",
        "name": "getChainId",
        "stateMutability": "view",
        "inputs": [],
        "outputs": [{"name": "chainid", "type": "uint256"}],
    },
]


def multicall3_runtime() -> bytes:
    """Canonical Multicall3 runtime bytecode (3,808 bytes), read from node_modules and verified."""
    path = package_dir("@eth-optimism/contracts-bedrock") / _SOURCE
    match = _CONSTANT.search(path.read_text(encoding="utf-8"))
    if match is None:
        raise ChainHarnessError(f"MultiCall3Code not found in {path}")
    runtime = bytes.fromhex(match[1])
    if Web3.keccak(runtime).to_0x_hex() != MULTICALL3_CODEHASH:
        raise ChainHarnessError(f"Multicall3 bytes in {path} do not match the canonical codehash")
    return runtime


def install_multicall3(chain: Anvil) -> ChecksumAddress:
    """Put Multicall3 at its canonical address with anvil_setCode; returns the address."""
    chain.set_code(MULTICALL3_ADDRESS, multicall3_runtime())
    return MULTICALL3_ADDRESS
