"""What `make run` prints, from the records of a simulated day (no broker): both languages as the
board, lines in time order, the real waits in the summary."""

import random
import re

from oversight import labels
from streams.commands.demo import DAY, InTimeOrder, _at, describe, summary
from streams.commands.simulate import closing_event, office_day
from tests.test_report import blitar, records_of


def day() -> tuple[list[dict], list[tuple[str, dict]]]:
    policy = blitar()
    events = [*office_day(policy, DAY, applicants=300, seed=2026), closing_event(policy, DAY)]
    # One line that is not JSON, so the day has a dead letter to print.
    dead = {"source_topic": "queue.tickets", "error_code": "invalid_json"}
    records = [*records_of(events, policy), {"topic": "queue.dead-letters", "value": dead}]
    return events, [(r["topic"], r["value"]) for r in records]


def test_the_demo_prints_labels_in_both_languages_never_raw_codes() -> None:
    _, records = day()
    ticket_nos: dict[str, str] = {}
    lines = [line for t, v in records if (line := describe(t, v, ticket_nos))]
    text = "\n".join(lines)
    assert "Dalam standar / Within standard" in text and "Dikabulkan / Granted" in text
    assert "Berhak kompensasi / Eligible for compensation" in text
    assert "Catatan ditolak / Dead letter" in text and "surat mati" not in text
    codes = {c for t in (labels.OUTCOMES, labels.REASONS, labels.CLAIM_REASONS, labels.ERRORS) for c in t}
    raw = sorted(c for c in codes if "_" in c and re.search(rf"\b{c}\b", text))
    assert not raw, f"raw codes printed: {raw}"


def test_lines_that_arrive_out_of_order_are_printed_in_time_order() -> None:
    _, records = day()
    times = sorted(at for t, v in records if (at := _at(t, v)) is not None)
    windows = [times[i : i + 10] for i in range(0, len(times), 10)]
    rng = random.Random(7)
    # Fetches of separate topics interleave: each window of ten records arrives shuffled.
    arrived = [at for w in windows for at in rng.sample(w, len(w))]
    order = InTimeOrder(max(w[-1] - w[0] for w in windows))
    printed: list[str] = []
    for at in arrived:
        printed += order.push(at, at.isoformat())
    printed += order.drain()
    assert printed == [at.isoformat() for at in times]
    assert order.push(None, "dead letter") == ["dead letter"] or order.drain()[-1] == "dead letter"


def test_the_summary_shows_the_real_longest_wait_to_the_call() -> None:
    events, records = day()
    policy = blitar()
    text = summary(records, events, policy.threshold_s)
    longest = re.search(r"longest wait to the call\s+(\d+)j(\d\d)m", text)
    assert longest, text
    assert int(longest[1]) * 3600 + int(longest[2]) * 60 > policy.threshold_s, "waits past the threshold show"
    past = re.search(r"called past the threshold\s+(\d+)", text)
    assert past and int(past[1]) > 0
    assert "Ringkasan / Summary" in text and "within_standard" not in text
