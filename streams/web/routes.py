"""The worker's web pages and read-only JSON API: the waiting-room board, the operations view,
live updates by server-sent events, the referrals, the audit trail of a ticket, and /metrics.
Who may read which route is declared here with `access.guard` (streams/web/access.py). Everything here
runs in the web process (streams/web/process.py), never in the deciding agent's."""

import asyncio
import random
import re
import time
from collections import defaultdict
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from datetime import UTC, date, datetime
from importlib import resources
from typing import Any
from zoneinfo import ZoneInfo

import orjson
from aiohttp import web
from aiokafka.errors import KafkaError
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from streams import metrics
from streams.logs import log
from streams.metrics import REGISTRY
from streams.web.access import STILL_ALLOWED, Access
from streams.web.audit import AuditBusy, AuditLog, window
from streams.web.board import Views
from streams.web.follower import Follower
from streams.web.webserver import SERVER_NAME, Connections

# Event streams in all and from one client address (README, "Access").
MAX_STREAMS = 1200
MAX_STREAMS_PER_ADDRESS = 64
# A stream ends after about this long and the page reconnects (`retry: 1000`): its token is checked
# again then, and a worker's streams spread over the others after a restart.
STREAM_LIFETIME_S = 600.0
# How often an open stream with a token checks that the token is still configured: the tokens file
# is read again at most every second (streams/web/access.py), so a removed token ends within two.
STREAM_RECHECK_S = 1.0
_KEEPALIVE_S = 15.0
# A client that reads nothing for this long is dropped rather than holding the stream.
_WRITE_TIMEOUT_S = 10.0
# The public page is built again at most this often while its figures change.
PUBLIC_REFRESH_S = 1.0
# Audit dates: strict YYYY-MM-DD within these years (the rules' own bounds on event time).
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
FIRST_DAY, LAST_DAY = date(2000, 1, 1), date(2199, 12, 31)
DATES_EXPECTED = (
    f"from and to are dates, YYYY-MM-DD, between {FIRST_DAY.isoformat()} and {LAST_DAY.isoformat()}, "
    "from not after to"
)

# No inline script on any page (the scripts are /static/*.js); inline styles are kept.
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; connect-src 'self'; img-src 'self' data:; "
        "style-src 'self' 'unsafe-inline'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Server": SERVER_NAME,
}
SCRIPTS = ("board.js", "ops.js", "sign-in.js")


def page(name: str) -> str:
    return (resources.files("streams.web") / "pages" / name).read_text("utf-8")


def as_json(value: Any, status: int = 200) -> web.Response:
    return web.Response(body=orjson.dumps(value), status=status, content_type="application/json",
                        charset="utf-8")  # fmt: skip


async def secure_headers(request: web.Request, response: web.StreamResponse) -> None:
    response.headers.update(SECURITY_HEADERS)


_CLOSE = b""  # never a snapshot: ends an event stream


def _offer(queue: asyncio.Queue[bytes], data: bytes) -> None:
    if queue.full():  # a slow browser gets the newest snapshot, not a backlog
        queue.get_nowait()
    queue.put_nowait(data)


