"""Live equals replay whatever the worker reads first: a day on the broker before any worker starts,
topics produced at different rates, and partition p of every input on one worker after each
rebalance. The restart and failover scenarios are in test_chaos.py."""

import asyncio
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
import pytest
from aiokafka import AIOKafkaProducer

from rules.clock import instant
from schemas.topics import INPUT_TOPICS, SYSTEM_STATUS, TICKETS
from streams.commands.broker import Broker
from streams.commands.feed import OutputReader, produce_raw, topic_for
from streams.commands.policies import load_policies
from streams.commands.supervise import WorkerProcess, wait_all_ready
from streams.reading import SIGNALS_TOPIC, log_time, read_event
from streams.worker.broadcasts import Broadcasts, watch
from streams.worker.topics import ensure_topics
from tests.builders import at, outage_start
from tests.kafka import (
    PARTITIONS,
    POLICY_DIR,
    assert_in_time,
    assert_same_as_replay,
    generated_day,
    new_worker,
    produce_day,
)

pytestmark = pytest.mark.broker


def test_a_day_on_the_broker_before_the_worker_starts(broker: Broker, tmp_path: Path) -> None:
    """(a) The whole backlog is there at once: the worker reads its partitions at whatever pace
    Faust fetches them, tickets far ahead of the sparse topics."""
    events = generated_day(seed=51)

    async def scenario() -> list[tuple[str, dict[str, Any]]]:
        await produce_day(broker.address, events, pause_s=0, chunk_s=86_400 * 3)
        worker = new_worker(broker.url, tmp_path, "w1").start()
        try:
            async with OutputReader(broker.address) as reader:
                await asyncio.to_thread(worker.wait_ready, 90)
                await reader.until_quiet(quiet_s=12, limit_s=120)
                return reader.records
        finally:
            worker.stop()

    got = asyncio.run(scenario())
    assert_same_as_replay(got, events)
    assert_in_time(got, [tmp_path / "w1.log"])


async def _produce_at_rates(bootstrap: str, events: list[dict[str, Any]], chunk_s: float) -> None:
    """Each `chunk_s` of event time (within the allowed lateness): its tickets as one large batch,
    then the other topics' events one by one with a pause between them."""
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, linger_ms=20)
    await producer.start()
    try:
        chunks: dict[int, list[dict[str, Any]]] = {}
        first = datetime.fromisoformat(events[0]["occurred_at"]).timestamp()
        for event in events:
            at = datetime.fromisoformat(event["occurred_at"]).timestamp()
            chunks.setdefault(int((at - first) // chunk_s), []).append(event)
        for _, chunk in sorted(chunks.items()):
            for event in (e for e in chunk if topic_for(e) == TICKETS):
                await producer.send(TICKETS, orjson.dumps(event), key=str(event["office_id"]).encode())
            await producer.flush()
            for event in (e for e in chunk if topic_for(e) != TICKETS):
                await producer.send_and_wait(
                    topic_for(event), orjson.dumps(event), key=str(event["office_id"]).encode()
                )
                await asyncio.sleep(0.01)
    finally:
        await producer.stop()


def test_topics_produced_at_different_rates_while_the_worker_runs(broker: Broker, tmp_path: Path) -> None:
    """(b) Tickets land in large batches, outages, reviews and claims trickle in after them."""
    events = generated_day(seed=53)
    worker = new_worker(broker.url, tmp_path, "w1").start()

    async def scenario() -> list[tuple[str, dict[str, Any]]]:
        async with OutputReader(broker.address) as reader:
            await _produce_at_rates(broker.address, events, chunk_s=60)
            await reader.until_quiet(quiet_s=12, limit_s=120)
            return reader.records

    try:
        worker.wait_ready(90)
        got = asyncio.run(scenario())
    finally:
        worker.stop()
    assert_same_as_replay(got, events)
    assert_in_time(got, [tmp_path / "w1.log"])


def _copartitioned(workers: list[WorkerProcess]) -> list[dict[str, list[int]]]:
    """Each worker's partitions of every input topic and of the signals topic, once all are settled."""
    wait_all_ready(workers, PARTITIONS, 120)
    return [w.status()["assignment"] for w in workers]  # type: ignore[index]


def test_partition_p_of_every_input_goes_to_one_worker_after_each_rebalance(
    broker: Broker, tmp_path: Path
) -> None:
    workers = [new_worker(broker.url, tmp_path, "w1").start(), new_worker(broker.url, tmp_path, "w2").start()]
    try:
        seen = [_copartitioned(workers)]
        workers.append(new_worker(broker.url, tmp_path, "w3").start())
        seen.append(_copartitioned(workers))
        workers.pop(0).stop()
        seen.append(_copartitioned(workers))
    finally:
        for w in workers:
            w.stop()
    for assignments in seen:
        assert sorted(p for a in assignments for p in a[TICKETS]) == list(range(PARTITIONS))
        for assignment in assignments:
            for topic in (*INPUT_TOPICS, SIGNALS_TOPIC):
                assert assignment[topic] == assignment[TICKETS], (topic, assignments)
    assert len(seen[1]) == 3 and all(a[TICKETS] for a in seen[1]), f"three workers share: {seen[1]}"


def test_every_worker_reads_the_status_topic_whole_for_its_star_events(broker: Broker) -> None:
    """The reader behind the `*` holds: it finds the topic, reads each partition to its end, keeps
    the `*` events only (and only valid ones), and says as of when it knows them."""
    nationwide = outage_start("N9", at("13:10"), office="*", event_id="n9")
    local = outage_start("L9", at("13:00"), event_id="l9")
    policies = {p.office_id: p for p in load_policies([POLICY_DIR])}
    broadcasts = Broadcasts()

    def wall() -> datetime:
        return datetime.now(UTC)

    async def scenario() -> None:
        await ensure_topics(broker.address, PARTITIONS, 1, {})
        await produce_raw(broker.address, [
            (SYSTEM_STATUS, b"*", orjson.dumps(nationwide)),
            (SYSTEM_STATUS, b"kanim-blitar", orjson.dumps(local)),
            (SYSTEM_STATUS, b"*", b"[1, 2, 3]"),
        ])  # fmt: skip
        started = time.time()
        reader = asyncio.ensure_future(
            watch(
                broker.address,
                {},
                broadcasts,
                lambda v, k, ts: read_event(v, policies, log_time(ts), wall(), key=k),
            )
        )
        try:
            await broadcasts.known_as_of(started + 0.5, timeout_s=20)
        finally:
            reader.cancel()
        assert broadcasts.as_of >= started + 0.5

    asyncio.run(scenario())
    assert broadcasts.events == {"n9": instant(at("13:10"))}
    assert len(broadcasts.partitions) == PARTITIONS
    assert all(p.caught_up() for p in broadcasts.partitions.values())
    assert sum(p.applied or 0 for p in broadcasts.partitions.values()) == 3
