"""One test per row of the contract's rule table (section 1) and outcome table (section 3)."""

from datetime import timedelta

import pytest

from rules.office import decision_id
from schemas.records import CompensationDecision, Record
from tests.builders import (
    ALL,
    BLITAR,
    DAY,
    Raw,
    assigned,
    at,
    call,
    canonical_set,
    clear,
    close,
    decision,
    decisions,
    flag,
    issue,
    model,
    new_offices,
    outage_end,
    outage_start,
    outcomes,
    run,
    tick,
    withdrawn,
)

POLICY_ID = "kanim-blitar/W.15.IMI.IMI-6.0722.OT.02.02-2024"
SEVEN_HOURS = timedelta(hours=7)


def deadline_outcome(
    *, extra: list[Raw] | None = None, **ticket: object
) -> tuple[list[Record], CompensationDecision]:
    """T1 issued at 08:00 and never called; the clock is moved well past its 10:00 deadline."""
    records = run([issue("T1", "08:00", **ticket), *(extra or []), tick("12:00")])  # type: ignore[arg-type]
    return records, decision(records, "T1")


def assert_deadline_fields(d: CompensationDecision) -> None:
    assert d.decided_at == at("10:00")
    assert d.waited_s == 7200
    assert d.threshold_s == 7200
    assert d.called_at is None
    assert d.issued_at == at("08:00")
    assert d.service_day == DAY
    assert d.policy_id == POLICY_ID
    assert d.office_id == BLITAR
    assert d.decided_at.utcoffset() == SEVEN_HOURS


# ---- section 1: the rule ------------------------------------------------------------------------


@pytest.mark.parametrize("service", ["passport_new", "passport_replacement"])
def test_2a_covered_services_are_eligible(service: str) -> None:
    _, d = deadline_outcome(service=service)
    assert d.outcome == "eligible"
    assert d.reasons == []


@pytest.mark.parametrize("service", ["visa_extension", "Passport_New", "passport", "x"])
def test_2a_other_services_are_not_covered(service: str) -> None:
    records, d = deadline_outcome(service=service)
    assert d.outcome == "ineligible"
    assert d.reasons == ["service_not_covered"]
    assert assigned(records) == []
    assert_deadline_fields(d)


def test_2b_call_at_the_threshold_is_within_standard_one_second_later_is_eligible() -> None:
    records = run(
        [
            issue("T1", "08:00"),
            call("T1", "10:00:00"),
            issue("T2", "08:00"),
            call("T2", "10:00:01"),
            tick("12:00"),
        ]
    )
    assert outcomes(records) == {"T1": ["within_standard"], "T2": ["eligible"]}


@pytest.mark.parametrize(
    ("channel", "smart", "reasons"),
    [
        ("walk_in", True, {"not_booked_online"}),
        ("kiosk", True, {"not_booked_online"}),
        ("m_paspor", False, {"not_smart_registered"}),
        ("online_queue", False, {"not_smart_registered"}),
        ("walk_in", False, {"not_booked_online", "not_smart_registered"}),
    ],
)
def test_2c_not_booked_online_and_not_smart_registered(channel: str, smart: bool, reasons: set[str]) -> None:
    _, d = deadline_outcome(channel=channel, smart=smart)
    assert d.outcome == "ineligible"
    assert set(d.reasons) == reasons
    assert len(d.reasons) == len(reasons)


@pytest.mark.parametrize("channel", ["m_paspor", "online_queue"])
def test_2c_both_online_channels_with_smart_are_eligible(channel: str) -> None:
    _, d = deadline_outcome(channel=channel, smart=True)
    assert d.outcome == "eligible"


@pytest.mark.parametrize("service", ["passport_replacement_damaged", "passport_replacement_lost"])
def test_2e_damaged_or_lost_fails_2e_only_never_2a(service: str) -> None:
    _, d = deadline_outcome(service=service)
    assert d.outcome == "ineligible"
    assert d.reasons == ["damaged_or_lost_passport"]


@pytest.mark.parametrize("service", ["passport_replacement_damaged", "passport_replacement_lost"])
def test_2e_with_other_static_failures_still_never_2a(service: str) -> None:
    _, d = deadline_outcome(service=service, channel="walk_in", smart=False)
    assert set(d.reasons) == {"damaged_or_lost_passport", "not_booked_online", "not_smart_registered"}
    assert "service_not_covered" not in d.reasons


@pytest.mark.parametrize("scope", [BLITAR, ALL])
def test_2f_system_outage_during_the_wait_suppresses(scope: str) -> None:
    records, d = deadline_outcome(
        extra=[outage_start("O1", "09:00", office=scope), outage_end("O1", "09:10", office=scope)]
    )
    assert d.outcome == "suppressed"
    assert d.reasons == ["system_outage"]
    assert_deadline_fields(d)
    assert assigned(records) == []


