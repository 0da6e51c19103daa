"""A realistic simulated office day (deterministic by seed), for the demo, tests and benchmarks."""

import random
from collections.abc import Iterator
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import orjson

from rules.policy import Policy
from schemas.topics import TICKETS, TOPIC_OF_TYPE

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


def month_log(
    policies: list[Policy], first: date, days: int, applicants: int, seed: int = 1
) -> Iterator[bytes]:
    """Replay input lines over `days` days, one day at a time: office_day's events with every kind of
    fault a real log has (`*` outages, complaints, duplicates, late facts, wrapped records, bad lines)."""
    rng = random.Random(f"log/{first}/{seed}")
    for d in range(days):
        day = first + timedelta(days=d)
        events: list[Event] = []
        for policy in policies:
            today = office_day(policy, day, applicants, seed=seed)
            events += today + _complaints(policy, day, today, rng)
        if d % 7 == 3:  # a network outage of every office
            start = datetime.combine(day, time(14, 0), ZoneInfo("Asia/Jakarta"))
            outage = {"office_id": "*", "outage_id": f"*/{day}/jaringan"}
            events += [
                {"event_id": f"*/{day}/start", "type": "outage_started", **outage,
                 "occurred_at": start.isoformat(), "system": "jaringan"},
                {"event_id": f"*/{day}/end", "type": "outage_ended", **outage,
                 "occurred_at": (start + timedelta(minutes=25)).isoformat()},
            ]  # fmt: skip
        events.sort(key=lambda e: datetime.fromisoformat(e["occurred_at"]))
        yield from _faulty(events, rng)


def _complaints(policy: Policy, day: date, events: list[Event], rng: random.Random) -> list[Event]:
    """Three complaints an office day: about a ticket of the day, about no ticket, about an unknown one."""
    tickets = [e for e in events if e["type"] == "ticket_issued" and e["stage"] == "biometric"]
    evening = datetime.combine(day, time(17, 0), ZoneInfo(policy.time_zone))
    named = [rng.choice(tickets)["ticket_id"] if tickets else None, None, f"{policy.office_id}/tidak-dikenal"]
    return [
        {"event_id": f"{policy.office_id}/{day}/complaint/{n}", "type": "complaint_filed",
         "office_id": policy.office_id, "occurred_at": (evening + timedelta(minutes=n)).isoformat(),
         "complaint_id": f"{policy.office_id}/{day}/K{n}", "ticket_id": ticket,
         "category": rng.choice(["long_wait", "claim_rejected", "officer_conduct", "other"]),
         "channel": rng.choice(["web", "sms", "loket"]), "summary": "menunggu terlalu lama"}
        for n, ticket in enumerate(named)
    ]  # fmt: skip


def _faulty(events: list[Event], rng: random.Random) -> Iterator[bytes]:
    """The day's events as lines: 1 % sent twice, 0.5 % held back minutes past the allowed lateness,
    each office outage start held back three hours on one day in five (revoking what it covered),
    5 % wrapped as {topic, key, value} records, and 0.1 % bad lines."""
    lines: list[tuple[float, bytes]] = []
    for n, event in enumerate(events):
        at = float(n)
        if rng.random() < 0.005:
            at += rng.randint(150, 400)
        elif event["type"] == "outage_started" and event["office_id"] != "*" and rng.random() < 0.2:
            at += 1500
        line = orjson.dumps(event)
        if rng.random() < 0.05:
            line = orjson.dumps(
                {
                    "topic": TOPIC_OF_TYPE.get(event["type"], TICKETS),
                    "key": event["office_id"],
                    "value": event,
                }
            )
        lines.append((at, line))
        if rng.random() < 0.01:
            lines.append((at + rng.randint(1, 30), line))
        if rng.random() < 0.001:
            lines.append((at, _bad(event, rng)))
    lines.sort(key=lambda pair: pair[0])
    return (line for _, line in lines)


def _bad(event: Event, rng: random.Random) -> bytes:
    kind = rng.randrange(6)
    if kind == 0:
        return orjson.dumps(event)[:40]  # cut short
    if kind == 1:
        return orjson.dumps({k: v for k, v in event.items() if k != "occurred_at"})
    if kind == 2:
        return orjson.dumps({**event, "office_id": "kanim-tidak-ada"})
    if kind == 3:
        return orjson.dumps({**event, "occurred_at": event["occurred_at"][:19]})  # no offset
    if kind == 4:
        return b"[1, 2, 3]"
    return b"\xff\xfe not utf-8"
