"""The web port in a process of its own, so no request load takes the interpreter lock or a core's
time from the deciding agent; the worker feeds it its readiness and metrics through a file."""

import asyncio
import contextlib
import ctypes
import errno
import multiprocessing
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterable
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import mode
import orjson
from aiohttp import web
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.metrics_core import Metric

from streams import metrics
from streams.logs import configure as configure_logs
from streams.logs import log
from streams.web.webserver import (
    MAX_CONNECTIONS_PER_ADDRESS,
    WEB_NICENESS,
    Connections,
    connection_cap,
    runner,
)

# /ready says "not ready" when the agent's loop has not published its state for this long: a loop
# that stopped turning decides nothing, whatever its last state was.
READY_STALE_S = 30.0
# A restarted worker's port may still be held for a moment by the web process of the one it
# replaces (that process is killed with its worker, and its socket then closed by the OS).
BIND_RETRY_S = 10.0
START_TIMEOUT_S = 60.0
# A web process that ended by itself is started again after this long, doubling to the last.
FIRST_RESTART_S, LAST_RESTART_S = 1.0, 30.0
_NOT_STARTED: dict[str, object] = {"ready": False, "partitions": [], "assignment": {}}
_PR_SET_PDEATHSIG = 1


def _names(collectors: Iterable[Any]) -> frozenset[str]:
    return frozenset(m.name for c in collectors for m in c.collect())


# The families the web process counts; the worker counts the others, and both count SHARED's, which
# are added up.
_WEB = _names(metrics.WEB)
_OURS = _WEB | _names(metrics.SHARED)


class Feed:
    """What the worker tells its web process: its readiness and its metrics, in one file replaced
    whole; the web process takes only a file its own worker wrote."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.worker = os.getpid()  # made by the worker, and taken to its web process as it is
        self.state: dict[str, object] = dict(_NOT_STARTED)
        self._read: tuple[int, dict[str, Any]] | None = None

    def clear(self) -> None:
        self.path.unlink(missing_ok=True)

    def publish(self, state: dict[str, object], registry: CollectorRegistry = metrics.REGISTRY) -> None:
        """On the worker's loop: the state, its time and every metric family of the worker."""
        self.state = state
        families = [
            [m.name, m.documentation, m.type, m.unit, [[s.name, s.labels, s.value] for s in m.samples]]
            for m in registry.collect()
            if m.name not in _WEB
        ]
        data = {"pid": self.worker, "at": time.monotonic(), "ready": state, "metrics": families}
        temporary = self.path.with_name(self.path.name + ".new")
        temporary.write_bytes(orjson.dumps(data))
        os.replace(temporary, self.path)

    def _latest(self) -> dict[str, Any] | None:
        try:
            stamp = self.path.stat().st_mtime_ns
            if self._read is None or self._read[0] != stamp:
                data = orjson.loads(self.path.read_bytes())
                self._read = (stamp, data) if isinstance(data, dict) else None
        except (OSError, orjson.JSONDecodeError):
            return None
        if self._read is None or self._read[1].get("pid") != self.worker:
            return None  # a file of the worker this one replaced, or none yet
        return self._read[1]

    def readiness(self) -> dict[str, object]:
        latest = self._latest()
        if latest is None:
            return dict(_NOT_STARTED)
        state, age = latest["ready"], time.monotonic() - latest["at"]
        if state.get("ready") and age > READY_STALE_S:
            return {**state, "ready": False, "stalled_s": round(age, 1)}
        return state

    def metrics_text(self, own: CollectorRegistry = metrics.REGISTRY) -> bytes:
        """This process's metrics and the worker's as one exposition."""
        latest = self._latest()
        return generate_latest(_Merged(own.collect(), [] if latest is None else latest["metrics"]))  # type: ignore[arg-type]


class _Merged:
    """This process's families and the worker's, by name; a sample both count, once."""

    def __init__(self, own: Iterable[Metric], worker: list[list[Any]]) -> None:
        self.families: dict[str, Metric] = {m.name: m for m in own if m.name in _OURS}
        for name, documentation, kind, unit, samples in worker:
            family = self.families.get(name)
            if family is None:
                family = self.families[name] = Metric(name, documentation, kind, unit)
            index = {(s.name, tuple(sorted(s.labels.items()))): n for n, s in enumerate(family.samples)}
            for sample_name, labels, value in samples:
                value = float("nan") if value is None else value
                n = index.get((sample_name, tuple(sorted(labels.items()))))
                if n is None:
                    family.add_sample(sample_name, labels, value)
                    continue
                mine = family.samples[n]
                total = min(value, mine.value) if sample_name.endswith("_created") else value + mine.value
                family.samples[n] = mine._replace(value=total)

    def collect(self) -> Iterable[Metric]:
        return self.families.values()


def _die_with_parent() -> None:
    """Linux: the kernel kills this process when its worker dies, SIGKILL included, so the port is
    free for the worker's next start at once."""
    if sys.platform != "linux":
        return
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)


