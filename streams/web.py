"""The worker's web pages and read-only JSON API: the waiting-room board, the operations view,
live updates by server-sent events, the referrals, the audit trail of a ticket, and /metrics.
Who may read which route is declared here with `access.guard` (streams/access.py)."""

import asyncio
import time
from collections import defaultdict
from collections.abc import Callable, Mapping
from datetime import date
from importlib import resources
from typing import Any
from zoneinfo import ZoneInfo

import faust
import orjson
from aiohttp import web as aioweb
from aiokafka.errors import KafkaError
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from streams.access import Access
from streams.audit import AuditLog, window
from streams.board import Views
from streams.logs import log
from streams.metrics import REGISTRY

_KEEPALIVE_S = 15.0


def page(name: str) -> str:
    return (resources.files("streams") / "pages" / name).read_text("utf-8")


_CLOSE = b""  # never a snapshot: ends an event stream


def _offer(queue: asyncio.Queue[bytes], data: bytes) -> None:
    if queue.full():  # a slow browser gets the newest snapshot, not a backlog
        queue.get_nowait()
    queue.put_nowait(data)


class Hub:
    """Pushes the latest snapshot of an office's page to every open event stream."""

    def __init__(self) -> None:
        self.streams: dict[tuple[str, str], set[asyncio.Queue[bytes]]] = defaultdict(set)
        self.closed = False

    def publish(self, office_id: str, kind: str, snapshot: Any) -> None:
        if self.closed:  # a snapshot must not push the end of a stream out of its queue
            return
        data = orjson.dumps(snapshot)
        for queue in self.streams[(office_id, kind)]:
            _offer(queue, data)

    async def close_all(self, _: aioweb.Application) -> None:
        """On shutdown: an open stream would hold the web server, and the worker's SIGTERM, until
        killed. The pages reconnect by themselves to another worker or this one restarted."""
        self.closed = True
        for queues in self.streams.values():
            for queue in queues:
                _offer(queue, _CLOSE)

    async def serve(
        self, request: aioweb.Request, office_id: str, kind: str, first: Any
    ) -> aioweb.StreamResponse:
        response = aioweb.StreamResponse(
            headers={
                "Content-Type": "text/event-stream",
                "Cache-Control": "no-cache",
                "X-Accel-Buffering": "no",
            }
        )
        await response.prepare(request)
        queue: asyncio.Queue[bytes] = asyncio.Queue(maxsize=1)
        self.streams[(office_id, kind)].add(queue)
        try:
            await response.write(b"retry: 1000\ndata: " + orjson.dumps(first) + b"\n\n")
            while True:
                try:
                    data = await asyncio.wait_for(queue.get(), _KEEPALIVE_S)
                    if data == _CLOSE:
                        break
                    await response.write(b"data: " + data + b"\n\n")
                except TimeoutError:
                    await response.write(b": keep-alive\n\n")
        except (ConnectionResetError, asyncio.CancelledError):
            pass
        finally:
            self.streams[(office_id, kind)].discard(queue)
        return response


def dates(query: Mapping[str, str]) -> tuple[date | None, date | None]:
    """`?from=` and `?to=` as dates; ValueError when either is not YYYY-MM-DD or from is after to."""
    since, until = (date.fromisoformat(query[k]) if query.get(k) else None for k in ("from", "to"))
    if since is not None and until is not None and since > until:
        raise ValueError("from is after to")
    return since, until


