"""Every contract example replays to exactly its expected records (the checker's comparison)."""

import importlib.util
import json
import subprocess
from collections import Counter

import pytest

from tests.conftest import EXAMPLES, KOMPENSASI, SHARED

_spec = importlib.util.spec_from_file_location("check_examples", SHARED / "contract" / "check_examples.py")
assert _spec and _spec.loader
check = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(check)

NAMES = sorted(p.name.removesuffix(".input.jsonl") for p in EXAMPLES.glob("*.input.jsonl"))


def test_examples_are_present() -> None:
    assert len(NAMES) >= 8


@pytest.mark.parametrize("name", NAMES)
def test_example_replays_exactly(name: str) -> None:
    run = subprocess.run(
        [KOMPENSASI, "replay", str(EXAMPLES / f"{name}.input.jsonl")],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert run.returncode == 0, run.stderr
    records = [json.loads(line) for line in run.stdout.splitlines()]
    got = Counter(check.canonical(r) for r in records if r["topic"] in check.TOPICS)
    want = Counter(
        check.canonical(json.loads(line))
        for line in (EXAMPLES / f"{name}.expected.jsonl").read_text().splitlines()
    )
    assert set(got) == set(want)


def test_the_shared_checker_reports_all_matching() -> None:
    run = subprocess.run(
        ["python3", str(SHARED / "contract" / "check_examples.py"), KOMPENSASI],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 0, run.stdout
    assert f"{len(NAMES)}/{len(NAMES)} examples match" in run.stdout
