"""Decision latency: from the moment an office's clock reaches a decision's `decided_at` to the record
being readable on the decisions topic, with office days fed in compressed real time.

An office's clock is the latest `occurred_at` it has seen less the allowed lateness, so it reaches
`decided_at` when the first event with `occurred_at - lateness >= decided_at` arrives. That event's
send time is the start; the moment a plain consumer (no group, reading from the end, 5 ms fetch
wait) returns the decision is the end. Only queue.tickets events are fed (issues, calls, closes):
the other input topics stay silent, so after `max_idle_s` they no longer hold the clock and the
triggering event is known exactly."""

import asyncio
import random
import tempfile
import time
from bisect import bisect_left
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from datetime import time as clock_time
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import orjson
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from rules.clock import instant
from rules.policy import Policy
from schemas.topics import DECISIONS, TICKETS
from streams.commands.broker import start_broker
from streams.commands.policies import shipped_policies
from streams.commands.simulate import office_day
from streams.commands.supervise import WorkerProcess
from tests.benchmarks.recovery import metric_sum

FIRST_DAY = date(2026, 3, 5)
EVENTS_PER_APPLICANT = 3.26  # a simulated day without claims, reviews or outages
WARM_UP_S = 3.0  # of the first phase: the first office restores, the first fetches


@dataclass
class Phase:
    """One office day per office, interleaved and sent at `rate` events per second."""

    name: str
    rate: int
    day: date
    records: list[tuple[bytes, bytes]] = field(default_factory=list)  # (key, value) in send order
    # per office: running maximum of occurred_at in send order, and the index of each step
    reach: dict[str, tuple[list[int], list[int]]] = field(default_factory=dict)
    sent_at: list[float] = field(default_factory=list)
    started: float = 0.0
    finished: float = 0.0
    # the worker's processing histogram (receipt to outputs acknowledged): (sum s, count) at the start
    processing: tuple[float, float] = (0.0, 0.0)


def flush_event(policy: Policy, day: date) -> dict[str, Any]:
    """A pickup ticket late in the evening: the clock passes every fact and deadline of the day."""
    return {"event_id": f"{policy.office_id}/{day}/flush", "type": "ticket_issued",
            "office_id": policy.office_id,
            "occurred_at": datetime.combine(day, clock_time(23, 0), ZoneInfo(policy.time_zone)).isoformat(),
            "ticket_id": f"{policy.office_id}/{day}/flush", "ticket_no": "P-000", "stage": "pickup",
            "applicant_id": "flush", "service": "passport_new", "booking_channel": "m_paspor",
            "smart_registered": True}  # fmt: skip


def build_phase(name: str, rate: int, seconds: float, day: date, policies: list[Policy]) -> Phase:
    phase = Phase(name, rate, day)
    applicants = round(rate * seconds / EVENTS_PER_APPLICANT / len(policies))
    keyed = []
    for policy in policies:
        day_events = office_day(policy, day, applicants, seed=3, outage=None, reviews=0, claims=False)
        day_events.append(flush_event(policy, day))
        # Offices interleaved by position in their own day: each gets its share of the rate.
        keyed += [((i + 1) / len(day_events), e) for i, e in enumerate(day_events)]
    keyed.sort(key=lambda pair: pair[0])
    latest: dict[str, int] = {}
    for index, (_, event) in enumerate(keyed):
        office = event["office_id"]
        at = instant(datetime.fromisoformat(event["occurred_at"]))
        if at > latest.get(office, -1):
            latest[office] = at
            steps, indexes = phase.reach.setdefault(office, ([], []))
            steps.append(at)
            indexes.append(index)
        phase.records.append((office.encode(), orjson.dumps(event)))
    return phase


def trigger(phase: Phase, office: str, decided_at: int, lateness: int) -> int | None:
    """Index of the first event whose arrival moved the office's clock to `decided_at` or beyond."""
    steps, indexes = phase.reach.get(office, ([], []))
    i = bisect_left(steps, decided_at + lateness)
    return indexes[i] if i < len(steps) else None


async def send_paced(bootstrap: str, phase: Phase) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, linger_ms=0)
    await producer.start()
    try:
        phase.started = time.time()
        phase.sent_at = [0.0] * len(phase.records)
        for i, (key, value) in enumerate(phase.records):
            delay = phase.started + i / phase.rate - time.time()
            if delay > 0:
                await asyncio.sleep(delay)
            phase.sent_at[i] = time.time()
            await producer.send(TICKETS, value, key=key)
        await producer.flush()
        phase.finished = time.time()
    finally:
        await producer.stop()


