"""Live equals replay whatever the worker reads first: a day on the broker before any worker starts,
topics produced at different rates, and partition p of every input on one worker after each
rebalance. The restart and failover scenarios are in test_chaos.py."""

import asyncio
from datetime import datetime
from pathlib import Path
from typing import Any

import orjson
import pytest
from aiokafka import AIOKafkaProducer

from schemas.topics import INPUT_TOPICS, TICKETS
from streams.broker import Broker
from streams.desk import SIGNALS_TOPIC
from streams.feed import OutputReader, produce_paced, topic_for
from streams.supervise import WorkerProcess, wait_all_ready
from tests.kafka import PARTITIONS, assert_in_time, assert_same_as_replay, generated_day, new_worker

pytestmark = pytest.mark.broker


def test_a_day_on_the_broker_before_the_worker_starts(broker: Broker, tmp_path: Path) -> None:
    """(a) The whole backlog is there at once: the worker reads its partitions at whatever pace
    Faust fetches them, tickets far ahead of the sparse topics."""
    events = generated_day(seed=51)

    async def scenario() -> list[tuple[str, dict[str, Any]]]:
        await produce_paced(broker.address, events, chunk_s=86_400 * 3, pause_s=0)
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
