"""Which `*` events exist on `ops.system-status`, read by every worker: an office's clock waits for
the copy of each (sent by whichever worker owns the partition the event came on) before passing it."""

import asyncio
import math
import time
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition

from rules.alignment import Partition
from rules.clock import Instant, instant
from rules.intake import Rejection
from rules.office import DUPLICATE_WINDOW, Office
from schemas.events import ALL_OFFICES, Event
from schemas.topics import SYSTEM_STATUS
from streams import metrics
from streams.logs import log

# Beside the agent's own view of its partitions of the same topic: this reader reads every partition.
SOURCE = f"{SYSTEM_STATUS}/*"
_BACKOFF_S = (0.5, 1.0, 2.0, 5.0, 10.0)
# The agent waits for this reader to have fetched after its own fetch: keep its fetches short. On the
# embedded broker an empty fetch lasts its whole wait; on Kafka too, when nothing new comes.
_FETCH_WAIT_MS = 5
_POLL_MS = 10
# How often a waiting agent looks at the reader's last fetch again: it needs no turn of the reader's loop.
_PROBE_S = 0.001


class Broadcasts:
    """The `*` events seen so far (event id -> event time), how far each partition was read, and the
    wall time of the oldest of their last fetches (`as_of`): what is known is known as of then."""

    def __init__(self, monotonic: Callable[[], float] = time.monotonic, as_of: float = -math.inf) -> None:
        self.monotonic = monotonic
        self.partitions: dict[tuple[str, int], Partition] = {}
        self.events: dict[str, Instant] = {}
        self.as_of = as_of
        # Set by the reader: `known_after` of its consumer's last fetches.
        self.probe: Callable[[], float | None] = lambda: None

    @classmethod
    def none(cls) -> "Broadcasts":
        """No `*` event will come (a desk fed without a watcher)."""
        return cls(as_of=math.inf)

    def restart(self, partitions: Iterable[int]) -> None:
        """A fresh read from the start: until it catches up, every partition holds every clock."""
        now = self.monotonic()
        self.partitions = {(SOURCE, p): Partition(since=now) for p in partitions}
        self.as_of = -math.inf
        self.probe = lambda: None

    def refresh(self) -> float:
        """`as_of` moved to the reader's last fetch, if everything it brought is read."""
        live = self.probe()
        if live is not None and live > self.as_of:
            self.as_of = live
        return self.as_of

    async def known_as_of(self, at: float, timeout_s: float) -> None:
        """Waits (at most `timeout_s`) until the `*` events are known as of wall time `at`; it looks
        at the reader's fetches directly, so it waits for the next fetch, not for the reader's loop."""
        deadline = time.monotonic() + timeout_s
        while self.refresh() < at and time.monotonic() < deadline:
            await asyncio.sleep(_PROBE_S)

    def known_after(self, fetches: Mapping[int, tuple[int | None, int | None]]) -> float | None:
        """As of when the `*` events are known, from each partition's last fetch (its wall time in ms
        and high-water mark): None while a fetch brought records not read yet, or none came yet."""
        times = []
        for partition, (at_ms, highwater) in fetches.items():
            read = self.partitions[(SOURCE, partition)]
            if not at_ms or highwater is None or max(read.applied or 0, read.position or 0) < highwater:
                return None
            times.append(at_ms / 1000)
        return min(times, default=None)

    def read(self, partition: int, offset: int, event: Event | Rejection) -> None:
        progress = self.partitions[(SOURCE, partition)]
        if isinstance(event, Rejection):  # a dead letter for the agent: no time, no copy
            progress.apply(offset, None, self.monotonic())
            return
        at = instant(event.occurred_at)
        progress.apply(offset, at, self.monotonic())
        if event.office_id == ALL_OFFICES:
            self.events[event.event_id] = at

    def stand(self, partition: int, position: int | None, highwater: int | None) -> None:
        state = self.partitions[(SOURCE, partition)]
        state.position, state.highwater = position, highwater

    def forget_before(self, at: Instant) -> None:
        """Past the duplicate window an event's copy would be late in every office anyway."""
        for event_id in [k for k, v in self.events.items() if v < at - DUPLICATE_WINDOW]:
            del self.events[event_id]

    def pending(self, office: Office) -> list[Instant]:
        """Times of the `*` events this office has not received yet and that its clock has not passed."""
        now, seen = office.clock.now, office.seen
        return [
            at for event_id, at in self.events.items() if (now is None or at > now) and event_id not in seen
        ]


async def watch(
    bootstrap: str,
    client_options: dict[str, Any],
    broadcasts: Broadcasts,
    admit: Callable[[bytes | None, bytes | None, int | None], Event | Rejection],
) -> None:
    """Reads every partition of the status topic from the start, for ever; a broker fault restarts
    the read after a pause (the clocks stay held meanwhile)."""
    failures = 0
    while True:
        consumer = AIOKafkaConsumer(
            bootstrap_servers=bootstrap, enable_auto_commit=False, auto_offset_reset="earliest",
            metadata_max_age_ms=5000, fetch_max_wait_ms=_FETCH_WAIT_MS, **client_options,
        )  # fmt: skip
        try:
            await consumer.start()
            await _read(consumer, broadcasts, admit)
        except Exception as exc:  # a broker fault, or a bug of ours: neither may stop the worker
            metrics.BROADCAST_READ_FAILURES.inc()
            log.warning("broadcasts_read_failed", error=type(exc).__name__)
            await asyncio.sleep(_BACKOFF_S[min(failures, len(_BACKOFF_S) - 1)])
            failures += 1
        finally:
            broadcasts.probe = lambda: None  # a stopped reader's last fetch says nothing of now
            await consumer.stop()


async def _read(
    consumer: AIOKafkaConsumer,
    broadcasts: Broadcasts,
    admit: Callable[[bytes | None, bytes | None, int | None], Event | Rejection],
) -> None:
    # A consumer without a subscription keeps no metadata of its own: ask for every topic's.
    while SYSTEM_STATUS not in await consumer.topics():
        await asyncio.sleep(0.5)
    known = consumer.partitions_for_topic(SYSTEM_STATUS) or set()
    tps = [TopicPartition(SYSTEM_STATUS, p) for p in sorted(known)]
    consumer.assign(tps)
    await consumer.seek_to_beginning(*tps)
    broadcasts.restart(sorted(known))
    broadcasts.probe = lambda: broadcasts.known_after(
        {tp.partition: (consumer.last_poll_timestamp(tp), consumer.highwater(tp)) for tp in tps}
    )
    while True:
        batch = await consumer.getmany(*tps, timeout_ms=_POLL_MS)
        latest: Instant = 0
        for tp, messages in batch.items():
            for message in messages:
                event = admit(message.value, message.key, message.timestamp)
                broadcasts.read(tp.partition, message.offset, event)
                if not isinstance(event, Rejection):
                    latest = max(latest, instant(event.occurred_at))
        for tp in tps:
            broadcasts.stand(tp.partition, await consumer.position(tp), consumer.highwater(tp))
        broadcasts.refresh()
        if latest:
            broadcasts.forget_before(latest)
