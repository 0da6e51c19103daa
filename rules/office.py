"""One office's event-time state machine: buffers events until its clock reaches them, fires
deadlines and claims in order, and answers late facts with revocations."""

import heapq
import uuid
from collections import OrderedDict, deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

from rules.clock import Instant, LocalTimes, OfficeClock, instant, whole_seconds
from rules.decide import at_deadline, claim_reasons
from rules.ids import uuid5_text
from rules.outages import Outage, Outages
from rules.policy import Policy
from rules.priority import PrioritySeries
from rules.referral import evidence, referral
from rules.reviews import Review, Reviews
from rules.ticket import Ticket
from schemas.events import ALL_OFFICES as ALL
from schemas.events import (
    EVENT,
    ClaimSubmitted,
    ComplaintFiled,
    Event,
    OutageEnded,
    OutageStarted,
    ReviewCleared,
    ReviewFlagged,
    ServiceCalled,
    TicketClosed,
    TicketIssued,
)
from schemas.records import (
    Build,
    ClaimDecision,
    CompensationDecision,
    PriorityTicketAssigned,
    PriorityTicketWithdrawn,
    Record,
    TicketAtRisk,
    model,
)

BIOMETRIC = "biometric"
DUPLICATE_WINDOW: Instant = 48 * 3600 * 1_000_000
_DECISION_NS = uuid.UUID("6f1d3c52-8a0e-4b7c-9d2e-4b6b1f0c9a11")

# Timeline order at one instant: facts first (an issue before a call, a call before a close, so
# a call at the same instant as a close wins), then deadlines, then claims (contract section 3).
_FACT, _DEADLINE, _CLAIM = 0, 1, 2
_WARNING, _DUE = 0, 1  # a warning before a deadline at one instant
# A start before an end at the same instant, so an outage of no length is one, and ends.
_ORDER_AT_INSTANT = {
    "ticket_issued": (_FACT, 0),
    "outage_started": (_FACT, 1),
    "review_flagged": (_FACT, 1),
    "outage_ended": (_FACT, 2),
    "review_cleared": (_FACT, 2),
    "service_called": (_FACT, 3),
    "ticket_closed": (_FACT, 4),
    "claim_submitted": (_CLAIM, 0),
    "complaint_filed": (_CLAIM, 1),
}
WITHHELD = "(withheld)"  # a buffered review's reason, never written: restored as this
_PURGE_EVERY: Instant = 60 * 1_000_000


def decision_id(ticket_id: str, outcome: str) -> str:
    """Deterministic, so a consumer can drop a record it has seen before."""
    return uuid5_text(_DECISION_NS, f"{ticket_id}\x1f{outcome}")


@dataclass(slots=True)
class Receipt:
    """What one event did: the records to publish, and whether it was a duplicate or late."""

    records: list[Record] = field(default_factory=list)
    duplicate: bool = False
    late: bool = False