def register_pages(
    app: faust.App,
    views: Views,
    hub: Hub,
    ready: Callable[[], dict[str, Any]],
    access: Access,
    audit: AuditLog,
) -> None:
    app.web.web_app.middlewares.append(access.middleware)
    app.web.web_app.on_shutdown.append(hub.close_all)
    guard = access.guard

    def office_or_404(web: faust.web.View, office_id: str) -> Any:
        view = views.offices.get(office_id)
        if view is None:
            raise web.NotFound("no such office")
        return view

    @app.page("/ready")
    async def ready_page(web: faust.web.View, request: faust.web.Request) -> faust.web.Response:
        """Ready once partitions are assigned and tables recovered: what orchestrators wait for."""
        status = ready()
        return web.json(status, status=200 if status["ready"] else 503)

    @app.page("/metrics")
    async def metrics(web: faust.web.View, request: faust.web.Request) -> faust.web.Response:
        return web.bytes(generate_latest(REGISTRY), content_type=CONTENT_TYPE_LATEST.split(";")[0])

    @app.page("/offices")
    async def offices(web: faust.web.View, request: faust.web.Request) -> faust.web.Response:
        return web.json(
            [{"office_id": v.office_id, "office_name": v.office_name, "time_zone": v.time_zone}
             for v in views.offices.values()]
        )  # fmt: skip

    @app.page("/offices/{office_id}/board")
    class BoardData(faust.web.View):
        async def get(self, request: faust.web.Request, office_id: str) -> faust.web.Response:
            return self.json(office_or_404(self, office_id).board())

    @app.page(guard("/offices/{office_id}/status"))
    class StatusData(faust.web.View):
        async def get(self, request: faust.web.Request, office_id: str) -> faust.web.Response:
            return self.json(office_or_404(self, office_id).operations())

    @app.page("/offices/{office_id}/board/stream")
    class BoardStream(faust.web.View):
        async def get(self, request: Any, office_id: str) -> Any:
            view = office_or_404(self, office_id)
            return await hub.serve(request, office_id, "board", view.board())

    @app.page(guard("/offices/{office_id}/ops/stream"))
    class OpsStream(faust.web.View):
        async def get(self, request: Any, office_id: str) -> Any:
            view = office_or_404(self, office_id)
            return await hub.serve(request, office_id, "ops", view.operations())

    @app.page("/board/{office_id}")
    class BoardPage(faust.web.View):
        async def get(self, request: faust.web.Request, office_id: str) -> faust.web.Response:
            office_or_404(self, office_id)
            return self.html(page("board.html"))

    @app.page(guard("/ops/{office_id}"))
    class OpsPage(faust.web.View):
        async def get(self, request: faust.web.Request, office_id: str) -> faust.web.Response:
            office_or_404(self, office_id)
            return self.html(page("ops.html"))

    @app.page(guard("/offices/{office_id}/referrals"))
    class Referrals(faust.web.View):
        async def get(self, request: faust.web.Request, office_id: str) -> faust.web.Response:
            return self.json(office_or_404(self, office_id).referral_list())

    @app.page(guard("/audit/{office_id}/{ticket_id}"))
    class AuditTrail(faust.web.View):
        async def get(self, request: Any, office_id: str, ticket_id: str) -> faust.web.Response:
            view = office_or_404(self, office_id)
            try:
                since, until = dates(request.query)
            except ValueError:
                return self.json(
                    {"error": "from and to are dates, YYYY-MM-DD, from not after to"}, status=400
                )
            started = time.monotonic()
            since_ms, until_ms = window(since, until, ZoneInfo(view.time_zone))
            try:
                entries, read = await audit.trail(office_id, ticket_id, since_ms, until_ms)
            except TimeoutError:
                log.warning("audit_timeout", office=office_id, ticket_id=ticket_id)
                return self.json(
                    {"error": f"reading the log took over {audit.timeout_s:g} s; "
                              "narrow it with ?from= and ?to= (YYYY-MM-DD, office days)"},
                    status=503,
                )  # fmt: skip
            except KafkaError as exc:
                log.warning("audit_failed", office=office_id, error=type(exc).__name__)
                return self.json({"error": "the log could not be read"}, status=503)
            log.info(
                "audit", office=office_id, ticket_id=ticket_id, records_read=read, entries=len(entries),
                seconds=round(time.monotonic() - started, 3),
            )  # fmt: skip
            return self.json(
                {"office_id": office_id, "ticket_id": ticket_id,
                 "from": since and since.isoformat(), "to": until and until.isoformat(),
                 "records_read": read, "entries": [e.public() for e in entries]}
            )  # fmt: skip


def publish_change(views: Views, hub: Hub, office_id: str) -> None:
    view = views.offices[office_id]
    hub.publish(office_id, "board", view.board())
    hub.publish(office_id, "ops", view.operations())


def register_public(app: faust.App, views: Views) -> None:
    """The public summary (Ombudsman agreement, Pasal 6): open to anyone, monthly figures only, small
    cells masked; built from the read model of the published records."""
    from datetime import UTC, datetime

    from oversight.disclosure import public_summary
    from oversight.document import build, to_html

    def evaluation_or_404(web: faust.web.View, office_id: str) -> Any:
        evaluation = views.public.get(office_id)
        if evaluation is None:
            raise web.NotFound("no such office")
        return evaluation.evaluation()

    @app.page("/public/{office_id}")
    class PublicPage(faust.web.View):
        async def get(self, request: faust.web.Request, office_id: str) -> faust.web.Response:
            figures = evaluation_or_404(self, office_id)
            now = datetime.now(UTC).astimezone(views.public[office_id].policy.zone)
            return self.html(to_html(build(figures, now, public=True)))

    @app.page("/public/{office_id}/data")
    class PublicData(faust.web.View):
        async def get(self, request: faust.web.Request, office_id: str) -> faust.web.Response:
            return self.json(public_summary(evaluation_or_404(self, office_id)))
