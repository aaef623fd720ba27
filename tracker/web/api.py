"""The JSON API under /api/: query strings checked (BadInput -> 400), reads run in a thread."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any, TypeVar

import orjson
from aiohttp import web

from tracker.addresses import normalise_address
from tracker.errors import BadInput
from tracker.output.liqmap import DEFAULT_BUCKETS
from tracker.times import parse_iso
from tracker.web.reads import SCOPES, Filters, Reader
from tracker.web.stream import CHANGES

READER = web.AppKey("reader", Reader)
MAX_TEXT = 200  # characters of one query-string value (SQL: MAX_SQL)
MAX_SQL = 20_000
MAX_BUCKETS = 200  # of the liquidation map
MAX_PAGE = 500  # rows of fills, funding or ledger at a time
MAX_OFFSET = 10_000_000
T = TypeVar("T")


def json_response(doc: Any, status: int = 200) -> web.Response:
    """A JSON body (orjson), never cached."""
    return web.Response(
        body=orjson.dumps(doc),
        status=status,
        content_type="application/json",
        headers={"Cache-Control": "no-store"},
    )


def params(request: web.Request, allowed: set[str], repeated: frozenset[str] = frozenset()) -> Any:
    """The query string as a dict; BadInput for an unknown or repeated name, or a long value."""
    found: dict[str, Any] = {}
    for name, value in request.query.items():
        if name not in allowed:
            known = ", ".join(sorted(allowed)) or "none"
            raise BadInput(f"unknown query parameter {name[:40]!r} (known: {known})")
        if len(value) > (MAX_SQL if name == "sql" else MAX_TEXT):
            raise BadInput(f"query parameter {name} is too long")
        if name in repeated:
            found.setdefault(name, []).append(value)
        elif name in found:
            raise BadInput(f"query parameter {name} is given twice")
        else:
            found[name] = value
    return found


def _time(value: str | None, name: str) -> datetime | None:
    if value is None:
        return None
    try:
        return parse_iso(value)
    except ValueError:
        raise BadInput(f"{name} must be an ISO 8601 time like 2026-01-31T00:00:00Z") from None


def _decimal(value: str | None, name: str) -> Decimal:
    if value is None:
        return Decimal(0)
    try:
        number = Decimal(value)
    except InvalidOperation:
        raise BadInput(f"{name} must be a number, got {value[:40]!r}") from None
    if not number.is_finite() or number < 0:
        raise BadInput(f"{name} must be a number >= 0")
    return number


def _int(value: str | None, name: str, default: int, most: int, least: int = 1) -> int:
    if value is None:
        return default
    if not (value.isascii() and value.isdigit()) or not least <= int(value) <= most:
        raise BadInput(f"{name} must be a whole number from {least} to {most}")
    return int(value)


def _text(value: str | None, name: str) -> str | None:
    if value is not None and (not value or not value.isprintable()):
        raise BadInput(f"{name} must be printable text")
    return value


async def _read(request: web.Request, call: Callable[[Reader], T], *, shared: bool = True) -> T:
    """Run a blocking read of the store off the event loop; shared: once per version of the
    data for every identical request (the pages re-read on each change all at once)."""
    reader = request.app[READER]
    if not shared:
        return await asyncio.to_thread(call, reader)
    return await request.app[CHANGES].once(request.path_qs, lambda: call(reader))


async def accounts(request: web.Request) -> web.Response:
    """GET /api/accounts: the overview, riskiest first."""
    q = params(request, {"watchlist", "tag", "coin", "address", "cohort", "scope", "entity"})
    scope = q.get("scope")
    if scope is not None and scope not in SCOPES:
        raise BadInput(f"scope must be one of {', '.join(SCOPES)}")
    filters = Filters(
        watchlist=_text(q.get("watchlist"), "watchlist"),
        tag=_text(q.get("tag"), "tag"),
        coin=_text(q.get("coin"), "coin"),
        address=normalise_address(q["address"]) if "address" in q else None,
        cohort=_text(q.get("cohort"), "cohort"),
        scope=scope,
        entity=_text(q.get("entity"), "entity"),
    )
    return json_response(await _read(request, lambda r: r.overview(filters)))


async def entities(request: web.Request) -> web.Response:
    """GET /api/entities: the entities the watchlists name (for the overview's filter)."""
    params(request, set())
    return json_response(request.app[READER].entities())


async def entity(request: web.Request) -> web.Response:
    """GET /api/entities/{name}: `tracker entity show NAME --json` from the store."""
    params(request, set())
    name = _text(request.match_info["name"], "entity") or ""
    if len(name) > MAX_TEXT:
        raise BadInput("entity name is too long")
    doc = await _read(request, lambda r: r.entity(name))
    if doc is None:
        return json_response({"error": f"no entity {name[:80]!r} in the watchlists"}, 404)
    return json_response(doc)


async def account(request: web.Request) -> web.Response:
    """GET /api/accounts/{address}: `tracker watch --once --json` of the stored state."""
    params(request, set())
    address = normalise_address(request.match_info["address"])
    doc = await _read(request, lambda r: r.account(address))
    if doc is None:
        return json_response({"error": f"no snapshots of {address} in the database"}, 404)
    return json_response(doc)


async def history(request: web.Request) -> web.Response:
    """GET /api/accounts/{address}/history: what `tracker chart` draws."""
    q = params(request, {"since"})
    address = normalise_address(request.match_info["address"])
    since = _time(q.get("since"), "since")
    doc = await _read(request, lambda r: r.history(address, since))
    if doc is None:
        return json_response({"error": f"no snapshots of {address} in the database"}, 404)
    return json_response(doc)


async def _records(request: web.Request, stream: str) -> web.Response:
    """A page of an address's fills, funding or ledger, newest first (?limit, ?offset)."""
    q = params(request, {"limit", "offset"})
    address = normalise_address(request.match_info["address"])
    limit = _int(q.get("limit"), "limit", 50, MAX_PAGE)
    offset = _int(q.get("offset"), "offset", 0, MAX_OFFSET, least=0)
    doc = await _read(request, lambda r: r.records(address, stream, limit=limit, offset=offset))
    return json_response(doc)


async def fills(request: web.Request) -> web.Response:
    """GET /api/accounts/{address}/fills: the stored fills, newest first, a page at a time."""
    return await _records(request, "fills")


async def funding(request: web.Request) -> web.Response:
    """GET /api/accounts/{address}/funding: the stored funding payments, newest first."""
    return await _records(request, "funding")


async def ledger(request: web.Request) -> web.Response:
    """GET /api/accounts/{address}/ledger: deposits, withdrawals, transfers ..., newest first."""
    return await _records(request, "ledger")


async def watchlists(request: web.Request) -> web.Response:
    """GET /api/watchlists: the watchlists' names, descriptions and sizes (for the filters)."""
    params(request, set())
    reader = request.app[READER]
    return json_response(
        [
            {"name": w.name, "description": w.description, "addresses": len(w.entries)}
            for w in reader.watchlists
        ]
    )


async def cohorts(request: web.Request) -> web.Response:
    """GET /api/cohorts: the account value and all-time PnL bands (for the overview's filter)."""
    params(request, set())
    return json_response(await _read(request, lambda r: r.cohorts()))


async def liquidations(request: web.Request) -> web.Response:
    """GET /api/liquidations: `tracker liquidations --json`."""
    q = params(request, {"min_usd", "since", "address"})
    min_usd = _decimal(q.get("min_usd"), "min_usd")
    since = _time(q.get("since"), "since")
    address = normalise_address(q["address"]) if "address" in q else None
    rows = await _read(
        request, lambda r: r.liquidations(min_usd=min_usd, since=since, address=address)
    )
    return json_response(rows)


async def liquidations_daily(request: web.Request) -> web.Response:
    """GET /api/liquidations/daily: `tracker liquidations --daily --json`."""
    q = params(request, {"min_usd", "since", "address", "coin"})
    min_usd = _decimal(q.get("min_usd"), "min_usd")
    since = _time(q.get("since"), "since")
    address = normalise_address(q["address"]) if "address" in q else None
    coin = _text(q.get("coin"), "coin")
    if coin is not None and any(c.isspace() for c in coin):
        raise BadInput(f"coin must name one coin like BTC, got {coin!r}")
    rows = await _read(
        request,
        lambda r: r.liquidations_daily(min_usd=min_usd, since=since, address=address, coin=coin),
    )
    return json_response(rows)


async def alerts(request: web.Request) -> web.Response:
    """GET /api/alerts: `tracker alerts --json`."""
    q = params(request, {"limit", "kind"})
    limit = _int(q.get("limit"), "limit", 50, 1000)
    kind = _text(q.get("kind"), "kind")
    return json_response(await _read(request, lambda r: r.alerts(limit=limit, kind=kind)))


async def query(request: web.Request) -> web.Response:
    """GET /api/query: `tracker query --format json`, always read-only."""
    q: Mapping[str, Any] = params(request, {"sql", "name", "param"}, repeated=frozenset({"param"}))
    sql, name, pairs = q.get("sql"), q.get("name"), list(q.get("param", []))
    # never shared: a statement may read the clock (now()), and each one runs on its own
    return json_response(await _read(request, lambda r: r.query(sql, name, pairs), shared=False))


def _coin(request: web.Request, q: Mapping[str, str]) -> tuple[str, str | None]:
    """The path's coin (as the venue names it: `xyz:ABC` on a builder dex) and ?dex."""
    return request.match_info["coin"], _text(q.get("dex"), "dex")


async def market(request: web.Request) -> web.Response:
    """GET /api/market/{coin}: `tracker market COIN --json`, market figures as last stored."""
    coin, dex = _coin(request, params(request, {"dex"}))
    doc = await _read(request, lambda r: r.market(coin, dex))
    if doc is None:
        return json_response({"error": f"no market or position of {coin[:40]!r} stored"}, 404)
    return json_response(doc)


async def liqmap(request: web.Request) -> web.Response:
    """GET /api/market/{coin}/liqmap: liquidation notional of tracked positions per price bucket."""
    q = params(request, {"dex", "buckets"})
    coin, dex = _coin(request, q)
    buckets = _int(q.get("buckets"), "buckets", DEFAULT_BUCKETS, MAX_BUCKETS, least=2)
    doc = await _read(request, lambda r: r.liqmap(coin, dex, buckets))
    if doc is None:
        return json_response({"error": f"no tracked position in {coin[:40]!r}"}, 404)
    return json_response(doc)
