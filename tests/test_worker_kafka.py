"""The Kafka worker on the embedded broker publishes exactly the records replay computes."""

import asyncio
import json
import signal
from pathlib import Path

import pytest

from streams.commands.broker import Broker
from streams.commands.feed import OutputReader, produce_raw
from streams.commands.supervise import wait_all_ready
from tests.kafka import (
    PARTITIONS,
    as_set,
    assert_in_time,
    assert_same_as_replay,
    generated_day,
    new_worker,
    produce_day,
    replayed,
)

pytestmark = pytest.mark.broker


async def _run_day(broker: Broker, events: list, bad: list[tuple[str, bytes | None, bytes]], want: int,
                   between=None) -> list:  # fmt: skip
    async with OutputReader(broker.address) as reader:
        await produce_raw(broker.address, bad)
        await produce_day(broker.address, events, on_chunk=between)
        # Every record replay gives, however long a restart after a dropped fetch keeps the worker
        # quiet (a group join of 10-15 s: README, "Guarantees"), then anything more: an extra record
        # or a contradiction that follows still comes within 10 s.
        await reader.until_quiet(quiet_s=60, limit_s=120, want=want)
        await reader.until_quiet(quiet_s=10, limit_s=60)
        return reader.records


UNKNOWN_OFFICE = (
    b'{"event_id":"x","type":"service_called","office_id":"kanim-atlantis",'
    b'"occurred_at":"2026-03-02T08:00:00+07:00","ticket_id":"T","counter":"C"}'
)
BAD = [
    ("queue.tickets", b"kanim-blitar", b"{not json"),
    ("claims.requests", b"kanim-blitar", b"[1, 2]"),
    ("queue.tickets", b"kanim-atlantis", UNKNOWN_OFFICE),
]


def _table(lines: list[str], title: str) -> dict[int, int]:
    """A Faust recovery table from its log: partition -> offset."""
    at = max(i for i, line in enumerate(lines) if title in line)
    rows: dict[int, int] = {}
    for line in lines[at + 4 :]:
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) != 3 or not cells[1].isdigit():
            break
        rows[int(cells[1])] = int(cells[2])
    return rows


def _last_recovery(log: Path) -> tuple[dict[int, int], dict[int, int]]:
    """Where the last start began reading each changelog partition, and the partition's end."""
    # Each record is one JSON line; Faust's tables are in the text of its records.
    lines = [
        part for line in log.read_text().splitlines() for part in str(json.loads(line)["event"]).splitlines()
    ]
    return _table(lines, "active offsets at start of reading"), _table(
        lines, "Highwater for active changelog"
    )


def _dead_letter_codes(records: list) -> list[str]:
    return sorted(v["error_code"] for t, v in records if t == "queue.dead-letters")


def test_one_worker_publishes_what_replay_computes(broker: Broker, tmp_path: Path) -> None:
    events = generated_day()
    want = as_set(replayed(events))
    worker = new_worker(broker.url, tmp_path, "w1").start()
    try:
        worker.wait_ready(90)
        got = asyncio.run(_run_day(broker, events, BAD, sum(want.values())))
    finally:
        worker.stop()
    assert set(as_set(got)) == set(want)
    assert _dead_letter_codes(got) == ["invalid_event", "invalid_json", "unknown_office"]
    assert sum(1 for t, v in got if t == "compensation.decisions" and v["outcome"] == "eligible") > 0


def test_two_workers_in_one_group_publish_the_same_records(broker: Broker, tmp_path: Path) -> None:
    events = generated_day(seed=11)
    want = as_set(replayed(events))
    workers = [new_worker(broker.url, tmp_path, f"w{i}").start() for i in (1, 2)]
    try:
        wait_all_ready(workers, PARTITIONS, 120)
        got = asyncio.run(_run_day(broker, events, [], sum(want.values())))
        owned = [w.status()["partitions"] for w in workers]  # type: ignore[index]
    finally:
        for w in workers:
            w.stop()
    assert all(owned), f"both workers should own partitions: {owned}"
    assert set(as_set(got)) == set(want)
    assert_same_as_replay(got, events)
    assert_in_time(got, [tmp_path / "w1.log", tmp_path / "w2.log"])


# A worker stopped with SIGTERM; tests/test_chaos.py kills workers with SIGKILL.
def test_a_restarted_worker_loses_nothing_and_contradicts_nothing(broker: Broker, tmp_path: Path) -> None:
    sig = signal.SIGTERM
    events = generated_day(seed=23)
    want = as_set(replayed(events))
    worker = new_worker(broker.url, tmp_path, "w1").start()
    restarted = {"done": False}

    async def stop_and_restart_midway(at: object) -> None:
        nonlocal worker
        if restarted["done"] or str(at) < "2026-03-02 12:00":
            return
        restarted["done"] = True
        worker.stop(sig)
        worker = new_worker(broker.url, tmp_path, "w1").start()
        await asyncio.to_thread(worker.wait_ready, 90)

    try:
        worker.wait_ready(90)
        got = asyncio.run(_run_day(broker, events, [], sum(want.values()), between=stop_and_restart_midway))
    finally:
        worker.stop()
    assert restarted["done"]
    starts, highwaters = _last_recovery(tmp_path / "w1.log")
    assert any(h > 0 for h in highwaters.values()), "the changelog holds the state"
    assert set(starts) == set(highwaters) and set(starts.values()) == {-1}, (
        "the restarted worker did not restore its state from the start of the changelog"
    )
    assert_same_as_replay(got, events)
    assert_in_time(got, [tmp_path / "w1.log"])


def test_a_broker_paused_for_thirty_seconds_loses_nothing(broker: Broker, tmp_path: Path) -> None:
    events = generated_day(seed=31)
    want = as_set(replayed(events))
    worker = new_worker(broker.url, tmp_path, "w1").start()
    paused = {"done": False}

    async def pause_midway(at: object) -> None:
        if paused["done"] or str(at) < "2026-03-02 11:00":
            return
        paused["done"] = True
        broker.pause()  # SIGSTOP: connections stay open, nothing answers
        try:
            await asyncio.sleep(30)
        finally:
            broker.resume()

    try:
        worker.wait_ready(90)
        got = asyncio.run(_run_day(broker, events, [], sum(want.values()), between=pause_midway))
        assert worker.process is not None and worker.process.poll() is None, "the worker kept running"
    finally:
        worker.stop()
    assert paused["done"]
    assert set(as_set(got)) == set(want)