def test_2f_outage_of_another_office_does_not_suppress() -> None:
    _, d = deadline_outcome(extra=[outage_start("O1", "09:00", office="kanim-singaraja")])
    assert d.outcome == "eligible"


def test_2g_review_open_at_the_deadline_suppresses() -> None:
    records, d = deadline_outcome(extra=[flag("A-T1", "09:00")])
    assert d.outcome == "suppressed"
    assert d.reasons == ["under_review"]
    assert_deadline_fields(d)
    assert assigned(records) == []


def test_2g_review_of_another_applicant_does_not_suppress() -> None:
    _, d = deadline_outcome(extra=[flag("A-OTHER", "09:00")])
    assert d.outcome == "eligible"


def test_2g_review_of_the_same_applicant_in_another_office_does_not_suppress() -> None:
    _, d = deadline_outcome(extra=[flag("A-T1", "09:00", office="kanim-singaraja")])
    assert d.outcome == "eligible"


def test_2g_review_cleared_before_the_deadline_does_not_suppress() -> None:
    _, d = deadline_outcome(extra=[flag("A-T1", "08:30"), clear("A-T1", "09:00")])
    assert d.outcome == "eligible"


def test_3_eligible_tickets_get_a_separate_priority_series() -> None:
    records = run(
        [
            issue("T1", "08:00", ticket_no="B-017"),
            issue("T2", "08:05", ticket_no="B-018"),
            issue("T3", "08:10", ticket_no="B-019", channel="walk_in"),
            tick("12:00"),
        ]
    )
    tickets = assigned(records)
    assert [(p.ticket_id, p.ticket_no, p.priority_no) for p in tickets] == [
        ("T1", "B-017", "K-001"),
        ("T2", "B-018", "K-002"),
    ]
    assert [p.assigned_at for p in tickets] == [at("10:00"), at("10:05")]
    assert all(p.service_day == DAY and p.office_id == BLITAR for p in tickets)


# ---- section 3: the outcomes --------------------------------------------------------------------


def test_within_standard_fields() -> None:
    records = run([issue("T1", "08:00", ticket_no="B-001", applicant="AP-1"), call("T1", "09:30:15")])
    d = decision(records, "T1")
    assert d.outcome == "within_standard"
    assert d.reasons == []
    assert d.called_at == at("09:30:15")
    assert d.decided_at == at("09:30:15")
    assert d.waited_s == 5415
    assert d.ticket_no == "B-001"
    assert d.applicant_id == "AP-1"
    assert d.service_day == DAY
    assert d.threshold_s == 7200
    assert d.policy_id == POLICY_ID
    assert d.called_at.utcoffset() == SEVEN_HOURS
    assert assigned(records) == []


def test_within_standard_ignores_the_static_exclusions() -> None:
    records = run([issue("T1", "08:00", service="visa", channel="walk_in", smart=False), call("T1", "09:00")])
    d = decision(records, "T1")
    assert d.outcome == "within_standard"
    assert d.reasons == []


def test_a_served_close_without_a_call_counts_as_the_call() -> None:
    records = run([issue("T1", "08:00"), close("T1", "09:00", "served")])
    d = decision(records, "T1")
    assert d.outcome == "within_standard"
    assert d.called_at == at("09:00")
    assert d.decided_at == at("09:00")
    assert d.waited_s == 3600


def test_the_first_call_ends_the_wait() -> None:
    records = run(
        [issue("T1", "08:00"), call("T1", "08:30"), call("T1", "09:00"), close("T1", "09:10", "no_show")]
    )
    assert outcomes(records) == {"T1": ["within_standard"]}
    assert decision(records, "T1").called_at == at("08:30")


@pytest.mark.parametrize("outcome", ["no_show", "cancelled"])
def test_not_served(outcome: str) -> None:
    records = run([issue("T1", "08:00"), close("T1", "09:00", outcome), call("T1", "09:05")])
    d = decision(records, "T1")
    assert d.outcome == "not_served"
    assert d.reasons == []
    assert d.decided_at == at("09:00")
    assert d.called_at is None
    assert d.waited_s == 3600


def test_ineligible_lists_every_failing_reason_2f_and_2g_included() -> None:
    records, d = deadline_outcome(
        service="visa",
        channel="walk_in",
        smart=False,
        extra=[outage_start("O1", "08:30"), flag("A-T1", "09:00")],
    )
    assert d.outcome == "ineligible"
    assert sorted(d.reasons) == sorted(
        ["service_not_covered", "not_booked_online", "not_smart_registered", "system_outage", "under_review"]
    )
    assert len(set(d.reasons)) == len(d.reasons)
    assert_deadline_fields(d)
    assert assigned(records) == []


