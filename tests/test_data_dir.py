"""A clear start: one worker per data dir."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from streams.commands.broker import Broker
from streams.commands.supervise import WorkerProcess
from tests.kafka import new_worker

CHANGELOG = "kompensasi-office-state-changelog"


HOLD = (
    "import sys; from pathlib import Path; from streams.worker.datadir import hold; hold(Path(sys.argv[1]))"
)


def test_a_worker_restarted_in_place_takes_its_lock_again(tmp_path: Path) -> None:
    """`continuity.restart` execs the same process: the lock's descriptor must not survive the exec,
    or the new image would find its own data dir taken."""
    again = f"{HOLD}; print('held again')"
    script = f"{HOLD}; import os; os.execv(sys.executable, [sys.executable, '-c', {again!r}, sys.argv[1]])"
    done = subprocess.run(
        [sys.executable, "-c", script, str(tmp_path)], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "held again"


def test_a_held_lock_refuses_another_process(tmp_path: Path) -> None:
    holder = subprocess.Popen(
        [sys.executable, "-c", f"{HOLD}; print('held', flush=True); sys.stdin.read()", str(tmp_path)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        second = subprocess.run([sys.executable, "-c", HOLD, str(tmp_path)], capture_output=True, text=True)
        assert second.returncode != 0 and f"in use by process {holder.pid}" in second.stderr
    finally:
        holder.communicate("", timeout=10)
    # The holder's end released the lock.
    assert subprocess.run([sys.executable, "-c", HOLD, str(tmp_path)], timeout=60).returncode == 0


def _lines(worker: WorkerProcess) -> list[str]:
    assert worker.log_path is not None
    return worker.log_path.read_text(errors="replace").splitlines()


def _error_events(lines: list[str]) -> list[dict[str, object]]:
    events = [json.loads(line) for line in lines if line.startswith("{")]
    return [e for e in events if e.get("level") == "error"]


def _refused(worker: WorkerProcess, timeout_s: float = 60.0) -> dict[str, object]:
    """The one error line of a worker that refused to start; fails on a zero exit or a traceback."""
    assert worker.process is not None
    assert worker.process.wait(timeout_s) != 0
    lines = _lines(worker)
    assert not any("Traceback" in line for line in lines), "\n".join(lines)
    (error,) = _error_events(lines)
    return error


@pytest.mark.broker
def test_a_second_worker_on_one_data_dir_is_refused(broker: Broker, tmp_path: Path) -> None:
    first = new_worker(broker.url, tmp_path, "first").start()
    second = new_worker(broker.url, tmp_path, "second")
    second.data_dir = first.data_dir
    try:
        first.wait_ready(90)
        error = _refused(second.start())
        status = first.status()
        assert status is not None and status["ready"] is True, "the first worker stopped being ready"
    finally:
        second.stop()
        first.stop()
    assert error["event"] == "data_dir_in_use"
    assert error["data_dir"] == str(first.data_dir.resolve())
    assert error["holder_pid"] == str(first.process.pid if first.process else None)
