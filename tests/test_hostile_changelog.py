"""Hostile records on the topics only the worker writes (the state table's changelog, Faust's leader
topic), and input records stamped with a log time past any date: a restart reads past them, counts
each it skips, and publishes what replay gives."""

import asyncio
from pathlib import Path

import orjson
import pytest
from aiokafka import AIOKafkaProducer

from streams.commands.broker import Broker
from streams.commands.feed import OutputReader, produce_paced, produce_raw, topic_for
from tests import bad_headers
from tests.kafka import (
    assert_same_as_replay,
    generated_day,
    hostile_state,
    journal_key,
    new_worker,
    until_replayed,
)

pytestmark = pytest.mark.broker

CHANGELOG = "kompensasi-office-state-changelog"
LEADER = "kompensasi-__assignor-__leader"
YEAR_10000_MS = 253_402_300_800_000  # a producer may stamp a record with any time


async def produce_stamped(bootstrap: str, events: list, timestamp_ms: int) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap)
    await producer.start()
    try:
        for event in events:
            await producer.send_and_wait(
                topic_for(event),
                orjson.dumps(event),
                key=event["office_id"].encode(),
                timestamp_ms=timestamp_ms,
            )
    finally:
        await producer.stop()


OFFICES = ("kanim-blitar", "kanim-singaraja")


def test_hostile_records_on_the_worker_topics_stop_no_restart(broker: Broker, tmp_path: Path) -> None:
    events = generated_day(seed=61)
    half = len(events) // 2
    worker = new_worker(broker.url, tmp_path, "w1").start()

    async def produce(part: list, last: bool = False) -> list:
        async with OutputReader(broker.address) as reader:
            await produce_paced(broker.address, part, chunk_s=600, pause_s=0.1)
            if last:  # the reader reads from the start: all of the day's records, the first half's too
                await until_replayed(reader, events)
            else:
                await reader.until_quiet(quiet_s=10, limit_s=120)
            return reader.records

    try:
        worker.wait_ready(90)
        first = asyncio.run(produce(events[:half]))
    finally:
        worker.stop()
    hostile, skipped = [], 0
    for office in OFFICES:
        records, counted = hostile_state(office)
        hostile += [(CHANGELOG, key, value) for key, value in records]
        skipped += counted
    hostile += [(LEADER, key, value) for key, value in hostile_state(OFFICES[0])[0]]
    asyncio.run(produce_raw(broker.address, hostile))
    # A header key that is not UTF-8 stopped aiokafka's reader, Faust's recovery's among them.
    headed = [(CHANGELOG, journal_key(office, 4900), b"[1]") for office in OFFICES]
    bad_headers.produce(broker.address, [*headed, (LEADER, b"x", b"[1]")])
    skipped += len(headed)
    # Copies of events read before (so duplicates: replay's records stay the same) on each input topic.
    copies = list({topic_for(e): e for e in reversed(events[:half])}.values())
    asyncio.run(produce_stamped(broker.address, copies, YEAR_10000_MS))
    worker = new_worker(broker.url, tmp_path, "w2").start()
    try:
        worker.wait_ready(90)
        second = asyncio.run(produce(events[half:], last=True))
        alive = worker.process is not None and worker.process.poll() is None
    finally:
        worker.stop()
    assert alive and len(copies) == 4
    assert_same_as_replay(first + second, events)
    log = (tmp_path / "w2.log").read_text(errors="replace")
    assert log.count('"unreadable_record"') == skipped
    assert "agent_failed" not in log and "Error in recovery" not in log
