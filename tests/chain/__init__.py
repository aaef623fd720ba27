"""Local-chain test harness: a real anvil node with a real Aave v3.6 market and Multicall3.

Modules:
    npm          where the dev-only npm packages live (package.json at the repo root)
    anvil        Anvil: start/stop the node, snapshot/revert, set_balance, set_code, mine
    artifacts    compile Aave from node_modules with solc-js (cached outside git), link libraries
    contracts    deploy/send helpers with decoded custom errors
    aave         deploy_aave() -> AaveMarket (every address)
    aave_scenario  supply/borrow/set_price/liquidate steps and account reads
    multicall3   canonical Multicall3 runtime from npm, installed with anvil_setCode
    fixtures     pytest fixtures: anvil, aave_market (session); chain, aave (per test)
    tracker_settings  Settings pointing the tracker's Ethereum side at the node and its market
    rpc_proxy    a JSON-RPC proxy that caps eth_getLogs ranges like hosted providers do
"""
