"""Ethereum: the JSON-RPC reads through web3 (`rpc`; block headers and log entries checked
against `shapes`), Aave v3 accounts and LiquidationCall logs (`aave`) and ERC-20 Transfer logs
(`transfers`). May import `tracker.records`, `tracker.net` and the base modules only.
"""
