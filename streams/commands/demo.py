"""`kompensasi demo` (`make run`): one simulated Blitar day through Kafka, decisions printed live."""

import asyncio
import contextlib
import heapq
import secrets
import shutil
import sys
import tempfile
import time
from collections import Counter
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from oversight import labels
from rules.policy import Policy
from streams.commands.broker import start_broker
from streams.commands.feed import OutputReader, produce_paced
from streams.commands.simulate import closing_event, office_day
from streams.commands.supervise import WorkerProcess

DAY = date(2026, 3, 2)


def _hm(seconds: int) -> str:
    return f"{seconds // 3600}j{seconds % 3600 // 60:02d}m"


def _clock(timestamp: str) -> str:
    return timestamp[11:16]


def _reasons(table: dict[str, labels.Label], codes: list[str]) -> str:
    return f" ({'; '.join(labels.both(table, c) for c in codes)})" if codes else ""


def describe(topic: str, v: dict[str, Any], ticket_nos: dict[str, str]) -> str | None:
    """One line per published record, as a supervisor would read it: both languages, as the board."""
    if topic == "compensation.decisions":
        ticket_nos[v["ticket_id"]] = v["ticket_no"]
        return (
            f"{_clock(v['decided_at'])}  keputusan / decision  {v['ticket_no']:<6} "
            f"{labels.both(labels.OUTCOMES, v['outcome'])}, menunggu / waited {_hm(v['waited_s'])}"
            f"{_reasons(labels.REASONS, v['reasons'])}"
        )
    if topic == "queue.priority-tickets":
        verb = "prioritas / priority" if v["type"] == "priority_ticket_assigned" else "ditarik / withdrawn"
        return f"{_clock(v['assigned_at'])}  {verb}  {v['priority_no']} untuk / for {v['ticket_no']}"
    if topic == "claims.decisions":
        ticket = ticket_nos.get(v["ticket_id"], "?")
        outcome = labels.both(labels.CLAIM_OUTCOMES, v["outcome"])
        return (
            f"{_clock(v['decided_at'])}  klaim / claim  {ticket:<6} "
            f"{outcome}{_reasons(labels.CLAIM_REASONS, v['reasons'])}"
        )
    if topic == "queue.dead-letters":
        return (
            f"       {labels.pair(labels.DEAD_LETTER)}  {v['source_topic']}: "
            f"{labels.both(labels.ERRORS, v['error_code'])}"
        )
    return None


def _at(topic: str, v: dict[str, Any]) -> datetime | None:
    """The office time a line is about; a dead letter has none and is shown when it comes."""
    stamp = v.get("assigned_at") if topic == "queue.priority-tickets" else v.get("decided_at")
    return datetime.fromisoformat(stamp) if isinstance(stamp, str) else None


class InTimeOrder:
    """Holds lines until the stream has moved `lag` past them: topics arrive in separate fetches, so
    a claim decided at 10:05 can come after a decision of 10:40 (issue 15)."""

    def __init__(self, lag: timedelta = timedelta(minutes=30)) -> None:
        self.lag = lag
        self.latest: datetime | None = None
        self._held: list[tuple[datetime, int, str]] = []
        self._count = 0

    def push(self, at: datetime | None, line: str) -> list[str]:
        """Takes a line; returns those now safe to print, oldest first."""
        at = at or self.latest
        if at is None:
            return [line]
        self.latest = max(self.latest or at, at)
        self._count += 1  # keeps lines of one minute in the order they came
        heapq.heappush(self._held, (at, self._count, line))
        return self._release(self.latest - self.lag)

    def drain(self) -> list[str]:
        return [heapq.heappop(self._held)[2] for _ in range(len(self._held))]

    def _release(self, until: datetime) -> list[str]:
        out = []
        while self._held and self._held[0][0] <= until:
            out.append(heapq.heappop(self._held)[2])
        return out


def waits_to_call(events: list[dict[str, Any]]) -> dict[str, int]:
    """Seconds from each ticket's issue to its first call, from the day's input events: a decision's
    `waited_s` stops at the threshold for an applicant decided at the deadline."""
    issued: dict[str, datetime] = {}
    waits: dict[str, int] = {}
    for e in events:
        if e["type"] == "ticket_issued":
            issued[e["ticket_id"]] = datetime.fromisoformat(e["occurred_at"])
        elif e["type"] == "service_called" and e["ticket_id"] in issued and e["ticket_id"] not in waits:
            waits[e["ticket_id"]] = int(
                (datetime.fromisoformat(e["occurred_at"]) - issued[e["ticket_id"]]).total_seconds()
            )
    return waits


def summary(records: list[tuple[str, dict[str, Any]]], events: list[dict[str, Any]], threshold_s: int) -> str:
    """The day in numbers, both languages, with the real waits (to the call) of decided tickets."""
    decisions = [v for t, v in records if t == "compensation.decisions"]
    outcomes = Counter(v["outcome"] for v in decisions)
    waits = waits_to_call(events)
    called = [waits[v["ticket_id"]] for v in decisions if v["ticket_id"] in waits]
    numbers = [v["priority_no"] for t, v in records if t == "queue.priority-tickets"
               and v["type"] == "priority_ticket_assigned"]  # fmt: skip
    claims = Counter(v["outcome"] for t, v in records if t == "claims.decisions")
    lines = ["", "Ringkasan / Summary", "-" * 60]
    lines += [
        f"  {labels.both(labels.OUTCOMES, o):<44}{outcomes[o]:>5}" for o in labels.OUTCOMES if outcomes[o]
    ]
    lines.append(f"  {'keputusan / decisions':<44}{len(decisions):>5}")
    if called:
        late = sum(w > threshold_s for w in called)
        lines.append(f"  tunggu terlama sampai dipanggil / longest wait to the call  {_hm(max(called))}")
        lines.append(f"  dipanggil lewat batas {_hm(threshold_s)} / called past the threshold  {late}")
    lines.append(
        f"  nomor prioritas / priority numbers  {len(numbers)}: {', '.join(numbers) if numbers else '-'}"
    )
    lines.append(
        f"  klaim / claims  {labels.both(labels.CLAIM_OUTCOMES, 'granted')} {claims['granted']}, "
        f"{labels.both(labels.CLAIM_OUTCOMES, 'rejected')} {claims['rejected']}"
    )
    return "\n".join(lines)


async def _stream_day(broker_address: str, events: list[dict[str, Any]], seconds: float) -> list:
    chunk_s = 120.0
    chunks = max(1, int(10 * 3600 / chunk_s))
    async with OutputReader(broker_address) as reader:
        ticket_nos: dict[str, str] = {}
        order = InTimeOrder()

        async def show() -> None:
            while True:
                for topic, value in await reader.poll(0.2):
                    line = describe(topic, value, ticket_nos)
                    for ready in order.push(_at(topic, value), line) if line else []:
                        print(ready, flush=True)

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
            for line in order.drain():
                print(line, flush=True)
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
        print(summary(records, events, policy.threshold_s), flush=True)
        print(f"\ndone in {time.monotonic() - started:.0f} s", flush=True)
        return 0
    except KeyboardInterrupt:
        print("\ninterrupted: stopping the worker and the broker", file=sys.stderr)
        return 130
    finally:
        worker.stop(timeout_s=5)
        broker.stop()
        shutil.rmtree(workdir, ignore_errors=True)
