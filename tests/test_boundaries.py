"""Edges of the rule: exact thresholds, same-instant facts, half-open outages, days and time zones."""

from datetime import UTC, date, datetime, timedelta

import pytest

from rules.clock import instant
from schemas.records import Record
from tests.builders import (
    ALL,
    BLITAR,
    DAY,
    MAKASSAR,
    NEXT_DAY,
    SINGARAJA,
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

# ---- the threshold ----------------------------------------------------------------------------


def test_a_call_exactly_at_two_hours_is_within_standard() -> None:
    records = run([issue("T1", "08:00"), call("T1", "10:00"), tick("12:00")])
    d = decision(records, "T1")
    assert d.outcome == "within_standard"
    assert d.waited_s == 7200
    assert d.called_at == at("10:00")


@pytest.mark.parametrize(
    "late_by", [timedelta(seconds=1), timedelta(microseconds=1)], ids=["one-second", "one-microsecond"]
)
def test_a_call_after_two_hours_is_late(late_by: timedelta) -> None:
    records = run([issue("T1", "08:00"), call("T1", at("10:00") + late_by), tick("12:00")])
    d = decision(records, "T1")
    assert d.outcome == "eligible"
    assert d.decided_at == at("10:00")
    assert d.called_at is None


def test_a_close_exactly_at_two_hours_is_not_served() -> None:
    records = run([issue("T1", "08:00"), close("T1", "10:00", "no_show"), tick("12:00")])
    assert decision(records, "T1").outcome == "not_served"


def test_sub_second_issue_times_keep_whole_second_waits() -> None:
    records = run([issue("T1", at("08:00") + timedelta(microseconds=700_000)), call("T1", "09:00")])
    d = decision(records, "T1")
    assert d.waited_s == 3599


# ---- call and close at the same instant -----------------------------------------------------


@pytest.mark.parametrize("outcome", ["served", "no_show", "cancelled"])
@pytest.mark.parametrize("close_first", [False, True], ids=["call-first", "close-first"])
@pytest.mark.parametrize("when", ["09:00", "10:00"], ids=["mid-wait", "at-deadline"])
def test_a_call_at_the_same_instant_as_a_close_wins(outcome: str, close_first: bool, when: str) -> None:
    both = [call("T1", when, event_id="z-call"), close("T1", when, outcome, event_id="a-close")]
    if close_first:
        both.reverse()
    records = run([issue("T1", "08:00"), *both, tick("12:00")])
    d = decision(records, "T1")
    assert d.outcome == "within_standard"
    assert d.called_at == at(when)
    assert d.decided_at == at(when)


def test_a_no_show_before_a_call_is_not_served() -> None:
    records = run([issue("T1", "08:00"), close("T1", "09:00", "no_show"), call("T1", "09:00:01")])
    assert outcomes(records) == {"T1": ["not_served"]}


# ---- reviews at the deadline ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("flagged", "cleared", "suppressed"),
    [
        ("09:00", "10:00:00", True),  # a clear at the deadline itself is too late
        ("09:00", "09:59:59", False),
        ("10:00:00", None, True),  # flagged at the deadline
        ("10:00:01", None, False),
        ("08:00", "08:00:01", False),
        ("07:00", "07:30", False),  # flagged and cleared before issue
        ("07:00", None, True),  # flagged before issue, never cleared
    ],
)
def test_review_at_the_deadline(flagged: str, cleared: str | None, suppressed: bool) -> None:
    events = [issue("T1", "08:00"), flag("A-T1", flagged)]
    if cleared:
        events.append(clear("A-T1", cleared))
    d = decision(run([*events, tick("12:00")]), "T1")
    assert d.outcome == ("suppressed" if suppressed else "eligible")
    assert d.reasons == (["under_review"] if suppressed else [])


def test_a_reflag_after_a_clear_suppresses_again() -> None:
    events = [issue("T1", "08:00"), flag("A-T1", "08:10"), clear("A-T1", "08:20"), flag("A-T1", "09:00")]
    assert decision(run([*events, tick("12:00")]), "T1").outcome == "suppressed"


