"""A realistic simulated office day (deterministic by seed), for the demo, tests and benchmarks."""

import random
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from rules.policy import Policy

Event = dict[str, Any]


def office_day(
    policy: Policy,
    day: date,
    applicants: int = 300,
    seed: int = 1,
    outage: tuple[time, time] | None = (time(11, 0), time(11, 40)),
    reviews: int = 3,
    claims: bool = True,
) -> list[Event]:
    """One office's events for a day, sorted by occurred_at: tickets, calls, closes, an outage,
    reviews and claims, with about one applicant in six waiting past the threshold."""
    rng = random.Random(f"{policy.office_id}/{day}/{seed}")
    zone = ZoneInfo(policy.time_zone)
    opens = datetime.combine(day, time(8, 0), zone)
    threshold = timedelta(seconds=policy.threshold_s)
    office = policy.office_id
    events: list[Event] = []
    serial = 0

    def add(kind: str, at: datetime, **fields: Any) -> None:
        nonlocal serial
        serial += 1
        events.append(
            {
                "event_id": f"{office}/{day}/{seed}/{serial}",
                "type": kind,
                "office_id": office,
                "occurred_at": at.isoformat(timespec="seconds"),
                **fields,
            }
        )

    flagged = set(rng.sample(range(applicants), min(reviews, applicants)))
    for n in range(applicants):
        issued = opens + timedelta(seconds=rng.randint(0, 7 * 3600))
        applicant = f"{office}-A{day:%m%d}-{n:04d}"
        ticket = f"{office}-T{day:%m%d}-{seed}-{n:04d}"
        if rng.random() < 0.3:
            add(
                "ticket_issued", issued - timedelta(minutes=rng.randint(5, 40)),
                ticket_id=f"{ticket}-V", ticket_no=f"V-{n + 1:03d}", stage="verification",
                applicant_id=applicant, service="passport_new", booking_channel="m_paspor",
                smart_registered=True,
            )  # fmt: skip
        add(
            "ticket_issued", issued, ticket_id=ticket, ticket_no=f"B-{n + 1:03d}", stage="biometric",
            applicant_id=applicant,
            service=rng.choices(
                ["passport_new", "passport_replacement", "passport_replacement_lost",
                 "passport_replacement_damaged", "visa_extension"], [70, 16, 5, 4, 5])[0],
            booking_channel=rng.choices(["m_paspor", "online_queue", "walk_in"], [75, 12, 13])[0],
            smart_registered=rng.random() < 0.92,
        )  # fmt: skip
        if n in flagged:
            add("review_flagged", issued + timedelta(minutes=rng.randint(1, 100)), applicant_id=applicant,
                reason="berkas dalam peninjauan")  # fmt: skip
            if rng.random() < 0.5:
                add(
                    "review_cleared",
                    issued + timedelta(minutes=rng.randint(101, 200)),
                    applicant_id=applicant,
                )
        fate = rng.random()
        if fate < 0.03:
            add("ticket_closed", issued + timedelta(minutes=rng.randint(20, 110)), ticket_id=ticket,
                outcome="no_show")  # fmt: skip
            continue
        if fate < 0.04:
            add("ticket_closed", issued + timedelta(minutes=rng.randint(5, 60)), ticket_id=ticket,
                outcome="cancelled")  # fmt: skip
            continue
        late = fate > 0.83
        wait = threshold + timedelta(minutes=rng.randint(1, 50)) if late else timedelta(
            minutes=rng.randint(10, policy.threshold_s // 60))  # fmt: skip
        called = issued + wait
        add("service_called", called, ticket_id=ticket, counter=f"L{rng.randint(1, 6)}")
        add(
            "ticket_closed",
            called + timedelta(minutes=rng.randint(3, 15)),
            ticket_id=ticket,
            outcome="served",
        )
        if claims and late and rng.random() < 0.6:
            add("claim_submitted", issued + threshold + timedelta(minutes=rng.randint(1, 45)),
                claim_id=f"{ticket}-C", ticket_id=ticket, officer_id="petugas-pengaduan-1")  # fmt: skip
    if claims:
        add("claim_submitted", opens + timedelta(hours=3), claim_id=f"{office}/{day}/unknown",
            ticket_id="tiket-tidak-dikenal", officer_id="petugas-pengaduan-1")  # fmt: skip
    if outage is not None:
        add("outage_started", datetime.combine(day, outage[0], zone), outage_id=f"{office}/{day}/simkim",
            system="SIMKIM")  # fmt: skip
        add("outage_ended", datetime.combine(day, outage[1], zone), outage_id=f"{office}/{day}/simkim")
    events.sort(key=lambda e: (datetime.fromisoformat(e["occurred_at"]), e["event_id"]))
    return events


def closing_event(policy: Policy, after: date) -> Event:
    """A non-biometric ticket two days later: it moves the office clock past every deadline."""
    at = datetime.combine(after + timedelta(days=2), time(12, 0), ZoneInfo(policy.time_zone))
    return {
        "event_id": f"{policy.office_id}/{after}/closing",
        "type": "ticket_issued",
        "office_id": policy.office_id,
        "occurred_at": at.isoformat(),
        "ticket_id": f"{policy.office_id}/{after}/closing",
        "ticket_no": "P-000",
        "stage": "pickup",
        "applicant_id": "closing",
        "service": "passport_new",
        "booking_channel": "m_paspor",
        "smart_registered": True,
    }
