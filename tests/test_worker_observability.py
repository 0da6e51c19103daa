"""/metrics of a worker fed through the embedded broker agrees with what it published; personal
data never reaches its logs or its metrics."""

import asyncio
import re
import urllib.request
from collections import Counter
from pathlib import Path

import orjson
import pytest

from streams.commands.broker import Broker
from streams.commands.feed import OutputReader, produce_paced, produce_raw
from streams.commands.supervise import WorkerProcess
from tests.kafka import POLICY_DIR, generated_day

pytestmark = pytest.mark.broker
MARKER = "RAHASIA-PRIBADI-7731"


def samples(text: str, name: str) -> dict[str, float]:
    """`{labels: value}` of one metric in the Prometheus text format."""
    out = {}
    for line in text.splitlines():
        m = re.match(rf"^{re.escape(name)}(\{{[^}}]*\}})? (\S+)$", line)
        if m:
            out[m.group(1) or ""] = float(m.group(2))
    return out


def test_metrics_match_the_published_records_and_no_personal_data_leaks(
    broker: Broker, tmp_path: Path
) -> None:
    events = generated_day(applicants=40, seed=5)
    for event in events:
        if event["type"] == "review_flagged":
            event["reason"] = f"{MARKER} suspected forgery"
    ticket = next(e for e in events if e["type"] == "ticket_issued" and e["office_id"] == "kanim-blitar")
    events.append(
        {"event_id": "k1", "type": "complaint_filed", "office_id": "kanim-blitar",
         "occurred_at": "2026-03-02T14:00:00+07:00", "complaint_id": "K1", "ticket_id": ticket["ticket_id"],
         "category": "long_wait", "channel": "lapor.go.id", "summary": f"{MARKER} waited all day"}
    )  # fmt: skip
    bad_with_marker = orjson.dumps({"event_id": "m1", "type": "ticket_issued", "office_id": "kanim-blitar",
                                    "occurred_at": "2026-03-02T08:00:00+07:00", "applicant_id": MARKER,
                                    "smart_registered": MARKER})  # fmt: skip
    worker = WorkerProcess(
        broker.url,
        tmp_path / "w",
        [POLICY_DIR],
        log_path=tmp_path / "w.log",
        env={"KOMPENSASI_LOG_LEVEL": "debug"},
    ).start()

    async def run() -> list:
        async with OutputReader(broker.address) as reader:
            await produce_raw(broker.address, [("queue.tickets", b"kanim-blitar", bad_with_marker)])
            await produce_paced(broker.address, events, chunk_s=600, pause_s=0.15)
            await reader.until_quiet(quiet_s=8, limit_s=90)
            return reader.records

    try:
        worker.wait_ready(90)
        records = asyncio.run(run())
        with urllib.request.urlopen(f"http://127.0.0.1:{worker.web_port}/metrics", timeout=5) as r:
            text = r.read().decode()
    finally:
        worker.stop()
    decisions = [v for t, v in records if t == "compensation.decisions"]
    assert len(decisions) > 20

    published = Counter((v["office_id"], v["outcome"]) for v in decisions)
    scraped = samples(text, "kompensasi_decisions_total")
    assert {k: int(v) for k, v in scraped.items()} == {
        f'{{office="{office}",outcome="{outcome}"}}': n for (office, outcome), n in published.items()
    }
    primary = [v for v in decisions if v["outcome"] != "revoked"]
    counts = samples(text, "kompensasi_wait_seconds_count")
    assert sum(counts.values()) == len(primary)
    buckets = samples(text, "kompensasi_wait_seconds_bucket")
    for office in ("kanim-blitar", "kanim-singaraja"):
        within = sum(1 for v in primary if v["office_id"] == office and v["waited_s"] <= 7200)
        assert buckets[f'{{le="7200.0",office="{office}"}}'] == within
    dead = [v for t, v in records if t == "queue.dead-letters"]
    assert sum(samples(text, "kompensasi_dead_letters_total").values()) == len(dead) == 1
    granted = sum(1 for t, v in records if t == "claims.decisions" and v["outcome"] == "granted")
    assert (
        samples(text, "kompensasi_claims_total").get('{office="kanim-blitar",outcome="granted"}', 0)
        + samples(text, "kompensasi_claims_total").get('{office="kanim-singaraja",outcome="granted"}', 0)
        == granted
    )
    assert "kompensasi_build_info" in text

    logs = (tmp_path / "w.log").read_text(errors="replace")
    assert '"event": "decision"' in logs, "the worker logs its decisions as JSON lines"
    assert MARKER not in logs
    assert MARKER not in text
    assert MARKER not in dead[0]["error"]
    (filed,) = [v for t, v in records if t == "ombudsman.referrals" and v["trigger"] == "complaint"]
    assert filed["complaint_id"] == "K1" and filed["evidence"]["ticket_id"] == ticket["ticket_id"]
    decided = [v for t, v in records if t != "queue.dead-letters"]  # a dead letter keeps its `raw` input
    assert MARKER not in orjson.dumps(decided).decode(), "no complaint summary or review reason in a record"
