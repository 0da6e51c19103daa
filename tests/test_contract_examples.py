"""Every contract example replays to exactly its expected records (the checker's comparison).

The examples and the checker are the repository's copy in tests/contract/; a test keeps it equal to
`../shared/contract` whenever that folder is beside the repository."""

import importlib.util
import json
import subprocess
from collections import Counter
from pathlib import Path

import pytest

from tests.conftest import CONTRACT, EXAMPLES, KOMPENSASI, SHARED_CONTRACT

_spec = importlib.util.spec_from_file_location("check_examples", CONTRACT / "check_examples.py")
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


def test_the_checker_reports_all_matching() -> None:
    run = subprocess.run(
        ["python3", str(CONTRACT / "check_examples.py"), KOMPENSASI],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 0, run.stdout
    assert f"{len(NAMES)}/{len(NAMES)} examples match" in run.stdout


def _files(folder: Path) -> dict[str, bytes]:
    """Every file under `folder` by relative path (bytecode caches left out: importing the checker
    writes one)."""
    return {
        p.relative_to(folder).as_posix(): p.read_bytes()
        for p in sorted(folder.rglob("*"))
        if p.is_file() and "__pycache__" not in p.parts
    }


def test_the_copy_is_whole_and_the_shared_contract_when_that_is_beside_it() -> None:
    """Always: the copy has the checker, the README and an expected file for each input (and no
    other), and the checker reads the copy's examples. When `../shared/contract` exists (a checkout
    next to the shared folder), the copy must also equal it byte for byte: a drift fails here. A
    clone alone has no original to compare with, and passes on the first part only, by design."""
    copy = _files(CONTRACT)
    inputs = {n.removesuffix(".input.jsonl") for n in copy if n.endswith(".input.jsonl")}
    expected = {n.removesuffix(".expected.jsonl") for n in copy if n.endswith(".expected.jsonl")}
    assert {"README.md", "check_examples.py", "examples/README.md"} <= set(copy)
    assert inputs == expected == {f"examples/{n}" for n in NAMES}
    assert check.HERE == EXAMPLES
    if SHARED_CONTRACT.is_dir():
        original = _files(SHARED_CONTRACT)
        drifted = sorted(n for n in set(copy) | set(original) if copy.get(n) != original.get(n))
        assert not drifted, f"tests/contract differs from {SHARED_CONTRACT}: {drifted}; copy it again"
