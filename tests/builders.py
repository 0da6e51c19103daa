"""Small builders for contract events (kanim-blitar by default) and a runner over the pure core."""

import itertools
import json
from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from rules.offices import Offices
from rules.policy import Policy
from schemas.events import EVENT, Event
from schemas.records import (
    ClaimDecision,
    CompensationDecision,
    PriorityTicketAssigned,
    PriorityTicketWithdrawn,
    Record,
)
from streams.commands.policies import shipped_policies

BLITAR = "kanim-blitar"
SINGARAJA = "kanim-singaraja"
ALL = "*"
JAKARTA = ZoneInfo("Asia/Jakarta")
MAKASSAR = ZoneInfo("Asia/Makassar")
DAY = date(2026, 3, 2)
NEXT_DAY = DAY + timedelta(days=1)
THRESHOLD = timedelta(hours=2)
LATENESS = timedelta(seconds=60)
WALL = datetime(2030, 1, 1, 0, 0, tzinfo=UTC)
COMPENSATION = ["apology", "priority_service", "souvenir"]

Raw = dict[str, Any]
When = datetime | str

_ids = itertools.count(1)


def fixed_wall() -> datetime:
    """A wall clock that never moves: `emitted_at` is the same in every run."""
    return WALL


def policies() -> list[Policy]:
    return shipped_policies()


def at(hms: str, day: date = DAY, zone: ZoneInfo = JAKARTA) -> datetime:
    """An office-local instant: `at("10:00")`, `at("23:59:59", day=..., zone=MAKASSAR)`."""
    return datetime.combine(day, time.fromisoformat(hms), tzinfo=zone)


def _when(when: When) -> datetime:
    return when if isinstance(when, datetime) else at(when)


def stamp(when: When) -> str:
    """RFC 3339 text of an instant, with its offset."""
    return _when(when).isoformat()


def next_event_id() -> str:
    return f"ev-{next(_ids):06d}"


def _event(kind: str, when: When, office: str, event_id: str | None, **fields: Any) -> Raw:
    return {
        "event_id": event_id or next_event_id(),
        "type": kind,
        "office_id": office,
        "occurred_at": stamp(when),
        **fields,
    }


def issue(
    ticket_id: str,
    when: When = "08:00",
    *,
    office: str = BLITAR,
    ticket_no: str | None = None,
    stage: str = "biometric",
    applicant: str | None = None,
    service: str = "passport_new",
    channel: str = "m_paspor",
    smart: bool = True,
    event_id: str | None = None,
) -> Raw:
    """A ticket that, left alone, is `eligible` at its deadline."""
    return _event(
        "ticket_issued",
        when,
        office,
        event_id,
        ticket_id=ticket_id,
        ticket_no=ticket_no or f"B-{ticket_id}",
        stage=stage,
        applicant_id=applicant or f"A-{ticket_id}",
        service=service,
        booking_channel=channel,
        smart_registered=smart,
    )


def call(
    ticket_id: str, when: When, *, office: str = BLITAR, counter: str = "C1", event_id: str | None = None
) -> Raw:
    return _event("service_called", when, office, event_id, ticket_id=ticket_id, counter=counter)


def close(
    ticket_id: str,
    when: When,
    outcome: str = "served",
    *,
    office: str = BLITAR,
    event_id: str | None = None,
) -> Raw:
    return _event("ticket_closed", when, office, event_id, ticket_id=ticket_id, outcome=outcome)


def outage_start(
    outage_id: str, when: When, *, office: str = BLITAR, system: str = "SIMKIM", event_id: str | None = None
) -> Raw:
    return _event("outage_started", when, office, event_id, outage_id=outage_id, system=system)


def outage_end(outage_id: str, when: When, *, office: str = BLITAR, event_id: str | None = None) -> Raw:
    return _event("outage_ended", when, office, event_id, outage_id=outage_id)


def flag(
    applicant: str,
    when: When,
    *,
    office: str = BLITAR,
    reason: str = "document mismatch",
    event_id: str | None = None,
) -> Raw:
    return _event("review_flagged", when, office, event_id, applicant_id=applicant, reason=reason)


def clear(applicant: str, when: When, *, office: str = BLITAR, event_id: str | None = None) -> Raw:
    return _event("review_cleared", when, office, event_id, applicant_id=applicant)


def claim(
    claim_id: str,
    ticket_id: str,
    when: When,
    *,
    office: str = BLITAR,
    officer: str = "O-1",
    event_id: str | None = None,
) -> Raw:
    return _event(
        "claim_submitted", when, office, event_id, claim_id=claim_id, ticket_id=ticket_id, officer_id=officer
    )


def tick(when: When, *, office: str = BLITAR) -> Raw:
    """An event that changes nothing but the office clock: a call for a ticket never issued."""
    return call("NO-SUCH-TICKET", when, office=office)


def model(event: Raw | Event) -> Event:
    return event if not isinstance(event, dict) else EVENT.validate_python(event)


def new_offices() -> Offices:
    return Offices(shipped_policies(), fixed_wall)


def run(events: Iterable[Raw | Event], offices: Offices | None = None) -> list[Record]:
    """Every record the core publishes for these events in this arrival order, end of input included."""
    offices = offices or new_offices()
    out: list[Record] = []
    for event in events:
        out += offices.receive(model(event)).records
    return out + offices.finish()


# ---- looking at the records -------------------------------------------------------------------


def decisions(records: Iterable[Record], ticket_id: str | None = None) -> list[CompensationDecision]:
    return [
        r
        for r in records
        if isinstance(r, CompensationDecision) and (ticket_id is None or r.ticket_id == ticket_id)
    ]


def decision(records: Sequence[Record], ticket_id: str, outcome: str | None = None) -> CompensationDecision:
    """The one decision of a ticket (with that outcome); fails when there is not exactly one."""
    found = [d for d in decisions(records, ticket_id) if outcome is None or d.outcome == outcome]
    assert len(found) == 1, f"expected one decision for {ticket_id} ({outcome}), got {found}"
    return found[0]


def outcomes(records: Iterable[Record]) -> dict[str, list[str]]:
    """ticket_id -> its decision outcomes in publication order."""
    out: dict[str, list[str]] = {}
    for d in decisions(records):
        out.setdefault(d.ticket_id, []).append(d.outcome)
    return out


def assigned(records: Iterable[Record]) -> list[PriorityTicketAssigned]:
    return [r for r in records if isinstance(r, PriorityTicketAssigned)]


def withdrawn(records: Iterable[Record]) -> list[PriorityTicketWithdrawn]:
    return [r for r in records if isinstance(r, PriorityTicketWithdrawn)]


def claim_decisions(records: Iterable[Record]) -> dict[str, ClaimDecision]:
    return {r.claim_id: r for r in records if isinstance(r, ClaimDecision)}


def canonical(record: Record) -> str:
    """A record as comparable text: every field but `emitted_at`, reasons as a set."""
    value = record.model_dump(mode="json")
    value.pop("emitted_at", None)
    if "reasons" in value:
        value["reasons"] = sorted(value["reasons"])
    return json.dumps(value, sort_keys=True)


def canonical_set(records: Iterable[Record]) -> set[str]:
    return {canonical(r) for r in records}
