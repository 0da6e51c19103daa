"""The disclosure check of the public summary (Pasal 6): no masked cell of a published month can be
given back by the relations between its figures, over generated decision logs with small counts."""

from datetime import datetime, timedelta
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from oversight.disclosure import (
    MASKED,
    bounds,
    cells,
    flatten,
    protect,
    public_summary,
    recomputable,
    relations,
)
from oversight.evaluation import CLAIM_REASONS, EXCLUSIONS, REFERRAL_CATEGORIES, REVOCATIONS, OfficeEvaluation
from tests.test_report import blitar

POLICY = blitar()
OFFICE = POLICY.office_id
MONTHS = (datetime(2026, 3, 2, 9, 0, tzinfo=POLICY.zone), datetime(2026, 4, 6, 9, 0, tzinfo=POLICY.zone))
STATUS = (None, "not_yet_decided", "not_eligible", "revoked")  # at most one of these (contract 5)
ALSO = ("claim_window_closed", "under_review", "already_claimed")
# Counts that make small cells beside large ones, where a difference could give a small one back.
COUNT = st.sampled_from([0, 0, 1, 2, 3, 4, 5, 6, 9, 17, 41])


@st.composite
def month_log(draw: st.DrawFn, opens: datetime) -> list[dict[str, Any]]:
    """One month of published records of one office: decisions, revocations, warnings, claims with
    every reason combination the contract allows, referrals and priority numbers."""
    day = opens.date().isoformat()
    records: list[dict[str, Any]] = []
    serial = 0

    def record(kind: str, **fields: Any) -> None:
        nonlocal serial
        serial += 1
        records.append({"type": kind, "office_id": OFFICE, **fields, "n": serial})

    def decision(ticket: str, outcome: str, reasons: list[str], waited: int) -> None:
        issued = opens + timedelta(seconds=serial)
        record(
            "compensation_decision",
            decision_id=f"{ticket}/{outcome}",
            ticket_id=ticket,
            outcome=outcome,
            reasons=reasons,
            service_day=day,
            issued_at=issued.isoformat(),
            decided_at=(issued + timedelta(seconds=waited)).isoformat(),
            waited_s=waited,
        )

    threshold, warn = POLICY.threshold_s, POLICY.warn_after_s or POLICY.threshold_s
    for outcome in ("within_standard", "not_served", "ineligible", "suppressed", "eligible"):
        for i in range(draw(COUNT)):
            ticket = f"{day}/{outcome}/{i}"
            late = outcome not in ("within_standard", "not_served")
            waited = threshold if late else draw(st.sampled_from([600, warn + 60]))
            reasons = {
                "suppressed": draw(st.sets(st.sampled_from(EXCLUSIONS), min_size=1)),
                "ineligible": {"not_booked_online"},
            }.get(outcome, set())
            decision(ticket, outcome, sorted(reasons), waited)
            if waited >= warn and draw(st.booleans()):
                at = opens + timedelta(seconds=warn)
                record("ticket_at_risk", ticket_id=ticket, issued_at=opens.isoformat(), at=at.isoformat())
            if outcome == "eligible" and draw(st.integers(0, 3)) == 0:
                revoked = draw(st.sets(st.sampled_from(REVOCATIONS), min_size=1))
                decision(ticket, "revoked", sorted(revoked), threshold)
    for i in range(draw(COUNT)):  # warned tickets still undecided
        record(
            "ticket_at_risk",
            ticket_id=f"{day}/pending/{i}",
            issued_at=opens.isoformat(),
            at=day + "T11:00:00+07:00",
        )
    for kind in ("granted", "unknown", "known"):
        for i in range(draw(COUNT)):
            reasons: list[str] = []
            if kind == "unknown":
                reasons = ["unknown_ticket"]
            elif kind == "known":
                status = draw(st.sampled_from(STATUS))
                reasons = [r for r in (status, *draw(st.sets(st.sampled_from(ALSO)))) if r]
                reasons = reasons or ["claim_window_closed"]
            at = (opens + timedelta(hours=3, seconds=serial)).isoformat()
            outcome = "granted" if kind == "granted" else "rejected"
            record(
                "claim_decision",
                claim_id=f"{day}/{kind}/{i}",
                outcome=outcome,
                reasons=reasons,
                decided_at=at,
            )
    for category in REFERRAL_CATEGORIES:
        for i in range(draw(COUNT)):
            at = (opens + timedelta(hours=4)).isoformat()
            record(
                "ombudsman_referral", referral_id=f"{day}/{category}/{i}", category=category, referred_at=at
            )
    assigned = draw(COUNT)
    for what, n in (("assigned", assigned), ("withdrawn", draw(st.integers(0, assigned)))):
        for i in range(n):
            record(
                f"priority_ticket_{what}",
                priority_no=f"K-{i:03}",
                service_day=day,
                assigned_at=opens.isoformat(),
            )
    return records


def evaluate(records: list[dict[str, Any]]) -> OfficeEvaluation:
    evaluation = OfficeEvaluation(POLICY)
    for r in records:
        assert evaluation.add(r) or r["type"] == "ticket_at_risk", r
    return evaluation


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.tuples(*(month_log(m) for m in MONTHS)))
def test_no_masked_cell_of_the_public_summary_can_be_recomputed(
    logs: tuple[list[dict[str, Any]], ...],
) -> None:
    evaluation = evaluate([r for log in logs for r in log]).evaluation()
    for figures, published in zip(evaluation.months, public_summary(evaluation)["months"], strict=True):
        true = cells(figures, mask=False)
        # The relations hold on the true figures, so the check attacks with what is really so.
        box = bounds(true, relations(true))
        assert all(lo <= hi for lo, hi in box.values()), box
        assert recomputable(published) == {}, published
        values = flatten(true)
        for name, value in flatten(published).items():
            assert value == MASKED or value == values[name], name
            if isinstance(values[name], int) and 0 < values[name] < 5:
                assert value == MASKED, name


def test_the_issues_rejected_claims_give_the_unknown_tickets_back_unless_more_is_masked() -> None:
    """43 rejected, 41 not eligible and 2 unknown tickets, which never come with another reason."""
    month: dict[str, Any] = {
        "claims": 50,
        "claims_granted": 7,
        "claims_rejected": 43,
        "rejected_by": {r: 0 for r in CLAIM_REASONS} | {"unknown_ticket": MASKED, "not_eligible": 41},
    }
    assert recomputable(month) == {"rejected_by.unknown_ticket": 2}
    protected = protect(dict(month))
    assert recomputable(protected) == {}
    # One more cell beside it is masked: 41 not eligible, the smallest that closes the difference.
    assert [n for n, v in flatten(protected).items() if v == MASKED] == [
        "rejected_by.unknown_ticket",
        "rejected_by.not_eligible",
    ]
    # Overlapping reasons: 41 not eligible, 42 with the window closed, leaving room for 1 unknown only.
    month["rejected_by"] |= {"claim_window_closed": 42}
    assert recomputable(month) == {"rejected_by.unknown_ticket": 1}


def test_a_share_beside_its_counts_gives_a_masked_count_back() -> None:
    """Prevention rate 33.3 % and 20 still late: 10 called in time, and the 2 not served follow."""
    month: dict[str, Any] = {
        "warned": 62,
        "warned_ended": {"in_time": MASKED, "late": 20, "not_served": MASKED},
        "warned_pending": 30,
        "prevention_rate": 33.3,
    }
    assert recomputable(month) == {"warned_ended.in_time": 10, "warned_ended.not_served": 2}
    assert protect(month)["prevention_rate"] == MASKED and recomputable(month) == {}
