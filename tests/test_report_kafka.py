"""Through the broker: a worker decides a generated day; `kompensasi report --broker`'s reader and the
worker's /public page then give the figures that replay's records give."""

import asyncio
import json
import urllib.request
from pathlib import Path

import pytest

from oversight.disclosure import public_summary
from oversight.evaluation import OfficeEvaluation
from streams.commands.broker import Broker
from streams.commands.feed import OutputReader, produce_paced
from streams.commands.policies import load_policies
from streams.commands.report import read_topics
from streams.commands.supervise import WorkerProcess
from tests.kafka import POLICY_DIR, generated_day, replayed

pytestmark = pytest.mark.broker
OFFICE = "kanim-blitar"


def test_the_broker_reader_and_the_public_page_agree_with_replay(broker: Broker, tmp_path: Path) -> None:
    events = generated_day(applicants=40, seed=11)
    policy = next(p for p in load_policies([POLICY_DIR]) if p.office_id == OFFICE)
    worker = WorkerProcess(broker.url, tmp_path / "w", [POLICY_DIR], log_path=tmp_path / "w.log").start()

    async def run() -> OfficeEvaluation:
        async with OutputReader(broker.address) as reader:
            await produce_paced(broker.address, events, chunk_s=600, pause_s=0.15)
            await reader.until_quiet(quiet_s=8, limit_s=90)
        evaluation = OfficeEvaluation(policy, daily=False)
        await read_topics(broker.address, evaluation, {})
        return evaluation

    try:
        worker.wait_ready(90)
        from_topics = asyncio.run(run())
        base = f"http://127.0.0.1:{worker.web_port}/public/{OFFICE}"
        with urllib.request.urlopen(base + "/data", timeout=5) as r:
            live = json.loads(r.read())
        with urllib.request.urlopen(base, timeout=5) as r:
            page = r.read().decode()
    finally:
        worker.stop()
    from_replay = OfficeEvaluation(policy, daily=False)
    for event in events:
        from_replay.add(event)
    for _, value in replayed(events):
        from_replay.add(value)
    expected = public_summary(from_replay.evaluation())
    assert expected["months"][0]["decisions"] == 40
    assert public_summary(from_topics.evaluation())["months"] == expected["months"]
    assert live["months"] == expected["months"]
    assert "Ringkasan Publik" in page
    assert not [e["ticket_id"] for e in events if e.get("ticket_id") and e["ticket_id"] in page]
