"""`make bench`: replay throughput on a generated month (events/s), written as a table and JSON."""

import io
import json
import platform
import sys
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import orjson

from streams.policies import shipped_policies
from streams.replay import run
from streams.simulate import office_day

RESULTS = Path(__file__).parent / "results"
TARGET_REPLAY_EVENTS_S = 50_000


def month_of_events(days: int = 30, applicants: int = 500) -> bytes:
    lines = []
    for policy in shipped_policies():
        for d in range(days):
            lines += [
                orjson.dumps(e) for e in office_day(policy, date(2026, 3, 1) + timedelta(days=d), applicants)
            ]
    return b"\n".join(lines) + b"\n"


def bench_replay(data: bytes, repeats: int = 3) -> dict[str, float]:
    events = data.count(b"\n")
    best = float("inf")
    for _ in range(repeats):
        out = io.BytesIO()
        start = time.perf_counter()
        run(io.BytesIO(data), out, shipped_policies())
        best = min(best, time.perf_counter() - start)
    return {"events": events, "seconds": round(best, 3), "events_per_s": round(events / best)}


def main() -> int:
    data = month_of_events()
    replay = bench_replay(data)
    rate = replay["events_per_s"]
    rows = [
        (
            "replay, generated month",
            f"{rate:,.0f} events/s",
            f">= {TARGET_REPLAY_EVENTS_S:,}",
            rate >= TARGET_REPLAY_EVENTS_S,
        )
    ]
    print(f"{'benchmark':<28}{'result':>22}{'target':>14}  ok")
    for name, result, target, ok in rows:
        print(f"{name:<28}{result:>22}{target:>14}  {'yes' if ok else 'NO'}")
    machine = platform.processor() or platform.machine()
    print(f"({replay['events']:,} events in {replay['seconds']} s, best of 3, {machine})")
    RESULTS.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    (RESULTS / f"bench-{stamp}.json").write_text(json.dumps({"replay": replay, "at": stamp}, indent=2))
    return 0 if all(ok for *_, ok in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