def test_a_review_concerns_all_tickets_of_the_applicant() -> None:
    events = [issue("T1", "08:00", applicant="AP"), issue("T2", "08:30", applicant="AP"), flag("AP", "08:40")]
    assert outcomes(run([*events, tick("12:00")])) == {"T1": ["suppressed"], "T2": ["suppressed"]}


# ---- outages: [start, end) against [issued_at, deadline] ---------------------------------------


@pytest.mark.parametrize(
    ("start", "end", "suppressed"),
    [
        ("10:00:00", None, True),  # starts exactly at the deadline
        ("10:00:01", None, False),
        ("07:00", "08:00:00", False),  # ended exactly at issue time
        ("07:00", "08:00:01", True),
        ("07:00", None, True),  # started before issue, never ended
        ("08:30", "08:31", True),
        ("10:00:00", "10:00:01", True),
    ],
)
def test_outage_interval_edges(start: str, end: str | None, suppressed: bool) -> None:
    events = [outage_start("O1", start)]
    if end:
        events.append(outage_end("O1", end))
    d = decision(run([issue("T1", "08:00"), *events, tick("12:00")]), "T1")
    assert d.outcome == ("suppressed" if suppressed else "eligible")


def _with_and_without(extra: Raw, events: list[Raw]) -> tuple[set[str], set[str]]:
    return canonical_set(run(events)), canonical_set(run([*events, extra]))


def test_an_outage_end_with_no_start_changes_nothing() -> None:
    events = [issue("T1", "08:00"), issue("T2", "09:00"), tick("12:00")]
    without, with_end = _with_and_without(outage_end("O1", "08:30"), events)
    assert without == with_end
    assert outcomes(run([outage_end("O1", "07:00"), *events])) == {"T1": ["eligible"], "T2": ["eligible"]}


def test_an_outage_end_before_its_start_changes_nothing() -> None:
    # The outage starting at 10:30 stays open: T2, issued later, is still suppressed.
    events = [issue("T1", "08:00"), outage_start("O1", "10:30"), outage_end("O1", "10:29:59")]
    events += [issue("T2", "11:00"), tick("14:00")]
    assert outcomes(run(events)) == {"T1": ["eligible"], "T2": ["suppressed"]}
    without = [e for e in events if e["type"] != "outage_ended"]
    assert canonical_set(run(events)) == canonical_set(run(without))


def test_an_outage_end_of_another_scope_does_not_end_it() -> None:
    events = [outage_start("O1", "07:00"), outage_end("O1", "07:30", office=ALL), issue("T1", "08:00")]
    assert outcomes(run([*events, tick("12:00")])) == {"T1": ["suppressed"]}


def test_a_second_end_does_not_move_the_end() -> None:
    events = [outage_start("O1", "07:00"), outage_end("O1", "07:30"), outage_end("O1", "09:00")]
    assert outcomes(run([*events, issue("T1", "08:00"), tick("12:00")])) == {"T1": ["eligible"]}


@pytest.mark.parametrize(("start_id", "end_id"), [("e1", "e2"), ("e9", "e10"), ("b", "a")])
def test_an_outage_started_and_ended_at_the_same_instant_is_empty(start_id: str, end_id: str) -> None:
    # [t, t) is empty; the outcome must not depend on how the two event ids happen to sort.
    events = [
        outage_start("O1", "08:00", event_id=start_id),
        outage_end("O1", "08:00", event_id=end_id),
        issue("T1", "09:00"),
        tick("12:00"),
    ]
    assert outcomes(run(events)) == {"T1": ["eligible"]}


def test_an_outage_that_never_ends_suppresses_later_days_too() -> None:
    events = [
        issue("T1", "08:00"),
        outage_start("O1", "09:00"),
        issue("T2", at("08:00", day=NEXT_DAY)),
        tick(at("12:00", day=NEXT_DAY)),
    ]
    records = run(events)
    assert outcomes(records) == {"T1": ["suppressed"], "T2": ["suppressed"]}
    assert decision(records, "T2").service_day == NEXT_DAY


