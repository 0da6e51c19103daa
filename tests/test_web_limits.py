"""The web port's limits, on the real server code (streams/web/webserver.py) on a loopback port: caps on
connections and event streams, the header-read timeout, the stream lifetime, a removed token ending
its stream, strict audit dates and the public page's cache."""

import asyncio
import re
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import make_mocked_request

from streams.commands.policies import load_policies
from streams.web import routes as pages
from streams.web.access import Access, Tokens
from streams.web.audit import AuditBusy, AuditLog, needles
from streams.web.board import Views
from streams.web.webserver import Connections, runner

STAFF = "staff-token-0123456789abcdef"


async def serving(app: web.Application, connections: Connections) -> tuple[web.AppRunner, int]:
    serve = runner(app, connections)
    await serve.setup()
    site = web.TCPSite(serve, "127.0.0.1", 0)
    await site.start()
    return serve, site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]


async def raw(
    port: int, data: bytes, source: str = "127.0.0.1", read_s: float = 3.0, until: bytes | None = None
) -> bytes:
    """Sends `data` from `source` and returns what comes back until the server closes, `until` has come
    or `read_s` has passed."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port, local_addr=(source, 0))
    writer.write(data)
    got = b""
    try:
        async with asyncio.timeout(read_s):
            while chunk := await reader.read(65536):
                got += chunk
                if until is not None and until in got:
                    break
    except TimeoutError:
        pass
    writer.close()
    return got


@pytest.fixture
async def hello() -> AsyncIterator[int]:
    async def ok(request: web.Request) -> web.Response:
        return web.Response(text="ok")

    app = web.Application()
    app.router.add_get("/", ok)
    serve, port = await serving(app, Connections(total=5, per_address=3))
    yield port
    await serve.cleanup()


async def test_connections_are_capped_per_address_and_in_all(hello: int) -> None:
    held = [await asyncio.open_connection("127.0.0.1", hello) for _ in range(3)]
    await asyncio.sleep(0.1)
    assert (await raw(hello, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")).startswith(b"HTTP/1.1 503"), (
        "a fourth connection from one address is refused"
    )
    other = await raw(hello, b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", source="127.0.0.2")
    assert other.startswith(b"HTTP/1.1 200"), "another address still gets in"
    held += [await asyncio.open_connection("127.0.0.1", hello, local_addr=("127.0.0.3", 0)) for _ in range(2)]
    await asyncio.sleep(0.1)
    assert (await raw(hello, b"GET / HTTP/1.1\r\n\r\n", source="127.0.0.4")).startswith(b"HTTP/1.1 503")
    for _, writer in held:
        writer.close()
    await asyncio.sleep(0.2)
    again = await raw(hello, b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    assert again.startswith(b"HTTP/1.1 200"), "closed connections are counted out"


async def test_a_client_sending_partial_headers_is_dropped(hello: int) -> None:
    started = time.monotonic()
    got = await raw(hello, b"GET / HTTP/1.1\r\nHost: x\r\nX-Slow: ", read_s=20)
    # KEEPALIVE_S (5 s) from the connection; nothing answered, the socket closed.
    assert got == b"" and 4 < time.monotonic() - started < 10


async def test_a_bad_request_is_answered_without_its_bytes(hello: int) -> None:
    secret = "a" * 30
    got = await raw(
        hello, f"GET / HTTP/1.1\r\nCookie: kompensasi_token={secret}; x={'b' * 9000}\r\n\r\n".encode()
    )
    assert got.startswith((b"HTTP/1.0 400", b"HTTP/1.1 400")) and secret.encode() not in got


def stream_app(hub: pages.Hub) -> web.Application:
    async def stream(request: web.Request) -> web.StreamResponse:
        return await hub.serve(request, "kanim-blitar", "board", {"n": 1})

    app = web.Application()
    app.router.add_get("/stream", stream)
    return app


async def test_event_streams_are_capped_and_end_after_their_lifetime() -> None:
    hub = pages.Hub(total=3, per_address=2, lifetime_s=2.0)
    serve, port = await serving(stream_app(hub), Connections(total=100, per_address=100))
    request = b"GET /stream HTTP/1.1\r\nHost: x\r\n\r\n"
    try:
        open_ = [asyncio.create_task(raw(port, request, read_s=10)) for _ in range(2)]
        await asyncio.sleep(0.3)
        refused = await raw(port, request, until=b"\r\n\r\n")
        assert refused.startswith(b"HTTP/1.1 503"), "a third from one address"
        third = asyncio.create_task(raw(port, request, source="127.0.0.2", read_s=10))
        await asyncio.sleep(0.3)
        refused = await raw(port, request, source="127.0.0.3", until=b"\r\n\r\n")
        assert refused.startswith(b"HTTP/1.1 503"), "a fourth in all"
        started = time.monotonic()
        ended = await asyncio.gather(*open_, third)
        assert time.monotonic() - started < 3, "the streams ended at their lifetime, not at the read limit"
        assert all(b'data: {"n":1}' in e and b"retry: 1000" in e for e in ended)
        assert hub.by_address.total() == 0
    finally:
        await serve.cleanup()


async def test_a_removed_token_ends_its_open_stream(tmp_path: Path) -> None:
    path = tmp_path / "tokens"
    path.write_text(f"staff {STAFF}\n")
    access = Access(Tokens([], path, recheck_s=0.2))
    views = Views(load_policies(None))
    app = pages.build_app(views, lambda: {"ready": True}, access, AuditLog("127.0.0.1:1", {}, 1.0))
    serve, port = await serving(app, Connections(total=100, per_address=100))
    try:
        bearer = f"Authorization: Bearer {STAFF}"
        request = f"GET /offices/kanim-blitar/ops/stream HTTP/1.1\r\nHost: x\r\n{bearer}\r\n\r\n"
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(request.encode())
        assert (await reader.readline()).startswith(b"HTTP/1.1 200")
        await asyncio.sleep(1.2)
        assert not reader.at_eof(), "the stream stays open while its token is configured"
        path.write_text("# no tokens\n")
        removed = time.monotonic()
        async with asyncio.timeout(5):
            await reader.read()  # to the end of the stream
        assert time.monotonic() - removed < 2 * pages.STREAM_RECHECK_S + 0.5
        writer.close()
    finally:
        await serve.cleanup()


async def test_a_client_gone_while_written_to_ends_its_stream_quietly(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    hub = pages.Hub()
    request = make_mocked_request("GET", "/stream")
    writes: list[bytes] = []

    async def write(self: web.StreamResponse, data: bytes) -> None:
        writes.append(data)
        if len(writes) > 1:  # aiohttp raises this, not ConnectionResetError, on a closing transport
            raise ConnectionError("Cannot write to closing transport")

    async def prepare(self: web.StreamResponse, request: Any) -> None:
        return None

    monkeypatch.setattr(web.StreamResponse, "write", write)
    monkeypatch.setattr(web.StreamResponse, "prepare", prepare)
    serving_ = asyncio.create_task(hub.serve(request, "kanim-blitar", "board", {"n": 1}))
    await asyncio.sleep(0.05)
    hub.publish("kanim-blitar", "board", {"n": 2})
    async with asyncio.timeout(2):
        await serving_  # returns, never raises
    assert len(writes) == 2 and hub.streams[("kanim-blitar", "board")] == set()


def test_audit_dates_are_strict_and_bounded() -> None:
    for text in (
        "20260302",
        "2026-W10-1",
        "0001-01-01",
        "1970-01-01",
        "9999-12-31",
        "2026-3-2",
        "2026-03-02T00",
    ):
        with pytest.raises(ValueError):
            pages.dates({"from": text})
        with pytest.raises(ValueError):
            pages.dates({"to": text})
    assert pages.dates({"from": "2026-03-01", "to": "2026-03-31"}) == (
        pages.date(2026, 3, 1), pages.date(2026, 3, 31)
    )  # fmt: skip
    assert pages.dates({"to": "2199-12-31"})[1] == pages.LAST_DAY


async def test_one_audit_trail_at_a_time_the_others_turned_away() -> None:
    audit = AuditLog("127.0.0.1:1", {}, 1.0)
    async with audit._one_at_a_time:
        with pytest.raises(AuditBusy):
            await audit.trail("kanim-blitar", "T-1", None, None)


def test_a_non_ascii_ticket_id_is_found_in_the_bytes_however_it_was_escaped() -> None:
    import json

    import orjson

    record = {"ticket_id": "KB-é-𝄞", "type": "ticket_issued"}
    found = needles(record["ticket_id"])
    upper = re.sub(r"\\u[0-9a-f]{4}", lambda m: "\\u" + m.group()[2:].upper(), json.dumps(record))
    for encoded in (orjson.dumps(record), json.dumps(record).encode(), upper.encode()):
        assert any(n in encoded for n in found), encoded
    assert not any(n in json.dumps({"ticket_id": "KB-e"}).encode() for n in found)


def test_the_public_page_is_built_once_per_change_of_its_figures(monkeypatch: pytest.MonkeyPatch) -> None:
    views = Views(load_policies(None))
    cache = pages.Pages(views, pages.Hub())
    first = cache.public_page("kanim-blitar")
    assert cache.public_page("kanim-blitar")[0] is first[0], "no change: the same page"
    views.public_version["kanim-blitar"] += 1
    assert cache.public_page("kanim-blitar")[0] is first[0], "changed within PUBLIC_REFRESH_S: kept"
    monkeypatch.setattr(pages, "PUBLIC_REFRESH_S", 0.0)
    assert cache.public_page("kanim-blitar")[0] is not first[0], "rebuilt after a change"


def test_no_page_has_an_inline_script() -> None:
    from importlib import resources

    for page in (resources.files("streams.web") / "pages").iterdir():
        if page.name.endswith(".html"):
            text = page.read_text("utf-8")
            assert "<script>" not in text and " on" + "click=" not in text, page.name
