"""`kompensasi demo` (`make run`): one simulated Blitar day through Kafka, decisions printed live."""

import asyncio
import contextlib
import secrets
import shutil
import sys
import tempfile
import time
from collections import Counter
from datetime import date
from pathlib import Path
from typing import Any

from rules.policy import Policy
from streams.broker import start_broker
from streams.feed import OutputReader, produce_paced
from streams.simulate import closing_event, office_day
from streams.supervise import WorkerProcess

DAY = date(2026, 3, 2)


def _hm(seconds: int) -> str:
    return f"{seconds // 3600}j{seconds % 3600 // 60:02d}m"


def _clock(timestamp: str) -> str:
    return timestamp[11:16]


def describe(topic: str, v: dict[str, Any], ticket_nos: dict[str, str]) -> str | None:
    """One line per published record, as a supervisor would read it."""
    if topic == "compensation.decisions":
        ticket_nos[v["ticket_id"]] = v["ticket_no"]
        reasons = f" ({', '.join(v['reasons'])})" if v["reasons"] else ""
        return (
            f"{_clock(v['decided_at'])}  keputusan  {v['ticket_no']:<6} {v['outcome']:<16}"
            f"menunggu {_hm(v['waited_s'])}{reasons}"
        )
    if topic == "queue.priority-tickets":
        verb = "PRIORITAS" if v["type"] == "priority_ticket_assigned" else "DITARIK  "
        return f"{_clock(v['assigned_at'])}  {verb}  {v['priority_no']} untuk {v['ticket_no']}"
    if topic == "claims.decisions":
        why = f" ({', '.join(v['reasons'])})" if v["reasons"] else ""
        ticket = ticket_nos.get(v["ticket_id"], "?")
        return f"{_clock(v['decided_at'])}  klaim      {ticket:<6} {v['outcome']}{why}"
    if topic == "queue.dead-letters":
        return f"       surat mati  {v['source_topic']}: {v['error_code']}"
    return None


def summary(records: list[tuple[str, dict[str, Any]]]) -> str:
    decisions = [v for t, v in records if t == "compensation.decisions"]
    outcomes = Counter(v["outcome"] for v in decisions)
    served = [v["waited_s"] for v in decisions if v["outcome"] in ("within_standard", "eligible")]
    numbers = [v["priority_no"] for t, v in records if t == "queue.priority-tickets"
               and v["type"] == "priority_ticket_assigned"]  # fmt: skip
    claims = Counter(v["outcome"] for t, v in records if t == "claims.decisions")
    lines = ["", "Ringkasan / Summary", "-" * 40]
    lines += [f"  {outcome:<18}{count:>5}" for outcome, count in sorted(outcomes.items())]
    lines.append(f"  {'decisions':<18}{len(decisions):>5}")
    if served:
        lines.append(f"  longest wait to a decision  {_hm(max(served))}")
    lines.append(f"  priority numbers  {len(numbers)}: {', '.join(numbers) if numbers else '-'}")
    lines.append(f"  claims            granted {claims['granted']}, rejected {claims['rejected']}")
    return "\n".join(lines)


async def _stream_day(broker_address: str, events: list[dict[str, Any]], seconds: float) -> list:
    chunk_s = 120.0
    chunks = max(1, int(10 * 3600 / chunk_s))
    async with OutputReader(broker_address) as reader:

        async def show() -> None:
            ticket_nos: dict[str, str] = {}
            while True:
                for topic, value in await reader.poll(0.2):
                    line = describe(topic, value, ticket_nos)
                    if line:
                        print(line, flush=True)

        printer = asyncio.create_task(show())
        try:
            await produce_paced(broker_address, events, chunk_s=chunk_s, pause_s=seconds / chunks)
            await asyncio.sleep(5)
            last = len(reader.records)
            while True:  # until the last decisions of the day are out
                await asyncio.sleep(2)
                if len(reader.records) == last:
                    break
                last = len(reader.records)
        finally:
            printer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await printer
        return reader.records


def run_demo(policies: list[Policy], applicants: int = 300, seconds: float = 60.0) -> int:
    policy = next((p for p in policies if p.office_id == "kanim-blitar"), policies[0])
    events = office_day(policy, DAY, applicants=applicants, seed=2026)
    events.append(closing_event(policy, DAY))
    workdir = Path(tempfile.mkdtemp(prefix="kompensasi-demo-"))
    started = time.monotonic()
    broker = start_broker()
    # The operations view needs a staff token: one for this run, in a file rather than on screen.
    token, token_file = secrets.token_urlsafe(32), workdir / "staff-token"
    token_file.touch(mode=0o600)
    token_file.write_text(token + "\n")
    worker = WorkerProcess(
        broker.url,
        workdir / "worker",
        log_path=workdir / "worker.log",
        env={"KOMPENSASI_STAFF_TOKENS": token},
    )
    try:
        print(f"Kompensasi demo: {policy.office_name}, {DAY}, {applicants} applicants", flush=True)
        print(
            f"embedded broker on {broker.address}; starting a worker (log: {workdir / 'worker.log'})",
            flush=True,
        )
        worker.start().wait_ready(90)
        web = f"http://127.0.0.1:{worker.web_port}"
        print(
            f"worker ready in {time.monotonic() - started:.0f} s; streaming the day in about {seconds:.0f} s"
        )
        print(f"  display board:   {web}/board/{policy.office_id}")
        print(f"  operations view: {web}/ops/{policy.office_id} (sign in with the token in {token_file})\n",
              flush=True)  # fmt: skip
        records = asyncio.run(_stream_day(broker.address, events, seconds))
        print(summary(records), flush=True)
        print(f"\ndone in {time.monotonic() - started:.0f} s", flush=True)
        return 0
    except KeyboardInterrupt:
        print("\ninterrupted: stopping the worker and the broker", file=sys.stderr)
        return 130
    finally:
        worker.stop(timeout_s=5)
        broker.stop()
        shutil.rmtree(workdir, ignore_errors=True)
