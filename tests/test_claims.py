"""Contract section 5: claim decisions, each reason alone and in combination."""

import pytest

from schemas.records import ClaimDecision
from tests.builders import (
    BLITAR,
    COMPENSATION,
    MAKASSAR,
    NEXT_DAY,
    SINGARAJA,
    Raw,
    at,
    call,
    claim,
    claim_decisions,
    clear,
    close,
    flag,
    issue,
    outage_start,
    run,
    tick,
)


def claims_of(events: list[Raw]) -> dict[str, ClaimDecision]:
    return claim_decisions(run(events))


def reasons(c: ClaimDecision) -> set[str]:
    assert len(set(c.reasons)) == len(c.reasons), "reasons have no duplicates"
    return set(c.reasons)


def assert_rejected(c: ClaimDecision, *expected: str) -> None:
    assert c.outcome == "rejected"
    assert reasons(c) == set(expected)
    assert c.compensation == []


def assert_granted(c: ClaimDecision) -> None:
    assert c.outcome == "granted"
    assert c.reasons == []
    assert c.compensation == COMPENSATION


# ---- granted ------------------------------------------------------------------------------------


def test_a_claim_on_an_eligible_ticket_is_granted() -> None:
    c = claims_of([issue("T1", "08:00"), claim("C1", "T1", "10:30", officer="O-7"), tick("12:00")])["C1"]
    assert_granted(c)
    assert (c.claim_id, c.office_id, c.ticket_id) == ("C1", BLITAR, "T1")
    assert c.decided_at == at("10:30")
    assert c.decided_at.utcoffset() == at("10:30").utcoffset()


def test_a_claim_at_the_deadline_instant_is_granted() -> None:
    # deadlines before claims at the same instant
    c = claims_of([issue("T1", "08:00"), claim("C1", "T1", "10:00"), tick("12:00")])["C1"]
    assert_granted(c)
    assert c.decided_at == at("10:00")


def test_a_claim_at_the_deadline_instant_arriving_first_is_granted() -> None:
    c = claims_of([claim("C1", "T1", "10:00"), issue("T1", "08:00"), tick("12:00")])["C1"]
    assert_granted(c)


def test_a_claim_at_the_end_of_input_is_answered() -> None:
    c = claims_of([issue("T1", "08:00"), claim("C1", "T1", "10:00")])["C1"]
    assert_granted(c)


def test_the_last_minute_of_the_service_day_is_inside_the_window() -> None:
    c = claims_of([issue("T1", "08:00"), claim("C1", "T1", "23:59:59")])["C1"]
    assert_granted(c)


# ---- unknown_ticket: alone, whatever else holds --------------------------------------------------


@pytest.mark.parametrize(
    "events",
    [
        pytest.param([], id="unknown-id"),
        pytest.param([issue("T1", "10:30:01")], id="issued-after-the-claim"),
        pytest.param([issue("T1", "08:00", office=SINGARAJA)], id="other-office"),
        pytest.param([issue("T1", "08:00", stage="verification")], id="other-stage"),
        pytest.param([issue("T1", "08:00", stage="pickup"), flag("A-T1", "08:00")], id="other-stage-review"),
    ],
)
def test_unknown_ticket_alone(events: list[Raw]) -> None:
    c = claims_of([*events, flag("A-T1", "09:00"), claim("C1", "T1", "10:30"), tick("14:00")])["C1"]
    assert c.outcome == "rejected"
    assert c.reasons == ["unknown_ticket"]
    assert c.compensation == []
    assert c.ticket_id == "T1"


def test_unknown_ticket_alone_on_another_day() -> None:
    c = claims_of([claim("C1", "T1", at("10:30", day=NEXT_DAY))])["C1"]
    assert c.reasons == ["unknown_ticket"]


def test_a_claim_in_the_issue_instant_knows_the_ticket() -> None:
    c = claims_of([issue("T1", "08:00"), claim("C1", "T1", "08:00")])["C1"]
    assert_rejected(c, "not_yet_decided")


