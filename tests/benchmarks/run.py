"""`make bench`: replay throughput, memory over a month, state size, and the worker against a bare
Kafka passthrough on the same embedded broker. Prints one table and writes it as JSON.
`python -m tests.benchmarks.run replay` measures replay only."""

import asyncio
import io
import json
import os
import platform
import re
import subprocess
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

from rules.intake import Rejection
from rules.offices import Offices
from schemas.events import EVENT
from streams.codec import as_dict, fast_line
from streams.commands.broker import start_broker
from streams.commands.feed import produce_raw, topic_for
from streams.commands.policies import load_policies, shipped_policies
from streams.commands.replay import default_jobs, read_line, run, wall_now
from streams.commands.simulate import month_log, office_day
from streams.commands.supervise import WorkerProcess
from streams.worker.topics import ensure_topics
from tests.benchmarks.latency import bench_latency, latency_notes, latency_rows
from tests.benchmarks.recovery import bench_recovery, recovery_notes, recovery_rows
from tests.benchmarks.webload import bench_web_load, web_load_notes, web_load_rows

RESULTS = Path(__file__).parent / "results"
START = date(2026, 3, 1)


def month_of_events(days: int = 30, applicants: int = 1000) -> bytes:
    """The realistic month of the shipped offices: `*` outages, complaints, duplicates, late facts, bad
    lines (month_log)."""
    return b"".join(line + b"\n" for line in month_log(shipped_policies(), START, days, applicants))


def json_floor(lines: list[bytes]) -> None:
    """What any JSON-lines pipeline in Python costs at least: parse every line, write one line for it."""
    out = io.BytesIO()
    write, loads, dumps = out.write, json.loads, json.dumps
    for line in lines:
        try:
            value = loads(line)
        except ValueError:
            value = None
        write(dumps(value).encode() + b"\n")


def bench_replay(data: bytes, repeats: int = 3) -> dict[str, Any]:
    """One process against the stdlib JSON floor over the same lines, taking turns, best of each."""
    lines = data.splitlines()
    floor = replay = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        json_floor(lines)
        middle = time.perf_counter()
        run(io.BytesIO(data), io.BytesIO(), shipped_policies())
        floor, replay = min(floor, middle - start), min(replay, time.perf_counter() - middle)
    return {"events": len(lines), "seconds": round(replay, 3), "events_per_s": round(len(lines) / replay),
            "floor_per_s": round(len(lines) / floor), "ratio": round(floor / replay, 3)}  # fmt: skip


def replay_stages(data: bytes, repeats: int = 3) -> dict[str, float]:
    """Microseconds per event in each stage of replay, timed in one interleaved pass (best of 3)."""
    lines = data.splitlines()
    policies = shipped_policies()
    known = {p.office_id for p in policies}
    clock = time.perf_counter
    best: dict[str, float] | None = None
    for _ in range(repeats):
        offices = Offices(policies, wall_now, as_dict)
        write = io.BytesIO().write
        decode = core = encode = 0.0
        start = clock()
        for raw in lines:
            a = clock()
            _, event = read_line(raw, known)
            b = clock()
            records = [] if isinstance(event, Rejection) else offices.receive(event).records
            c = clock()
            for record in records:
                write(fast_line(record) + b"\n")
            encode += clock() - c
            decode, core = decode + b - a, core + c - b
        total = clock() - start
        stages = {"decode_validate": decode, "rules": core, "encode_write": encode, "loop_and_timers": 0.0}
        stages["loop_and_timers"] = total - sum(stages.values())
        if best is None or total < sum(best.values()):
            best = stages
    assert best is not None
    return {name: round(seconds * 1e6 / len(lines), 2) for name, seconds in best.items()}


# Run by a small Python of its own: a child forked from this process would count its memory as the
# command's peak. It prints the largest peak of the command and its jobs, in KiB (Linux).
_PEAK = (
    "import resource, subprocess, sys; subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, check=True); "
    "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)"
)


def _replay_command(path: Path, jobs: int, policy_dir: Path | None = None) -> tuple[float, float]:
    """`kompensasi replay --jobs N` as a user runs it: wall seconds, and the peak resident memory of its
    largest process (MiB)."""
    args = [str(Path(sys.executable).with_name("kompensasi")), "replay", "--jobs", str(jobs), str(path)]
    args += ["--policy", str(policy_dir)] if policy_dir else []
    start = time.perf_counter()
    peak = subprocess.run([sys.executable, "-c", _PEAK, *args], capture_output=True, text=True, check=True)
    return time.perf_counter() - start, int(peak.stdout) / 1024


