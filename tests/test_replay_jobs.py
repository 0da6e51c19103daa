"""`kompensasi replay --jobs N` gives the records one process gives, each office's in the same order,
on a generated log with every kind of event and fault, and on the contract examples."""

import io
import re
from collections import Counter, defaultdict
from datetime import date
from pathlib import Path

import orjson
import pytest

from rules.policy import Policy
from schemas.topics import TOPIC_OF_TYPE
from streams.commands.cli import main
from streams.commands.policies import shipped_policies
from streams.commands.replay import run, run_jobs
from streams.commands.simulate import month_log
from tests.conftest import EXAMPLES

_EMITTED = re.compile(rb',"emitted_at":"[^"]*"')


def offices(n: int) -> list[Policy]:
    """`n` offices: the shipped two, then copies of them under other ids."""
    shipped = shipped_policies()
    copies = [
        Policy.model_validate(
            {**shipped[i % 2].model_dump(), "office_id": f"kanim-{i}", "policy_id": f"p-{i}"}
        )
        for i in range(len(shipped), n)
    ]
    return shipped[:n] + copies


DEAD_LETTERS = b'{"topic":"queue.dead-letters","key":null'


def by_key(output: bytes) -> dict[bytes, list[bytes]]:
    """Each office's records in order, `emitted_at` aside; the dead letters (no office, each from the
    job of the office its line names) in the order of their lines."""
    lines: dict[bytes, list[bytes]] = defaultdict(list)
    for line in output.splitlines():
        lines[line.split(b',"value":', 1)[0]].append(_EMITTED.sub(b"", line))
    lines[DEAD_LETTERS].sort(key=lambda line: orjson.loads(line)["value"]["offset"])
    return dict(lines)


def one_process(path: Path, policies: list[Policy]) -> bytes:
    out = io.BytesIO()
    with path.open("rb") as stream:
        run(stream, out, policies)
    return out.getvalue()


@pytest.fixture(scope="module")
def log(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("jobs") / "log.jsonl"
    path.write_bytes(b"".join(line + b"\n" for line in month_log(offices(3), date(2026, 3, 1), 7, 200)))
    return path


def test_the_log_has_every_kind_of_event_and_fault(log: Path) -> None:
    lines = log.read_bytes().splitlines()
    values = [orjson.loads(line) for line in lines if line.startswith(b"{") and line.endswith(b"}")]
    events = [v["value"] if "topic" in v else v for v in values]
    kinds = Counter(e.get("type") for e in events)
    assert set(kinds) >= set(TOPIC_OF_TYPE), "every event type"
    assert any(e["office_id"] == "*" for e in events) and any("topic" in v for v in values)
    assert len({e["event_id"] for e in events if "event_id" in e}) < len(events), "duplicates"
    records = [orjson.loads(line)["value"] for line in one_process(log, offices(3)).splitlines()]
    outcomes = Counter(r.get("outcome") for r in records)
    assert outcomes["revoked"] and outcomes["eligible"] and outcomes["granted"], "late facts revoke"
    assert {r["error_code"] for r in records if r["type"] == "dead_letter"} == {
        "invalid_json", "invalid_event", "unknown_office"}  # fmt: skip


@pytest.mark.parametrize("jobs", [2, 3])
def test_jobs_give_each_offices_records_in_one_process_order(log: Path, jobs: int) -> None:
    policies = offices(3)
    expected = by_key(one_process(log, policies))
    out = io.BytesIO()
    lines, dead = run_jobs(str(log), out, policies, jobs)
    assert by_key(out.getvalue()) == expected
    assert (lines, dead) == (
        len(log.read_bytes().splitlines()),
        len(expected[DEAD_LETTERS]),
    )


@pytest.mark.parametrize("name", sorted(p.name for p in EXAMPLES.glob("*.input.jsonl")))
def test_jobs_give_one_process_records_on_the_contract_examples(
    name: str, capsys: pytest.CaptureFixture[bytes]
) -> None:
    outputs = []
    for jobs in ("1", "2"):
        assert main(["replay", "--jobs", jobs, str(EXAMPLES / name)]) == 0
        outputs.append(capsys.readouterr().out)
    assert outputs[0] and by_key(outputs[1].encode()) == by_key(outputs[0].encode())