class Hub:
    """Pushes the latest snapshot of an office's page to every open event stream."""

    def __init__(self, total: int = MAX_STREAMS, per_address: int = MAX_STREAMS_PER_ADDRESS,
                 lifetime_s: float = STREAM_LIFETIME_S) -> None:  # fmt: skip
        self.streams: dict[tuple[str, str], set[asyncio.Queue[bytes]]] = defaultdict(set)
        self.closed = False
        self.open = Connections(total, per_address, "streams")
        self.lifetime_s = lifetime_s
        self.by_address = self.open.by_address

    def publish(self, office_id: str, kind: str, snapshot: Any) -> None:
        if self.closed:  # a snapshot must not push the end of a stream out of its queue
            return
        data = snapshot if isinstance(snapshot, bytes) else orjson.dumps(snapshot)
        for queue in self.streams[(office_id, kind)]:
            _offer(queue, data)

    async def close_all(self, _: web.Application) -> None:
        """On shutdown: an open stream would hold the web server, and the worker's SIGTERM, until
        killed. The pages reconnect by themselves to another worker or this one restarted."""
        self.closed = True
        for queues in self.streams.values():
            for queue in queues:
                _offer(queue, _CLOSE)

    async def serve(
        self, request: web.BaseRequest, office_id: str, kind: str, first: Any,
        allowed: Callable[[], bool] | None = None,
    ) -> web.StreamResponse:  # fmt: skip
        """The stream of one page; `allowed` (the token still configured) is asked every second."""
        address = request.remote or "unknown"
        if not self.open.admit(address):
            response = as_json({"error": "too many event streams, try again later"}, status=503)
            response.headers["Retry-After"] = "10"
            return response
        try:
            return await self._stream(request, office_id, kind, first, allowed)
        finally:
            self.open.release(address)

    async def _stream(
        self, request: web.BaseRequest, office_id: str, kind: str, first: Any,
        allowed: Callable[[], bool] | None,
    ) -> web.StreamResponse:  # fmt: skip
        headers = {
            "Content-Type": "text/event-stream",
            "Cache-Control": "no-cache",
            "X-Accel-Buffering": "no",
        }
        response = web.StreamResponse(headers=headers)
        loop = asyncio.get_running_loop()
        # Spread so that streams opened together do not all reconnect together.
        ends = loop.time() + self.lifetime_s * random.uniform(0.9, 1.0)
        queue: asyncio.Queue[bytes] = asyncio.Queue(maxsize=1)
        self.streams[(office_id, kind)].add(queue)
        try:
            await response.prepare(request)
            data = first if isinstance(first, bytes) else orjson.dumps(first)
            await self._write(response, b"retry: 1000\ndata: " + data + b"\n\n")
            quiet_since = loop.time()
            while (left := ends - loop.time()) > 0:
                try:
                    data = await asyncio.wait_for(queue.get(), min(STREAM_RECHECK_S, left))
                except TimeoutError:
                    data = None
                if data == _CLOSE or (allowed is not None and not allowed()):
                    break
                if data is not None:
                    await self._write(response, b"data: " + data + b"\n\n")
                    quiet_since = loop.time()
                elif loop.time() - quiet_since >= _KEEPALIVE_S:
                    await self._write(response, b": keep-alive\n\n")
                    quiet_since = loop.time()
        except (ConnectionError, TimeoutError, asyncio.CancelledError):
            pass  # the client went away, or reads too slowly to keep
        finally:
            self.streams[(office_id, kind)].discard(queue)
        response.force_close()  # the page reconnects on a new connection; this one is not kept
        return response

    @staticmethod
    async def _write(response: web.StreamResponse, data: bytes) -> None:
        async with asyncio.timeout(_WRITE_TIMEOUT_S):
            await response.write(data)


def dates(query: Mapping[str, str]) -> tuple[date | None, date | None]:
    """`?from=` and `?to=` as dates; ValueError unless YYYY-MM-DD within the bounds, from not after to."""
    found: list[date | None] = []
    for key in ("from", "to"):
        text = query.get(key)
        if not text:
            found.append(None)
            continue
        # date.fromisoformat alone also takes 20260302 and 2026-W10-1.
        if not _DATE.fullmatch(text):
            raise ValueError("not YYYY-MM-DD")
        day = date.fromisoformat(text)
        if not FIRST_DAY <= day <= LAST_DAY:
            raise ValueError("out of bounds")
        found.append(day)
    since, until = found
    if since is not None and until is not None and since > until:
        raise ValueError("from is after to")
    return since, until


