"""The web port's server: limits on connections and time, and errors answered and logged without a
request byte; streams/web/process.py runs it in a process of its own.

The limits are constants, listed in the README's "Access" section."""

import asyncio
import contextlib
import resource
from collections import Counter
from typing import Any

from aiohttp import web
from aiohttp.web_protocol import RequestHandler
from aiohttp.web_server import Server

from streams import metrics
from streams.logs import log

# Open connections in all, and from one client address. Behind a reverse proxy every client has the
# proxy's address: the per-address cap then bounds the proxy, so it sits above a board's needs.
MAX_CONNECTIONS = 2048
MAX_CONNECTIONS_PER_ADDRESS = 256
# How much less the web process weighs for the OS than the deciding worker when the cores are short.
WEB_NICENESS = 10
# Seconds an idle connection is kept, and (aiohttp closes a connection whose request is incomplete
# when it fires) the time a client has to send a request's headers from its connection or its
# previous answer: a client sending partial headers holds a socket this long at most.
KEEPALIVE_S = 5.0
# Descriptors kept for Kafka connections, the state store and the log beside the web connections.
_RESERVED_FILES = 512
_REFUSAL = b"HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\nContent-Length: 0\r\n\r\n"
SERVER_NAME = "kompensasi"


class Connections:
    """Counts what is open (connections, or event streams), in all and by client address, and refuses
    past either cap (counted as `limit`, `limit`_per_address); used from the web loop only."""

    def __init__(self, total: int, per_address: int, limit: str = "connections") -> None:
        self.total = total
        self.per_address = per_address
        self.limit = limit
        self.by_address: Counter[str] = Counter()

    def admit(self, address: str) -> bool:
        if self.by_address.total() >= self.total:
            metrics.WEB_REFUSED.labels(self.limit).inc()
            return False
        if self.by_address[address] >= self.per_address:
            metrics.WEB_REFUSED.labels(f"{self.limit}_per_address").inc()
            return False
        self.by_address[address] += 1
        return True

    def release(self, address: str) -> None:
        self.by_address[address] -= 1
        if self.by_address[address] <= 0:
            del self.by_address[address]


class QuietHandler(RequestHandler):
    """aiohttp's connection handler with a connection cap, and errors without request bytes: aiohttp
    logs a bad request with its text (the start of an oversized Cookie: a token) and answers with it."""

    def __init__(self, manager: Server, connections: Connections, **kwargs: Any) -> None:
        super().__init__(manager, **kwargs)
        self._connections = connections
        self._address: str | None = None
        self._refused = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        peer = transport.get_extra_info("peername")
        address = str(peer[0]) if peer else "unknown"
        if not self._connections.admit(address):
            self._refused = True
            # A few bytes, then the socket is closed: its descriptor is free again at once.
            with contextlib.suppress(Exception):
                transport.write(_REFUSAL)  # type: ignore[attr-defined]
            transport.close()
            return
        self._address = address
        super().connection_made(transport)

    def connection_lost(self, exc: BaseException | None) -> None:
        if self._refused:
            return
        if self._address is not None:
            self._connections.release(self._address)
            self._address = None
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if not self._refused:
            super().data_received(data)

    def log_exception(self, *args: Any, **kw: Any) -> None:
        # aiohttp's messages and tracebacks may quote the request: the type only.
        exc = kw.get("exc_info")
        log.warning("web_error", error=type(exc).__name__ if isinstance(exc, BaseException) else "unknown")

    def handle_error(
        self, request: Any, status: int = 500, exc: BaseException | None = None, message: str | None = None
    ) -> web.StreamResponse:
        """One counted line with the status and the error's type, and an answer naming only the status."""
        metrics.WEB_BAD_REQUESTS.labels(str(status)).inc()
        log.warning("web_bad_request", status=status, error=type(exc).__name__ if exc is not None else None)
        if request.writer.output_size > 0:  # an answer has begun: the connection can only be dropped
            raise ConnectionError("response already started")
        text = {400: "400 Bad Request"}.get(status, f"{status} Error")
        response = web.Response(status=status, text=text + "\n", content_type="text/plain",
                                headers={"Server": SERVER_NAME})  # fmt: skip
        response.force_close()
        return response


class _Server(Server):
    def __init__(self, *args: Any, connections: Connections, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._limits = connections

    def __call__(self) -> RequestHandler:
        return QuietHandler(self, self._limits, loop=self._loop, **self._kwargs)


class _Runner(web.AppRunner):
    """AppRunner with QuietHandler; mirrors AppRunner._make_server of aiohttp 3.14."""

    def __init__(self, app: web.Application, connections: Connections, **kwargs: Any) -> None:
        super().__init__(app, **kwargs)
        self._limits = connections

    async def _make_server(self) -> Server:
        loop = asyncio.get_running_loop()
        app = self._app
        app._set_loop(loop)
        app.on_startup.freeze()
        await app.startup()
        app.freeze()
        return _Server(app._handle, request_factory=app._make_request, loop=loop,  # type: ignore[arg-type]
                       connections=self._limits, debug=False, **self._kwargs)  # fmt: skip


def connection_cap() -> int:
    """MAX_CONNECTIONS, raising the soft descriptor limit toward it, or lower when the hard limit is."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = MAX_CONNECTIONS + _RESERVED_FILES
    if soft < want and (hard == resource.RLIM_INFINITY or hard > soft):
        soft = want if hard == resource.RLIM_INFINITY else min(want, hard)
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
        soft = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
    return max(16, min(MAX_CONNECTIONS, soft - _RESERVED_FILES))


def runner(app: web.Application, connections: Connections) -> web.AppRunner:
    # No access log: URLs and headers are request bytes. handler_cancellation: a client gone stops
    # its handler (an audit trail stops reading).
    return _Runner(app, connections, access_log=None, keepalive_timeout=KEEPALIVE_S,
                   handler_cancellation=True, shutdown_timeout=5.0)  # fmt: skip