def test_ineligible_damaged_with_every_other_reason() -> None:
    _, d = deadline_outcome(
        service="passport_replacement_lost",
        channel="walk_in",
        smart=False,
        extra=[outage_start("O1", "08:30", office=ALL), flag("A-T1", "09:00")],
    )
    assert d.outcome == "ineligible"
    assert sorted(d.reasons) == sorted(
        [
            "damaged_or_lost_passport",
            "not_booked_online",
            "not_smart_registered",
            "system_outage",
            "under_review",
        ]
    )


def test_suppressed_with_both_dynamic_reasons() -> None:
    records, d = deadline_outcome(
        extra=[outage_start("O1", "08:30"), outage_start("O2", "08:40", office=ALL), flag("A-T1", "09:00")]
    )
    assert d.outcome == "suppressed"
    assert sorted(d.reasons) == ["system_outage", "under_review"]
    assert_deadline_fields(d)
    assert assigned(records) == []


def test_eligible_fields_and_priority_ticket() -> None:
    records, d = deadline_outcome(ticket_no="B-042")
    assert d.outcome == "eligible"
    assert d.reasons == []
    assert_deadline_fields(d)
    (p,) = assigned(records)
    assert (p.priority_no, p.ticket_id, p.ticket_no, p.service_day) == ("K-001", "T1", "B-042", DAY)
    assert p.assigned_at == d.decided_at
    assert withdrawn(records) == []


def test_an_open_ticket_at_end_of_input_stays_pending() -> None:
    # at end of input the clock moves to the largest occurred_at, and no further
    records = run([issue("T1", "08:00"), tick("09:59:59")])
    assert decisions(records) == []
    records = run([issue("T1", "08:00"), tick("10:00")])
    assert outcomes(records) == {"T1": ["eligible"]}


# ---- revocations ------------------------------------------------------------------------------


REVOCATIONS = [
    pytest.param(call("T1", "09:30"), "called_within_standard", id="late-call"),
    pytest.param(close("T1", "09:30", "served"), "called_within_standard", id="late-served-close"),
    pytest.param(close("T1", "09:30", "no_show"), "closed_before_deadline", id="late-no-show"),
    pytest.param(close("T1", "09:30", "cancelled"), "closed_before_deadline", id="late-cancelled"),
    pytest.param(outage_start("O1", "09:30"), "system_outage", id="late-outage"),
    pytest.param(outage_start("O1", "09:30", office=ALL), "system_outage", id="late-star-outage"),
    pytest.param(flag("A-T1", "09:30"), "under_review", id="late-review"),
]


@pytest.mark.parametrize(("late", "reason"), REVOCATIONS)
def test_revoked_by_a_late_fact(late: Raw, reason: str) -> None:
    offices = new_offices()
    records: list[Record] = []
    for event in [issue("T1", "08:00", ticket_no="B-007"), tick("12:00")]:
        records += offices.receive(model(event)).records
    assert outcomes(records) == {"T1": ["eligible"]}
    receipt = offices.receive(model(late))
    assert receipt.late
    assert not receipt.duplicate
    records += receipt.records
    records += offices.finish()

    assert outcomes(records) == {"T1": ["eligible", "revoked"]}
    eligible = decision(records, "T1", "eligible")
    revoked = decision(records, "T1", "revoked")
    assert revoked.reasons == [reason]
    assert revoked.decided_at == at("09:30")
    assert revoked.waited_s == 5400
    assert revoked.called_at is None
    assert revoked.issued_at == at("08:00")
    assert revoked.service_day == DAY
    assert revoked.ticket_no == "B-007"
    assert revoked.decision_id != eligible.decision_id
    assert records.index(revoked) > records.index(eligible)

    (w,) = withdrawn(records)
    (p,) = assigned(records)
    assert (w.priority_no, w.ticket_id, w.ticket_no, w.service_day) == ("K-001", "T1", "B-007", DAY)
    assert w.priority_no == p.priority_no
    assert w.assigned_at == p.assigned_at == at("10:00")
    assert w.reasons == [reason]
    assert w.office_id == BLITAR


def test_a_late_call_at_the_deadline_itself_revokes() -> None:
    records = run([issue("T1", "08:00"), tick("12:00"), call("T1", "10:00")])
    revoked = decision(records, "T1", "revoked")
    assert revoked.reasons == ["called_within_standard"]
    assert revoked.waited_s == 7200


