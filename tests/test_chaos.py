"""Chaos: workers killed with SIGKILL at random moments while an office day streams through the broker."""

import asyncio
import random
import signal
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from streams.broker import Broker
from streams.feed import OutputReader, produce_paced
from streams.supervise import WorkerProcess, wait_all_ready
from tests.kafka import POLICY_DIR, as_set, generated_day, replayed

pytestmark = pytest.mark.broker
PARTITIONS = 4


def _worker(broker: Broker, tmp_path: Path, name: str) -> WorkerProcess:
    return WorkerProcess(
        broker.url, tmp_path / name, [POLICY_DIR], partitions=PARTITIONS, log_path=tmp_path / f"{name}.log"
    )


async def _stream(broker: Broker, events: list, between: Any) -> list[tuple[str, dict[str, Any]]]:
    async with OutputReader(broker.address) as reader:
        await produce_paced(broker.address, events, chunk_s=600, pause_s=0.15, on_chunk=between)
        await reader.until_quiet(quiet_s=12, limit_s=180)
        return reader.records


def _assert_same_as_replay(got: list[tuple[str, dict[str, Any]]], events: list) -> None:
    """Duplicates with the same ids are allowed; nothing missing, nothing extra, nothing conflicting."""
    want = as_set(replayed(events))
    got_set = as_set(got)
    missing = Counter(want) - Counter(set(got_set))
    extra = set(got_set) - set(want)
    assert not missing and not extra, f"missing {list(missing)[:3]}, unexpected {list(extra)[:3]}"
    primary: dict[str, str] = {}
    numbers: dict[tuple[str, str, str], str] = {}
    for topic, v in got:
        if topic == "compensation.decisions" and v["outcome"] != "revoked":
            assert primary.setdefault(v["ticket_id"], v["decision_id"]) == v["decision_id"], "two decisions"
        if topic == "queue.priority-tickets" and v["type"] == "priority_ticket_assigned":
            key = (v["office_id"], v["service_day"], v["priority_no"])
            assert numbers.setdefault(key, v["ticket_id"]) == v["ticket_id"], "a priority number given twice"


def test_a_worker_killed_again_and_again_loses_nothing(broker: Broker, tmp_path: Path) -> None:
    events = generated_day(seed=41)
    chance = random.Random(41)
    kill_at = sorted(chance.sample(range(4, 50), 3))  # chunks of ten event-minutes
    worker = _worker(broker, tmp_path, "w1").start()
    chunks = {"seen": 0, "killed": 0}

    async def kill_and_restart(at: object) -> None:
        nonlocal worker
        chunks["seen"] += 1
        if chunks["seen"] not in kill_at:
            return
        await asyncio.sleep(chance.uniform(0, 0.3))
        worker.stop(signal.SIGKILL)
        chunks["killed"] += 1
        worker = _worker(broker, tmp_path, "w1").start()  # comes back while the backlog grows

    try:
        worker.wait_ready(90)
        got = asyncio.run(_stream(broker, events, kill_and_restart))
    finally:
        worker.stop()
    assert chunks["killed"] == 3
    _assert_same_as_replay(got, events)
    assert "agent_failed" not in (tmp_path / "w1.log").read_text(errors="replace")


def test_partitions_of_a_worker_killed_for_good_move_to_the_other(broker: Broker, tmp_path: Path) -> None:
    events = generated_day(seed=43)
    workers = [_worker(broker, tmp_path, f"w{i}").start() for i in (1, 2)]
    chunks = {"seen": 0}
    owned: list[Any] = []

    async def kill_one_for_good(at: object) -> None:
        chunks["seen"] += 1
        if chunks["seen"] == 20:
            owned.extend(w.status()["partitions"] for w in workers)  # type: ignore[index]
            workers[0].stop(signal.SIGKILL)
            # Ten event-minutes pass in 0.15 s here: without this wait the takeover would last hours of
            # event time, beyond the allowed lateness for a `*` event fanned out from a moved partition.
            await asyncio.to_thread(wait_all_ready, workers[1:], PARTITIONS, 60)

    try:
        wait_all_ready(workers, PARTITIONS, 120)
        got = asyncio.run(_stream(broker, events, kill_one_for_good))
        survivor = workers[1].status()
    finally:
        for w in workers:
            w.stop()
    assert all(owned), f"both workers owned partitions before the kill: {owned}"
    assert survivor is not None and survivor["partitions"] == list(range(PARTITIONS))
    _assert_same_as_replay(got, events)
    for name in ("w1", "w2"):
        assert "agent_failed" not in (tmp_path / f"{name}.log").read_text(errors="replace")
