"""Clauses 2a-2g: the reasons a ticket whose deadline has passed is owed no compensation."""

from datetime import date

from rules.clock import Instant
from rules.outages import Outages
from rules.policy import Policy
from rules.reviews import Reviews
from rules.ticket import Ticket


def static_reasons(policy: Policy, ticket: Ticket) -> list[str]:
    """Exclusions fixed when the ticket is issued (2a, 2c, 2e)."""
    reasons: list[str] = []
    if ticket.service in policy.damaged_or_lost_services:
        reasons.append("damaged_or_lost_passport")  # 2e, and such a ticket never fails 2a
    elif ticket.service not in policy.covered_services:
        reasons.append("service_not_covered")  # 2a
    if ticket.booking_channel not in policy.online_channels:
        reasons.append("not_booked_online")  # 2c
    if policy.smart_registration_required and not ticket.smart_registered:
        reasons.append("not_smart_registered")  # 2c
    return reasons


def dynamic_reasons(ticket: Ticket, outages: Outages, reviews: Reviews) -> list[str]:
    """Exclusions that depend on what happened during the wait (2f, 2g)."""
    reasons: list[str] = []
    if outages.any_overlap(ticket.issued_at, ticket.deadline):
        reasons.append("system_outage")  # 2f
    if reviews.is_open(ticket.applicant_id, ticket.deadline):
        reasons.append("under_review")  # 2g
    return reasons


def at_deadline(policy: Policy, ticket: Ticket, outages: Outages, reviews: Reviews) -> tuple[str, list[str]]:
    """The outcome and reasons of a ticket still waiting when its deadline is reached (2b)."""
    fixed = static_reasons(policy, ticket)
    changing = dynamic_reasons(ticket, outages, reviews)
    if fixed:
        return "ineligible", fixed + changing
    if changing:
        return "suppressed", changing
    return "eligible", []


def claim_reasons(
    policy: Policy, ticket: Ticket | None, at: Instant, claim_day: date, reviews: Reviews
) -> list[str]:
    """Clause 2d: why a claim made at `at` fails, from what was known at that instant."""
    if ticket is None or ticket.issued_at > at:
        return ["unknown_ticket"]
    reasons: list[str] = []
    decided = ticket.decided_at is not None and ticket.decided_at <= at
    if not decided:
        reasons.append("not_yet_decided")
    elif ticket.outcome != "eligible":
        reasons.append("not_eligible")
    elif ticket.revoked_at is not None and ticket.revoked_at <= at:
        reasons.append("revoked")
    if claim_day != ticket.service_day:
        reasons.append("claim_window_closed")
    if reviews.is_open(ticket.applicant_id, at):
        reasons.append("under_review")
    # Any grant already given counts, even one for a later instant that arrived first: the office
    # compensates an applicant once.
    if ticket.granted_at is not None:
        reasons.append("already_claimed")
    return reasons