@pytest.mark.parametrize(
    "late",
    [
        pytest.param(call("T1", "10:00:01"), id="call-after-deadline"),
        pytest.param(close("T1", "10:30", "no_show"), id="close-after-deadline"),
        pytest.param(outage_start("O1", "10:00:01"), id="outage-after-deadline"),
        pytest.param(flag("A-T1", "10:00:01"), id="review-after-deadline"),
        pytest.param(outage_start("O1", "09:00", office="kanim-singaraja"), id="outage-other-office"),
        pytest.param(flag("A-OTHER", "09:00"), id="review-other-applicant"),
    ],
)
def test_a_late_fact_that_would_not_have_prevented_eligible_revokes_nothing(late: Raw) -> None:
    records = run([issue("T1", "08:00"), tick("12:00"), late])
    assert outcomes(records) == {"T1": ["eligible"]}
    assert withdrawn(records) == []


def test_a_late_review_already_cleared_before_the_deadline_revokes_nothing() -> None:
    records = run([issue("T1", "08:00"), clear("A-T1", "09:30"), tick("12:00"), flag("A-T1", "09:00")])
    assert outcomes(records) == {"T1": ["eligible"]}


def test_only_one_revocation_however_many_late_facts() -> None:
    records = run(
        [
            issue("T1", "08:00"),
            tick("12:00"),
            outage_start("O1", "09:00"),
            flag("A-T1", "09:10"),
            call("T1", "09:20"),
            close("T1", "09:30", "no_show"),
        ]
    )
    assert outcomes(records) == {"T1": ["eligible", "revoked"]}
    assert decision(records, "T1", "revoked").reasons == ["system_outage"]
    assert len(withdrawn(records)) == 1


def test_late_facts_never_revoke_a_non_eligible_decision() -> None:
    records = run(
        [
            issue("T1", "08:00", channel="walk_in"),
            issue("T2", "08:00"),
            flag("A-T2", "09:00"),
            tick("12:00"),
            call("T1", "09:00"),
            call("T2", "09:00"),
        ]
    )
    assert outcomes(records) == {"T1": ["ineligible"], "T2": ["suppressed"]}


def test_a_late_event_is_not_late_within_the_allowed_lateness() -> None:
    # The clock is 60 s behind the latest event: a call 60 s before it is late, 59 s before is not.
    offices = new_offices()
    records = offices.receive(model(issue("T1", "08:00"))).records
    records += offices.receive(model(tick("10:01:00"))).records
    receipt = offices.receive(model(call("T1", "10:00:01")))
    assert not receipt.late
    records += receipt.records
    receipt = offices.receive(model(call("T1", "10:00:00")))
    assert receipt.late
    records += receipt.records + offices.finish()
    # the deadline fired before the late call arrived (clock at 10:00): eligible, then revoked
    assert outcomes(records) == {"T1": ["eligible", "revoked"]}


# ---- decision ids -----------------------------------------------------------------------------


def test_decision_ids_are_deterministic_across_runs() -> None:
    events = [
        issue("T1", "08:00"),
        call("T1", "09:00"),
        issue("T2", "08:00"),
        tick("12:00"),
        flag("A-T2", "09:00"),
    ]
    first = run(events)
    second = run(events)
    assert [d.decision_id for d in decisions(first)] == [d.decision_id for d in decisions(second)]
    assert canonical_set(first) == canonical_set(second)
    assert len(decisions(first)) == 3


def test_decision_id_depends_only_on_ticket_and_outcome() -> None:
    a = decision(run([issue("T1", "08:00"), tick("12:00")]), "T1")
    b = decision(run([issue("T1", "09:00", applicant="X", ticket_no="B-9"), tick("13:00")]), "T1")
    assert a.outcome == b.outcome == "eligible"
    assert a.decision_id == b.decision_id == decision_id("T1", "eligible")


def test_decision_ids_are_distinct_across_outcomes_and_tickets() -> None:
    ids = {
        decision_id(t, o)
        for t in ("T1", "T2")
        for o in ("within_standard", "not_served", "ineligible", "suppressed", "eligible", "revoked")
    }
    assert len(ids) == 12
    records = run(
        [
            issue("T1", "08:00"),
            issue("T2", "08:00"),
            call("T2", "09:00"),
            issue("T3", "08:00", smart=False),
            issue("T4", "08:00"),
            flag("A-T4", "08:00"),
            issue("T5", "08:00"),
            close("T5", "08:10", "no_show"),
            tick("12:00"),
            call("T1", "09:00"),
        ]
    )
    got = [d.decision_id for d in decisions(records)]
    assert len(got) == 6
    assert len(set(got)) == 6
    for d in decisions(records):
        assert d.decision_id == decision_id(d.ticket_id, d.outcome)
