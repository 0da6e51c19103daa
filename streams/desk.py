"""One worker's handling of a Kafka record: decode, hand to the core, return what to publish."""

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

import orjson

from rules.clock import Instant, instant
from rules.intake import Rejection
from rules.office import Office
from rules.policy import Policy
from rules.status import office_status
from schemas.events import ALL_OFFICES, Event
from schemas.records import Record
from schemas.topics import INPUT_TOPICS, TOPIC_OF_TYPE
from streams import metrics
from streams.codec import dead_letter
from streams.reading import Signal, read_event
from streams.state import OfficeStates


@dataclass
class Handled:
    records: list[Record] = field(default_factory=list)
    # (office_id, value) to send on the signals topic, keyed by office so it reaches its partition
    signals: list[tuple[str, bytes]] = field(default_factory=list)
    late: bool = False
    # offices whose state changed: saved only once `records` are on the broker (see Desk.save)
    changed: list[Office] = field(default_factory=list)


class Desk:
    """Also aligns event time across the input topics, as stream processors do with idle-aware
    watermarks: an office's clock may not pass what any of its recently active topics has
    delivered, so a backlog read faster on one topic than another does not make the other's
    events late. A topic silent for `idle_topic_s` no longer holds the clock back."""

    def __init__(
        self,
        policies: list[Policy],
        states: OfficeStates,
        wall: Callable[[], datetime],
        idle_topic_s: float = 2.0,
        status_interval_s: float = 10.0,
    ) -> None:
        self.policies = {p.office_id: p for p in policies}
        self.states = states
        self.wall = wall
        self.idle_topic_s = idle_topic_s
        self.status_interval_s = status_interval_s
        self.status_at: dict[str, float] = {}
        self.last_event_at: dict[str, float] = {}
        self.latest_on: dict[tuple[str, str], Instant] = {}
        self.heard_at: dict[tuple[str, str], float] = {}
        # when records began to flow after the last assignment; None while partitions move
        self.assigned_at: float | None = time.monotonic()

    def on_rebalance(self) -> None:
        """Partitions move: rebuild offices from the table, and hold every clock until records flow."""
        self.states.forget()
        self.latest_on.clear()
        self.heard_at.clear()
        self.assigned_at = None

    def on_resume(self) -> None:
        """Tables are recovered and records flow again: each topic now has `idle_topic_s` to be heard
        from. Counted from the revocation instead, a recovery longer than that would let a topic's
        backlog fall behind a clock restored from the table, and its events would all be late."""
        self.assigned_at = time.monotonic()

    def save(self, handled: Handled) -> None:
        """Writes the changed state, after the records are acknowledged: a worker killed in between
        reads the event again (its offset is not committed yet) and publishes the records again,
        whereas state saved first would drop the event as a duplicate and lose its records."""
        for office in handled.changed:
            self.states.save(office)

    def on_input(
        self, topic: str, partition: int, offset: int, value: bytes | None, written_at: datetime | None = None
    ) -> Handled:
        event = read_event(value, self.policies, written_at, self.wall())
        if isinstance(event, Rejection):
            return Handled([dead_letter(event, value or b"", topic, partition, offset)])
        metrics.EVENTS.labels(topic, event.type, event.office_id).inc()
        if event.office_id == ALL_OFFICES:
            # A `*` event lives on one partition; each office gets its copy on its own partition.
            copy = orjson.dumps(
                {"signal": "broadcast", "event": event.model_dump(mode="json", exclude={"reason"})}
            )
            return Handled(signals=[(office_id, copy) for office_id in self.policies])
        return self._apply(event.office_id, topic, event)

    def on_signal(self, signal: Signal) -> Handled:
        """A tick or a `*` event's copy, read by `streams.reading.read_signal`."""
        office_id = signal.office_id
        if office_id not in self.policies:  # another worker's office (other policies loaded)
            return Handled()
        if signal.event is not None:
            return self._apply(office_id, TOPIC_OF_TYPE[signal.event.type], signal.event)
        return Handled(self._idle_advance(office_id) + self._status_if_due(office_id),
                       changed=[self.states.get(office_id)])  # fmt: skip

    def _apply(self, office_id: str, topic: str, event: Event) -> Handled:
        now = time.monotonic()
        key = (office_id, topic)
        self.latest_on[key] = max(self.latest_on.get(key, 0), instant(event.occurred_at))
        self.heard_at[key] = now
        office = self.states.get(office_id)
        receipt = office.receive(event, advance=False)
        if event.office_id != ALL_OFFICES and not receipt.duplicate:
            self.last_event_at[office_id] = now
        receipt.records += self._advance(office, office.clock.target())
        if receipt.duplicate:
            metrics.DUPLICATES.labels(office_id).inc()
        if receipt.late:
            metrics.LATE.labels(office_id).inc()
        return Handled(receipt.records, late=receipt.late, changed=[office])

    def _status_if_due(self, office_id: str) -> list[Record]:
        """Every `status_interval_s`, the office's status for dashboards (and the gauges)."""
        now = time.monotonic()
        if now - self.status_at.get(office_id, 0.0) < self.status_interval_s:
            return []
        self.status_at[office_id] = now
        status = office_status(self.states.get(office_id), self.wall())
        metrics.observe_status(status)
        return [status]

    def _idle_advance(self, office_id: str) -> list[Record]:
        """Live mode: a quiet office's clock moves with the wall time since its last event."""
        now = time.monotonic()
        idle = now - self.last_event_at.setdefault(office_id, now)
        office = self.states.get(office_id)
        return self._advance(office, office.live_target(round(idle * 1_000_000)))

    def _advance(self, office: Office, target: Instant | None) -> list[Record]:
        if target is None or self.assigned_at is None:
            return []
        held, limit = self._aligned_limit(office)
        if held:
            return []
        if limit is not None:
            target = min(target, limit)
        if office.clock.now is not None and target <= office.clock.now:
            return []
        return office.advance_to(target)

    def _aligned_limit(self, office: Office) -> tuple[bool, Instant | None]:
        """(held, limit): the least event time delivered by this office's recently active input
        topics, less lateness. Just after an assignment a topic not heard from yet holds the clock
        until it is idle."""
        office_id = office.policy.office_id
        now = time.monotonic()
        limits = []
        for topic in INPUT_TOPICS:
            key = (office_id, topic)
            if now - self.heard_at.get(key, self.assigned_at or now) < self.idle_topic_s:
                latest = self.latest_on.get(key)
                if latest is None:
                    return True, None
                limits.append(latest - office.clock.lateness)
        return False, (min(limits) if limits else None)
