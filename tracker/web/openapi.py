"""/api/openapi.json: the API described (OpenAPI 3.1); tests check it names every route."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from tracker import __version__


def _param(name: str, help: str, *, where: str = "query", kind: str = "string") -> dict[str, Any]:
    schema: dict[str, Any] = {"type": kind}
    if kind == "array":
        schema = {"type": "array", "items": {"type": "string"}}
    doc: dict[str, Any] = {"name": name, "in": where, "description": help, "schema": schema}
    if where == "path":
        doc["required"] = True
    return doc


ADDRESS = _param("address", "0x + 40 hex digits, any case", where="path")
COIN = _param("coin", "as the venue names it (ETH; xyz:ABC on a builder dex)", where="path")
DEX = _param("dex", "the builder dex of a coin given without its prefix")
_ERROR = {
    "description": "a bad query string, as one line",
    "content": {
        "application/json": {
            "schema": {
                "type": "object",
                "properties": {"error": {"type": "string"}},
                "required": ["error"],
            }
        }
    },
}


def _get(summary: str, params: list[dict[str, Any]], body: str = "array") -> dict[str, Any]:
    return {
        "get": {
            "summary": summary,
            "parameters": params,
            "responses": {
                "200": {
                    "description": "JSON; decimals are strings, times ISO 8601 UTC",
                    "content": {"application/json": {"schema": {"type": body}}},
                },
                "400": _ERROR,
                "401": _ERROR,
            },
        }
    }


PATHS: dict[str, Any] = {
    "/api/accounts": _get(
        "Stored accounts, riskiest first: value, notional, shock, nearest liquidation",
        [
            _param("watchlist", "only this watchlist's addresses"),
            _param("tag", "only addresses with this tag"),
            _param("coin", "only accounts holding this coin"),
            _param("address", "only this address"),
            _param("cohort", "only accounts in this cohort (see /api/cohorts)"),
            _param("scope", "watched (on a watchlist) or universe (discovered)"),
            _param("entity", "only this entity's addresses (see /api/entities)"),
        ],
    ),
    "/api/accounts/{address}": _get(
        "The latest stored state of one address, as `tracker watch --once --json`",
        [ADDRESS],
        "object",
    ),
    "/api/accounts/{address}/history": _get(
        "Account value, PnL and per coin mark and liquidation prices: what `tracker chart` draws",
        [ADDRESS, _param("since", "ISO 8601 time")],
        "object",
    ),
    **{
        f"/api/accounts/{{address}}/{stream}": _get(
            f"The stored {what} of one address, newest first, a page at a time",
            [
                ADDRESS,
                _param("limit", "rows of the page (1 to 500, default 50)", kind="integer"),
                _param("offset", "rows skipped (default 0): next_offset of the previous page"),
            ],
            "object",
        )
        for stream, what in (
            ("fills", "fills"),
            ("funding", "funding payments"),
            ("ledger", "ledger updates (deposits, withdrawals, transfers, liquidations)"),
        )
    },
    "/api/watchlists": _get("The watchlists: name, description, number of addresses", []),
    "/api/cohorts": _get("The cohorts (account value and all-time PnL bands): kind, name", []),
    "/api/entities": _get("The entities the watchlists name: entity, addresses (a count)", []),
    "/api/entities/{name}": _get(
        "One actor's addresses across venues, as `tracker entity show NAME --json`",
        [_param("name", "the watchlists' entity name, any case", where="path")],
        "object",
    ),
    "/api/liquidations": _get(
        "Liquidation episodes, largest first, as `tracker liquidations --json`",
        [
            _param("min_usd", "only episodes of at least this notional", kind="number"),
            _param("since", "only episodes ending at or after (ISO 8601)"),
            _param("address", "only this account"),
        ],
    ),
    "/api/liquidations/daily": _get(
        "Hyperliquid episodes per UTC day and coin, newest day first, as "
        "`tracker liquidations --daily --json`",
        [
            _param("min_usd", "only episodes of at least this notional", kind="number"),
            _param("since", "only episodes ending at or after (ISO 8601)"),
            _param("address", "only this account"),
            _param("coin", "only this coin"),
        ],
    ),
    "/api/alerts": _get(
        "Stored alerts, newest first, as `tracker alerts --json`",
        [
            _param("limit", "how many (1 to 1000, default 50)", kind="integer"),
            _param("kind", "only this kind"),
        ],
    ),
    "/api/market/{coin}": _get(
        "A coin's market as `tracker market COIN --json`; venue figures: the newest stored",
        [COIN, DEX],
        "object",
    ),
    "/api/market/{coin}/liqmap": _get(
        "Liquidation notional of tracked positions per price bucket around the mark (none: [])",
        [COIN, DEX, _param("buckets", "how many buckets (2 to 200, default 40)", kind="integer")],
        "object",
    ),
    "/api/query": _get(
        "Read-only SQL or a named query, as `tracker query --format json` (no --write here)",
        [
            _param("sql", "one SQL statement"),
            _param("name", "a named query (see `tracker query --list`)"),
            _param("param", "key=value, repeatable", kind="array"),
        ],
    ),
    "/api/stream": {
        "get": {
            "summary": (
                "Server-Sent Events: `change` when the data changed (with `addresses`, the "
                "accounts of the daemon's passes since the last, when known), `ping` every 5 s; "
                "under `tracker run --live --serve` also `account` (the watch document at the "
                "live book's marks, at most once a second), `overview` (the moved rows, with "
                "the keys of /api/accounts) and `position` (a position change as it happens)"
            ),
            "parameters": [
                _param("account", "an address: its `account` and `position` events"),
                _param("overview", "1: the `overview` events"),
                _param(
                    "feeds",
                    "1: an `alert` per new alert and a `liquidation` per new or extended episode "
                    "(the keys of /api/alerts and /api/liquidations), after their `change`",
                ),
            ],
            "responses": {"200": {"description": "text/event-stream"}},
        }
    },
    "/api/openapi.json": {
        "get": {
            "summary": "This document",
            "responses": {"200": {"description": "OpenAPI 3.1"}},
        }
    },
}


def document() -> dict[str, Any]:
    """The OpenAPI document."""
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "tracker",
            "version": __version__,
            "description": "Read-only: GET and HEAD only (other methods: 405). Off loopback, send "
            "'Authorization: Bearer <TRACKER_SERVE_TOKEN>'.",
        },
        "paths": PATHS,
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        },
    }


async def openapi(request: web.Request) -> web.Response:
    """GET /api/openapi.json."""
    from tracker.web.api import json_response, params

    params(request, set())
    return json_response(document())
