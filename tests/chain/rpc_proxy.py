"""A JSON-RPC proxy in front of anvil that behaves like a hosted provider: it caps the block
range of eth_getLogs (answering with the error such providers send), records what it was asked,
and on request misbehaves like a provider having a bad day.

Faults (`fail_every=n`, `faults=(...)`): every n-th request gets the next fault of the list, in
turn. "429" (with Retry-After: 0), "502", "reset" (the connection dropped before an answer),
"stall" (no answer for stall_s), "rpc-error" (a JSON-RPC error -32603), "truncated" (half the
real answer's JSON).
"""

import asyncio
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from aiohttp import web

from tests.fakes.hyperliquid import reset_connection


@dataclass
class RpcProxy:
    """The proxy's URL and every (method, params) it forwarded or refused, in order."""

    url: str = ""
    requests: list[tuple[str, Any]] = field(default_factory=list)
    refused: list[tuple[int, int]] = field(default_factory=list)  # eth_getLogs ranges refused
    fired: list[tuple[str, str]] = field(default_factory=list)  # (fault, method) as injected
    fail_every: int = 0  # 0: no faults; change it while serving to start or stop them


@asynccontextmanager
async def rpc_proxy(
    upstream: str,
    *,
    max_log_range: int = 1_000_000,
    fail_every: int = 0,
    faults: Sequence[str] = ("429", "502", "reset", "rpc-error", "truncated"),
    stall_s: float = 3.0,
) -> AsyncIterator[RpcProxy]:
    """Serve on 127.0.0.1 (a free port) until the block exits."""
    proxy = RpcProxy(fail_every=fail_every)
    session = aiohttp.ClientSession()

    async def handle(request: web.Request) -> web.Response:
        body = await request.json()
        proxy.requests.append((body.get("method"), body.get("params")))
        fault = None
        if proxy.fail_every and len(proxy.requests) % proxy.fail_every == 0:
            fault = faults[(len(proxy.requests) // proxy.fail_every - 1) % len(faults)]
            proxy.fired.append((fault, str(body.get("method"))))
        if fault == "429":
            return web.json_response({"error": "rate"}, status=429, headers={"Retry-After": "0"})
        if fault == "502":
            return web.Response(status=502, text="bad gateway")
        if fault == "reset":
            reset_connection(request)
            return web.Response(status=599)  # never sent: the transport is gone
        if fault == "stall":
            await asyncio.sleep(stall_s)
        if fault == "rpc-error":
            error = {"code": -32603, "message": "internal error"}
            return web.json_response({"jsonrpc": "2.0", "id": body.get("id"), "error": error})
        if body.get("method") == "eth_getLogs":
            params = body["params"][0]
            first, last = int(params["fromBlock"], 16), int(params["toBlock"], 16)
            if last - first + 1 > max_log_range:
                proxy.refused.append((first, last))
                error = {
                    "code": -32005,
                    "message": f"query exceeds max block range {max_log_range}",
                }
                return web.json_response({"jsonrpc": "2.0", "id": body.get("id"), "error": error})
        async with session.post(upstream, json=body) as reply:
            raw = await reply.read()
        if fault == "truncated":
            raw = raw[: len(raw) // 2]
        return web.Response(body=raw, content_type="application/json")

    app = web.Application()
    app.router.add_post("/{tail:.*}", handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    proxy.url = f"http://127.0.0.1:{port}/v2/provider-key-0123456789abcdef"
    try:
        yield proxy
    finally:
        await runner.cleanup()
        await session.close()