class Pages:
    """Cached answers: the board and operations snapshots per change, the public page per change of
    its figures (at most once per PUBLIC_REFRESH_S)."""

    def __init__(self, views: Views, hub: Hub) -> None:
        self.views = views
        self.hub = hub
        self.snapshots: dict[tuple[str, str], bytes] = {}
        self.public: dict[str, tuple[int, float, bytes, bytes]] = {}

    def snapshot(self, office_id: str, kind: str) -> bytes:
        key = (office_id, kind)
        if key not in self.snapshots:
            view = self.views.offices[office_id]
            self.snapshots[key] = orjson.dumps(view.board() if kind == "board" else view.operations())
        return self.snapshots[key]

    def changed(self, office_id: str) -> None:
        for kind in ("board", "ops"):
            self.snapshots.pop((office_id, kind), None)
            self.hub.publish(office_id, kind, self.snapshot(office_id, kind))

    def public_page(self, office_id: str) -> tuple[bytes, bytes]:
        """The public summary as HTML and as JSON."""
        from oversight.disclosure import public_summary
        from oversight.document import build, to_html

        version = self.views.public_version[office_id]
        cached = self.public.get(office_id)
        if cached is not None and (cached[0] == version or time.monotonic() - cached[1] < PUBLIC_REFRESH_S):
            return cached[2], cached[3]
        evaluation = self.views.public[office_id]
        figures = evaluation.evaluation()
        now = datetime.now(UTC).astimezone(evaluation.policy.zone)
        html = to_html(build(figures, now, public=True)).encode()
        data = orjson.dumps(public_summary(figures))
        self.public[office_id] = (version, time.monotonic(), html, data)
        return html, data


def _no_such_office() -> web.HTTPNotFound:
    return web.HTTPNotFound(text='{"error":"no such office"}', content_type="application/json")


