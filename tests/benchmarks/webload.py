"""The web port under load while a day is decided (issue 14): the same worker decides one office day
per office at a steady rate without web load, then another while a separate process loads the web
port on loopback (board and public pages in loops, open event streams, idle connections), bounded
in time and count. Decision latency and events/s of the two phases are compared; /ready is polled
throughout the loaded phase.

`python -m tests.benchmarks.webload` prints the figures as JSON (about two minutes)."""

import asyncio
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from datetime import timedelta
from pathlib import Path
from typing import Any

import aiohttp
import orjson

from streams.commands.broker import start_broker
from streams.commands.policies import shipped_policies
from streams.commands.supervise import WorkerProcess
from tests.benchmarks.latency import FIRST_DAY, build_phase, measure, summarised

# The load: request loops on the open pages, event streams, idle sockets, each from its own loopback
# addresses (the per-address caps would otherwise refuse most of it, as they should).
LOOPS = 50
STREAMS = 250
IDLE = 1000
_LOOPS_FROM, _STREAMS_FROM, _IDLE_FROM = "127.0.1.", "127.0.2.", "127.0.3."


async def _load(port: int, seconds: float) -> dict[str, Any]:
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + seconds
    counts = {"board": 0, "public": 0, "errors": 0, "stream_events": 0, "streams_open": 0, "idle_held": 0}

    def session(address: str, limit: int) -> aiohttp.ClientSession:
        connector = aiohttp.TCPConnector(limit=limit, local_addr=(address, 0), force_close=False)
        return aiohttp.ClientSession(connector=connector, timeout=aiohttp.ClientTimeout(total=10))

    async def loop(client: aiohttp.ClientSession, i: int) -> None:
        path = "/public/kanim-blitar" if i % 5 == 0 else "/offices/kanim-blitar/board"
        while time.monotonic() < deadline:
            try:
                async with client.get(base + path) as r:
                    await r.read()
                    counts["public" if "public" in path else "board"] += r.status == 200
                    counts["errors"] += r.status != 200
            except (aiohttp.ClientError, TimeoutError):
                counts["errors"] += 1

    async def stream(client: aiohttp.ClientSession) -> None:
        try:
            async with client.get(base + "/offices/kanim-blitar/board/stream") as r:
                if r.status != 200:
                    counts["errors"] += 1
                    return
                counts["streams_open"] += 1
                async with asyncio.timeout(max(0.0, deadline - time.monotonic())):
                    async for line in r.content:
                        counts["stream_events"] += line.startswith(b"data:")
        except (aiohttp.ClientError, TimeoutError):
            pass

    async def idle(address: str) -> None:
        try:
            _, writer = await asyncio.open_connection("127.0.0.1", port, local_addr=(address, 0))
        except OSError:
            return
        counts["idle_held"] += 1
        writer.write(b"GET / HTTP/1.1\r\nHost: x\r\n")  # never finished: held until the server drops it
        await asyncio.sleep(max(0.0, deadline - time.monotonic()))
        writer.close()

    loopers = [session(f"{_LOOPS_FROM}{1 + i % 4}", LOOPS) for i in range(4)]
    streamers = [session(f"{_STREAMS_FROM}{1 + i}", STREAMS) for i in range(8)]
    tasks = [loop(loopers[i % 4], i) for i in range(LOOPS)]
    tasks += [stream(streamers[i % 8]) for i in range(STREAMS)]
    tasks += [idle(f"{_IDLE_FROM}{1 + i % 8}") for i in range(IDLE)]
    try:
        await asyncio.gather(*tasks)
    finally:
        for s in loopers + streamers:
            await s.close()
    return counts


def ready_polls(port: int, deadline: float) -> dict[str, Any]:
    """/ready once a second: how many answered 200, and the slowest answer."""
    answers, slowest = [], 0.0
    while time.monotonic() < deadline:
        started = time.monotonic()
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/ready", timeout=5) as r:
                answers.append(r.status)
        except urllib.error.HTTPError as exc:
            answers.append(exc.code)
        except OSError:
            answers.append(0)
        slowest = max(slowest, time.monotonic() - started)
        time.sleep(1.0)
    return {"polls": len(answers), "ok": answers.count(200), "slowest_s": round(slowest, 3)}


def bench_web_load(rate: int = 100, seconds: float = 25.0) -> dict[str, Any]:
    policies = shipped_policies()
    quiet = build_phase("quiet", rate, seconds, FIRST_DAY, policies)
    loaded = build_phase("loaded", rate, seconds, FIRST_DAY + timedelta(days=1), policies)
    broker = start_broker()
    try:
        with tempfile.TemporaryDirectory() as tmp:
            worker = WorkerProcess(broker.url, Path(tmp) / "w").start()
            try:
                worker.wait_ready(90)
                time.sleep(3.0)  # the clocks are held until every input topic is idle
                received, at_quiet_end = asyncio.run(measure(broker.address, [quiet], worker))
                load = subprocess.Popen(
                    [sys.executable, "-m", "tests.benchmarks.webload", "load", str(worker.web_port),
                     str(seconds + 2)], stdout=subprocess.PIPE,
                )  # fmt: skip
                time.sleep(2.0)  # the load is up before the phase starts
                polled: dict[str, Any] = {}
                poller = threading.Thread(
                    target=lambda: polled.update(ready_polls(worker.web_port, time.monotonic() + seconds))
                )
                poller.start()
                more, at_loaded_end = asyncio.run(measure(broker.address, [loaded], worker))
                out, _ = load.communicate(timeout=120)
                poller.join()
            finally:
                worker.stop()
    finally:
        broker.stop()
    summaries = summarised([quiet], received, [at_quiet_end], policies)
    summaries |= summarised([loaded], more, [at_loaded_end], policies)
    return {**summaries, "load": json.loads(out), "ready": polled}


def web_load_rows(result: dict[str, Any]) -> list[tuple[str, str, str, bool]]:
    """`make bench`'s rows: events/s and decision latency p99 under web load, within 20 % of without."""
    quiet, loaded = result["quiet"], result["loaded"]
    rate_ok = loaded["worker_events_per_s"] >= 0.8 * quiet["worker_events_per_s"]
    p99_ok = loaded["p99_ms"] <= 1.2 * quiet["p99_ms"]
    return [
        ("web load: events/s", f"{quiet['worker_events_per_s']} -> {loaded['worker_events_per_s']}",
         "within 20 %", rate_ok),
        ("web load: decision p99", f"{quiet['p99_ms']:,.0f} -> {loaded['p99_ms']:,.0f} ms", "within 20 %",
         p99_ok),
    ]  # fmt: skip


def web_load_notes(result: dict[str, Any]) -> list[str]:
    load, ready = result["load"], result["ready"]
    return [
        f"web load: {load['board']:,} board and {load['public']:,} public answers, {load['streams_open']} "
        f"streams, {load['idle_held']} idle connections, {load['errors']} errors; /ready "
        f"{ready['ok']}/{ready['polls']} answered 200, slowest {ready['slowest_s']} s"
    ]


if __name__ == "__main__":
    if sys.argv[1:2] == ["load"]:
        # The clients of an office are on other machines: here they take the CPU the worker, the
        # broker and the measuring process leave, rather than a core of the two from them.
        os.nice(19)
        print(json.dumps(asyncio.run(_load(int(sys.argv[2]), float(sys.argv[3])))))
    else:
        print(orjson.dumps(bench_web_load(), option=orjson.OPT_INDENT_2).decode())