async def fetch_delay(bootstrap: str, wait_ms: int = 1500, count: int = 30) -> dict[str, float]:
    """Milliseconds from a record's send to a consumer that waits up to `wait_ms` per fetch, as the
    worker's does (Faust sets 1,500 ms): a broker that answers a fetch only when its wait runs out,
    not when a record arrives, shows here."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    await admin.create_topics([NewTopic("bench.fetch", 1, 1)])
    await admin.close()
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap, enable_auto_commit=False, fetch_max_wait_ms=wait_ms
    )
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, linger_ms=0)
    await consumer.start()
    await producer.start()
    delays: list[float] = []
    try:
        consumer.assign([TopicPartition("bench.fetch", 0)])
        await consumer.seek_to_end()
        await consumer.position(TopicPartition("bench.fetch", 0))

        async def read() -> None:
            while len(delays) < count:
                batch = await consumer.getmany(timeout_ms=100)
                now = time.time()
                delays.extend((now - float(m.value)) * 1000 for ms in batch.values() for m in ms)

        reader = asyncio.create_task(read())
        pauses = random.Random(1)
        for _ in range(count):
            await asyncio.sleep(pauses.uniform(0.05, 0.3))
            await producer.send("bench.fetch", str(time.time()).encode())
        await asyncio.wait_for(reader, 10)
    finally:
        await producer.stop()
        await consumer.stop()
    return {"wait_ms": wait_ms, "p50_ms": round(percentile(delays, 0.5), 1),
            "max_ms": round(max(delays), 1)}  # fmt: skip


def processing(port: int) -> tuple[float, float]:
    name = "kompensasi_processing_latency_seconds"
    return metric_sum(port, name + "_sum") or 0.0, metric_sum(port, name + "_count") or 0.0


async def measure(
    bootstrap: str, phases: list[Phase], worker: WorkerProcess
) -> tuple[list[tuple[dict[str, Any], float]], tuple[float, float]]:
    """Feeds the phases one after another; every decision with the time it was read, and the
    worker's processing histogram at the end."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False, fetch_max_wait_ms=5)
    await consumer.start()
    received: list[tuple[dict[str, Any], float]] = []
    done = asyncio.Event()

    async def read() -> None:
        while not done.is_set():
            batch = await consumer.getmany(timeout_ms=50)
            now = time.time()
            received.extend(
                (orjson.loads(m.value) | {"_produced": m.timestamp / 1000}, now)
                for messages in batch.values()
                for m in messages
            )

    try:
        consumer.assign([TopicPartition(DECISIONS, p) for p in range(worker.partitions)])
        await consumer.seek_to_end()
        for tp in consumer.assignment():
            await consumer.position(tp)
        reader = asyncio.create_task(read())
        for phase in phases:
            phase.processing = processing(worker.web_port)
            await send_paced(bootstrap, phase)
        # Until the worker has caught up: no new decision for three seconds.
        count, quiet_since = -1, time.monotonic()
        while time.monotonic() - quiet_since < 3.0:
            if len(received) != count:
                count, quiet_since = len(received), time.monotonic()
            await asyncio.sleep(0.2)
        done.set()
        await reader
        return received, processing(worker.web_port)
    finally:
        await consumer.stop()


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def summarise(
    phase: Phase, matched: list[tuple[float, float, float]], skipped: int, processed: tuple[float, float]
) -> dict[str, Any]:
    """Latencies in milliseconds. `worker_*`: until the worker handed the record to its producer;
    `processing_mean_ms`: the worker's mean time from receiving any record to its outputs being
    acknowledged; `worker_events_per_s`: the phase's events over the time to its last decision."""
    total = [(end - start) * 1000 for start, _, end in matched]
    worker = [(produced - start) * 1000 for start, produced, _ in matched]
    readable = [(end - produced) * 1000 for _, produced, end in matched]
    last_read = max((end for _, _, end in matched), default=phase.finished)
    seconds, count = processed[0] - phase.processing[0], processed[1] - phase.processing[1]
    return {
        "rate": phase.rate,
        "events": len(phase.records),
        "sent_per_s": round(len(phase.records) / (phase.finished - phase.started)),
        "measured": len(matched),
        "not_measured": skipped,
        "p50_ms": round(percentile(total, 0.5), 1) if total else None,
        "p99_ms": round(percentile(total, 0.99), 1) if total else None,
        "max_ms": round(max(total), 1) if total else None,
        "worker_p50_ms": round(percentile(worker, 0.5), 1) if worker else None,
        "worker_p99_ms": round(percentile(worker, 0.99), 1) if worker else None,
        "readable_p50_ms": round(percentile(readable, 0.5), 1) if readable else None,
        "processing_mean_ms": round(seconds / count * 1000, 1) if count else None,
        "worker_events_per_s": round(len(phase.records) / (last_read - phase.started)),
    }


