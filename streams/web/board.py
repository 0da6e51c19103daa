"""Read models of the published records, for the display board and the operations view.

Every worker reads the output topics (and the ticket calls) in full, so any worker can serve any
office's board, whichever partition the office lives on. Only the latest service day is kept."""

from collections import deque
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from oversight.evaluation import OfficeEvaluation
from rules.policy import Policy
from schemas.events import Event
from schemas.records import Record

Value = dict[str, Any]
_DECISIONS_SHOWN = 200
# The referrals list is for inspectors browsing recent cases; the full history is the topic itself.
REFERRALS_KEPT = 1000


@dataclass
class OfficeView:
    office_id: str
    office_name: str
    time_zone: str
    day: str | None = None
    waiting: dict[str, Value] = field(default_factory=dict)  # ticket_id -> priority ticket, not yet called
    numbered: dict[str, str] = field(default_factory=dict)  # ticket_id -> priority_no, today
    calls: dict[str, Value] = field(default_factory=dict)  # ticket_id -> {counter, at}, today
    last_called: Value | None = None
    status: Value | None = None
    at_risk: dict[str, Value] = field(default_factory=dict)
    # tickets called or decided today: a warning read after its call (another topic) is over already
    settled: set[str] = field(default_factory=set)
    decisions: deque[Value] = field(default_factory=lambda: deque(maxlen=_DECISIONS_SHOWN))
    referrals: dict[str, Value] = field(default_factory=dict)  # referral_id -> record, every day's

    def _new_day(self, day: str | None) -> None:
        if day is None or (self.day is not None and day <= self.day):
            return
        first, self.day = self.day is None, day
        if first:  # reading the topics from the start: what came before the first day is today's too
            return
        self.waiting = {k: v for k, v in self.waiting.items() if v["service_day"] >= day}
        self.numbered = {k: v for k, v in self.numbered.items() if k in self.waiting}
        self.calls.clear()
        self.at_risk.clear()
        self.settled.clear()
        self.decisions.clear()
        self.last_called = None

    def apply(self, topic: str, value: Value) -> bool:
        """Takes one record; True when what the pages show changed."""
        kind = value.get("type")
        if kind == "priority_ticket_assigned":
            self._new_day(value["service_day"])
            self.numbered[value["ticket_id"]] = value["priority_no"]
            call = self.calls.get(value["ticket_id"])
            if call is not None and call["at"] >= value["assigned_at"]:
                self._called(value["ticket_id"], value["priority_no"], call)
            else:
                self.waiting[value["ticket_id"]] = value
            return True
        if kind == "priority_ticket_withdrawn":
            return self.waiting.pop(value["ticket_id"], None) is not None
        if kind in ("service_called", "ticket_closed"):
            if kind == "ticket_closed" and value.get("outcome") != "served":
                return False
            call = {"counter": value.get("counter"), "at": value["occurred_at"]}
            ticket_id = value["ticket_id"]
            self.settled.add(ticket_id)
            changed = self.at_risk.pop(ticket_id, None) is not None
            if ticket_id in self.waiting:
                self._called(ticket_id, self.numbered[ticket_id], call)
                return True
            self.calls.setdefault(ticket_id, call)
            return changed
        if kind == "office_status":
            self._new_day(value.get("service_day"))
            self.status = value
            return True
        if kind == "ticket_at_risk":
            if value["ticket_id"] in self.settled:
                return False
            self.at_risk[value["ticket_id"]] = value
            return True
        if kind == "ombudsman_referral":
            self._referred(value)
            return False  # not on the board or the operations page
        if kind == "compensation_decision":
            self._new_day(value["service_day"])
            self.settled.add(value["ticket_id"])
            self.at_risk.pop(value["ticket_id"], None)
            self.decisions.appendleft(value)
            return True
        return False

    def _referred(self, value: Value) -> None:
        # A copy published twice (at-least-once) has the same referral_id.
        if value["referral_id"] in self.referrals:
            return
        datetime.fromisoformat(value["referred_at"])  # a record the list could not sort is not kept
        self.referrals[value["referral_id"]] = value
        if len(self.referrals) > REFERRALS_KEPT:
            del self.referrals[next(iter(self.referrals))]

    def _called(self, ticket_id: str, priority_no: str, call: Value) -> None:
        self.waiting.pop(ticket_id, None)
        # The latest call in event time, not the last one read: the topics arrive in any order.
        if call.get("counter") is not None and (
            self.last_called is None
            or datetime.fromisoformat(call["at"]) >= datetime.fromisoformat(self.last_called["at"])
        ):
            self.last_called = {"priority_no": priority_no, "counter": call["counter"], "at": call["at"]}

    def board(self) -> Value:
        """Numbers only: no name, no applicant or ticket id reaches the waiting room."""
        numbers = sorted(self.waiting.values(), key=lambda v: (v["assigned_at"], v["priority_no"]))
        return {
            "office_id": self.office_id,
            "office_name": self.office_name,
            "time_zone": self.time_zone,
            "service_day": self.day,
            "waiting": [{"priority_no": v["priority_no"], "ticket_no": v["ticket_no"]} for v in numbers],
            "last_called": self.last_called,
        }

    def operations(self) -> Value:
        at_risk = sorted(self.at_risk.values(), key=lambda v: v["deadline"])
        return {
            "office_id": self.office_id,
            "office_name": self.office_name,
            "time_zone": self.time_zone,
            "status": self.status,
            "at_risk": at_risk,
            "decisions": list(self.decisions),
        }

    def referral_list(self) -> Value:
        """Newest first: what the inspector and staff read, with the evidence and no personal text."""
        newest = sorted(
            self.referrals.values(), key=lambda v: datetime.fromisoformat(v["referred_at"]), reverse=True
        )
        return {"office_id": self.office_id, "office_name": self.office_name, "referrals": newest}


class Views:
    def __init__(self, policies: list[Policy]) -> None:
        self.offices = {p.office_id: OfficeView(p.office_id, p.office_name, p.time_zone) for p in policies}
        # The public summary's monthly figures (counts only, no records), fed from the same stream.
        self.public = {p.office_id: OfficeEvaluation(p, daily=False, bounded=True) for p in policies}
        # Bumped on every record added to an office's public figures: the public page's cache key.
        self.public_version = dict.fromkeys(self.public, 0)

    def apply(self, topic: str, item: Event | Record) -> str | None:
        """Takes an event or record as `streams.reading` read it; returns the office whose pages changed.
        Decoded and bounded there, so the dict code below meets no missing or mistyped field."""
        value = item.model_dump(mode="json")
        office_id = str(value.get("office_id"))
        for evaluation in self.public.values() if office_id == "*" else [self.public.get(office_id)]:
            if evaluation is not None:
                evaluation.add(value)
                self.public_version[evaluation.policy.office_id] += 1
        view = self.offices.get(office_id)
        if view is not None and view.apply(topic, value):
            return view.office_id
        return None
