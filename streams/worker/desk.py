"""One worker's handling of a Kafka record: decode, hand to the core, return what to publish."""

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime

import orjson

from rules.alignment import Partition, align
from rules.clock import Instant, instant
from rules.intake import Rejection
from rules.office import Office
from rules.policy import Policy
from rules.status import office_status
from schemas.events import ALL_OFFICES, Event
from schemas.records import Record
from schemas.topics import INPUT_TOPICS
from streams import metrics
from streams.codec import dead_letter
from streams.logs import log
from streams.reading import Signal, read_event
from streams.worker.broadcasts import Broadcasts
from streams.worker.state import OfficeStates


@dataclass
class Handled:
    records: list[Record] = field(default_factory=list)
    # (office_id, value) to send on the signals topic, keyed by office so it reaches its partition
    signals: list[tuple[str, bytes]] = field(default_factory=list)
    late: bool = False
    office_id: str | None = None  # the office whose clock had passed a late event
    # offices whose state changed: saved only once `records` are on the broker (see Desk.save)
    changed: list[Office] = field(default_factory=list)

    def add(self, other: "Handled") -> None:
        """Takes in what a later record of the same step did."""
        self.records += other.records
        self.signals += other.signals
        self.late = self.late or other.late
        self.changed += [o for o in other.changed if all(o is not c for c in self.changed)]


# (handed over, position, high-water mark, when last handed over) of an input partition: what its
# consumer knows of it.
Stand = tuple[int | None, int | None, int | None, float | None]
Standing = Callable[[str, int], Stand]


def _caught_up_and_empty(topic: str, partition: int) -> Stand:
    return None, 0, 0, None