# ---- each reason on its own ---------------------------------------------------------------------


def test_not_yet_decided() -> None:
    c = claims_of([issue("T1", "08:00"), claim("C1", "T1", "09:59:59"), tick("12:00")])["C1"]
    assert_rejected(c, "not_yet_decided")


def test_not_yet_decided_uses_only_what_is_known_at_the_claim() -> None:
    # the call at 09:30 comes after the claim at 09:00 in event time, whatever the arrival order
    c = claims_of([issue("T1", "08:00"), call("T1", "09:30"), claim("C1", "T1", "09:00")])["C1"]
    assert_rejected(c, "not_yet_decided")


@pytest.mark.parametrize(
    "events",
    [
        pytest.param([call("T1", "09:00")], id="within_standard"),
        pytest.param([close("T1", "09:00", "no_show")], id="not_served"),
        pytest.param([close("T1", "09:00", "cancelled")], id="not_served-cancelled"),
        pytest.param([issue("T1", "08:00", channel="walk_in")], id="ineligible"),
        pytest.param([outage_start("O1", "09:00")], id="suppressed"),
    ],
)
def test_not_eligible(events: list[Raw]) -> None:
    base = [e for e in events if e["type"] == "ticket_issued"] or [issue("T1", "08:00")]
    rest = [e for e in events if e["type"] != "ticket_issued"]
    c = claims_of([*base, *rest, claim("C1", "T1", "10:30"), tick("12:00")])["C1"]
    assert_rejected(c, "not_eligible")


def test_revoked() -> None:
    events = [issue("T1", "08:00"), tick("12:00"), call("T1", "09:30"), claim("C1", "T1", "12:30")]
    assert_rejected(claims_of(events)["C1"], "revoked")


def test_a_claim_granted_before_the_late_fact_stays_granted() -> None:
    events = [
        issue("T1", "08:00"),
        claim("C1", "T1", "10:30"),
        tick("12:00"),
        outage_start("O1", "09:00"),  # late: revokes T1 at 09:00
        claim("C2", "T1", "12:30"),
    ]
    got = claims_of(events)
    assert_granted(got["C1"])
    assert_rejected(got["C2"], "revoked", "already_claimed")


def test_claim_window_closed() -> None:
    c = claims_of([issue("T1", "08:00"), claim("C1", "T1", at("00:00", day=NEXT_DAY))])["C1"]
    assert_rejected(c, "claim_window_closed")


def test_claim_window_is_the_office_local_day() -> None:
    # 23:30 Makassar time (15:30 UTC) is still the service day; one second past midnight is not
    events = [
        issue("S1", at("20:00", zone=MAKASSAR), office=SINGARAJA),
        claim("C1", "S1", at("23:30", zone=MAKASSAR), office=SINGARAJA),
        claim("C2", "S1", at("00:00:01", day=NEXT_DAY, zone=MAKASSAR), office=SINGARAJA),
    ]
    got = claims_of(events)
    assert_granted(got["C1"])
    assert_rejected(got["C2"], "claim_window_closed", "already_claimed")


def test_under_review_at_the_claim() -> None:
    c = claims_of([issue("T1", "08:00"), flag("A-T1", "10:10"), claim("C1", "T1", "10:30")])["C1"]
    assert_rejected(c, "under_review")


def test_a_review_cleared_before_the_claim_does_not_block_it() -> None:
    events = [issue("T1", "08:00"), flag("A-T1", "10:10"), clear("A-T1", "10:20"), claim("C1", "T1", "10:30")]
    assert_granted(claims_of(events)["C1"])


def test_a_review_cleared_at_the_claim_instant_is_still_open() -> None:
    events = [issue("T1", "08:00"), flag("A-T1", "10:10"), clear("A-T1", "10:30"), claim("C1", "T1", "10:30")]
    assert_rejected(claims_of(events)["C1"], "under_review")


