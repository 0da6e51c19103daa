"""Faust's Kafka transport with the fetch wait of the settings (`KOMPENSASI_FETCH_WAIT_MS`).

Faust builds its consumer with `fetch_max_wait_ms=1500` and no setting to change it. The embedded
broker answers a fetch only when that wait runs out: at 100 events/s decisions were p50 391 ms late
with 1,500 ms and 12 ms with 20 ms. A short wait slowed restores of the old one-record-an-entry
changelog; one journal record per office per step leaves few to restore. Apache Kafka answers as
soon as it has records, so there the wait only paces empty fetches."""

import time
from typing import Any

from faust.transport.drivers import aiokafka as driver
from faust.types import TP


class ConsumerThread(driver.AIOKafkaConsumerThread):
    def _create_worker_consumer(self, transport: Any) -> Any:
        consumer = super()._create_worker_consumer(transport)
        # aiokafka reads this when it starts the consumer's fetcher; Faust offers no way to set it.
        consumer._fetch_max_wait_ms = transport.fetch_wait_ms
        return consumer


class Consumer(driver.Consumer):
    """Also tells, per partition, what it handed to the worker and where its fetcher stood then: the
    facts of event-time alignment (rules/alignment.py)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.handed: dict[tuple[str, int], int] = {}
        self.handed_at: dict[tuple[str, int], float] = {}  # wall seconds of the last batch handed over
        self.positions: dict[tuple[str, int], int] = {}

    def _new_consumer_thread(self) -> driver.AIOKafkaConsumerThread:
        return ConsumerThread(self, loop=self.loop, beacon=self.beacon)

    async def _getmany(self, active_partitions: set[TP] | None, timeout: float) -> Any:
        records = await super()._getmany(active_partitions, timeout)
        now = time.time()
        # The position is read here, with the batch, not later: read later it could count a batch
        # the fetcher's thread gave out but that this side has not yet seen.
        for tp, batch in records.items():
            # Counted even when Faust drops the batch (a partition it is not reading yet, during a
            # recovery): those records are on their way or lost, and must hold the clock either way.
            # Faust usually reads them again after its seek; when it does not (faust-streaming#596),
            # the position is past them and only `Desk.dropped` finds them.
            if batch:
                self.handed[(tp.topic, tp.partition)] = batch[-1].offset + 1
                self.handed_at[(tp.topic, tp.partition)] = now
        states = self._states()
        if states is not None:
            for tp, state in states.items():
                if state.has_valid_position:
                    self.positions[(tp.topic, tp.partition)] = state.position
        return records

    async def seek_wait(self, partitions: Any) -> None:
        """Also resets the read offsets, as Faust's `seek` does: its recovery seeks a changelog
        partition this worker keeps back to the start (a memory store), and would otherwise drop
        every record it reads again as one already read, and never end."""
        await super().seek_wait(partitions)
        for tp, offset in partitions.items():
            self._read_offset[tp] = offset if offset else None

    def _states(self) -> dict[Any, Any] | None:
        consumer = self._thread._consumer
        subscription = None if consumer is None else consumer._subscription.subscription
        assignment = None if subscription is None else subscription.assignment
        return None if assignment is None else assignment._tp_state

    def standing(self, topic: str, partition: int) -> tuple[int | None, int | None, int | None, float | None]:
        """(handed over, position, high-water mark, when last handed over) of a partition; None where
        not known yet.

        The mark is read from the fetcher's thread without a hop: a stale one only holds the clock."""
        key = (topic, partition)
        states = self._states()
        state = None if states is None else states.get(TP(topic, partition))
        highwater = None if state is None else state.highwater
        return self.handed.get(key), self.positions.get(key), highwater, self.handed_at.get(key)

    def forget_standing(self) -> None:
        """On a rebalance: partitions are read again from their committed offsets."""
        self.handed.clear()
        self.handed_at.clear()
        self.positions.clear()


class Transport(driver.Transport):
    Consumer = Consumer
    fetch_wait_ms = 20


def transport_for(app: Any, fetch_wait_ms: int) -> Transport:
    """The app's transport; set before anything (topics, agents) asks the app for one."""
    transport = Transport(app.conf.broker_consumer, app)
    transport.fetch_wait_ms = fetch_wait_ms
    return transport
