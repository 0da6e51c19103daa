"""State stays bounded by event time: a month of days leaves only the last few in memory."""

from datetime import date, timedelta

import orjson

from rules.intake import classify
from rules.office import Office
from streams.commands.policies import shipped_policies
from streams.commands.simulate import office_day
from tests.builders import at, claim, fixed_wall, issue, new_offices, run, tick


def test_a_month_of_days_keeps_only_the_last_days() -> None:
    policy = shipped_policies()[0]
    office = Office(policy, fixed_wall)
    sizes = []
    for d in range(20):
        for event in office_day(policy, date(2026, 3, 1) + timedelta(days=d), applicants=120, seed=d):
            parsed = classify(orjson.dumps(event), {policy.office_id})
            assert not hasattr(parsed, "error_code")
            office.receive(parsed)  # type: ignore[arg-type]
        sizes.append(
            (len(office.tickets), len(office.seen), len(office.series.last), len(office.other_stages))
        )
    tickets, seen, days, others = sizes[-1]
    assert tickets <= 120 * (policy.keep_days + 2)
    assert seen <= 2 * 3 * 120 * 2  # 48 hours of event ids
    assert days <= policy.keep_days + 2
    assert others <= 120 * (policy.keep_days + 2)
    assert sizes[-1][0] <= sizes[6][0] * 1.3, f"ticket count grows: {sizes}"
    assert len(office.entries()) < 3000


def test_a_claim_within_the_kept_days_is_answered_after_that_unknown() -> None:
    offices = new_offices()
    early = run([issue("T1", "08:00"), tick("12:00"), claim("C1", "T1", "12:30")], offices)
    assert [c.reasons for c in early if getattr(c, "type", "") == "claim_decision"] == [[]]
    next_week = date(2026, 3, 9)
    late = run([tick(at("09:00", day=next_week)), claim("C2", "T1", at("09:30", day=next_week))], offices)
    (answer,) = [c for c in late if getattr(c, "type", "") == "claim_decision"]
    assert answer.reasons == ["unknown_ticket"]
    assert "T1" not in offices.by_id["kanim-blitar"].tickets
