"""Pasal 5 of the Ombudsman agreement: cases referred to the Ombudsman liaison, with the evidence
the office holds about the ticket. Review reasons and complaint summaries are never included."""

import uuid
from collections.abc import Callable
from datetime import datetime

from rules.clock import Instant
from rules.ids import uuid5_text
from rules.outages import Outages
from rules.reviews import Reviews
from rules.ticket import Ticket
from schemas.records import (
    Build,
    ClaimEvidence,
    DecisionEvidence,
    Interval,
    OmbudsmanReferral,
    ReferralEvidence,
    model,
)

_REFERRAL_NS = uuid.UUID("3b8f0e7a-51c2-4d7e-9a43-2f0d6c1e8b55")


def referral_id(trigger: str, key: str) -> str:
    """Deterministic: the same case is the same referral, however often it is published."""
    return uuid5_text(_REFERRAL_NS, f"{trigger}\x1f{key}")


def evidence(
    ticket: Ticket,
    outages: Outages,
    reviews: Reviews,
    local: Callable[[Instant], datetime],
    build: Build = model,
) -> ReferralEvidence:
    """The ticket's decisions and claim answers, and the outages and review flags that touched its wait."""
    wait_end = ticket.ended_at if ticket.ended_at is not None else ticket.deadline
    decisions = []
    if ticket.outcome is not None and ticket.decided_at is not None:
        decisions.append(build(DecisionEvidence, outcome=ticket.outcome, reasons=ticket.reasons,
                               decided_at=local(ticket.decided_at)))  # fmt: skip
    if ticket.revoked_at is not None and ticket.revoke_reason is not None:
        decisions.append(build(DecisionEvidence, outcome="revoked", reasons=[ticket.revoke_reason],
                               decided_at=local(ticket.revoked_at)))  # fmt: skip
    claims = [
        build(ClaimEvidence, claim_id=c, outcome=o, reasons=r, decided_at=local(at))
        for c, o, r, at in ticket.claims
    ]
    touching = [o for o in outages.by_key.values() if o.overlaps(ticket.issued_at, wait_end)]
    flags = []
    review = reviews.by_applicant.get(ticket.applicant_id)
    if review is not None:
        for flagged in review.flags:
            cleared = next((c for c in review.clears if c >= flagged), None)
            if flagged <= wait_end and (cleared is None or cleared >= ticket.issued_at):
                end = None if cleared is None else local(cleared)
                flags.append(build(Interval, start=local(flagged), end=end))
    return build(
        ReferralEvidence,
        ticket_id=ticket.ticket_id,
        ticket_no=ticket.ticket_no,
        issued_at=local(ticket.issued_at),
        deadline=local(ticket.deadline),
        decisions=decisions,
        claims=claims,
        outages=[
            build(Interval, start=local(o.start), end=None if o.end is None else local(o.end))
            for o in sorted(touching, key=lambda o: o.start)
        ],
        review_flags=flags,
    )


def referral(
    office_id: str,
    trigger: str,
    key: str,
    category: str,
    at: datetime,
    ticket_id: str | None,
    found: ReferralEvidence | None,
    complaint_id: str | None = None,
    channel: str | None = None,
    build: Build = model,
) -> OmbudsmanReferral:
    return build(
        OmbudsmanReferral,
        referral_id=referral_id(trigger, key),
        office_id=office_id,
        category=category,
        trigger=trigger,
        complaint_id=complaint_id,
        channel=channel,
        ticket_id=ticket_id,
        referred_at=at,
        evidence=found,
    )
