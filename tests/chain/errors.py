"""Errors raised by the local-chain test harness.

ChainHarnessError            anything the harness could not do
├── ToolMissing              node_modules / node / the anvil binary is absent: tests skip on this
├── AnvilStartError          anvil did not start, or did not answer in time
├── RpcError                 a JSON-RPC call to anvil returned an error
└── CompileError             solc-js failed to build the Aave artifacts
"""


class ChainHarnessError(Exception):
    """Base of every harness error."""


class ToolMissing(ChainHarnessError):
    """A required npm package or executable is not installed; the message says how to install it."""


class AnvilStartError(ChainHarnessError):
    """anvil exited early or did not answer before its deadline."""


class RpcError(ChainHarnessError):
    """A JSON-RPC method returned an error object."""


class CompileError(ChainHarnessError):
    """Compiling the Aave sources with solc-js failed."""