def test_a_star_outage_reaches_every_office() -> None:
    events = [
        issue("T1", "08:00"),
        issue("S1", at("08:00", zone=MAKASSAR), office=SINGARAJA),
        outage_start("O1", "08:30", office=ALL),  # 09:30 in Singaraja: during both waits
        tick("12:00"),
        tick(at("12:00", zone=MAKASSAR), office=SINGARAJA),
    ]
    records = run(events)
    assert outcomes(records) == {"T1": ["suppressed"], "S1": ["suppressed"]}
    assert decision(records, "S1").office_id == SINGARAJA


def test_a_star_outage_moves_no_clock() -> None:
    offices = new_offices()
    records: list[Record] = offices.receive(model(issue("T1", "08:00"))).records
    receipt = offices.receive(model(outage_start("O1", "13:00", office=ALL)))
    assert receipt.records == []
    records += receipt.records + offices.finish()
    # the Blitar clock stays at 08:00: T1's deadline is never reached, so T1 stays pending
    assert decisions(records) == []
    assert offices.by_id[BLITAR].clock.latest == instant(at("08:00"))
    assert offices.by_id[SINGARAJA].clock.latest is None


def test_a_star_outage_ended_by_a_star_end() -> None:
    events = [outage_start("O1", "07:00", office=ALL), outage_end("O1", "07:30", office=ALL)]
    assert outcomes(run([*events, issue("T1", "08:00"), tick("12:00")])) == {"T1": ["eligible"]}


# ---- time zones and days ----------------------------------------------------------------------


def test_singaraja_ticket_issued_late_evening_keeps_its_service_day() -> None:
    records = run(
        [
            issue("S1", at("23:00", zone=MAKASSAR), office=SINGARAJA),
            tick(at("02:00", day=NEXT_DAY, zone=MAKASSAR), office=SINGARAJA),
        ]
    )
    d = decision(records, "S1")
    assert d.outcome == "eligible"
    assert d.service_day == DAY
    assert d.decided_at == at("01:00", day=NEXT_DAY, zone=MAKASSAR)
    assert d.decided_at.utcoffset() == timedelta(hours=8)
    assert d.issued_at.utcoffset() == timedelta(hours=8)
    (p,) = assigned(records)
    assert p.service_day == DAY
    assert p.priority_no == "K-001"


def test_priority_series_restarts_each_local_day() -> None:
    z = MAKASSAR
    records = run(
        [
            issue("S1", at("22:30", zone=z), office=SINGARAJA),
            issue("S2", at("23:00", zone=z), office=SINGARAJA),
            issue("S3", at("00:10", day=NEXT_DAY, zone=z), office=SINGARAJA),
            issue("S4", at("00:20", day=NEXT_DAY, zone=z), office=SINGARAJA),
            tick(at("04:00", day=NEXT_DAY, zone=z), office=SINGARAJA),
            issue("T1", "08:00"),
            tick("12:00"),
        ]
    )
    got = {(p.office_id, p.ticket_id): (p.priority_no, p.service_day) for p in assigned(records)}
    assert got == {
        (SINGARAJA, "S1"): ("K-001", DAY),
        (SINGARAJA, "S2"): ("K-002", DAY),
        (SINGARAJA, "S3"): ("K-001", NEXT_DAY),
        (SINGARAJA, "S4"): ("K-002", NEXT_DAY),
        (BLITAR, "T1"): ("K-001", DAY),
    }


@pytest.mark.parametrize(
    ("utc", "day"),
    [("2026-03-02T16:59:59Z", DAY), ("2026-03-02T17:00:00Z", NEXT_DAY), ("2026-03-01T17:00:00Z", DAY)],
)
def test_service_day_is_the_office_local_date(utc: str, day: date) -> None:
    event = issue("T1")
    event["occurred_at"] = utc
    records = run([event, tick(datetime.fromisoformat(utc) + timedelta(hours=3))])
    assert decision(records, "T1").service_day == day


