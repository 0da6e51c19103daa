"""Integration-test plumbing: the embedded broker, worker processes, a generated day, comparisons."""

import json
import os
import random
import time
from collections import Counter
from datetime import date, datetime
from pathlib import Path
from typing import Any

import orjson

from schemas.topics import DEAD_LETTERS, DECISIONS, OFFICE_STATUS, OUTPUT_TOPICS
from streams.codec import topic_of
from streams.commands.feed import OutputReader, produce_paced
from streams.commands.policies import load_policies
from streams.commands.replay import replay
from streams.commands.simulate import closing_event, office_day
from streams.commands.supervise import WorkerProcess

POLICY_DIR = str(Path(__file__).parent / "policies")
PARTITIONS = 4
DAY = date(2026, 3, 2)
# `make soak FRESH=1` sets it for each run: days, arrival orders and kill times no test was shaped by.
SEED_SHIFT = int(os.environ.get("KOMPENSASI_TEST_SEED", "0"))
# Arrival may trail occurred_at by this much: under the test policies' 60 s of allowed lateness.
ARRIVAL_SPREAD_S = 45


def seeded(seed: int) -> int:
    return seed + 1000 * SEED_SHIFT


def generated_day(applicants: int = 80, seed: int = 7) -> list[dict[str, Any]]:
    """Two offices, a `*` outage, reviews, claims, bad records, then a closing event per office."""
    policies = load_policies([POLICY_DIR])
    events: list[Any] = []
    for policy in policies:
        events += office_day(policy, DAY, applicants=applicants, seed=seeded(seed))
    events.append(
        {"event_id": "nationwide-1", "type": "outage_started", "office_id": "*",
         "occurred_at": "2026-03-02T13:10:00+07:00", "outage_id": "N1", "system": "SMART"}
    )  # fmt: skip
    events.append(
        {"event_id": "nationwide-2", "type": "outage_ended", "office_id": "*",
         "occurred_at": "2026-03-02T13:25:00+07:00", "outage_id": "N1"}
    )  # fmt: skip
    events.append(dict(events[5]))  # an exact duplicate event id: dropped
    for policy in policies:
        events.append(closing_event(policy, DAY))
    return sorted(events, key=lambda e: datetime.fromisoformat(e["occurred_at"]))


