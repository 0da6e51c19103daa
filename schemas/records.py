"""Output records (contract sections 3-6)."""

from collections.abc import Callable
from datetime import date, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

Outcome = Literal["within_standard", "not_served", "ineligible", "suppressed", "eligible", "revoked"]
Reason = Literal[
    "service_not_covered",
    "not_booked_online",
    "not_smart_registered",
    "damaged_or_lost_passport",
    "system_outage",
    "under_review",
    "called_within_standard",
    "closed_before_deadline",
]
ClaimReason = Literal[
    "unknown_ticket",
    "not_yet_decided",
    "not_eligible",
    "revoked",
    "claim_window_closed",
    "under_review",
    "already_claimed",
]
ErrorCode = Literal["invalid_json", "invalid_event", "unknown_office"]


class _Record(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class CompensationDecision(_Record):
    type: Literal["compensation_decision"] = "compensation_decision"
    decision_id: str
    office_id: str
    ticket_id: str
    ticket_no: str
    applicant_id: str
    service_day: date
    outcome: Outcome
    reasons: list[Reason]
    waited_s: int
    threshold_s: int
    policy_id: str
    issued_at: datetime
    called_at: datetime | None
    decided_at: datetime
    emitted_at: datetime


class PriorityTicketAssigned(_Record):
    type: Literal["priority_ticket_assigned"] = "priority_ticket_assigned"
    office_id: str
    priority_no: str
    ticket_id: str
    ticket_no: str
    service_day: date
    assigned_at: datetime


class PriorityTicketWithdrawn(_Record):
    type: Literal["priority_ticket_withdrawn"] = "priority_ticket_withdrawn"
    office_id: str
    priority_no: str
    ticket_id: str
    ticket_no: str
    service_day: date
    assigned_at: datetime
    reasons: list[Reason]


class ClaimDecision(_Record):
    type: Literal["claim_decision"] = "claim_decision"
    claim_id: str
    office_id: str
    ticket_id: str
    outcome: Literal["granted", "rejected"]
    reasons: list[ClaimReason]
    compensation: list[str]
    decided_at: datetime


class TicketAtRisk(_Record):
    """A biometric ticket that reached the office's warning wait uncalled (issue: early warning)."""

    type: Literal["ticket_at_risk"] = "ticket_at_risk"
    office_id: str
    ticket_id: str
    ticket_no: str
    issued_at: datetime
    deadline: datetime
    at: datetime


class OfficeStatus(_Record):
    """One office at a moment, published every few seconds for dashboards (`ops.office-status`)."""

    type: Literal["office_status"] = "office_status"
    office_id: str
    office_name: str
    at: datetime
    clock: datetime | None
    service_day: date | None
    waiting: int
    at_risk: int
    longest_wait_s: int
    outages_active: int
    outcomes: dict[str, int]
    priority_assigned: int
    priority_called: int
    priority_withdrawn: int


class DecisionEvidence(_Record):
    outcome: Outcome
    reasons: list[Reason]
    decided_at: datetime


class ClaimEvidence(_Record):
    claim_id: str
    outcome: Literal["granted", "rejected"]
    reasons: list[ClaimReason]
    decided_at: datetime


class Interval(_Record):
    """An outage, or a review flag: times only, never the review's reason."""

    start: datetime
    end: datetime | None


class ReferralEvidence(_Record):
    ticket_id: str
    ticket_no: str
    issued_at: datetime
    deadline: datetime
    decisions: list[DecisionEvidence]
    claims: list[ClaimEvidence]
    outages: list[Interval]
    review_flags: list[Interval]


class OmbudsmanReferral(_Record):
    """A case the office refers to the Ombudsman liaison (Pasal 5): filed complaints, and `auto` ones."""

    type: Literal["ombudsman_referral"] = "ombudsman_referral"
    referral_id: str
    office_id: str
    category: Literal["long_wait", "claim_rejected", "officer_conduct", "other", "auto"]
    trigger: Literal["complaint", "revoked", "claim_rejected_after_late_wait"]
    complaint_id: str | None
    channel: str | None
    ticket_id: str | None
    referred_at: datetime
    evidence: ReferralEvidence | None


class DeadLetter(_Record):
    type: Literal["dead_letter"] = "dead_letter"
    source_topic: str | None
    partition: int | None
    offset: int
    error_code: ErrorCode
    error: str
    raw: str


Record = (
    CompensationDecision
    | PriorityTicketAssigned
    | PriorityTicketWithdrawn
    | ClaimDecision
    | TicketAtRisk
    | OfficeStatus
    | OmbudsmanReferral
    | DeadLetter
)

# How the rules make a record from its fields: the model by default; replay builds plain dicts with
# the same fields in the same order, which it encodes without the model (streams/codec.py).
Build = Callable[..., Any]


def model(kind: type[BaseModel], **fields: Any) -> Any:
    return kind(**fields)