def test_a_utc_z_timestamp_is_the_same_instant() -> None:
    issued = issue("T1")
    issued["occurred_at"] = "2026-03-02T01:00:00Z"
    called = call("T1", "10:00")
    called["occurred_at"] = "2026-03-02T11:00:00+08:00"
    records = run([issued, called, tick("12:00")])
    d = decision(records, "T1")
    assert d.outcome == "within_standard"
    assert d.waited_s == 7200
    assert d.issued_at == at("08:00") == datetime(2026, 3, 2, 1, tzinfo=UTC)
    assert d.issued_at.utcoffset() == timedelta(hours=7)
    assert d.called_at is not None and d.called_at.utcoffset() == timedelta(hours=7)


def test_z_and_offset_forms_of_one_instant_tie() -> None:
    # a lowercase z is RFC 3339 too; a call written in UTC at the deadline instant is in time
    issued = issue("T1", "08:00")
    called = call("T1", "10:00")
    called["occurred_at"] = "2026-03-02T03:00:00z"
    assert outcomes(run([issued, called, tick("12:00")])) == {"T1": ["within_standard"]}


# ---- priority order ---------------------------------------------------------------------------


def test_priority_numbers_follow_decided_at_then_ticket_id() -> None:
    records = run(
        [
            issue("TB", "08:00"),
            issue("T9", "08:00:01"),
            issue("TA", "08:00"),
            issue("T10", "08:00"),
            issue("T0", "08:30"),
            tick("12:00"),
        ]
    )
    got = [(p.ticket_id, p.priority_no) for p in assigned(records)]
    assert got == [("T10", "K-001"), ("TA", "K-002"), ("TB", "K-003"), ("T9", "K-004"), ("T0", "K-005")]


def test_priority_numbers_skip_non_eligible_tickets() -> None:
    records = run(
        [issue("T1", "08:00"), issue("T2", "08:01", smart=False), issue("T3", "08:02"), tick("12:00")]
    )
    assert [(p.ticket_id, p.priority_no) for p in assigned(records)] == [("T1", "K-001"), ("T3", "K-002")]


# ---- duplicates, stages, offices, reissues ---------------------------------------------------


def test_a_duplicate_event_id_is_dropped_and_changes_nothing() -> None:
    offices = new_offices()
    first = issue("T1", "08:00", event_id="dup-1")
    records = offices.receive(model(first)).records
    receipt = offices.receive(model(first))
    assert receipt.duplicate and receipt.records == []
    # the same id with other content is still a duplicate
    other = call("T1", "09:00", event_id="dup-1")
    receipt = offices.receive(model(other))
    assert receipt.duplicate and receipt.records == []
    records += offices.receive(model(tick("12:00"))).records + offices.finish()
    assert outcomes(records) == {"T1": ["eligible"]}


def test_a_duplicate_moves_no_clock() -> None:
    offices = new_offices()
    records = offices.receive(model(issue("T1", "08:00"))).records
    records += offices.receive(model(call("NOPE", "09:00", event_id="dup-2"))).records
    receipt = offices.receive(model(call("NOPE", "12:00", event_id="dup-2")))
    assert receipt.duplicate
    records += receipt.records + offices.finish()
    assert decisions(records) == []


def test_a_duplicate_star_event_is_a_duplicate() -> None:
    offices = new_offices()
    event = outage_start("O1", "09:00", office=ALL, event_id="star-1")
    assert not offices.receive(model(event)).duplicate
    assert offices.receive(model(event)).duplicate


def test_the_same_input_twice_gives_the_same_records() -> None:
    events = [issue("T1", "08:00"), issue("T2", "08:00"), call("T2", "09:00"), tick("12:00")]
    doubled = [e for e in events for _ in range(2)]
    assert canonical_set(run(doubled)) == canonical_set(run(events))
    assert len(run(doubled)) == len(run(events))