class Office:
    """The rule applied to one office, in event time."""

    def __init__(
        self, policy: Policy, wall: Callable[[], datetime], track_changes: bool = True, build: Build = model
    ) -> None:
        self.policy = policy
        self._build = build
        self._wall = wall
        self.clock = OfficeClock(policy.lateness_us)
        self.local: Callable[[Instant], datetime] = LocalTimes(policy.zone).at
        self.tickets: dict[str, Ticket] = {}
        self.outages = Outages()
        self.reviews = Reviews()
        self.series = PrioritySeries(policy.priority_prefix)
        # Ordered so the oldest id is found in O(1); a plain dict scans the slots its purges left.
        self.seen: OrderedDict[str, Instant] = OrderedDict()
        self.other_stages: dict[str, Instant] = {}
        self._pending: list[tuple[tuple[Instant, int, int, str], Event]] = []
        self._deadlines: list[tuple[Instant, int, int, str]] = []  # deadlines and warnings
        self._by_applicant: dict[str, set[str]] = {}
        # A replay keeps no table, so it need not remember which entries changed.
        self._dirty: set[tuple[str, str]] | _Forgetful = set() if track_changes else _Forgetful()
        self._next_purge: Instant = 0
        self._purged_through: date | None = None
        self._facts: dict[str, Callable[[Any, Instant], list[Record]]] = {
            "ticket_issued": self._issued,
            "service_called": self._called,
            "ticket_closed": self._closed,
            "outage_started": self._outage_started,
            "outage_ended": self._outage_ended,
            "review_flagged": self._flagged,
            "review_cleared": self._cleared,
            "claim_submitted": self._claim,
            "complaint_filed": self._complained,
        }

    # ---- input ---------------------------------------------------------------------------

    def receive(self, event: Event, advance: bool = True) -> Receipt:
        """Takes one valid event of this office (or of `*`) and returns what it caused.

        With `advance=False` the caller moves the clock itself (a Kafka worker holding it back
        while one of its input partitions is still catching up)."""
        at = instant(event.occurred_at)
        event_id = event.event_id
        first = self.seen.get(event_id)
        if first is not None and abs(at - first) <= DUPLICATE_WINDOW:
            return Receipt(duplicate=True)
        self.seen[event_id] = at
        dirty = self._dirty
        dirty.add(("e", event_id))
        receipt = Receipt()
        rank, order = _ORDER_AT_INSTANT[event.type]
        clock = self.clock
        if clock.is_late(at):
            # What would have come before the fact still comes first: a deadline it follows fires now.
            receipt.late = True
            receipt.records += self._fire_before((at, rank, order, event_id))
            receipt.records += self._apply(event, at)
        else:
            heapq.heappush(self._pending, ((at, rank, order, event_id), event))
            dirty.add(("b", event_id))
        if event.office_id != ALL:
            clock.saw(at)
            dirty.add(("clock", ""))
        # Timeline items fire only when the clock moves: a late ticket whose deadline has passed
        # waits for the next move, so the late call or close that usually follows it still counts.
        target = clock.target()
        if advance and target is not None and (clock.now is None or target > clock.now):
            receipt.records += self.advance_to(target)
        return receipt

    def advance_to(self, to: Instant) -> list[Record]:
        """Moves the clock to `to`, applying buffered facts and firing deadlines and claims in order."""
        out = self._fire_before((to, _CLAIM + 1))
        if self.clock.now is None or to > self.clock.now:
            self.clock.move_to(to)
            self._dirty.add(("clock", ""))
            if to >= self._next_purge:
                self._forget_old_event_ids(to - DUPLICATE_WINDOW)
                self._forget_past_days(to)
                self._next_purge = to + _PURGE_EVERY
        return out

    def _forget_past_days(self, now: Instant) -> None:
        """State stays bounded: decided tickets, series and finished outages and reviews go once their
        day is `keep_days` behind the clock; claims on them are then unknown tickets."""
        today = self.local(now).date()
        if today == self._purged_through:
            return
        self._purged_through = today
        first_kept = today - timedelta(days=self.policy.keep_days)
        cutoff = instant(datetime.combine(first_kept, time(0), self.policy.zone))
        for ticket in [t for t in self.tickets.values() if t.service_day < first_kept and not t.is_open]:
            del self.tickets[ticket.ticket_id]
            self._by_applicant[ticket.applicant_id].discard(ticket.ticket_id)
            if not self._by_applicant[ticket.applicant_id]:
                del self._by_applicant[ticket.applicant_id]
            self._dirty.add(("t", ticket.ticket_id))
        for ticket_id in [k for k, at in self.other_stages.items() if at < cutoff]:
            del self.other_stages[ticket_id]
            self._dirty.add(("s", ticket_id))
        for day in [d for d in self.series.last if d < first_kept]:
            del self.series.last[day]
            self._dirty.add(("p", day.isoformat()))
        for key in [k for k, o in self.outages.by_key.items() if o.end is not None and o.end < cutoff]:
            del self.outages.by_key[key]
            self._dirty.add(("o", key))
        for applicant, review in list(self.reviews.by_applicant.items()):
            if review.finished_before(cutoff):
                del self.reviews.by_applicant[applicant]
                self._dirty.add(("r", applicant))

    def _forget_old_event_ids(self, before: Instant) -> None:
        # Ids arrive roughly in time order: drop from the oldest while they are out of the window.
        stale = []
        for event_id, at in self.seen.items():
            if at >= before:
                break
            stale.append(event_id)
        for event_id in stale:
            del self.seen[event_id]
            self._dirty.add(("e", event_id))

    def _fire_before(self, limit: tuple) -> list[Record]:
        """Applies buffered facts and fires deadlines and claims whose timeline key is below `limit`."""
        out: list[Record] = []
        pending, deadlines, pop = self._pending, self._deadlines, heapq.heappop
        while pending or deadlines:
            # The earlier of the next fact and the next deadline, a fact first at a tie.
            if pending and (not deadlines or pending[0][0] <= deadlines[0]):
                key, event = pending[0]
                if key >= limit:
                    break
                pop(pending)
                self._dirty.add(("b", key[3]))
                out += self._apply(event, key[0])
            else:
                due = deadlines[0]
                if due >= limit:
                    break
                pop(deadlines)
                out += self._deadline(due[3]) if due[2] == _DUE else self._warning(due[3], due[0])
        return out

    def finish(self) -> list[Record]:
        """End of a finite input: no late event can come, so the clock moves to the latest event."""
        return [] if self.clock.latest is None else self.advance_to(self.clock.latest)

    def live_target(self, idle_us: Instant) -> Instant | None:
        """Live mode: a quiet office's clock also moves with the wall time elapsed since its last event."""
        target = self.clock.target()
        return None if target is None else target + idle_us

    # ---- facts ---------------------------------------------------------------------------

    def _apply(self, event: Event, at: Instant) -> list[Record]:
        # By the type's name: the fast decoder's events are not the models' classes (rules/intake.py).
        return self._facts[event.type](event, at)

    def _called(self, event: ServiceCalled, at: Instant) -> list[Record]:
        return self._ended(event.ticket_id, at, called=True, reason="called_within_standard")

    def _closed(self, event: TicketClosed, at: Instant) -> list[Record]:
        served = event.outcome == "served"
        reason = "called_within_standard" if served else "closed_before_deadline"
        return self._ended(event.ticket_id, at, called=served, reason=reason)

    def _outage_started(self, event: OutageStarted, at: Instant) -> list[Record]:
        key = Outages.key(event.office_id, event.outage_id)
        if not self.outages.start(key, at):
            return []
        self._dirty.add(("o", key))
        outage = self.outages.by_key[key]
        return self._revoke_where(
            self.tickets.values(), lambda t: outage.overlaps(t.issued_at, t.deadline), at, "system_outage"
        )

    def _outage_ended(self, event: OutageEnded, at: Instant) -> list[Record]:
        key = Outages.key(event.office_id, event.outage_id)
        if self.outages.end(key, at):
            self._dirty.add(("o", key))
        return []

    def _flagged(self, event: ReviewFlagged, at: Instant) -> list[Record]:
        self.reviews.flag(event.applicant_id, at)
        self._dirty.add(("r", event.applicant_id))
        tickets = (self.tickets[t] for t in self._by_applicant.get(event.applicant_id, ()))
        return self._revoke_where(
            tickets, lambda t: self.reviews.is_open(t.applicant_id, t.deadline), at, "under_review"
        )

    def _cleared(self, event: ReviewCleared, at: Instant) -> list[Record]:
        self.reviews.clear(event.applicant_id, at)
        self._dirty.add(("r", event.applicant_id))
        return []

    def _complained(self, event: ComplaintFiled, at: Instant) -> list[Record]:
        return [self._complaint(event, at)]

    def _issued(self, event: TicketIssued, at: Instant) -> list[Record]:
        # Only the biometric stage starts the compensation clock; a second issue of an id is ignored.
        if event.ticket_id in self.tickets or event.ticket_id in self.other_stages:
            return []
        if event.stage != BIOMETRIC:
            self.other_stages[event.ticket_id] = at
            self._dirty.add(("s", event.ticket_id))
            return []
        ticket = Ticket(
            ticket_id=event.ticket_id,
            ticket_no=event.ticket_no,
            applicant_id=event.applicant_id,
            service=event.service,
            booking_channel=event.booking_channel,
            smart_registered=event.smart_registered,
            issued_at=at,
            deadline=at + self.policy.threshold_us,
            service_day=self.local(at).date(),
        )
        self._track(ticket)
        self._dirty.add(("t", ticket.ticket_id))
        return []

    def _track(self, ticket: Ticket) -> None:
        self.tickets[ticket.ticket_id] = ticket
        self._by_applicant.setdefault(ticket.applicant_id, set()).add(ticket.ticket_id)
        if ticket.is_open:
            heapq.heappush(self._deadlines, (ticket.deadline, _DEADLINE, _DUE, ticket.ticket_id))
            warn_after = self.policy.warn_after_s
            if warn_after is not None and ticket.warned_at is None:
                at = ticket.issued_at + warn_after * 1_000_000
                heapq.heappush(self._deadlines, (at, _DEADLINE, _WARNING, ticket.ticket_id))

    def _ended(self, ticket_id: str, at: Instant, called: bool, reason: str) -> list[Record]:
        """The first call or close ends the wait; one that arrives after an eligible decision revokes it."""
        ticket = self.tickets.get(ticket_id)
        if ticket is None or at < ticket.issued_at or not ticket.end_wait(at, called):
            return []
        self._dirty.add(("t", ticket_id))
        if ticket.is_open:
            return self._decide(ticket, "within_standard" if called else "not_served", [], at)
        if ticket.holds_eligible and at <= ticket.deadline:
            return self._revoke(ticket, at, reason)
        return []

    def _warning(self, ticket_id: str, at: Instant) -> list[Record]:
        """Early warning: still waiting, uncalled, at `warn_after_s`; supervisors can still act."""
        ticket = self.tickets.get(ticket_id)
        if ticket is None or not ticket.is_open or ticket.ended_at is not None:
            return []
        ticket.warned_at = at
        self._dirty.add(("t", ticket_id))
        return [
            self._build(
                TicketAtRisk,
                office_id=self.policy.office_id,
                ticket_id=ticket.ticket_id,
                ticket_no=ticket.ticket_no,
                issued_at=self.local(ticket.issued_at),
                deadline=self.local(ticket.deadline),
                at=self.local(ticket.warned_at),
            )
        ]

    def _deadline(self, ticket_id: str) -> list[Record]:
        ticket = self.tickets.get(ticket_id)
        if ticket is None or not ticket.is_open:
            return []
        outcome, reasons = at_deadline(self.policy, ticket, self.outages, self.reviews)
        return self._decide(ticket, outcome, reasons, ticket.deadline)

    # ---- records -------------------------------------------------------------------------

    def _decide(self, ticket: Ticket, outcome: str, reasons: list[str], at: Instant) -> list[Record]:
        ticket.outcome = outcome
        ticket.decided_at = at
        ticket.reasons = reasons
        self._dirty.add(("t", ticket.ticket_id))
        out: list[Record] = [self._decision(ticket, outcome, reasons, at)]
        if outcome == "eligible":
            ticket.priority_no = self.series.next_number(ticket.service_day)
            self._dirty.add(("p", ticket.service_day.isoformat()))
            out.append(
                self._build(
                    PriorityTicketAssigned,
                    office_id=self.policy.office_id,
                    priority_no=ticket.priority_no,
                    ticket_id=ticket.ticket_id,
                    ticket_no=ticket.ticket_no,
                    service_day=ticket.service_day,
                    assigned_at=self.local(at),
                )
            )
        return out

    def _revoke_where(
        self, tickets: Iterable[Ticket], applies: Callable[[Ticket], bool], at: Instant, reason: str
    ) -> list[Record]:
        out: list[Record] = []
        for ticket in sorted((t for t in tickets if t.holds_eligible and applies(t)), key=_by_deadline):
            out += self._revoke(ticket, at, reason)
        return out

    def _revoke(self, ticket: Ticket, at: Instant, reason: str) -> list[Record]:
        """A late fact that would have prevented an eligible decision: revoke it, withdraw the number."""
        ticket.revoked_at = at
        ticket.revoke_reason = reason
        self._dirty.add(("t", ticket.ticket_id))
        assert ticket.priority_no is not None and ticket.decided_at is not None
        return [
            self._decision(ticket, "revoked", [reason], at),
            self._build(
                PriorityTicketWithdrawn,
                office_id=self.policy.office_id,
                priority_no=ticket.priority_no,
                ticket_id=ticket.ticket_id,
                ticket_no=ticket.ticket_no,
                service_day=ticket.service_day,
                assigned_at=self.local(ticket.decided_at),
                reasons=[reason],
            ),
            # Pasal 5: an eligibility taken back is referred to the Ombudsman liaison by itself.
            referral(
                self.policy.office_id,
                "revoked",
                ticket.ticket_id,
                "auto",
                self.local(at),
                ticket.ticket_id,
                evidence(ticket, self.outages, self.reviews, self.local, self._build),
                build=self._build,
            ),
        ]

    def _decision(
        self, ticket: Ticket, outcome: str, reasons: list[str], at: Instant
    ) -> CompensationDecision:
        called = ticket.called_at if outcome == "within_standard" else None
        return self._build(
            CompensationDecision,
            decision_id=decision_id(ticket.ticket_id, outcome),
            office_id=self.policy.office_id,
            ticket_id=ticket.ticket_id,
            ticket_no=ticket.ticket_no,
            applicant_id=ticket.applicant_id,
            service_day=ticket.service_day,
            outcome=outcome,  # type: ignore[arg-type]
            reasons=reasons,  # type: ignore[arg-type]
            # A revocation by a fact older than the ticket (an outage already running) waited nothing.
            waited_s=max(0, whole_seconds(at - ticket.issued_at)),
            threshold_s=self.policy.threshold_s,
            policy_id=self.policy.policy_id,
            issued_at=self.local(ticket.issued_at),
            called_at=None if called is None else self.local(called),
            decided_at=self.local(at),
            emitted_at=self._wall(),
        )

    def _claim(self, event: ClaimSubmitted, at: Instant) -> list[Record]:
        ticket = self.tickets.get(event.ticket_id)
        reasons = claim_reasons(self.policy, ticket, at, self.local(at).date(), self.reviews)
        granted = not reasons
        outcome = "granted" if granted else "rejected"
        out: list[Record] = [
            self._build(
                ClaimDecision,
                claim_id=event.claim_id,
                office_id=self.policy.office_id,
                ticket_id=event.ticket_id,
                outcome=outcome,
                reasons=reasons,  # type: ignore[arg-type]
                compensation=list(self.policy.compensation) if granted else [],
                decided_at=self.local(at),
            )
        ]
        if ticket is None or "unknown_ticket" in reasons:
            return out
        ticket.claims.append([event.claim_id, outcome, reasons, at])
        if granted:
            ticket.granted_at = at
        self._dirty.add(("t", ticket.ticket_id))
        decided = ticket.decided_at is not None and ticket.decided_at <= at
        if not granted and decided and ticket.outcome in ("eligible", "ineligible", "suppressed"):
            # Pasal 5: a claim turned down for an applicant who did wait too long is referred by itself.
            found = evidence(ticket, self.outages, self.reviews, self.local, self._build)
            out.append(
                referral(
                    self.policy.office_id,
                    "claim_rejected_after_late_wait",
                    event.claim_id,
                    "auto",
                    self.local(at),
                    ticket.ticket_id,
                    found,
                    build=self._build,
                )
            )
        return out

    def _complaint(self, event: ComplaintFiled, at: Instant) -> Record:
        """A filed complaint, with the evidence the office holds when it names a ticket of this office."""
        ticket = None if event.ticket_id is None else self.tickets.get(event.ticket_id)
        found = (
            None if ticket is None else evidence(ticket, self.outages, self.reviews, self.local, self._build)
        )
        return referral(
            self.policy.office_id,
            "complaint",
            event.complaint_id,
            event.category,
            self.local(at),
            event.ticket_id,
            found,
            complaint_id=event.complaint_id,
            channel=event.channel,
            build=self._build,
        )

    # ---- state as entries, for a changelog-backed table -----------------------------------

    def take_changes(self) -> dict[tuple[str, str], Any]:
        """The entries changed since the last call; None marks a deleted entry."""
        changes = {key: self._entry(*key) for key in self._dirty}
        self._dirty.clear()
        return changes

    def entries(self) -> dict[tuple[str, str], Any]:
        keys: list[tuple[str, str]] = [("clock", "")]
        keys += [("t", k) for k in self.tickets]
        keys += [("o", k) for k in self.outages.by_key]
        keys += [("r", k) for k in self.reviews.by_applicant]
        keys += [("p", d.isoformat()) for d in self.series.last]
        keys += [("s", k) for k in self.other_stages]
        keys += [("e", k) for k in self.seen]
        entries = {key: self._entry(*key) for key in keys}
        for p in self._pending:  # each found directly: `_entry` would scan the buffer for it
            entries[("b", p[0][3])] = _buffered_entry(p[1])
        return entries

    def _entry(self, kind: str, key: str) -> Any:
        match kind:
            case "clock":
                return [self.clock.latest, self.clock.now]
            case "t":
                t = self.tickets.get(key)
                return None if t is None else _ticket_entry(t)
            case "o":
                o = self.outages.by_key.get(key)
                return None if o is None else [o.start, o.end]
            case "r":
                r = self.reviews.by_applicant.get(key)
                return None if r is None else [r.flags, r.clears]
            case "p":
                return self.series.last.get(date.fromisoformat(key))
            case "s":
                return self.other_stages.get(key)
            case "e":
                return self.seen.get(key)
            case "b":
                for p in self._pending:
                    if p[0][3] == key:
                        return _buffered_entry(p[1])
                return None
        raise ValueError(f"unknown state entry kind {kind!r}")

    @classmethod
    def restore(
        cls, policy: Policy, wall: Callable[[], datetime], entries: Iterable[tuple[tuple[str, str], Any]]
    ) -> "Office":
        """Rebuilds an office from the entries `entries()`/`take_changes()` produced."""
        office = cls(policy, wall)
        for (kind, key), value in entries:
            if value is None:
                continue
            match kind:
                case "clock":
                    office.clock.latest, office.clock.now = value
                case "t":
                    office._track(_ticket_from_entry(value))
                case "o":
                    office.outages.by_key[key] = Outage(value[0], value[1])
                case "r":
                    office.reviews.by_applicant[key] = Review(list(value[0]), list(value[1]))
                case "p":
                    office.series.last[date.fromisoformat(key)] = value
                case "s":
                    office.other_stages[key] = value
                case "e":
                    office.seen[key] = value
                case "b":
                    data = dict(value)
                    if data.get("type") == "review_flagged":
                        data["reason"] = WITHHELD
                    event = EVENT.validate_python(data)
                    rank, order = _ORDER_AT_INSTANT[event.type]
                    heapq.heappush(
                        office._pending, ((instant(event.occurred_at), rank, order, event.event_id), event)
                    )
        return office


class _Forgetful(deque[tuple[str, str]]):
    """A change set that keeps nothing: `add` is a deque's C `append` with no room, no Python call."""

    add = deque.append

    def __init__(self) -> None:
        super().__init__(maxlen=0)


def _buffered_entry(event: Event) -> dict[str, Any]:
    """A buffered event as the table keeps it: a review's reason (personal data) is never written."""
    return event.model_dump(mode="json", exclude={"reason"})


def _by_deadline(ticket: Ticket) -> tuple[Instant, str]:
    return ticket.deadline, ticket.ticket_id


_TICKET_FIELDS = Ticket.__slots__


def _ticket_entry(ticket: Ticket) -> list[Any]:
    return [
        getattr(ticket, name) if name != "service_day" else ticket.service_day.isoformat()
        for name in _TICKET_FIELDS
    ]


def _ticket_from_entry(value: list[Any]) -> Ticket:
    data = dict(zip(_TICKET_FIELDS, value, strict=True))
    data["service_day"] = date.fromisoformat(data["service_day"])
    return Ticket(**data)
