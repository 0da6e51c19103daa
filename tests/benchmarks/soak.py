"""`make soak`: each live-equals-replay scenario of the alignment rule ten runs in a row, each run a
fresh broker and fresh workers; prints how many passed. A single failure is a bug to find.
`make soak FRESH=1` gives every run days, arrival orders and kill times of a seed no test was shaped by."""

import os
import random
import subprocess
import sys
import time

SCENARIOS = {
    "a: day on the broker first": (
        "tests/test_alignment_kafka.py::test_a_day_on_the_broker_before_the_worker_starts"
    ),
    "b: topics at different rates": (
        "tests/test_alignment_kafka.py::test_topics_produced_at_different_rates_while_the_worker_runs"
    ),
    "c: two workers": "tests/test_worker_kafka.py::test_two_workers_in_one_group_publish_the_same_records",
    "d: killed three times": "tests/test_chaos.py::test_a_worker_killed_again_and_again_loses_nothing",
    "e: one killed for good": (
        "tests/test_chaos.py::test_partitions_of_a_worker_killed_for_good_move_to_the_other"
    ),
    "f: stopped and restarted": (
        "tests/test_worker_kafka.py::test_a_restarted_worker_loses_nothing_and_contradicts_nothing"
    ),
    "g: backlog, kill, third worker": (
        "tests/test_chaos.py::test_a_backlog_then_a_live_stream_through_a_kill_and_a_third_worker"
    ),
}


def main(runs: int = 10, fresh: bool = False) -> int:
    failed = 0
    for name, test in SCENARIOS.items():
        passed = 0
        start = time.monotonic()
        for _ in range(runs):
            seed = random.randrange(1, 1_000_000) if fresh else 0
            done = subprocess.run(
                [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", test],
                capture_output=True,
                env={**os.environ, "KOMPENSASI_TEST_SEED": str(seed)},
            )
            if done.returncode == 0:
                passed += 1
            else:
                print(
                    f"KOMPENSASI_TEST_SEED={seed}",
                    done.stdout.decode(errors="replace")[-3000:],
                    file=sys.stderr,
                )
        failed += runs - passed
        print(f"{name:<32} {passed:>2} / {runs} passed   {time.monotonic() - start:6.0f} s", flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(int(os.environ.get("RUNS", "10")), fresh=os.environ.get("FRESH", "") not in ("", "0")))
