"""One worker's handling of a Kafka record: decode, hand to the core, return what to publish."""

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

import orjson

from rules.intake import Rejection, classify
from rules.policy import Policy
from schemas.events import ALL_OFFICES, Event
from schemas.records import Record
from streams.codec import dead_letter
from streams.state import OfficeStates

SIGNALS_TOPIC = "kompensasi.office-signals"


@dataclass
class Handled:
    records: list[Record] = field(default_factory=list)
    # (office_id, value) to send on the signals topic, keyed by office so it reaches its partition
    signals: list[tuple[str, bytes]] = field(default_factory=list)
    duplicate: bool = False
    late: bool = False


class Desk:
    def __init__(self, policies: list[Policy], states: OfficeStates, wall: Callable[[], datetime]) -> None:
        self.policies = {p.office_id: p for p in policies}
        self.states = states
        self.wall = wall
        self.last_event_at: dict[str, float] = {}

    def on_input(self, topic: str, partition: int, offset: int, value: bytes | None) -> Handled:
        event = classify(value or b"", self.policies)
        if isinstance(event, Rejection):
            return Handled([dead_letter(event, value or b"", topic, partition, offset)])
        if event.office_id == ALL_OFFICES:
            # A `*` event lives on one partition; each office gets its copy on its own partition.
            copy = orjson.dumps(
                {"signal": "broadcast", "event": event.model_dump(mode="json", exclude={"reason"})}
            )
            return Handled(signals=[(office_id, copy) for office_id in self.policies])
        return self._apply(event.office_id, event)

    def on_signal(self, office_id: str, value: bytes) -> Handled:
        signal = orjson.loads(value)
        if office_id not in self.policies:
            return Handled()
        if signal["signal"] == "broadcast":
            event = classify(orjson.dumps(signal["event"]), self.policies)
            return Handled() if isinstance(event, Rejection) else self._apply(office_id, event)
        return Handled(self._idle_advance(office_id))

    def _apply(self, office_id: str, event: Event) -> Handled:
        office = self.states.get(office_id)
        receipt = office.receive(event)
        if event.office_id != ALL_OFFICES and not receipt.duplicate:
            self.last_event_at[office_id] = time.monotonic()
        self.states.save(office)
        return Handled(receipt.records, duplicate=receipt.duplicate, late=receipt.late)

    def _idle_advance(self, office_id: str) -> list[Record]:
        """Live mode: a quiet office's clock moves with the wall time since its last event."""
        now = time.monotonic()
        idle = now - self.last_event_at.setdefault(office_id, now)
        office = self.states.get(office_id)
        target = office.live_target(round(idle * 1_000_000))
        if target is None:
            return []
        records = office.advance_to(target)
        self.states.save(office)
        return records