def bench_jobs(data: bytes, jobs: int = 2, repeats: int = 3) -> dict[str, Any]:
    """The command with one process and with `jobs`, taking turns, best of each."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "month.jsonl"
        path.write_bytes(data)
        one = many = float("inf")
        for _ in range(repeats):
            one = min(one, _replay_command(path, 1)[0])
            many = min(many, _replay_command(path, jobs)[0])
    return {"jobs": jobs, "one_s": round(one, 2), "jobs_s": round(many, 2), "speedup": round(one / many, 2)}


def twelve_offices(folder: Path) -> Path:
    """Twelve offices, as copies of the shipped policies under other ids, written as policy files."""
    shipped = sorted((Path(__file__).parents[2] / "rules" / "policies").glob("*.toml"))
    for n in range(12):
        text = shipped[n % len(shipped)].read_text()
        text = re.sub(r'(?m)^office_id = ".*"$', f'office_id = "kanim-{n:02d}"', text)
        text = re.sub(r'(?m)^policy_id = ".*"$', f'policy_id = "kanim-{n:02d}/bench"', text)
        (folder / f"kanim-{n:02d}.toml").write_text(text)
    return folder


def bench_year(applicants: int = 1000) -> dict[str, Any]:
    """A month of 12 offices at `applicants` a day through `kompensasi replay` on every core, scaled to a
    year; the peak memory after 10 and after 30 days of the same log."""
    with tempfile.TemporaryDirectory() as tmp:
        folder = twelve_offices(Path(tmp))
        policies = load_policies([str(folder)])
        short, month = Path(tmp) / "10-days.jsonl", Path(tmp) / "30-days.jsonl"
        lines = 0
        with short.open("wb") as first, month.open("wb") as whole:
            for line in month_log(policies, START, 10, applicants):
                first.write(line + b"\n")
                whole.write(line + b"\n")
                lines += 1
            for line in month_log(policies, START + timedelta(days=10), 20, applicants):
                whole.write(line + b"\n")
                lines += 1
        _, short_mib = _replay_command(short, default_jobs(), folder)
        seconds, month_mib = _replay_command(month, default_jobs(), folder)
    return {"events": lines, "jobs": default_jobs(), "month_s": round(seconds, 1),
            "year_s_scaled": round(seconds * 365 / 30), "peak_mib_10_days": round(short_mib, 1),
            "peak_mib_30_days": round(month_mib, 1)}  # fmt: skip


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
            floor = subprocess.run(
                [sys.executable, "-m", "tests.benchmarks.faust_floor", broker.url, "bench.copy",
                 str(len(records)), str(Path(tmp) / "floor")],
                capture_output=True, text=True, timeout=600, check=True,
            )  # fmt: skip
            floor_s = float(re.findall(r"floor_s=([0-9.]+)", floor.stdout)[-1])  # among spinner codes
            # A backlog, as for the floor: on the broker before the worker starts, timed from its first.
            asyncio.run(ensure_topics(broker.address, 4, 1, {}))
            asyncio.run(produce_raw(broker.address, records))
            worker = WorkerProcess(broker.url, Path(tmp) / "w").start()
            try:
                worker.wait_ready(90)
                deadline = time.perf_counter() + 300
                while not _consumed(worker.web_port) and time.perf_counter() < deadline:
                    time.sleep(0.01)
                start = time.perf_counter()
                while _consumed(worker.web_port) < len(records) and time.perf_counter() < deadline:
                    time.sleep(0.05)
                worker_s = time.perf_counter() - start
            finally:
                worker.stop()
    finally:
        broker.stop()
    bare, faust_floor, work = len(records) / bare_s, len(records) / floor_s, len(records) / worker_s
    return {"events": len(records), "passthrough_per_s": round(bare), "faust_per_s": round(faust_floor),
            "worker_per_s": round(work), "ratio": round(work / faust_floor, 3),
            "ratio_to_aiokafka": round(work / bare, 3)}  # fmt: skip


Row = tuple[str, str, str, bool]


def _replay_rows(replay: dict[str, Any]) -> list[Row]:
    return [("replay / JSON floor, 1 process", f"{replay['events_per_s']:,} / {replay['floor_per_s']:,} ev/s",
             ">= 1.0", replay["ratio"] >= 1.0),
            ("  ratio", f"{replay['ratio']}", "", replay["ratio"] >= 1.0)]  # fmt: skip


def _jobs_rows(jobs: dict[str, Any]) -> list[Row]:
    return [(f"replay --jobs {jobs['jobs']} speed-up", f"{jobs['one_s']} s -> {jobs['jobs_s']} s: "
             f"{jobs['speedup']} x", "> 1", jobs["speedup"] > 1)]  # fmt: skip


def _year_rows(year: dict[str, Any]) -> list[Row]:
    short, month = year["peak_mib_10_days"], year["peak_mib_30_days"]
    scaled = year["year_s_scaled"]
    return [("year, 12 offices (scaled)", f"{scaled:,} s", "< 300 s", scaled < 300),
            ("replay peak RSS 10 -> 30 days", f"{short} -> {month} MiB", "flat (< +10 %)",
             month <= short * 1.1)]  # fmt: skip


def _memory_rows(memory: dict[str, Any]) -> list[Row]:
    rss = memory["rss_mib_by_day"]
    return [
        ("peak RSS day 5 -> day 30", f"{rss[4]} -> {rss[-1]} MiB", "flat (< +10 %)", rss[-1] <= rss[4] * 1.1),
        ("state per open ticket", f"{memory['bytes_per_open_ticket']} bytes", "<= 1,024",
         (memory["bytes_per_open_ticket"] or 0) <= 1024),
    ]  # fmt: skip


def _worker_rows(worker: dict[str, Any]) -> list[Row]:
    return [("worker / bare Faust agent", f"{worker['worker_per_s']:,} / {worker['faust_per_s']:,} ev/s",
             ">= 0.8", worker["ratio"] >= 0.8),
            ("worker / bare aiokafka", f"{worker['worker_per_s']:,} / {worker['passthrough_per_s']:,} ev/s",
             "", True)]  # fmt: skip


def main(args: list[str]) -> int:
    month = month_of_events()
    if args[:1] == ["replay"]:  # the replay figures alone, for profiling rounds
        replay = bench_replay(month)
        print(f"replay: {replay['events']:,} events in {replay['seconds']} s, best of 3, "
              f"{replay['events_per_s']:,} events/s, JSON floor {replay['floor_per_s']:,}, "
              f"ratio {replay['ratio']}")  # fmt: skip
        print("us per event by stage:", replay_stages(month))
        print("jobs:", bench_jobs(month))
        if "--year" in args:
            print("year:", bench_year())
        return 0
    results: dict[str, Any] = {}
    rows: list[Row] = []
    notes: list[str] = []

    def part(name: str, run: Callable[[], Any], rows_of: Callable[[Any], list[Row]],
             notes_of: Callable[[Any], list[str]] = lambda _: []) -> None:  # fmt: skip
        """One part of the bench; a part that fails is a row saying so, and the others still run."""
        if args and name not in args:  # `python -m tests.benchmarks.run worker latency`: those alone
            return
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
        f"replay: {r['events']:,} events of the realistic month in {r['seconds']} s, best of 3, "
        f"{platform.machine()}, {os.cpu_count()} cores"])  # fmt: skip
    part("jobs", lambda: bench_jobs(month), _jobs_rows)
    part("year", bench_year, _year_rows, lambda y: [
        f"year: {y['events']:,} events (a month of 12 offices) in {y['month_s']} s with --jobs {y['jobs']}, "
        f"times 365 / 30"])  # fmt: skip
    part("memory", bench_memory, _memory_rows, lambda m: [
        f"RSS by day (MiB): {m['rss_mib_by_day']}",
        f"state entries by day: {m['state_entries_by_day']}"])  # fmt: skip
    part("worker", bench_worker, _worker_rows,
         lambda w: [f"worker/bare Faust agent {w['ratio']}, worker/bare aiokafka {w['ratio_to_aiokafka']}, "
                    f"on the same {w['events']:,} events, one after the other"])  # fmt: skip
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
