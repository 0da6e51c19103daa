"""A worker's log is JSON lines: every line of its output one object, Faust's and aiokafka's records
included, each at its own level, and no personal data in any of them."""

import asyncio
import json
import time
from collections import Counter
from pathlib import Path

import pytest

from schemas.topics import DECISIONS
from streams.commands.broker import Broker
from streams.commands.feed import OutputReader, produce_paced
from tests.kafka import new_worker
from tests.test_worker_observability import MARKER

pytestmark = pytest.mark.broker
LEVELS = {"debug", "info", "warning", "error", "critical"}
OFFICE = "kanim-blitar"


def day_with_a_late_event() -> list[dict[str, object]]:
    """A few applicants, a review and a complaint carrying personal data, and last an outage of the
    morning, to be sent once the office clock has passed it."""
    at = "2026-03-02T{}+07:00".format
    events: list[dict[str, object]] = []
    for n in range(3):
        ticket = {"office_id": OFFICE, "ticket_id": f"T{n}"}
        events += [
            {"event_id": f"i{n}", "type": "ticket_issued", **ticket, "occurred_at": at(f"08:0{n}:00"),
             "ticket_no": f"B-{n}", "stage": "biometric", "service": "passport_new", "applicant_id": f"A{n}",
             "booking_channel": "m_paspor", "smart_registered": True},
            {"event_id": f"c{n}", "type": "service_called", **ticket, "occurred_at": at(f"08:3{n}:00"),
             "counter": "L1"},
        ]  # fmt: skip
    events += [
        {"event_id": "r1", "type": "review_flagged", "office_id": OFFICE, "occurred_at": at("08:40:00"),
         "applicant_id": "A1", "reason": f"{MARKER} dokumen palsu"},
        {"event_id": "k1", "type": "complaint_filed", "office_id": OFFICE, "occurred_at": at("08:45:00"),
         "complaint_id": "K1", "ticket_id": "T1", "category": "long_wait", "channel": "lapor.go.id",
         "summary": f"{MARKER} menunggu lama"},
        {"event_id": "x", "type": "ticket_issued", "office_id": OFFICE, "ticket_id": "X",
         "occurred_at": at("12:00:00"), "ticket_no": "V-1", "stage": "verification",
         "service": "passport_new", "applicant_id": "AX", "booking_channel": "m_paspor",
         "smart_registered": True},
        {"event_id": "late", "type": "outage_started", "office_id": OFFICE, "occurred_at": at("08:10:00"),
         "outage_id": "L1", "system": "SMART"},
    ]  # fmt: skip
    return events


def test_every_line_a_worker_writes_is_one_json_object_at_its_level(broker: Broker, tmp_path: Path) -> None:
    worker = new_worker(broker.url, tmp_path, "w").start()

    async def run() -> None:
        async with OutputReader(broker.address) as reader:
            *day, late = day_with_a_late_event()
            await produce_paced(broker.address, day, chunk_s=3600, pause_s=0.2)
            deadline = time.monotonic() + 60
            while sum(t == DECISIONS for t, _ in reader.records) < 3 and time.monotonic() < deadline:
                await reader.poll(0.5)
            await produce_paced(broker.address, [late], chunk_s=3600, pause_s=0)  # the clock is past it
            await asyncio.sleep(2)

    try:
        worker.wait_ready(90)
        asyncio.run(run())
    finally:
        worker.stop()
    text = (tmp_path / "w.log").read_text()
    assert MARKER not in text
    lines = [json.loads(line) for line in text.splitlines()]  # every line, or this fails
    assert all(isinstance(x, dict) and x["level"] in LEVELS and x["timestamp"] for x in lines), lines
    events = Counter(x["event"] for x in lines)
    decisions = [x for x in lines if x["event"] == "decision"]
    assert len(decisions) == 3 and {x["level"] for x in decisions} == {"info"}
    assert [x["office"] for x in lines if x["event"] == "late_event"] == [OFFICE]
    # Faust's own records, turned into JSON rather than printed under its prefix.
    libraries = Counter(x["logger"].split(".")[0] for x in lines)
    assert libraries["faust"] > 5 and libraries["kompensasi"] > 5, (libraries, events)
