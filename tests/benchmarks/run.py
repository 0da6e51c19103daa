"""`make bench`: replay throughput, memory over a month, state size, and the worker against a bare
Kafka passthrough on the same embedded broker. Prints one table and writes it as JSON.
`python -m tests.benchmarks.run replay` measures replay only."""

import asyncio
import io
import json
import os
import platform
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from rules.intake import Rejection, parse_json, validate
from rules.offices import Offices
from schemas.events import EVENT
from streams.codec import replay_line
from streams.commands.broker import start_broker
from streams.commands.feed import produce_raw, topic_for
from streams.commands.policies import shipped_policies
from streams.commands.replay import run, wall_now
from streams.commands.simulate import office_day
from streams.commands.supervise import WorkerProcess
from tests.benchmarks.latency import bench_latency, latency_notes, latency_rows
from tests.benchmarks.recovery import bench_recovery, recovery_notes, recovery_rows
from tests.benchmarks.webload import bench_web_load, web_load_notes, web_load_rows

RESULTS = Path(__file__).parent / "results"
START = date(2026, 3, 1)


def month_of_events(days: int = 30, applicants: int = 500) -> bytes:
    lines = []
    for policy in shipped_policies():
        for d in range(days):
            day = START + timedelta(days=d)
            lines += [orjson.dumps(e) for e in office_day(policy, day, applicants)]
    return b"\n".join(lines) + b"\n"


def bench_replay(data: bytes, repeats: int = 3) -> dict[str, float]:
    events = data.count(b"\n")
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        run(io.BytesIO(data), io.BytesIO(), shipped_policies())
        best = min(best, time.perf_counter() - start)
    return {"events": events, "seconds": round(best, 3), "events_per_s": round(events / best)}


def replay_stages(data: bytes, repeats: int = 3) -> dict[str, float]:
    """Microseconds per event in each stage of replay, timed in one interleaved pass (best of 3)."""
    lines = data.splitlines()
    clock = time.perf_counter
    best: dict[str, float] | None = None
    for _ in range(repeats):
        offices = Offices(shipped_policies(), wall_now)
        write = io.BytesIO().write
        decode = core = encode = 0.0
        start = clock()
        for raw in lines:
            a = clock()
            event = validate(parse_json(raw), offices)
            b = clock()
            records = [] if isinstance(event, Rejection) else offices.receive(event).records
            c = clock()
            for record in records:
                write(replay_line(record) + b"\n")
            encode += clock() - c
            decode, core = decode + b - a, core + c - b
        total = clock() - start
        stages = {"decode_validate": decode, "rules": core, "encode_write": encode, "loop_and_timers": 0.0}
        stages["loop_and_timers"] = total - sum(stages.values())
        if best is None or total < sum(best.values()):
            best = stages
    assert best is not None
    return {name: round(seconds * 1e6 / len(lines), 2) for name, seconds in best.items()}


def rss_mib() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def bench_memory(days: int = 30, applicants: int = 5000) -> dict[str, Any]:
    """A month at 5,000 applicants a day through one office: resident memory after each day."""
    policy = shipped_policies()[0]
    offices = Offices([policy], lambda: datetime.now(UTC))
    by_day, entries, open_bytes = [], [], None
    for d in range(days):
        for event in office_day(policy, START + timedelta(days=d), applicants, seed=d):
            offices.receive(EVENT.validate_python(event))
            office = offices.by_id[policy.office_id]
            if open_bytes is None and d == 1 and len([t for t in office.tickets.values() if t.is_open]) > 300:
                open_bytes = state_bytes_per_open_ticket(office)
        by_day.append(round(rss_mib(), 1))
        entries.append(len(offices.by_id[policy.office_id].entries()))
    return {"rss_mib_by_day": by_day, "state_entries_by_day": entries, "bytes_per_open_ticket": open_bytes}


def state_bytes_per_open_ticket(office: Any) -> int:
    opened = [t for t in office.tickets.values() if t.is_open]
    entries = office.entries()
    size = sum(len(orjson.dumps(v)) + len(k[1]) + 2 for k, v in entries.items() if k[0] == "t" and k[1] in
               {t.ticket_id for t in opened})  # fmt: skip
    return round(size / len(opened))


async def _passthrough(bootstrap: str, source: str, sink: str, n: int) -> float:
    consumer = AIOKafkaConsumer(source, bootstrap_servers=bootstrap, auto_offset_reset="earliest")
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, linger_ms=5)
    await consumer.start()
    await producer.start()
    seen, started = 0, None
    try:
        while seen < n:
            batch = await consumer.getmany(timeout_ms=1000)
            for messages in batch.values():
                for m in messages:
                    started = started or time.perf_counter()
                    await producer.send(sink, orjson.dumps(orjson.loads(m.value)), key=m.key)
                    seen += 1
        await producer.flush()
        return time.perf_counter() - (started or time.perf_counter())
    finally:
        await consumer.stop()
        await producer.stop()


def _consumed(port: int) -> float:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as r:
        text = r.read().decode()
    return sum(float(line.rsplit(" ", 1)[1]) for line in text.splitlines()
               if line.startswith("kompensasi_events_consumed_total{"))  # fmt: skip