def arriving(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The events in an arrival order within the allowed lateness (one for each day): each up to
    ARRIVAL_SPREAD_S behind its occurred_at, so events of one topic and partition overtake each other."""
    rng = random.Random(f"{SEED_SHIFT}/{events[0]['event_id'] if events else ''}")
    arrivals = sorted((_seconds(e) + rng.uniform(0, ARRIVAL_SPREAD_S), n) for n, e in enumerate(events))
    return [events[n] for _, n in arrivals]


async def produce_day(
    bootstrap: str,
    events: list[dict[str, Any]],
    pause_s: float = 0.15,
    on_chunk: Any = None,
    chunk_s: float = 600,
) -> None:
    """The day in compressed time (`chunk_s` of event time, then `pause_s`), in an arrival order."""
    await produce_paced(bootstrap, arriving(events), chunk_s, pause_s, on_chunk, in_arrival_order=True)


def _seconds(event: dict[str, Any]) -> float:
    return datetime.fromisoformat(event["occurred_at"]).timestamp()


def replayed(events: list[dict[str, Any]]) -> list[tuple[str, dict[str, Any]]]:
    records = replay([orjson.dumps(e) for e in events], load_policies([POLICY_DIR]))
    return [(topic_of(r), r.model_dump(mode="json")) for r in records]


def canonical(topic: str, value: dict[str, Any]) -> str:
    """Compares as the contract says: every field but emitted_at; reasons as sets; dead letters by origin."""
    v = dict(value)
    v.pop("emitted_at", None)
    for name in ("reasons", "compensation"):
        if name in v:
            v[name] = sorted(v[name])
    return topic + " " + json.dumps(v, sort_keys=True)


# Dead letters carry Kafka coordinates; office status is wall-clock driven: neither is in replay's terms.
COMPARED = set(OUTPUT_TOPICS) - {DEAD_LETTERS, OFFICE_STATUS}


def as_set(records: list[tuple[str, dict[str, Any]]]) -> Counter[str]:
    return Counter(canonical(t, v) for t, v in records if t in COMPARED)


async def until_replayed(
    reader: OutputReader, events: list[dict[str, Any]], limit_s: float = 180.0, quiet_s: float = 8.0
) -> None:
    """Reads until every record replay gives for `events` has come, then until nothing new comes for
    `quiet_s` (anything extra would come then): a worker that restarts itself after a dropped
    fetch (faust-streaming#596, README "Guarantees") is quiet for longer than a fixed spell."""
    missing = set(as_set(replayed(events))) - set(as_set(reader.records))
    until = time.monotonic() + limit_s
    while missing and time.monotonic() < until:
        missing -= set(as_set(await reader.poll(0.3)))
    await reader.until_quiet(quiet_s, max(quiet_s + 1, until - time.monotonic()))


def office_key(raw: bytes | None) -> bytes | None:
    """The key the contract gives a record: its value's `office_id` (None when it names none)."""
    try:
        office = orjson.loads(raw or b"").get("office_id")
    except (orjson.JSONDecodeError, AttributeError):
        return None
    return office.encode() if isinstance(office, str) else None


def new_worker(
    broker_url: str, tmp_path: Path, name: str, env: dict[str, str] | None = None
) -> WorkerProcess:
    """A worker on the test policies, its data and log under `tmp_path`."""
    return WorkerProcess(
        broker_url, tmp_path / name, [POLICY_DIR], partitions=PARTITIONS, log_path=tmp_path / f"{name}.log",
        env=env or {},
    )  # fmt: skip


def assert_in_time(got: list[tuple[str, dict[str, Any]]], logs: list[Path]) -> None:
    """For inputs with no late fact: no worker took an event as late, and none revoked a decision."""
    revoked = [v["ticket_id"] for t, v in got if t == DECISIONS and v["outcome"] == "revoked"]
    assert not revoked, f"revocations: {revoked[:5]}"
    for log in logs:
        late = log.read_text(errors="replace").count('"late_event"')
        assert late == 0, f"{late} late events in {log.name}"


def assert_same_as_replay(got: list[tuple[str, dict[str, Any]]], events: list[dict[str, Any]]) -> None:
    """Duplicates with the same ids are allowed; nothing missing, nothing extra, nothing conflicting:
    one primary decision per ticket, one ticket per priority number."""
    want = as_set(replayed(events))
    got_set = as_set(got)
    missing = set(want) - set(got_set)
    extra = set(got_set) - set(want)
    assert not missing and not extra, f"missing {list(missing)[:3]}, unexpected {list(extra)[:3]}"
    primary: dict[str, str] = {}
    numbers: dict[tuple[str, str, str], str] = {}
    for topic, v in got:
        if topic == "compensation.decisions" and v["outcome"] != "revoked":
            assert primary.setdefault(v["ticket_id"], v["decision_id"]) == v["decision_id"], "two decisions"
        if topic == "queue.priority-tickets" and v["type"] == "priority_ticket_assigned":
            key = (v["office_id"], v["service_day"], v["priority_no"])
            assert numbers.setdefault(key, v["ticket_id"]) == v["ticket_id"], "a priority number given twice"


# The state table's records as anyone with access could write them: each under one of an office's
# own keys (slots no short day reaches), each unreadable in its own way.
_SEP = "\x1f"
_HOSTILE_VALUES = [
    b"\xff\xfe{\x80", b"{", b"[1, 2]", b"42", b'"text"', b"null", b"{}", b'{"s": "x"}',
    orjson.dumps({"s": 1, "w": "w", "i": 0, "n": 1, "c": "not a list"}),
    orjson.dumps({"s": 1, "w": "w", "i": 0, "n": 1, "c": [["t", "T", [1, 2]]]}),
    orjson.dumps({"s": 3, "w": "w", "i": 0, "n": 1, "c": []}),  # a chunk, in a slot not its step's
    b"[" * 20_000 + b"]" * 20_000,
]  # fmt: skip


def journal_key(office: str, slot: int) -> bytes:
    """The changelog key of an office's journal step in `slot`, chunk 0."""
    return f"{office}{_SEP}j{_SEP}{slot}{_SEP}0".encode()


def hostile_state(office: str) -> tuple[list[tuple[bytes | None, bytes | None]], int]:
    """Records under the office's own keys, each key last written with something unreadable, and how
    many of them a restore must skip (null under an entry's own key deletes it: nothing to skip)."""
    records: list[tuple[bytes | None, bytes | None]] = []
    skipped = 0
    for n, value in enumerate(_HOSTILE_VALUES):
        for key, counted in (
            (journal_key(office, 4000 + n).decode(), True),  # journal slots a short day never reaches
            (f"{office}{_SEP}S{_SEP}{n % 2}{_SEP}{100 + n}", True),  # snapshot chunks past any real one
            (f"{office}{_SEP}t{_SEP}T-hostile-{n}", value != b"null"),
            (f"{office}{_SEP}x{n}{_SEP}", value != b"null"),
        ):
            records.append((key.encode(), value))
            skipped += counted
    records += [(f"{office}{_SEP}".encode() + b"\xff\xfe", b"{}"), (None, b"{}"), (b"\xff", b"{}")]
    records += [(f"{office}{_SEP}j{_SEP}3999{_SEP}0".encode(), None)]  # a tombstone of no entry
    return records, skipped + 1