@pytest.mark.parametrize("stage", ["verification", "pickup", "interview", "Biometric"])
def test_a_non_biometric_ticket_gets_no_decision(stage: str) -> None:
    records = run([issue("T1", "08:00", stage=stage), call("T1", "09:00"), issue("T2", "08:00", stage=stage)])
    records += run([issue("T3", "08:00", stage=stage), tick("12:00")])
    assert decisions(records) == []
    assert assigned(records) == []


@pytest.mark.parametrize(
    "other", [call("T1", "09:00", office=SINGARAJA), close("T1", "09:00", "no_show", office=SINGARAJA)]
)
def test_a_call_or_close_in_another_office_changes_nothing(other: Raw) -> None:
    records = run([issue("T1", "08:00"), other, tick("12:00")])
    assert outcomes(records) == {"T1": ["eligible"]}


def test_a_second_issue_of_the_same_ticket_is_ignored() -> None:
    records = run(
        [
            issue("T1", "08:00", ticket_no="B-001", applicant="A1"),
            issue("T1", "09:00", ticket_no="B-999", applicant="A9", channel="walk_in"),
            tick("12:00"),
        ]
    )
    d = decision(records, "T1")
    assert d.outcome == "eligible"
    assert (d.ticket_no, d.applicant_id, d.issued_at) == ("B-001", "A1", at("08:00"))


def test_a_second_issue_at_the_biometric_stage_of_a_non_biometric_ticket_is_ignored() -> None:
    # ticket_id is globally unique: the second issue of T1 is ignored whatever the first one's stage.
    records = run([issue("T1", "08:00", stage="verification"), issue("T1", "08:30"), tick("12:00")])
    assert decisions(records) == []


# ---- facts from before the ticket existed -------------------------------------------------------


@pytest.mark.parametrize(
    "before",
    [
        pytest.param(call("T1", "07:00"), id="call"),
        pytest.param(close("T1", "07:00", "served"), id="served-close"),
        pytest.param(close("T1", "07:00", "no_show"), id="no-show"),
    ],
)
def test_a_call_or_close_before_the_issue_changes_nothing(before: Raw) -> None:
    # In time order the ticket does not exist yet at 07:00, so the fact changes nothing.
    assert outcomes(run([issue("T1", "08:00"), before, tick("12:00")])) == {"T1": ["eligible"]}


@pytest.mark.parametrize(
    "before",
    [
        pytest.param(call("T1", "07:00"), id="call"),
        pytest.param(close("T1", "07:00", "served"), id="served-close"),
        pytest.param(close("T1", "07:00", "no_show"), id="no-show"),
    ],
)
@pytest.mark.parametrize("clock", ["09:00", "12:00"], ids=["ticket-open", "ticket-decided"])
def test_a_late_call_or_close_before_the_issue_changes_nothing_either(before: Raw, clock: str) -> None:
    # The same fact arriving after the clock passed it: it could not have prevented anything, so it
    # neither ends the wait (with a decided_at before issued_at) nor revokes the eligible decision.
    records = run([issue("T1", "08:00"), tick(clock), before, tick("12:00")])
    assert outcomes(records) == {"T1": ["eligible"]}
    assert withdrawn(records) == []


# ---- the duplicate window ---------------------------------------------------------------------


def test_an_event_id_repeated_after_48_hours_is_not_a_duplicate() -> None:
    # "a repeated event_id (within 48 hours) is a duplicate": three days later it is a new event.
    later = DAY + timedelta(days=3)
    records = run(
        [
            issue("T1", "08:00", event_id="reused"),
            tick("12:00"),
            issue("T2", at("08:00", day=later), event_id="reused"),
            tick(at("12:00", day=later)),
        ]
    )
    assert outcomes(records) == {"T1": ["eligible"], "T2": ["eligible"]}


def test_an_event_id_repeated_within_48_hours_is_a_duplicate() -> None:
    records = run(
        [
            issue("T1", "08:00", event_id="reused"),
            tick("12:00"),
            issue("T2", at("08:00", day=NEXT_DAY), event_id="reused"),
            tick(at("12:00", day=NEXT_DAY)),
        ]
    )
    assert outcomes(records) == {"T1": ["eligible"]}
