"""Orchestration, time and concurrency: one snapshot pass (`snapshot_pass`), the Hyperliquid
poller (`poller`), opening resources for a command (`runner`), history planning, the daemon of
`tracker run`, live mode (`app/live/`), the Ethereum pass (`ethereum_pass`, `ethereum_poll`,
`log_scans`, `chain_cursors`) and the `watch`/`run`/`snapshot` library calls (`commands`). May
import every layer below it (output, alerts, store, risk, sources, records, net, base); never cli.
"""