def test_already_claimed() -> None:
    events = [issue("T1", "08:00"), claim("C1", "T1", "10:30"), claim("C2", "T1", "11:00", officer="O-2")]
    got = claims_of(events)
    assert_granted(got["C1"])
    assert_rejected(got["C2"], "already_claimed")


def test_a_late_earlier_claim_is_not_granted_twice() -> None:
    # C2 is granted at 10:40. C1 (10:20) then arrives after the clock passed it. Checked at its own
    # instant no earlier claim was granted, but granting it too compensates the applicant twice:
    # the claim desk must never grant two claims for one ticket.
    events = [
        issue("T1", "08:00"),
        tick("11:00"),
        claim("C2", "T1", "10:40"),
        claim("C1", "T1", "10:20"),
    ]
    got = claims_of(events)
    assert_granted(got["C2"])
    assert got["C1"].outcome == "rejected"
    assert "already_claimed" in got["C1"].reasons


def test_a_rejected_claim_does_not_count_as_claimed() -> None:
    events = [issue("T1", "08:00"), claim("C1", "T1", "09:00"), claim("C2", "T1", "10:30")]
    got = claims_of(events)
    assert_rejected(got["C1"], "not_yet_decided")
    assert_granted(got["C2"])


def test_two_claims_at_the_same_instant_one_is_granted() -> None:
    events = [issue("T1", "08:00"), claim("C1", "T1", "10:30"), claim("C2", "T1", "10:30"), tick("12:00")]
    got = claims_of(events)
    assert sorted(c.outcome for c in got.values()) == ["granted", "rejected"]
    rejected = next(c for c in got.values() if c.outcome == "rejected")
    assert rejected.reasons == ["already_claimed"]


# ---- combinations -------------------------------------------------------------------------------


def test_the_three_reason_example_of_the_contract() -> None:
    events = [
        issue("T1", "08:00"),
        flag("A-T1", "09:00"),
        claim("C1", "T1", at("09:00", day=NEXT_DAY)),
    ]
    c = claims_of(events)["C1"]
    assert_rejected(c, "not_eligible", "claim_window_closed", "under_review")


def test_not_yet_decided_and_under_review() -> None:
    events = [issue("T1", "08:00"), flag("A-T1", "08:30"), claim("C1", "T1", "09:00")]
    assert_rejected(claims_of(events)["C1"], "not_yet_decided", "under_review")


def test_not_eligible_and_claim_window_closed() -> None:
    events = [issue("T1", "08:00"), call("T1", "09:00"), claim("C1", "T1", at("09:00", day=NEXT_DAY))]
    assert_rejected(claims_of(events)["C1"], "not_eligible", "claim_window_closed")


def test_revoked_window_closed_under_review_and_already_claimed() -> None:
    events = [
        issue("T1", "08:00"),
        claim("C1", "T1", "10:30"),
        tick("12:00"),
        call("T1", "09:00"),  # late: revokes
        flag("A-T1", "13:00"),
        claim("C2", "T1", at("09:00", day=NEXT_DAY)),
    ]
    got = claims_of(events)
    assert_granted(got["C1"])
    assert_rejected(got["C2"], "revoked", "claim_window_closed", "under_review", "already_claimed")


def test_claim_window_closed_and_already_claimed() -> None:
    events = [issue("T1", "08:00"), claim("C1", "T1", "10:30"), claim("C2", "T1", at("09:00", day=NEXT_DAY))]
    got = claims_of(events)
    assert_rejected(got["C2"], "claim_window_closed", "already_claimed")


def test_a_claim_in_another_office_is_answered_by_that_office() -> None:
    events = [issue("T1", "08:00"), tick("12:00"), claim("C1", "T1", "10:30", office=SINGARAJA)]
    c = claims_of(events)["C1"]
    assert c.office_id == SINGARAJA
    assert c.reasons == ["unknown_ticket"]