def serve(make_app: Callable[[Feed], web.Application], feed: Feed, host: str, port: int,
          conn: Connection, parent: int) -> None:  # fmt: skip
    """The web process: serves until its worker says stop, goes away, or it is signalled."""
    _die_with_parent()
    if os.getppid() != parent:  # the worker died before the kernel could be told
        return
    with contextlib.suppress(OSError):
        os.nice(WEB_NICENESS)  # when the cores are short, the OS runs the deciding process first
    configure_logs(json=True)
    try:
        asyncio.run(_serve(make_app, feed, host, port, conn))
    except Exception as exc:
        log.error("web_failed", error=type(exc).__name__)
        with contextlib.suppress(OSError):
            conn.send_bytes(type(exc).__name__.encode())


async def _serve(make_app: Callable[[Feed], web.Application], feed: Feed, host: str, port: int,
                 conn: Connection) -> None:  # fmt: skip
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)

    def watch_worker() -> None:
        with contextlib.suppress(EOFError, OSError):
            conn.recv_bytes()  # "stop", or nothing when the worker is gone
        loop.call_soon_threadsafe(stop.set)

    threading.Thread(target=watch_worker, name="kompensasi-web-worker", daemon=True).start()
    web_runner = runner(make_app(feed), Connections(connection_cap(), MAX_CONNECTIONS_PER_ADDRESS))
    await web_runner.setup()
    try:
        await _bind(web_runner, host, port)
        log.info("web_started", host=host, port=port)
        conn.send_bytes(b"up")
        await stop.wait()
    finally:
        await web_runner.cleanup()


async def _bind(web_runner: web.AppRunner, host: str, port: int) -> None:
    until = time.monotonic() + BIND_RETRY_S
    while True:
        try:
            await web.TCPSite(web_runner, host, port, backlog=512).start()
            return
        except OSError as exc:
            if exc.errno != errno.EADDRINUSE or time.monotonic() > until:
                raise
            await asyncio.sleep(0.1)


class WebFailed(RuntimeError):
    """The web process did not come up (its reason is a type name: no request byte, no path)."""


class WebProcess(mode.Service):
    """Starts the web process with the worker, starts it again if it ends, and stops it with the worker."""

    def __init__(self, make_app: Callable[[Feed], web.Application], host: str, port: int, feed: Feed,
                 **kwargs: Any) -> None:  # fmt: skip
        super().__init__(**kwargs)
        self.make_app = make_app
        self.host = host
        self.port = port
        self.feed = feed
        self.process: multiprocessing.process.BaseProcess | None = None
        self._conn: Connection | None = None

    def build(self) -> web.Application:
        """The web process's app, built in this process (tests)."""
        return self.make_app(self.feed)

    async def on_start(self) -> None:
        self.feed.clear()
        await self._spawn()
        self.add_future(self._keep())

    async def _spawn(self) -> None:
        context = multiprocessing.get_context("spawn")  # no fork of a process that holds threads
        ours, theirs = context.Pipe()
        process = context.Process(
            target=serve, args=(self.make_app, self.feed, self.host, self.port, theirs, os.getpid()),
            name="kompensasi-web", daemon=True,
        )  # fmt: skip
        process.start()
        theirs.close()
        answer = await asyncio.get_running_loop().run_in_executor(None, _first_answer, ours)
        if answer != b"up":
            process.kill()
            ours.close()
            raise WebFailed(f"the web process did not start: {answer.decode(errors='replace')}")
        if self._conn is not None:
            self._conn.close()  # the pipe of the process this one replaces
        self.process, self._conn = process, ours

    async def _keep(self) -> None:
        delay = FIRST_RESTART_S
        while not self.should_stop:
            await self.sleep(1.0)
            if self.should_stop or self.process is None or self.process.is_alive():
                continue
            metrics.BACKGROUND_FAILURES.labels("web").inc()
            log.warning("web_ended", exit_code=self.process.exitcode, restart_in_s=delay)
            await self.sleep(delay)
            if self.should_stop:
                break
            try:
                await self._spawn()
                delay = FIRST_RESTART_S
            except WebFailed as exc:
                log.warning("web_failed", error=type(exc).__name__)
                delay = min(LAST_RESTART_S, delay * 2)

    async def on_stop(self) -> None:
        process, conn = self.process, self._conn
        if process is None or conn is None:
            return
        with contextlib.suppress(OSError):
            conn.send_bytes(b"stop")
        await asyncio.get_running_loop().run_in_executor(None, process.join, 10.0)
        if process.is_alive():
            process.kill()
        conn.close()


def _first_answer(conn: Connection) -> bytes:
    try:
        if conn.poll(START_TIMEOUT_S):
            return conn.recv_bytes()
        return b"TimeoutError"
    except (EOFError, OSError):
        return b"ended"
