"""Chaos: workers killed with SIGKILL at random moments while an office day streams through the broker."""

import asyncio
import random
import signal
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from streams.commands.broker import Broker
from streams.commands.feed import OutputReader, produce_raw
from streams.commands.supervise import wait_all_ready
from tests.kafka import (
    PARTITIONS,
    assert_in_time,
    assert_same_as_replay,
    generated_day,
    new_worker,
    produce_day,
    seeded,
)

pytestmark = pytest.mark.broker
# One bad record on each input topic, in the backlog: dead letters, never a stop.
BAD_RECORDS = [
    ("queue.tickets", b"kanim-blitar", b"{not json"),
    ("ops.system-status", None, b"\xff\xfe"),
    ("applications.reviews", b"kanim-singaraja", b"[1]"),
    ("claims.requests", b"kanim-blitar", b""),
]


async def _stream(
    broker: Broker, events: list, between: Any, settle: Callable[[], object], ready: Callable[[], bool]
) -> list[tuple[str, dict[str, Any]]]:
    """The day produced in compressed time, then the outputs read until quiet while the workers are
    settled. A takeover holds every clock waiting for a `*` event on the dead worker's partition, and
    a worker that meets an offset gap restarts itself in place (faust-streaming#596, README): on a
    loaded machine either silence outlasted the quiet window, so quiet only counts once `settle`
    returned and `ready` still holds after it."""
    async with OutputReader(broker.address) as reader:
        await produce_day(broker.address, events, on_chunk=between)
        for _ in range(3):
            await asyncio.to_thread(settle)
            await reader.until_quiet(quiet_s=12, limit_s=180)
            if ready():
                break
        return reader.records


def test_a_worker_killed_again_and_again_loses_nothing(broker: Broker, tmp_path: Path) -> None:
    events = generated_day(seed=41)
    chance = random.Random(seeded(41))
    kill_at = sorted(chance.sample(range(4, 50), 3))  # chunks of ten event-minutes
    worker = new_worker(broker.url, tmp_path, "w1").start()
    chunks = {"seen": 0, "killed": 0}

    async def kill_and_restart(at: object) -> None:
        nonlocal worker
        chunks["seen"] += 1
        if chunks["seen"] not in kill_at:
            return
        await asyncio.sleep(chance.uniform(0, 0.3))
        worker.stop(signal.SIGKILL)
        chunks["killed"] += 1
        worker = new_worker(broker.url, tmp_path, "w1").start()  # comes back while the backlog grows

    try:
        worker.wait_ready(90)
        got = asyncio.run(
            _stream(broker, events, kill_and_restart, lambda: worker.wait_ready(90),
                    lambda: bool((worker.status() or {}).get("ready")))
        )  # fmt: skip
    finally:
        worker.stop()
    assert chunks["killed"] == 3
    assert_same_as_replay(got, events)
    assert_in_time(got, [tmp_path / "w1.log"])
    assert "agent_failed" not in (tmp_path / "w1.log").read_text(errors="replace")


def test_partitions_of_a_worker_killed_for_good_move_to_the_other(broker: Broker, tmp_path: Path) -> None:
    events = generated_day(seed=43)
    workers = [new_worker(broker.url, tmp_path, f"w{i}").start() for i in (1, 2)]
    chunks = {"seen": 0}
    owned: list[Any] = []

    async def kill_one_for_good(at: object) -> None:
        chunks["seen"] += 1
        if chunks["seen"] == 20:
            owned.extend(w.status()["partitions"] for w in workers)  # type: ignore[index]
            workers[0].stop(signal.SIGKILL)  # the day goes on while the survivor takes over

    try:
        wait_all_ready(workers, PARTITIONS, 120)
        got = asyncio.run(
            _stream(broker, events, kill_one_for_good, lambda: wait_all_ready(workers[1:], PARTITIONS, 90),
                    lambda: bool((workers[1].status() or {}).get("ready")))
        )  # fmt: skip
        survivor = workers[1].status()
    finally:
        for w in workers:
            w.stop()
    assert all(owned), f"both workers owned partitions before the kill: {owned}"
    assert survivor is not None and survivor["partitions"] == list(range(PARTITIONS))
    assert_same_as_replay(got, events)
    assert_in_time(got, [tmp_path / "w1.log", tmp_path / "w2.log"])
    for name in ("w1", "w2"):
        assert "agent_failed" not in (tmp_path / f"{name}.log").read_text(errors="replace")


def test_a_backlog_then_a_live_stream_through_a_kill_and_a_third_worker(
    broker: Broker, tmp_path: Path
) -> None:
    """Half a larger day waits on the broker (with bad records) before any worker starts; the rest
    streams while two workers drain it, one is killed and comes back, and a third joins."""
    events = generated_day(applicants=300, seed=47)
    half = len(events) // 2
    chance = random.Random(seeded(47))
    kill_at = chance.randint(3, 15)  # chunks of ten event-minutes into the second half
    workers: list[Any] = []
    chunks = {"seen": 0}

    async def kill_then_join(at: object) -> None:
        chunks["seen"] += 1
        if chunks["seen"] == kill_at:
            workers[0].stop(signal.SIGKILL)
            workers[0] = new_worker(broker.url, tmp_path, "w1").start()
        elif chunks["seen"] == kill_at + 8:
            workers.append(new_worker(broker.url, tmp_path, "w3").start())

    async def run() -> list[tuple[str, dict[str, Any]]]:
        async with OutputReader(broker.address) as reader:
            await produce_day(broker.address, events[:half], pause_s=0, chunk_s=86_400 * 3)
            await produce_raw(broker.address, BAD_RECORDS)
            workers.extend(new_worker(broker.url, tmp_path, f"w{i}").start() for i in (1, 2))
            await produce_day(broker.address, events[half:], on_chunk=kill_then_join)
            for _ in range(3):
                await asyncio.to_thread(wait_all_ready, workers, PARTITIONS, 150)
                await reader.until_quiet(quiet_s=12, limit_s=180)
                if all((w.status() or {}).get("ready") for w in workers):
                    break
            return reader.records

    try:
        got = asyncio.run(run())
    finally:
        for w in workers:
            w.stop()
    assert len(workers) == 3 and chunks["seen"] > kill_at + 8
    assert_same_as_replay(got, events)
    logs = [tmp_path / f"w{i}.log" for i in (1, 2, 3)]
    assert_in_time(got, logs)
    for log in logs:
        assert "agent_failed" not in log.read_text(errors="replace")
    letters = {v["source_topic"]: v["error_code"] for t, v in got if t == "queue.dead-letters"}
    assert letters == {
        "queue.tickets": "invalid_json",
        "ops.system-status": "invalid_json",
        "applications.reviews": "invalid_event",
        "claims.requests": "invalid_json",
    }
