"""`kompensasi replay` on the shape a console consumer gives: the README's recipe replays, and a
file that is mostly dead letters says so on stderr, its output unchanged."""

import re
from pathlib import Path

import orjson
import pytest

from streams.commands.cli import main
from streams.commands.simulate import office_day
from tests.test_demo import DAY
from tests.test_report import blitar

README = Path(__file__).parent.parent / "README.md"


def events() -> list[dict]:
    return office_day(blitar(), DAY, applicants=20, seed=3)


def replayed(path: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, list[dict], str]:
    code = main(["replay", str(path)])
    out, err = capsys.readouterr()
    return code, [orjson.loads(line) for line in out.splitlines()], err


def test_key_tab_value_lines_warn_on_stderr_with_the_output_unchanged(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "keyed.jsonl"
    path.write_bytes(b"".join(e["office_id"].encode() + b"\t" + orjson.dumps(e) + b"\n" for e in events()))
    code, records, err = replayed(path, capsys)
    assert code == 0
    assert records and all(r["value"]["error_code"] == "invalid_json" for r in records)
    lines = err.splitlines()
    assert len(lines) == 1 and "warning" in lines[0] and f"{len(records)} of {len(records)} lines" in lines[0]


def test_the_readmes_recipe_gives_lines_replay_reads_without_a_warning(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    section = README.read_text().split("**Reprocessing a period**")[1].split("\n\n## ")[0]
    recipe = re.search(r"```\n(.*?)```", section, re.S)
    assert recipe and "kafka-console-consumer" in recipe[1]
    assert "print.key=true" not in recipe[1], "key<TAB>value lines are not JSON"
    # What that command prints: each record's value, one a line.
    path = tmp_path / "period.jsonl"
    path.write_bytes(b"".join(orjson.dumps(e) + b"\n" for e in events()))
    code, records, err = replayed(path, capsys)
    assert code == 0 and err == ""
    assert records and not [r for r in records if r["value"]["type"] == "dead_letter"]
