"""Feeds events into the input topics and reads the output topics: for the demo, tests and benchmarks."""

import asyncio
import time
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime
from typing import Any

import orjson
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from schemas.topics import OFFICE_STATUS, OUTPUT_TOPICS, TICKETS, TOPIC_OF_TYPE
from streams.reading import Reader

Event = dict[str, Any]


def topic_for(event: Event) -> str:
    return TOPIC_OF_TYPE.get(str(event.get("type")), TICKETS)


async def produce_paced(
    bootstrap: str,
    events: Sequence[Event],
    chunk_s: float = 600.0,
    pause_s: float = 0.1,
    on_chunk: Callable[[datetime], Awaitable[None]] | None = None,
    in_arrival_order: bool = False,
) -> None:
    """Sends events in order of occurred_at (or as given, `in_arrival_order`), `chunk_s` of event time
    at a time, pausing between chunks: a day in compressed time within the allowed lateness across topics."""
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, linger_ms=5)
    await producer.start()
    try:
        ordered = (
            list(events)
            if in_arrival_order
            else sorted(events, key=lambda e: datetime.fromisoformat(e["occurred_at"]).timestamp())
        )
        first = min((datetime.fromisoformat(e["occurred_at"]).timestamp() for e in ordered), default=0.0)
        chunk = 0
        for event in ordered:
            at = datetime.fromisoformat(event["occurred_at"])
            if (at.timestamp() - first) // chunk_s > chunk:
                chunk = int((at.timestamp() - first) // chunk_s)
                await producer.flush()
                if on_chunk is not None:
                    await on_chunk(at)
                await asyncio.sleep(pause_s)
            await producer.send(topic_for(event), orjson.dumps(event), key=str(event["office_id"]).encode())
        await producer.flush()
    finally:
        await producer.stop()


async def produce_raw(bootstrap: str, records: Sequence[tuple[str, bytes | None, bytes]]) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, linger_ms=5)
    await producer.start()
    try:
        for topic, key, value in records:
            await producer.send(topic, value, key=key)
        await producer.flush()
    finally:
        await producer.stop()


# Office status comes every few seconds whatever happens: waiting for quiet must not count it.
DECIDED_TOPICS = tuple(t for t in OUTPUT_TOPICS if t != OFFICE_STATUS)


class OutputReader:
    """Reads the output topics from the beginning, without a consumer group."""

    def __init__(self, bootstrap: str, topics: Sequence[str] = DECIDED_TOPICS) -> None:
        self.consumer = AIOKafkaConsumer(
            *topics, bootstrap_servers=bootstrap, auto_offset_reset="earliest", enable_auto_commit=False
        )
        self.records: list[tuple[str, dict[str, Any]]] = []
        self.reader = Reader(())

    async def __aenter__(self) -> "OutputReader":
        await self.consumer.start()
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.consumer.stop()

    async def poll(self, timeout_s: float = 0.5) -> list[tuple[str, dict[str, Any]]]:
        """The new records; one that does not decode (anyone may write the topics) is skipped."""
        batch = await self.consumer.getmany(timeout_ms=int(timeout_s * 1000))
        new = []
        for tp, messages in batch.items():
            for m in messages:
                record = self.reader.record(tp.topic, tp.partition, m.offset, m.value)
                if record is not None:
                    new.append((tp.topic, record.model_dump(mode="json")))
        self.records += new
        return new

    async def until_quiet(self, quiet_s: float, limit_s: float, want: int | None = None) -> None:
        """Reads until nothing new came for `quiet_s` (or `want` records arrived), at most `limit_s`."""
        start = last = time.monotonic()
        while time.monotonic() - start < limit_s:
            if await self.poll(0.3):
                last = time.monotonic()
            if want is not None and len(self.records) >= want:
                return
            if time.monotonic() - last > quiet_s:
                return
