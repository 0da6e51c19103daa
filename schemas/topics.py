"""Topic names of the contract and which input event type travels on which topic."""

from typing import Final

TICKETS: Final = "queue.tickets"
REVIEWS: Final = "applications.reviews"
SYSTEM_STATUS: Final = "ops.system-status"
CLAIMS: Final = "claims.requests"

DECISIONS: Final = "compensation.decisions"
PRIORITY_TICKETS: Final = "queue.priority-tickets"
CLAIM_DECISIONS: Final = "claims.decisions"
DEAD_LETTERS: Final = "queue.dead-letters"
AT_RISK: Final = "compensation.at-risk"
OFFICE_STATUS: Final = "ops.office-status"
REFERRALS: Final = "ombudsman.referrals"

INPUT_TOPICS: Final = (TICKETS, REVIEWS, SYSTEM_STATUS, CLAIMS)
OUTPUT_TOPICS: Final = (
    DECISIONS,
    PRIORITY_TICKETS,
    CLAIM_DECISIONS,
    DEAD_LETTERS,
    AT_RISK,
    OFFICE_STATUS,
    REFERRALS,
)

TOPIC_OF_TYPE: Final[dict[str, str]] = {
    "ticket_issued": TICKETS,
    "service_called": TICKETS,
    "ticket_closed": TICKETS,
    "review_flagged": REVIEWS,
    "review_cleared": REVIEWS,
    "outage_started": SYSTEM_STATUS,
    "outage_ended": SYSTEM_STATUS,
    "claim_submitted": CLAIMS,
    "complaint_filed": CLAIMS,
}

TOPIC_OF_RECORD: Final[dict[str, str]] = {
    "compensation_decision": DECISIONS,
    "priority_ticket_assigned": PRIORITY_TICKETS,
    "priority_ticket_withdrawn": PRIORITY_TICKETS,
    "claim_decision": CLAIM_DECISIONS,
    "dead_letter": DEAD_LETTERS,
    "ticket_at_risk": AT_RISK,
    "office_status": OFFICE_STATUS,
    "ombudsman_referral": REFERRALS,
}
