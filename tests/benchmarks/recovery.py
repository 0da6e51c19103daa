"""Recovery time of a restarted worker holding 100,000 open tickets: from an empty data dir (the whole
changelog restored, as after a lost disk, a restart or a moved partition: the state lives in memory)."""

import asyncio
import tempfile
import time
import urllib.request
from collections.abc import Callable
from datetime import date, datetime, timedelta
from datetime import time as clock_time
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import orjson
from aiokafka import AIOKafkaConsumer, TopicPartition

from rules.policy import Policy
from streams.commands.broker import start_broker
from streams.commands.feed import produce_raw, topic_for
from streams.commands.policies import shipped_policies
from streams.commands.supervise import WorkerProcess
from streams.worker.app import STATE_TABLE

DAY = date(2026, 3, 3)
# Issued within an hour of event time: the clock stays short of the 90-minute warning and the
# 2-hour deadline, so every ticket stays open (waiting, uncalled, undecided).
ISSUE_WINDOW = timedelta(minutes=60)
CHANGELOG = f"kompensasi-{STATE_TABLE}-changelog"


def open_tickets(policy: Policy, count: int) -> list[dict[str, Any]]:
    """`count` biometric tickets of one service day, then a pickup ticket five minutes after the
    last: it moves the clock past them (allowed lateness), so all are applied, none is decided."""
    opens = datetime.combine(DAY, clock_time(8, 0), ZoneInfo(policy.time_zone))
    office = policy.office_id
    step = ISSUE_WINDOW / count
    events = [
        {"event_id": f"{office}/open/{n}", "type": "ticket_issued", "office_id": office,
         "occurred_at": (opens + n * step).isoformat(), "ticket_id": f"{office}-T{n:06d}",
         "ticket_no": f"B-{n + 1:06d}", "stage": "biometric", "applicant_id": f"{office}-A{n:06d}",
         "service": "passport_new", "booking_channel": "m_paspor", "smart_registered": True}
        for n in range(count)
    ]  # fmt: skip
    events.append(
        {"event_id": f"{office}/open/pickup", "type": "ticket_issued", "office_id": office,
         "occurred_at": (opens + ISSUE_WINDOW + timedelta(minutes=5)).isoformat(),
         "ticket_id": f"{office}-pickup", "ticket_no": "P-001", "stage": "pickup",
         "applicant_id": f"{office}-pickup", "service": "passport_new", "booking_channel": "m_paspor",
         "smart_registered": True}
    )  # fmt: skip
    return events


def metric_sum(port: int, name: str) -> float | None:
    """The sum of a metric over its labels, None while the worker does not answer."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=2) as r:
            text = r.read().decode()
    except OSError:
        return None
    return sum(float(line.rsplit(" ", 1)[1]) for line in text.splitlines()
               if line.startswith((name + "{", name + " ")))  # fmt: skip


def wait_until(check: Callable[[], bool], timeout_s: float, every_s: float = 0.1) -> float:
    """Seconds until `check()` holds; TimeoutError after `timeout_s`."""
    start = time.perf_counter()
    while not check():
        if time.perf_counter() - start > timeout_s:
            raise TimeoutError(f"not reached within {timeout_s:.0f} s")
        time.sleep(every_s)
    return time.perf_counter() - start


async def topic_records(bootstrap: str, topic: str) -> int:
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await consumer.start()
    try:
        partitions = [TopicPartition(topic, p) for p in consumer.partitions_for_topic(topic) or ()]
        if not partitions:
            await consumer.client.force_metadata_update()
            partitions = [TopicPartition(topic, p) for p in consumer.partitions_for_topic(topic) or ()]
        return sum((await consumer.end_offsets(partitions)).values())
    finally:
        await consumer.stop()


def restart(broker_url: str, data_dir: Path, tickets: int, env: dict[str, str]) -> dict[str, float]:
    """Seconds from starting the process to /ready, and to its status gauges counting every ticket."""
    started = time.perf_counter()
    worker = WorkerProcess(broker_url, data_dir, env=env).start()
    try:
        worker.wait_ready(300)
        ready = time.perf_counter() - started
        wait_until(lambda: metric_sum(worker.web_port, "kompensasi_waiting_applicants") == tickets, 300)
        return {"ready_s": round(ready, 1), "answers_s": round(time.perf_counter() - started, 1)}
    finally:
        worker.stop()


def bench_recovery(tickets: int = 100_000) -> dict[str, Any]:
    """Feeds `tickets` open tickets through a worker, stops it, and times two restarts."""
    policies = shipped_policies()
    events = []
    for i, policy in enumerate(policies):
        events += open_tickets(policy, tickets // len(policies) + (i < tickets % len(policies)))
    records = [(topic_for(e), e["office_id"].encode(), orjson.dumps(e)) for e in events]
    # Office status every 2 s instead of 10: the gauges show the state sooner, the state is the same.
    env = {"KOMPENSASI_STATUS_INTERVAL": "2"}
    broker = start_broker()
    try:
        with tempfile.TemporaryDirectory() as tmp:
            first_dir = Path(tmp) / "first"
            started = time.perf_counter()
            worker = WorkerProcess(broker.url, first_dir, env=env).start()
            try:
                worker.wait_ready(90)
                empty_ready = time.perf_counter() - started
                asyncio.run(produce_raw(broker.address, records))
                fed = time.perf_counter()
                wait_until(
                    lambda: metric_sum(worker.web_port, "kompensasi_waiting_applicants") == tickets,
                    600, every_s=0.5,
                )  # fmt: skip
                feed_s = time.perf_counter() - fed
            finally:
                worker.stop()
            changelog = asyncio.run(topic_records(broker.address, CHANGELOG))
            restored = restart(broker.url, Path(tmp) / "empty", tickets, env)
    finally:
        broker.stop()
    return {"tickets": tickets, "events": len(events), "feed_s": round(feed_s, 1),
            "feed_events_per_s": round(len(events) / feed_s), "changelog_records": changelog,
            "empty_state_ready_s": round(empty_ready, 1), "restore": restored}  # fmt: skip


if __name__ == "__main__":
    print(orjson.dumps(bench_recovery(), option=orjson.OPT_INDENT_2).decode())


def recovery_rows(result: dict[str, Any]) -> list[tuple[str, str, str, bool]]:
    """The row of `make bench`'s table: a new worker restoring the state from the changelog alone."""
    r = result["restore"]
    text = f"ready {r['ready_s']} s, answers {r['answers_s']} s"
    return [(f"recovery {result['tickets'] // 1000}k, changelog", text, "< 30 s", r["answers_s"] < 30)]


def recovery_notes(result: dict[str, Any]) -> list[str]:
    return [
        f"recovery: {result['tickets']:,} open tickets fed in {result['feed_s']} s "
        f"({result['feed_events_per_s']:,} ev/s), changelog {result['changelog_records']:,} records, "
        f"a worker with no state ready in {result['empty_state_ready_s']} s"
    ]
