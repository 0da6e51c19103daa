"""The web port's own process (streams/web/process.py): it serves at a lower priority than the
worker, dies with its worker (SIGKILL included) so the port is free at once, comes back when it
ends by itself, and answers /ready and /metrics from what its worker feeds it."""

import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from aiohttp import web
from prometheus_client import CollectorRegistry, Counter, Gauge
from prometheus_client.parser import text_string_to_metric_families

from streams import metrics
from streams.commands.broker import free_port
from streams.web import process
from streams.web.process import READY_STALE_S, Feed, WebProcess
from streams.web.webserver import WEB_NICENESS


def niceness_app(feed: Feed) -> web.Application:
    """Answers with the serving process's id and niceness (module level: the web process imports it)."""

    async def about(request: web.Request) -> web.Response:
        return web.json_response([os.getpid(), os.getpriority(os.PRIO_PROCESS, 0), feed.readiness()])

    app = web.Application()
    app.router.add_get("/", about)
    return app


def get(port: int) -> list:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=5) as answer:
        return json.loads(answer.read())


def gone(pid: int) -> bool:
    """Ended: no such process, or one only waiting to be reaped (whoever took it on may not)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] in ("Z", "X")
    except FileNotFoundError:
        return True


def refused(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) != 0


@pytest.mark.skipif(sys.platform != "linux", reason="niceness and the parent-death signal are Linux's")
async def test_the_web_process_runs_niced_and_comes_back_when_it_ends(tmp_path: Path) -> None:
    port = free_port()
    feed = Feed(tmp_path / "feed.json")
    web_process = WebProcess(niceness_app, "127.0.0.1", port, feed)
    before = metrics.BACKGROUND_FAILURES.labels("web")._value.get()
    await web_process.start()
    try:
        pid, niceness, ready = await asyncio.to_thread(get, port)
        assert pid != os.getpid() and pid == web_process.process.pid  # type: ignore[union-attr]
        assert niceness == min(19, os.getpriority(os.PRIO_PROCESS, 0) + WEB_NICENESS)
        assert ready["ready"] is False, "nothing fed yet"
        feed.publish({"ready": True, "partitions": [0], "assignment": {}})
        assert (await asyncio.to_thread(get, port))[2]["ready"] is True, "what the worker fed"

        os.kill(pid, signal.SIGKILL)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            await asyncio.sleep(0.2)
            try:
                again = await asyncio.to_thread(get, port)
            except OSError:
                continue
            break
        else:
            raise AssertionError("the web process was not started again")
        assert again[0] != pid
        assert metrics.BACKGROUND_FAILURES.labels("web")._value.get() == before + 1
    finally:
        await web_process.stop()
    assert refused(port), "stopped with the worker"


_WORKER = """
import asyncio, sys
from pathlib import Path
from streams.web.process import Feed, WebProcess
from tests.test_web_process import niceness_app

async def main():
    await WebProcess(niceness_app, "127.0.0.1", int(sys.argv[1]), Feed(Path(sys.argv[2]))).start()
    print("up", flush=True)
    await asyncio.sleep(3600)

asyncio.run(main())
"""


@pytest.mark.skipif(sys.platform != "linux", reason="the parent-death signal is Linux's")
def test_a_killed_worker_takes_its_web_process_and_frees_the_port(tmp_path: Path) -> None:
    port = free_port()
    worker = subprocess.Popen(
        [sys.executable, "-c", _WORKER, str(port), str(tmp_path / "feed.json")],
        stdout=subprocess.PIPE, cwd=Path(__file__).parent.parent, text=True,
    )  # fmt: skip
    try:
        assert worker.stdout is not None
        for line in worker.stdout:  # the web process's log lines come first
            if line.strip() == "up":
                break
        web_pid = get(port)[0]
        worker.kill()
        worker.wait(10)
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and not refused(port):
            time.sleep(0.05)
        assert refused(port), "the port is free when the worker is gone"
        assert gone(web_pid)
    finally:
        worker.kill()


def test_ready_goes_stale_when_the_worker_stops_feeding(tmp_path: Path) -> None:
    feed = Feed(tmp_path / "feed.json")
    assert feed.readiness()["ready"] is False, "no file yet"
    feed.publish({"ready": True, "partitions": [0], "assignment": {}})
    assert feed.readiness()["ready"] is True
    real = time.monotonic
    later = real() + READY_STALE_S + 1
    try:
        process.time.monotonic = lambda: later  # type: ignore[assignment]
        stale = feed.readiness()
    finally:
        process.time.monotonic = real  # type: ignore[assignment]
    assert stale["ready"] is False and stale["stalled_s"] > READY_STALE_S


def test_a_file_of_another_worker_is_not_read(tmp_path: Path) -> None:
    """A restarted worker's web process must not say ready from the file of the worker before it."""
    before = Feed(tmp_path / "feed.json")
    before.worker = os.getpid() + 1
    before.publish({"ready": True, "partitions": [0], "assignment": {}})
    assert Feed(tmp_path / "feed.json").readiness()["ready"] is False
    (tmp_path / "feed.json").write_bytes(b"\xff not json")
    assert Feed(tmp_path / "feed.json").readiness()["ready"] is False


def test_metrics_are_the_web_process_families_and_the_worker_families_added_up(tmp_path: Path) -> None:
    """The worker's families from the worker, the web's from the web process, a shared one summed."""
    worker, web_side = CollectorRegistry(), CollectorRegistry()
    for registry, decided, unreadable, following in ((worker, 7, 2, 0), (web_side, 0, 3, 1)):
        Counter("kompensasi_decisions_total", "d", ["office"], registry=registry).labels("a").inc(decided)
        shared = Counter("kompensasi_unreadable_records_total", "u", ["topic"], registry=registry)
        shared.labels("t").inc(unreadable)
        shared.labels("only-" + ("worker" if registry is worker else "web")).inc()
        Gauge("kompensasi_read_models_following", "f", registry=registry).set(following)
    feed = Feed(tmp_path / "feed.json")
    feed.publish({"ready": True}, worker)
    families = {f.name: f for f in text_string_to_metric_families(feed.metrics_text(web_side).decode())}
    values = {
        (s.name, tuple(sorted(s.labels.items()))): s.value for f in families.values() for s in f.samples
    }
    assert values[("kompensasi_decisions_total", (("office", "a"),))] == 7, "the worker's, not the web's 0"
    assert values[("kompensasi_unreadable_records_total", (("topic", "t"),))] == 5, "counted by both"
    assert values[("kompensasi_unreadable_records_total", (("topic", "only-worker"),))] == 1
    assert values[("kompensasi_unreadable_records_total", (("topic", "only-web"),))] == 1
    assert values[("kompensasi_read_models_following", ())] == 1, "the web process's, not the worker's 0"
    assert ("kompensasi_unreadable_records_created", (("topic", "t"),)) in values