def build_app(
    views: Views,
    ready: Callable[[], dict[str, Any]],
    access: Access,
    audit: AuditLog,
    follower: Follower | None = None,
    hub: Hub | None = None,
    metrics_text: Callable[[], bytes] = lambda: generate_latest(REGISTRY),
) -> web.Application:
    """The web port's app; `follower`, when given, keeps `views` on this app's loop while it runs;
    `metrics_text` is /metrics (the web process's: its own and its worker's)."""
    hub = hub or Hub()
    pages = Pages(views, hub)
    app = web.Application(middlewares=[access.middleware], client_max_size=1024)
    app.on_response_prepare.append(secure_headers)
    app.on_shutdown.append(hub.close_all)
    if follower is not None:
        follower.on_change = pages.changed

        async def following(_: web.Application) -> AsyncIterator[None]:
            task = asyncio.create_task(follower.run())
            yield
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)

        app.cleanup_ctx.append(following)
    guard = access.guard
    routes = web.RouteTableDef()

    def office_of(request: web.Request) -> str:
        office_id = request.match_info["office_id"]
        if office_id not in views.offices:
            raise _no_such_office()
        return office_id

    @routes.get("/ready")
    async def ready_page(request: web.Request) -> web.Response:
        """Ready once partitions are assigned and tables recovered: what orchestrators wait for."""
        status = ready()
        return as_json(status, status=200 if status["ready"] else 503)

    @routes.get("/metrics")
    async def metrics_page(request: web.Request) -> web.Response:
        return web.Response(body=metrics_text(), content_type=CONTENT_TYPE_LATEST.split(";")[0])

    @routes.get("/offices")
    async def offices(request: web.Request) -> web.Response:
        return as_json(
            [{"office_id": v.office_id, "office_name": v.office_name, "time_zone": v.time_zone}
             for v in views.offices.values()]
        )  # fmt: skip

    @routes.get("/offices/{office_id}/board")
    async def board_data(request: web.Request) -> web.Response:
        return web.Response(body=pages.snapshot(office_of(request), "board"), content_type="application/json",
                            charset="utf-8")  # fmt: skip

    @routes.get(guard("/offices/{office_id}/status"))
    async def status_data(request: web.Request) -> web.Response:
        return web.Response(body=pages.snapshot(office_of(request), "ops"), content_type="application/json",
                            charset="utf-8")  # fmt: skip

    @routes.get("/offices/{office_id}/board/stream", allow_head=False)
    async def board_stream(request: web.Request) -> web.StreamResponse:
        office_id = office_of(request)
        return await hub.serve(request, office_id, "board", pages.snapshot(office_id, "board"))

    @routes.get(guard("/offices/{office_id}/ops/stream"), allow_head=False)
    async def ops_stream(request: web.Request) -> web.StreamResponse:
        office_id = office_of(request)
        return await hub.serve(request, office_id, "ops", pages.snapshot(office_id, "ops"),
                               allowed=request.get(STILL_ALLOWED))  # fmt: skip

    @routes.get("/board/{office_id}")
    async def board_page(request: web.Request) -> web.Response:
        office_of(request)
        return web.Response(text=page("board.html"), content_type="text/html")

    @routes.get(guard("/ops/{office_id}"))
    async def ops_page(request: web.Request) -> web.Response:
        office_of(request)
        return web.Response(text=page("ops.html"), content_type="text/html")

    def script(name: str) -> Callable[[web.Request], Awaitable[web.Response]]:
        async def serve(request: web.Request) -> web.Response:
            return web.Response(text=page(name), content_type="text/javascript",
                                headers={"Cache-Control": "no-cache"})  # fmt: skip

        return serve

    for name in SCRIPTS:  # the pages' scripts: the CSP allows no inline script
        routes.get(f"/static/{name}")(script(name))

    @routes.get(guard("/offices/{office_id}/referrals"))
    async def referrals(request: web.Request) -> web.Response:
        return as_json(views.offices[office_of(request)].referral_list())

    @routes.get(guard("/audit/{office_id}/{ticket_id}"))
    async def audit_trail(request: web.Request) -> web.Response:
        office_id, ticket_id = office_of(request), request.match_info["ticket_id"]
        try:
            since, until = dates(request.query)
        except ValueError:
            return as_json({"error": DATES_EXPECTED}, status=400)
        started = time.monotonic()
        since_ms, until_ms = window(since, until, ZoneInfo(views.offices[office_id].time_zone))
        try:
            entries, read = await audit.trail(office_id, ticket_id, since_ms, until_ms)
        except AuditBusy:
            metrics.WEB_REFUSED.labels("audit").inc()
            response = as_json({"error": "another audit trail is being read, try again shortly"}, status=503)
            response.headers["Retry-After"] = "5"
            return response
        except TimeoutError:
            log.warning("audit_timeout", office=office_id, ticket_id=ticket_id)
            return as_json(
                {"error": f"reading the log took over {audit.timeout_s:g} s; "
                          "narrow it with ?from= and ?to= (YYYY-MM-DD, office days)"},
                status=503,
            )  # fmt: skip
        except KafkaError as exc:
            log.warning("audit_failed", office=office_id, error=type(exc).__name__)
            return as_json({"error": "the log could not be read"}, status=503)
        log.info(
            "audit", office=office_id, ticket_id=ticket_id, records_read=read, entries=len(entries),
            seconds=round(time.monotonic() - started, 3),
        )  # fmt: skip
        return as_json(
            {"office_id": office_id, "ticket_id": ticket_id,
             "from": since and since.isoformat(), "to": until and until.isoformat(),
             "records_read": read, "entries": [e.public() for e in entries]}
        )  # fmt: skip

    # The public summary (Ombudsman agreement, Pasal 6): open to anyone, monthly figures only, small
    # cells masked; built from the read model of the published records.
    def public_of(request: web.Request) -> tuple[bytes, bytes]:
        office_id = request.match_info["office_id"]
        if office_id not in views.public:
            raise _no_such_office()
        return pages.public_page(office_id)

    @routes.get("/public/{office_id}")
    async def public_page(request: web.Request) -> web.Response:
        return web.Response(body=public_of(request)[0], content_type="text/html", charset="utf-8")

    @routes.get("/public/{office_id}/data")
    async def public_data(request: web.Request) -> web.Response:
        return web.Response(body=public_of(request)[1], content_type="application/json", charset="utf-8")

    app.add_routes(routes)
    return app