def bench_worker(applicants: int = 1500) -> dict[str, Any]:
    """The same messages through a bare aiokafka consume-decode-encode-produce and through the worker."""
    events: list[dict[str, Any]] = []
    for policy in shipped_policies():
        events += office_day(policy, START, applicants, seed=9)
    records = [(topic_for(e), e["office_id"].encode(), orjson.dumps(e)) for e in events]
    broker = start_broker()
    try:

        async def prepare() -> float:
            admin = AIOKafkaAdminClient(bootstrap_servers=broker.address)
            await admin.start()
            await admin.create_topics([NewTopic("bench.copy", 4, 1), NewTopic("bench.sink", 4, 1)])
            await admin.close()
            await produce_raw(broker.address, [("bench.copy", k, v) for _, k, v in records])
            return await _passthrough(broker.address, "bench.copy", "bench.sink", len(records))

        bare_s = asyncio.run(prepare())
        with tempfile.TemporaryDirectory() as tmp:
            worker = WorkerProcess(broker.url, Path(tmp) / "w").start()
            try:
                worker.wait_ready(90)
                asyncio.run(produce_raw(broker.address, records))
                start = time.perf_counter()
                while _consumed(worker.web_port) < len(records) and time.perf_counter() - start < 300:
                    time.sleep(0.2)
                worker_s = time.perf_counter() - start
            finally:
                worker.stop()
    finally:
        broker.stop()
    bare, work = len(records) / bare_s, len(records) / worker_s
    return {"events": len(records), "passthrough_per_s": round(bare), "worker_per_s": round(work),
            "ratio": round(work / bare, 3)}  # fmt: skip


Row = tuple[str, str, str, bool]


def _replay_rows(replay: dict[str, Any]) -> list[Row]:
    return [("replay, generated month", f"{replay['events_per_s']:,} events/s", ">= 200,000",
             replay["events_per_s"] >= 200_000)]  # fmt: skip


def _memory_rows(memory: dict[str, Any]) -> list[Row]:
    rss = memory["rss_mib_by_day"]
    return [
        ("peak RSS day 5 -> day 30", f"{rss[4]} -> {rss[-1]} MiB", "flat (< +10 %)", rss[-1] <= rss[4] * 1.1),
        ("state per open ticket", f"{memory['bytes_per_open_ticket']} bytes", "<= 1,024",
         (memory["bytes_per_open_ticket"] or 0) <= 1024),
    ]  # fmt: skip


def _worker_rows(worker: dict[str, Any]) -> list[Row]:
    return [("worker / passthrough", f"{worker['worker_per_s']:,} / {worker['passthrough_per_s']:,} ev/s",
             ">= 0.8", worker["ratio"] >= 0.8)]  # fmt: skip


def main(args: list[str]) -> int:
    month = month_of_events()
    if args == ["replay"]:  # the replay figures alone, for profiling rounds
        replay = bench_replay(month)
        print(f"replay: {replay['events']:,} events in {replay['seconds']} s, best of 3, "
              f"{replay['events_per_s']:,} events/s")  # fmt: skip
        print("us per event by stage:", replay_stages(month))
        return 0
    results: dict[str, Any] = {}
    rows: list[Row] = []
    notes: list[str] = []

    def part(name: str, run: Callable[[], Any], rows_of: Callable[[Any], list[Row]],
             notes_of: Callable[[Any], list[str]] = lambda _: []) -> None:  # fmt: skip
        """One part of the bench; a part that fails is a row saying so, and the others still run."""
        try:
            result = run()
        except Exception as exc:
            rows.append((name, f"failed: {type(exc).__name__}", "", False))
            notes.append(f"{name} failed: {exc}")
            return
        results[name] = result
        rows.extend(rows_of(result))
        notes.extend(notes_of(result))

    part("replay", lambda: bench_replay(month), _replay_rows, lambda r: [
        f"replay: {r['events']:,} events in {r['seconds']} s, best of 3, {platform.machine()}, "
        f"{os.cpu_count()} cores"])  # fmt: skip
    part("memory", bench_memory, _memory_rows, lambda m: [
        f"RSS by day (MiB): {m['rss_mib_by_day']}",
        f"state entries by day: {m['state_entries_by_day']}"])  # fmt: skip
    part("worker", bench_worker, _worker_rows,
         lambda w: [f"worker/passthrough ratio {w['ratio']} on {w['events']:,} events"])  # fmt: skip
    part("latency", bench_latency, latency_rows, latency_notes)
    part("recovery", bench_recovery, recovery_rows, recovery_notes)
    part("web_load", bench_web_load, web_load_rows, web_load_notes)
    print(f"{'benchmark':<28}{'result':>30}{'target':>18}  ok")
    for name, result, target, ok in rows:
        print(f"{name:<28}{result:>30}{target:>18}  {'yes' if ok else 'NO'}")
    print("\n".join(notes))
    RESULTS.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    report = {"at": stamp, **results,
              "rows": [{"name": r[0], "result": r[1], "target": r[2], "ok": r[3]} for r in rows]}  # fmt: skip
    (RESULTS / f"bench-{stamp}.json").write_text(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
