"""Hyperliquid: the REST client with the venue's weights (`client`), the history endpoints
(`history`), the WebSocket stream (`stream`, `ws_parse`), the leaderboard (`leaderboard`), the
shapes of every answer we read (`shapes`) and the shared wire readers (`wire`).
May import `tracker.records`, `tracker.net` and the base modules only.
"""
