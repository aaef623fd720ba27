"""A JSON-RPC proxy in front of anvil that behaves like a hosted provider: it caps the block
range of eth_getLogs (answering with the error such providers send) and records what it was asked.
"""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from aiohttp import web


@dataclass
class RpcProxy:
    """The proxy's URL and every (method, params) it forwarded or refused, in order."""

    url: str = ""
    requests: list[tuple[str, Any]] = field(default_factory=list)
    refused: list[tuple[int, int]] = field(default_factory=list)  # eth_getLogs ranges refused


@asynccontextmanager
async def rpc_proxy(upstream: str, *, max_log_range: int) -> AsyncIterator[RpcProxy]:
    """Serve on 127.0.0.1 (a free port) until the block exits."""
    proxy = RpcProxy()
    session = aiohttp.ClientSession()

    async def handle(request: web.Request) -> web.Response:
        body = await request.json()
        proxy.requests.append((body.get("method"), body.get("params")))
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
            return web.json_response(await reply.json())

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
