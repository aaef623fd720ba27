"""A Hyperliquid-compatible `POST /info` server on 127.0.0.1: `tracker demo`'s venue, the tests'.

`ReplayServer` is the venue of venue.py (state, scripting, answers) served over aiohttp: it
answers like api.hyperliquid.xyz, records every request with its weight in `requests`, and
plays the scripted faults of `server.faults` (faults.py). The tests seed it from the shared
fixtures (tests/fakes); `tracker demo` from a generated scenario (scenario.py).

Served types: clearinghouseState (+dex), spotClearinghouseState, meta, metaAndAssetCtxs, allMids
(+dex), perpDexs, spotMeta, spotMetaAndAssetCtxs, userFills, userFillsByTime, userFunding,
userNonFundingLedgerUpdates, vaultDetails; batchClearinghouseStates answers HTTP 500 `null`
as recorded from the venue. Unknown types and bad fields get 422 text, unparsable bodies 400.
`GET /ws` serves the WebSocket feeds, scripted through `fake.ws` (ws.py).
`GET /Mainnet/leaderboard` serves the stats host's leaderboard (`put_leaderboard`).
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import struct
import time
from decimal import Decimal
from types import TracebackType
from typing import Any

import orjson
from aiohttp import web

from tracker.replay.faults import Fault, Faults
from tracker.replay.venue import Venue
from tracker.replay.wire import DESERIALIZE, RecordedRequest, VenueError, as_bytes, request_weight
from tracker.replay.ws import FakeWebSocket

_DEX_TYPES = frozenset({"clearinghouseState", "meta", "metaAndAssetCtxs", "allMids"})


class ReplayServer(Venue):
    """The venue served over HTTP on 127.0.0.1; `url` is its base URL while running."""

    def __init__(self, *, stall_seconds: float = 30.0) -> None:
        super().__init__()
        self.url = ""
        self.ws_url = ""  # the WebSocket endpoint (ws.py) while running
        self.ws = FakeWebSocket(self)
        self.faults = Faults(stall_seconds)
        self.requests: list[RecordedRequest] = []
        self._runner: web.AppRunner | None = None
        self._stopping = asyncio.Event()

    def set_mark(self, coin: str, px: Decimal | str | float, dex: str = "") -> None:
        """Move the mark (REST re-renders modelled accounts) and push it to WebSocket feeds."""
        super().set_mark(coin, px, dex)
        self.ws.mark_changed(coin, dex)

    def put_fills(self, user: str, fills: list[dict[str, Any]]) -> None:
        """Replace `user`'s fills; WebSocket subscribers get the ones that are new."""
        before = self._fills.get(user.lower())
        super().put_fills(user, fills)
        self.ws.fills_added(user, before.items if before is not None else ())

    def weight_used(self, since: float | None = None) -> int:
        """Sum of request weights (§2.1), optionally only since epoch second `since`."""
        return sum(r.weight for r in self.requests if since is None or r.time >= since)

    # --- server ------------------------------------------------------------------------------

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> str:
        """Listen on host:port (0 = a free port) and return the base URL (also in `url`)."""
        app = web.Application()
        app.router.add_post("/info", self._handle)
        app.router.add_get("/ws", self.ws.handle)
        app.router.add_get("/Mainnet/leaderboard", self._leaderboard)
        self._stopping = asyncio.Event()
        self._runner = web.AppRunner(
            app, access_log=None, handler_cancellation=True, shutdown_timeout=1.0
        )
        await self._runner.setup()
        await web.TCPSite(self._runner, host, port).start()
        bound = self._runner.addresses[0]
        self.url = f"http://{host}:{bound[1]}"
        self.ws_url = f"ws://{host}:{bound[1]}/ws"
        return self.url

    async def stop(self) -> None:
        """Stop listening; stalled and delayed answers are released first."""
        self._stopping.set()
        await self.ws.close_all()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> ReplayServer:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    async def _leaderboard(self, request: web.Request) -> web.StreamResponse:
        # The stats host's GET, streamed in 64 KiB chunks like a large body on the wire.
        response = web.StreamResponse(headers={"Content-Type": "application/json"})
        response.content_length = len(self.leaderboard_body)
        await response.prepare(request)
        for start in range(0, len(self.leaderboard_body), 1 << 16):
            await response.write(self.leaderboard_body[start : start + (1 << 16)])
        await response.write_eof()
        return response

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        if request.content_type != "application/json":
            return _text(415, "Expected request with `Content-Type: application/json`")
        try:
            body = orjson.loads(await request.read())
        except orjson.JSONDecodeError as exc:
            return _text(400, f"Failed to parse the request body as JSON: {exc}")
        if not isinstance(body, dict) or not isinstance(body.get("type"), str):
            return _text(422, f"{DESERIALIZE}missing field `type`")
        request_type: str = body["type"]
        fault: Fault | None = None
        if self.faults.active:
            delay, fault = self.faults.pick(request_type)
            if delay:
                await self._sleep(delay)
            if fault is not None and fault.kind == "stall":
                await self._sleep(
                    fault.stall_seconds
                    if fault.stall_seconds is not None
                    else self.faults.stall_seconds
                )
            elif fault is not None and fault.kind != "garbage":
                self._record(body, 0)
                return await self._fault_response(request, fault)
        try:
            answer = self.answer(body)
        except VenueError as exc:
            self._record(body, 0)
            return _text(
                exc.status, exc.text, "application/json" if exc.text == "null" else "text/plain"
            )
        data = as_bytes(answer.data)
        for drift in self.faults.drifts(request_type) if self.faults.active else ():
            value = orjson.loads(data)
            replaced = drift(value)
            data = orjson.dumps(value if replaced is None else replaced)
        if fault is not None and fault.kind == "garbage":  # 200 with a body that is not JSON
            data = fault.body if fault.body is not None else data[: max(1, len(data) // 2)]
        self._record(body, answer.items)
        return web.Response(body=data, content_type="application/json")

    async def _fault_response(self, request: web.Request, fault: Fault) -> web.StreamResponse:
        if fault.kind == "reset":
            reset_connection(request)
            return web.Response(status=599)  # never sent: the transport is gone
        headers = {} if fault.retry_after is None else {"Retry-After": f"{fault.retry_after:g}"}
        return web.Response(
            status=fault.status, body=fault.body, content_type="application/json", headers=headers
        )

    async def _sleep(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stopping.wait(), seconds)

    def _record(self, body: dict[str, Any], items: int) -> None:
        request_type: str = body["type"]
        user = body.get("user")
        dex = (body.get("dex") or "") if request_type in _DEX_TYPES else body.get("dex")
        self.requests.append(
            RecordedRequest(
                request_type,
                user.lower() if isinstance(user, str) else None,
                dex if isinstance(dex, str) else None,
                time.time(),
                request_weight(request_type, items),
            )
        )


def _text(status: int, text: str, content_type: str = "text/plain") -> web.Response:
    return web.Response(status=status, text=text, content_type=content_type)


def reset_connection(request: web.Request) -> None:
    """Drop the connection with a TCP RST (SO_LINGER 0) so the client sees a reset."""
    transport = request.transport
    if transport is None:
        return
    sock = transport.get_extra_info("socket")
    if sock is not None:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    transport.abort()
