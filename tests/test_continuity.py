"""Offset continuity: a gap in a partition's offsets restarts the worker, unless it was seen before."""

import subprocess
import sys
from pathlib import Path

from streams.worker.continuity import Continuity, format_gaps, lost, parse_gaps

TP = ("queue.tickets", 0)


def gaps(continuity: Continuity, offsets: list[int]) -> list[object]:
    return [continuity.gap(TP, o) for o in offsets]


def test_records_from_the_committed_offset_on_are_in_order() -> None:
    c = Continuity()
    c.start(TP, 13)
    assert gaps(c, [13, 14, 15]) == [None, None, None]


def test_a_record_past_the_committed_offset_is_a_gap() -> None:
    c = Continuity()
    c.start(TP, 13)
    assert c.gap(TP, 16) == ("queue.tickets", 0, 13, 16)


def test_the_same_gap_after_a_restart_is_real_and_accepted() -> None:
    seen = {("queue.tickets", 0, 13, 16)}
    assert parse_gaps(format_gaps(seen)) == seen
    c = Continuity(seen_before=parse_gaps(format_gaps(seen)))
    c.start(TP, 13)
    assert gaps(c, [16, 17, 19]) == [None, None, ("queue.tickets", 0, 18, 19)]


def test_without_a_committed_offset_the_first_record_starts_the_partition() -> None:
    c = Continuity()
    c.start(TP, None)
    assert not c.knows(TP)
    assert gaps(c, [5, 6]) == [None, None] and c.gap(TP, 8) is not None
    c.forget()
    assert not c.knows(TP) and c.gap(TP, 2) is None


def test_a_restart_runs_the_same_command_again_in_this_process(tmp_path: Path) -> None:
    script = "from streams.worker.continuity import restart; restart({('ops.system-status', 3, 7, 9)})"
    # `python -c SCRIPT schemas --out DIR`: the restarted process is `kompensasi schemas --out DIR`.
    done = subprocess.run([sys.executable, "-c", script, "schemas", "--out", str(tmp_path)], timeout=60)
    assert done.returncode == 0
    assert sorted(p.name for p in tmp_path.glob("*.json"))


def test_records_dropped_are_lost_until_the_committed_offset_is_past_them() -> None:
    dropped = ("ops.system-status", 2, 0, 2)  # handed over up to offset 2, none applied
    assert lost(dropped, None) and lost(dropped, 1)
    assert not lost(dropped, 2) and not lost(dropped, 5)  # an earlier owner applied them