def bench_latency(steady_rate: int = 100, steady_s: float = 20.0, load_s: float = 15.0) -> dict[str, Any]:
    """A phase well under the worker's throughput, then one at 1,000 events/s, on one worker."""
    policies = shipped_policies()
    phases = [
        build_phase("steady", steady_rate, steady_s, FIRST_DAY, policies),
        build_phase("load", 1000, load_s, FIRST_DAY + timedelta(days=1), policies),
    ]
    broker = start_broker()
    try:
        fetch = asyncio.run(fetch_delay(broker.address))
        with tempfile.TemporaryDirectory() as tmp:
            worker = WorkerProcess(broker.url, Path(tmp) / "w").start()
            try:
                worker.wait_ready(90)
                # The worker holds its clocks until every input topic is heard from or idle (2 s).
                time.sleep(3.0)
                received, at_end = asyncio.run(measure(broker.address, phases, worker))
            finally:
                worker.stop()
    finally:
        broker.stop()
    ends = [p.processing for p in phases[1:]] + [at_end]
    return {**summarised(phases, received, ends, policies), "fetch_delay": fetch}


def summarised(
    phases: list[Phase], received: list[tuple[dict[str, Any], float]], ends: list[tuple[float, float]],
    policies: list[Policy],
) -> dict[str, Any]:  # fmt: skip
    """Each phase's summary: every decision matched with the event that triggered it."""
    lateness = {p.office_id: p.lateness_us for p in policies}
    by_phase: dict[str, list[tuple[float, float, float]]] = {p.name: [] for p in phases}
    skipped = dict.fromkeys(by_phase, 0)
    for record, read_at in received:
        at = instant(datetime.fromisoformat(record["decided_at"]))
        phase = next((p for p in phases if p.day == date.fromisoformat(record["service_day"])), None)
        if phase is None:
            continue
        index = trigger(phase, record["office_id"], at, lateness[record["office_id"]])
        start = None if index is None else phase.sent_at[index]
        warming = phase is phases[0] and start is not None and start < phase.started + WARM_UP_S
        # A decision read before its trigger was sent came from the live clock, not from an event.
        if start is None or warming or read_at < start:
            skipped[phase.name] += 1
            continue
        by_phase[phase.name].append((start, record["_produced"], read_at))
    return {
        p.name: summarise(p, by_phase[p.name], skipped[p.name], end)
        for p, end in zip(phases, ends, strict=True)
    }


if __name__ == "__main__":
    print(orjson.dumps(bench_latency(), option=orjson.OPT_INDENT_2).decode())


def latency_rows(result: dict[str, Any]) -> list[tuple[str, str, str, bool]]:
    """The rows of `make bench`'s table: p99 under capacity, and keeping up at 1,000 events/s (the
    phase's events over the time to its last decision, against the rate they were sent at)."""
    steady, load = result["steady"], result["load"]
    latency = f"p50 {steady['p50_ms']:,.0f} / p99 {steady['p99_ms']:,.0f} ms"
    kept = f"{load['worker_events_per_s']:,} / {load['sent_per_s']:,} ev/s"
    return [
        (f"decision latency {steady['rate']:,} ev/s", latency, "p99 <= 50 ms", steady["p99_ms"] <= 50),
        (f"keeps up at {load['rate']:,} ev/s", kept, ">= 0.95",
         load["worker_events_per_s"] >= 0.95 * load["sent_per_s"]),
    ]  # fmt: skip


def latency_notes(result: dict[str, Any]) -> list[str]:
    lines = []
    for name in ("load", "steady"):
        r = result[name]
        lines.append(
            f"latency at {r['rate']:,} ev/s: p50 {r['p50_ms']} / p99 {r['p99_ms']} ms, "
            f"{r['measured']:,} decisions measured ({r['not_measured']} not), "
            f"worker kept up with {r['worker_events_per_s']:,} ev/s, processing {r['processing_mean_ms']} ms "
            f"a record, p50 {r['worker_p50_ms']:,} ms until produced, {r['readable_p50_ms']} ms to readable"
        )
    f = result["fetch_delay"]
    lines.append(
        f"embedded broker, fetch wait {f['wait_ms']} ms: a record is delivered after p50 {f['p50_ms']} ms, "
        f"max {f['max_ms']} ms"
    )
    return lines
