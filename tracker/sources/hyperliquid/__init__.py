"""Hyperliquid: the REST client with the venue's weights (`client`), the history endpoints
(`history`), the WebSocket stream (`stream`, `ws_parse`) and the shared wire parsing (`wire`).
May import `tracker.records`, `tracker.net` and the base modules only.
"""
