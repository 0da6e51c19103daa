"""Early warning at 90 minutes, and the office status dashboards subscribe to."""

from rules.status import office_status
from schemas.records import TicketAtRisk
from tests.builders import WALL, call, close, issue, model, new_offices, outage_start, run, tick


def warnings(records: list) -> list[TicketAtRisk]:
    return [r for r in records if isinstance(r, TicketAtRisk)]


def test_an_uncalled_ticket_is_at_risk_at_ninety_minutes() -> None:
    records = run([issue("T1", "08:00"), tick("12:00")])
    (w,) = warnings(records)
    assert (w.ticket_id, w.ticket_no) == ("T1", "B-T1")
    assert w.at.isoformat() == "2026-03-02T09:30:00+07:00"
    assert w.deadline.isoformat() == "2026-03-02T10:00:00+07:00"
    assert w.issued_at.isoformat() == "2026-03-02T08:00:00+07:00"


def test_a_ticket_called_before_ninety_minutes_is_never_at_risk() -> None:
    assert warnings(run([issue("T1", "08:00"), call("T1", "09:29:59"), tick("12:00")])) == []


def test_a_call_at_the_warning_instant_wins() -> None:
    assert warnings(run([issue("T1", "08:00"), call("T1", "09:30"), tick("12:00")])) == []


def test_a_no_show_before_the_warning_is_not_at_risk() -> None:
    assert warnings(run([issue("T1", "08:00"), close("T1", "09:00", "no_show"), tick("12:00")])) == []


def test_other_stages_are_never_at_risk() -> None:
    assert warnings(run([issue("T1", "08:00", stage="verification"), tick("12:00")])) == []


def test_warnings_are_deterministic_and_fire_in_time_order() -> None:
    events = [issue("T2", "08:10"), issue("T1", "08:00"), tick("12:00")]
    first, second = run(events), run(events)
    assert [w.ticket_id for w in warnings(first)] == ["T1", "T2"]
    assert warnings(first) == warnings(second)


def test_status_counts_waiting_at_risk_and_today() -> None:
    offices = new_offices()
    blitar = offices.by_id["kanim-blitar"]
    for e in [
        issue("T1", "08:00"),  # waits: at risk at 09:30, eligible at 10:00
        issue("T2", "08:30"),  # called in time
        call("T2", "09:00"),
        issue("T3", "09:45"),  # still waiting, not yet at risk
        outage_start("O1", "09:50"),
        tick("10:01:00"),  # clock 10:00:00
    ]:
        offices.receive(model(e))
    status = office_status(blitar, WALL)
    assert status.clock is not None and status.clock.isoformat() == "2026-03-02T10:00:00+07:00"
    assert status.service_day is not None and status.service_day.isoformat() == "2026-03-02"
    assert status.waiting == 1  # T3; T1 was decided at its deadline
    assert status.at_risk == 0
    assert status.longest_wait_s == 15 * 60
    assert status.outages_active == 1
    assert status.outcomes == {"suppressed": 1, "within_standard": 1}
    assert (status.priority_assigned, status.priority_called, status.priority_withdrawn) == (0, 0, 0)


def test_status_counts_priority_numbers_called_and_withdrawn() -> None:
    offices = new_offices()
    blitar = offices.by_id["kanim-blitar"]
    for e in [issue("T1", "08:00"), issue("T2", "08:01"), tick("10:05"), call("T1", "10:04"), tick("10:30")]:
        offices.receive(model(e))
    # T1 and T2 eligible at their deadlines; T1 called after its deadline: its priority number is used
    status = office_status(blitar, WALL)
    assert status.priority_assigned == 2
    assert status.priority_called == 1
    assert status.at_risk == 0 and status.waiting == 0


def test_status_of_an_office_with_no_events() -> None:
    status = office_status(new_offices().by_id["kanim-singaraja"], WALL)
    assert status.clock is None and status.waiting == 0 and status.outcomes == {}
