"""The read-model follower: every worker reads the published records (and the calls and outages) of
every partition, with no group, into the board, operations and public read models."""

import asyncio
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition

from streams import metrics
from streams.logs import log
from streams.reading import Reader
from streams.web.board import Views

FIRST_RETRY_S = 1.0
LAST_RETRY_S = 30.0
# How often the broker is asked for the topics' partitions (an operator may add some). The consumer
# itself reconnects silently; this is how a broker gone for good shows as a fault.
_CHECK_S = 10.0
_CHECK_TIMEOUT_S = 15.0


class Follower:
    """Restarts its consumer with capped exponential backoff on any fault that is not about one record
    (broker gone, authorisation, a bug), resuming where it was; never stops the worker."""

    def __init__(
        self, bootstrap: str, topics: list[str], views: Views, on_change: Callable[[str], None],
        client_options: dict[str, Any],
    ) -> None:  # fmt: skip
        self.bootstrap = bootstrap
        self.topics = topics
        self.views = views
        self.on_change = on_change
        self.client_options = client_options
        self.reader = Reader(views.offices)
        self.positions: dict[TopicPartition, int] = {}
        self.following = False
        self.failures = 0
        self.last_error: str | None = None
        self.sleep = asyncio.sleep  # the wait between tries; a test replaces it

    def status(self) -> dict[str, Any]:
        """For /ready: whether the read models are being kept, and the faults since the start."""
        return {"following": self.following, "failures": self.failures, "last_error": self.last_error}

    async def run(self) -> None:
        delay = FIRST_RETRY_S
        while True:
            try:
                await self._follow()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # whatever it is, the board must come back
                if self.following:  # it had recovered: this is a new fault, tried again soon
                    delay = FIRST_RETRY_S
                self.following = False
                self.failures += 1
                self.last_error = type(exc).__name__
                metrics.READ_MODELS_FOLLOWING.set(0)
                metrics.BACKGROUND_FAILURES.labels("follower").inc()
                # The type only: a message may quote a record.
                log.warning("follower_failed", error=self.last_error, retry_in_s=delay)
                await self.sleep(delay)
                delay = min(delay * 2, LAST_RETRY_S)

    async def _follow(self) -> None:
        consumer = AIOKafkaConsumer(
            bootstrap_servers=self.bootstrap, auto_offset_reset="earliest", enable_auto_commit=False,
            metadata_max_age_ms=5000, **self.client_options,
        )  # fmt: skip
        try:
            await consumer.start()
            await self._assign(consumer)
            checked_at = time.monotonic()
            while True:
                batch = await consumer.getmany(timeout_ms=500)
                self.following = True
                metrics.READ_MODELS_FOLLOWING.set(1)
                self._apply(batch)
                if time.monotonic() - checked_at > _CHECK_S:
                    await self._assign(consumer)
                    checked_at = time.monotonic()
        finally:
            await consumer.stop()

    async def _assign(self, consumer: AIOKafkaConsumer) -> None:
        """Every partition of the topics, each from where this follower left it (or the beginning)."""
        async with asyncio.timeout(_CHECK_TIMEOUT_S):
            await consumer.topics()
        wanted = {TopicPartition(t, p) for t in self.topics for p in consumer.partitions_for_topic(t) or ()}
        if wanted == consumer.assignment():
            return
        consumer.assign(sorted(wanted))
        for tp in wanted:
            if tp in self.positions:
                consumer.seek(tp, self.positions[tp])

    def _apply(self, batch: dict[TopicPartition, list[Any]]) -> None:
        changed: set[str] = set()
        now = datetime.now(UTC)
        for tp, messages in batch.items():
            for m in messages:
                # Moved on before applying: a record the views fail on is not met again after a restart.
                self.positions[tp] = m.offset + 1
                item = self.reader.read(
                    tp.topic, tp.partition, m.offset, m.value, m.timestamp, now, key=m.key
                )
                if item is not None:
                    office = self.views.apply(tp.topic, item)
                    if office is not None:
                        changed.add(office)
        for office_id in changed:
            self.on_change(office_id)