class Desk:
    """Also aligns event time across the input partitions of an office (rules/alignment.py): its clock
    waits for every partition that may still deliver an earlier event, and for the copies of the `*`
    events other workers fan out to it."""

    def __init__(
        self,
        policies: list[Policy],
        states: OfficeStates,
        wall: Callable[[], datetime],
        max_idle_s: float = 3.0,
        status_interval_s: float = 10.0,
        standing: Standing = _caught_up_and_empty,
        broadcasts: Broadcasts | None = None,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.policies = {p.office_id: p for p in policies}
        self.states = states
        self.wall = wall
        self.max_idle_s = max_idle_s
        self.status_interval_s = status_interval_s
        self.standing = standing
        self.broadcasts = broadcasts if broadcasts is not None else Broadcasts.none()
        self.monotonic = monotonic
        self.status_at: dict[str, float] = {}
        self.last_event_at: dict[str, float] = {}
        self.inputs: dict[tuple[str, int], Partition] = {}
        self.partition_of: dict[str, int] = {}
        self.overtaken: dict[tuple[str, object], float] = {}
        # when records began to flow after the last assignment; None while partitions move
        self.assigned_at: float | None = monotonic()

    def on_rebalance(self) -> None:
        """Partitions move: rebuild offices from the table, and hold every clock until records flow."""
        self.states.forget()
        self.inputs.clear()
        self.overtaken.clear()
        self.assigned_at = None

    def on_resume(self) -> None:
        """Tables are recovered and records flow again: each partition now holds until caught up."""
        self.assigned_at = self.monotonic()

    def save(self, handled: Handled) -> list[tuple[int, bytes, bytes | None]]:
        """Writes the changed state, after the records are acknowledged: a worker killed in between
        reads the event again (its offset is not committed yet) and publishes the records again,
        whereas state saved first would drop the event as a duplicate and lose its records.
        Returns the changelog writes as (partition, key, value): each office's on its partition."""
        writes = []
        for office in handled.changed:
            partition = self.partition_of[office.policy.office_id]
            writes += [(partition, key, value) for key, value in self.states.save(office)]
        return writes

    def on_input(
        self, topic: str, partition: int, offset: int, value: bytes | None,
        written_at: datetime | None = None, *, key: bytes | None,
    ) -> Handled:  # fmt: skip
        event = read_event(value, self.policies, written_at, self.wall(), key=key)
        progress = self._input(topic, partition)
        if isinstance(event, Rejection):
            progress.apply(offset, None, self.monotonic())
            return Handled([dead_letter(event, value or b"", topic, partition, offset)])
        progress.apply(offset, instant(event.occurred_at), self.monotonic())
        metrics.EVENTS.labels(topic, event.type, event.office_id).inc()
        if event.office_id == ALL_OFFICES:
            # A `*` event lives on one partition; each office gets its copy on its own partition.
            copy = orjson.dumps(
                {"signal": "broadcast", "event": event.model_dump(mode="json", exclude={"reason"})}
            )
            return Handled(signals=[(office_id, copy) for office_id in self.policies])
        self.partition_of[event.office_id] = partition
        return self._apply(event.office_id, event)

    def on_signal(self, signal: Signal, partition: int) -> Handled:
        """A tick or a `*` event's copy, read by `streams.reading.read_signal`."""
        office_id = signal.office_id
        if office_id not in self.policies:  # another worker's office (other policies loaded)
            return Handled()
        self.partition_of[office_id] = partition
        if signal.event is not None:
            return self._apply(office_id, signal.event)
        return Handled(self._idle_advance(office_id) + self._status_if_due(office_id),
                       changed=[self.states.get(office_id)])  # fmt: skip

    def dropped(
        self, handed_over: Iterable[tuple[str, int]], after_s: float
    ) -> tuple[str, int, int, int] | None:
        """A partition whose records were handed over and, `after_s` later, neither applied nor
        followed by any: Faust dropped them (faust-streaming#596, a fetch from before its recovery
        seek). At a partition's end no later record comes to show the gap: this finds it.
        Returns (topic, partition, next offset applied, next offset handed over)."""
        if self.assigned_at is None:
            return None
        wall, now = self.wall().timestamp(), self.monotonic()
        for topic, partition in handed_over:
            if topic not in INPUT_TOPICS:
                continue
            progress = self._input(topic, partition)
            handed, _, _, fetched_at = self.standing(topic, partition)
            applied = progress.applied or 0
            quiet_since = progress.applied_at if progress.applied_at is not None else self.assigned_at
            if (handed is not None and applied < handed and fetched_at is not None
                    and wall - fetched_at > after_s and now - quiet_since > after_s):  # fmt: skip
                return topic, partition, applied, handed
        return None

    def applied_before(self, topic: str, partition: int, offset: int) -> None:
        """The records of a partition before `offset` were applied by an earlier owner of it."""
        progress = self._input(topic, partition)
        progress.applied = max(progress.applied or 0, offset)

    def _input(self, topic: str, partition: int) -> Partition:
        progress = self.inputs.get((topic, partition))
        if progress is None:
            since = self.monotonic() if self.assigned_at is None else self.assigned_at
            progress = self.inputs[(topic, partition)] = Partition(since=since)
        return progress

    def _apply(self, office_id: str, event: Event) -> Handled:
        office = self.states.get(office_id)
        receipt = office.receive(event, advance=False)
        if event.office_id != ALL_OFFICES and not receipt.duplicate:
            self.last_event_at[office_id] = self.monotonic()
        target = office.clock.target()
        if target is not None:
            receipt.records += self._advance(office, target)
        if receipt.duplicate:
            metrics.DUPLICATES.labels(office_id).inc()
        if receipt.late:
            metrics.LATE.labels(office_id).inc()
        return Handled(receipt.records, late=receipt.late, office_id=office_id, changed=[office])

    def _status_if_due(self, office_id: str) -> list[Record]:
        """Every `status_interval_s`, the office's status for dashboards (and the gauges)."""
        now = self.monotonic()
        if now - self.status_at.get(office_id, 0.0) < self.status_interval_s:
            return []
        self.status_at[office_id] = now
        status = office_status(self.states.get(office_id), self.wall())
        metrics.observe_status(status)
        return [status]

    def _idle_advance(self, office_id: str) -> list[Record]:
        """Live mode: a quiet office's clock moves with the wall time since its last event."""
        now = self.monotonic()
        idle = now - self.last_event_at.setdefault(office_id, now)
        office = self.states.get(office_id)
        target = office.live_target(round(idle * 1_000_000))
        return [] if target is None else self._advance(office, target)

    def _advance(self, office: Office, target: Instant) -> list[Record]:
        if self.assigned_at is None:
            return []
        office_id = office.policy.office_id
        partition = self.partition_of.get(office_id)
        if partition is None:
            return []
        feeding = dict(self.broadcasts.partitions)
        for topic in INPUT_TOPICS:
            progress = self._input(topic, partition)
            progress.delivered, progress.position, progress.highwater, progress.fetched_at = self.standing(
                topic, partition
            )
            feeding[(topic, partition)] = progress
        now = self.monotonic()
        broadcasts = self.broadcasts
        alignment = align(
            feeding, broadcasts.pending(office), broadcasts.as_of, office.clock.lateness, target, now,
            self.max_idle_s,
        )  # fmt: skip
        if alignment.to is None or (office.clock.now is not None and alignment.to <= office.clock.now):
            return []
        for key in alignment.overtaken:
            self._overtook(office_id, key, feeding[key])
        return office.advance_to(alignment.to)

    def _overtook(self, office_id: str, key: object, partition: Partition) -> None:
        """Counted on every advance, logged once a quiet spell: like Kafka Streams' enforced processing."""
        metrics.ENFORCED.labels(office_id).inc()
        if self.overtaken.get((office_id, key)) != partition.since:
            self.overtaken[(office_id, key)] = partition.since
            topic, number = key  # type: ignore[misc]
            log.info("enforced_advance", office=office_id, topic=topic, partition=number)
