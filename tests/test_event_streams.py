"""The pages' event streams end when the web server shuts down, so an open board never holds up a
worker's SIGTERM (it was killed after the stop timeout before)."""

import asyncio

from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from streams.web.routes import Hub


async def test_an_open_stream_ends_on_shutdown_and_a_late_snapshot_does_not_revive_it() -> None:
    hub = Hub()
    app = web.Application()
    app.on_shutdown.append(hub.close_all)

    async def stream(request: web.Request) -> web.StreamResponse:
        return await hub.serve(request, "kanim-blitar", "board", {"n": 1})

    app.router.add_get("/stream", stream)
    client = TestClient(TestServer(app))
    await client.start_server()
    response = await client.get("/stream")
    assert await response.content.readline() == b"retry: 1000\n"
    assert await response.content.readline() == b'data: {"n":1}\n'
    hub.publish("kanim-blitar", "board", {"n": 2})
    assert (await response.content.readline(), await response.content.readline()) == (
        b"\n",
        b'data: {"n":2}\n',
    )
    async with asyncio.timeout(5):  # the runner would otherwise wait 60 s for the handler
        await app.shutdown()
        hub.publish("kanim-blitar", "board", {"n": 3})
        rest = await response.content.read()
    assert rest == b"\n", "the stream ended without the late snapshot"
    assert hub.streams[("kanim-blitar", "board")] == set()
    response.release()
    await client.close()
