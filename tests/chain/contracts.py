"""Deploy and call contracts from the compiled artifacts; reverts raise with the decoded error."""

import functools
from collections.abc import Mapping
from typing import Any

from eth_typing import ChecksumAddress
from web3 import Web3
from web3.contract import Contract
from web3.contract.contract import ContractConstructor, ContractFunction
from web3.exceptions import ContractCustomError
from web3.types import TxParams, TxReceipt, Wei

from .artifacts import Artifact, aave_artifacts, link
from .errors import ChainHarnessError

RECEIPT_TIMEOUT_S = 30  # anvil automines, so a receipt is normally there at once


class TxFailed(ChainHarnessError):
    """A transaction reverted; the message names the custom error when the ABI knows it."""


@functools.cache
def _error_names() -> dict[str, str]:
    """Selector (8 hex chars) -> error name, over every compiled contract.

    A contract's own ABI misses errors raised inside linked libraries (LiquidationLogic's
    HealthFactorNotBelowThreshold is not in PoolInstance's ABI), so look them up everywhere.
    """
    names: dict[str, str] = {}
    for artifact in aave_artifacts().values():
        for item in artifact["abi"]:
            if item.get("type") == "error":
                signature = f"{item['name']}({','.join(i['type'] for i in item['inputs'])})"
                names[Web3.keccak(text=signature)[:4].hex()] = item["name"]
    return names


def error_name(data: str) -> str:
    """Name of the custom error whose selector starts the revert `data`, else `data` itself."""
    return _error_names().get(data.removeprefix("0x")[:8], data)


def send(
    w3: Web3,
    call: ContractFunction | ContractConstructor,
    sender: ChecksumAddress,
    value: int = 0,
) -> TxReceipt:
    """Send a transaction from an unlocked anvil account and wait for a successful receipt."""
    try:
        params: TxParams = {"from": sender, "value": Wei(value)}
        tx_hash = call.transact(params)
    except ContractCustomError as exc:  # raised by gas estimation, before anything is sent
        raise TxFailed(f"{_label(call)} reverted: {error_name(str(exc.data))}") from exc
    receipt = w3.eth.wait_for_transaction_receipt(tx_hash, timeout=RECEIPT_TIMEOUT_S)
    if receipt["status"] != 1:
        raise TxFailed(f"{_label(call)} reverted in block {receipt['blockNumber']}")
    return receipt


def _label(call: ContractFunction | ContractConstructor) -> str:
    return getattr(call, "fn_name", None) or "constructor"


def deploy(
    w3: Web3,
    artifacts: Mapping[str, Artifact],
    name: str,
    sender: ChecksumAddress,
    *args: Any,
    libraries: Mapping[str, str] | None = None,
) -> ChecksumAddress:
    """Deploy contract `name` with constructor `args`; returns its checksummed address."""
    artifact = artifacts[name]
    factory = w3.eth.contract(abi=artifact["abi"], bytecode=link(artifact, libraries or {}))
    receipt = send(w3, factory.constructor(*args), sender)
    address = receipt["contractAddress"]
    if address is None:
        raise TxFailed(f"deploying {name} returned no contract address")
    return Web3.to_checksum_address(address)


def at(w3: Web3, artifacts: Mapping[str, Artifact], name: str, address: str) -> Contract:
    """Contract object for `address` using the ABI of artifact `name`."""
    return w3.eth.contract(address=Web3.to_checksum_address(address), abi=artifacts[name]["abi"])
