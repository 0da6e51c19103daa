"""All offices under their policies: routes each event to its office, `*` events to every office."""

from collections.abc import Callable, Iterable
from datetime import datetime

from rules.office import Office, Receipt
from rules.policy import Policy
from schemas.events import ALL_OFFICES, Event
from schemas.records import Build, Record, model


class Offices:
    def __init__(
        self, policies: Iterable[Policy], wall: Callable[[], datetime], build: Build = model
    ) -> None:
        self.by_id = {p.office_id: Office(p, wall, track_changes=False, build=build) for p in policies}

    def __contains__(self, office_id: object) -> bool:
        return office_id in self.by_id

    def receive(self, event: Event) -> Receipt:
        if event.office_id != ALL_OFFICES:
            return self.by_id[event.office_id].receive(event)
        receipt = Receipt(duplicate=True)
        for office in self.by_id.values():
            one = office.receive(event)
            receipt.records += one.records
            receipt.duplicate = receipt.duplicate and one.duplicate
            receipt.late = receipt.late or one.late
        return receipt

    def finish(self) -> list[Record]:
        """End of a finite input: every office's clock moves to its latest event."""
        return [record for office in self.by_id.values() for record in office.finish()]
