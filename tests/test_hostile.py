"""Hostile records on every topic a worker reads, through two live workers: nothing stops, every one on
an input topic is one dead letter, and the decisions and every view are what replay gives."""

import asyncio
import json
import urllib.request
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
import pytest
from aiokafka import AIOKafkaProducer

from oversight.disclosure import public_summary
from schemas.topics import DEAD_LETTERS, INPUT_TOPICS, OFFICE_STATUS, TOPIC_OF_RECORD
from streams.codec import encode, topic_of
from streams.commands.broker import Broker
from streams.commands.feed import OutputReader, topic_for
from streams.commands.policies import load_policies
from streams.commands.replay import replay
from streams.commands.supervise import WorkerProcess, wait_all_ready
from streams.reading import SIGNALS_TOPIC, Reader
from streams.web.board import Views
from streams.worker.agents import FOLLOWED
from tests import bad_headers
from tests.kafka import (
    PARTITIONS,
    POLICY_DIR,
    assert_same_as_replay,
    canonical,
    generated_day,
    new_worker,
    office_key,
    produce_day,
    replayed,
    until_replayed,
)

pytestmark = pytest.mark.broker

STAFF = "staff-hostile-token-0123456789"
BLITAR, SINGARAJA = "kanim-blitar", "kanim-singaraja"
OUTPUTS_FOLLOWED = [t for t in FOLLOWED if t not in INPUT_TOPICS]
# Over the 1 MiB limit of a record; the producer and the broker are told to take it.
OVER_1_MIB = 1024 * 1024 + 64 * 1024
# A record with a header key that is not UTF-8 (tests/bad_headers.py): aiokafka could not read it.
BAD_HEADER = "header key not UTF-8"
# Placeholders replaced in the encoded bytes by what orjson will not write.
NUMBER = "__number__"


def wrong_type(value: Any) -> Any:
    """A JSON value of another type than `value`."""
    if isinstance(value, bool) or value is None:
        return "not-a-boolean"
    if isinstance(value, int | float):
        return "not-a-number"
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return {"a": value}
    return 17


def every_field_wrong(value: dict[str, Any]) -> dict[str, Any]:
    return {k: v if k == "type" else wrong_type(v) for k, v in value.items()}


def with_number(value: dict[str, Any], field: str, number: bytes) -> bytes:
    return orjson.dumps({**value, field: NUMBER}).replace(f'"{NUMBER}"'.encode(), number)


def common(key: bytes, base: dict[str, Any], time_field: str) -> list[tuple[str, bytes | None, bytes | None]]:
    """The hostile records of every topic, around a valid `base` value of that topic."""
    raw = orjson.dumps(base)
    return [
        ("array", key, b"[1, 2, 3]"),
        ("scalar", key, b"42"),
        ("string", key, b'"kanim-blitar"'),
        ("null", key, b"null"),
        ("empty", key, b""),
        ("tombstone", key, None),
        ("null key", None, orjson.dumps(every_field_wrong(base))),
        ("non-UTF-8 key", b"\xff\xfe\xfd", b"{}"),
        (BAD_HEADER, key, b"[1, 2, 3]"),
        ("non-UTF-8", key, b"\xff\xfe{\x80\x81}"),
        ("truncated", key, raw[: len(raw) // 2]),
        ("deep arrays", key, b"[" * 20_000 + b"]" * 20_000),
        ("deep objects", key, b'{"a":' * 20_000 + b"{}" + b"}" * 20_000),
        ("over 1 MiB", key, orjson.dumps({**base, "padding": "x" * OVER_1_MIB})),
        ("office list", key, orjson.dumps({**base, "office_id": [BLITAR]})),
        ("unknown type", key, orjson.dumps({**base, "type": "ticket_teleported"})),
        ("1e400", key, with_number(base, time_field, b"1e400")),
        ("NaN", key, with_number(base, time_field, b"NaN")),
        ("bare 1e400", key, b"1e400"),
        ("bare NaN", key, b"NaN"),
    ]


def input_examples(day_events: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """One valid event of each type, from the generated day and a `*` outage."""
    examples: dict[str, dict[str, Any]] = {}
    for event in day_events:
        examples.setdefault(event["type"], event)
    return examples


def hostile_inputs(
    examples: dict[str, dict[str, Any]], now: datetime
) -> list[tuple[str, bytes | None, bytes | None]]:
    call = {**examples["service_called"], "event_id": "hostile"}
    future = (now + timedelta(days=2)).isoformat()
    records = common(BLITAR.encode(), call, "occurred_at")
    records += [(f"{t}, every field wrong", BLITAR.encode(), orjson.dumps(every_field_wrong(e)))
                for t, e in examples.items()]  # fmt: skip
    # An outage of the whole morning, were it applied: it would take back every eligible decision.
    outage = {
        **examples["outage_started"],
        "event_id": "hostile-outage",
        "outage_id": "H",
        "office_id": BLITAR,
    }
    records += [
        ("unknown office", b"kanim-atlantis", orjson.dumps({**call, "office_id": "kanim-atlantis"})),
        ("two days ahead", BLITAR.encode(), orjson.dumps({**call, "occurred_at": future})),
        ("valid, null key", None, orjson.dumps(outage)),
        ("valid, another office's key", SINGARAJA.encode(), orjson.dumps(outage)),
    ]
    return records


def hostile_signals(
    examples: dict[str, dict[str, Any]], now: datetime
) -> list[tuple[str, bytes | None, bytes | None]]:
    outage = {**examples["outage_started"], "office_id": "*", "event_id": "hostile"}
    broadcast = {"signal": "broadcast", "event": outage}
    key = BLITAR.encode()
    # A signal ignores fields it does not know: its office and type are those of the event it carries.
    records = [r for r in common(key, broadcast, "signal") if r[0] not in ("office list", "unknown type")]

    def carrying(event: dict[str, Any]) -> bytes:
        return orjson.dumps({"signal": "broadcast", "event": event})

    records += [
        ("tick with a null key", None, b'{"signal":"tick"}'),
        ("tick with a non-UTF-8 key", b"\xff\xfe", b'{"signal":"tick"}'),
        ("broadcast, no event", key, b'{"signal":"broadcast"}'),
        ("broadcast of an office's event", key, carrying(examples["service_called"])),
        ("broadcast, unknown office", key, carrying({**outage, "office_id": "x"})),
        ("broadcast, office list", key, carrying({**outage, "office_id": ["*"]})),
        ("broadcast, unknown type", key, carrying({**outage, "type": "outage_teleported"})),
        ("broadcast, 1e400", key, carrying(outage).replace(b'"occurred_at":', b'"occurred_at":1e400,"x":')),
        (
            "broadcast two days ahead",
            key,
            carrying({**outage, "occurred_at": (now + timedelta(days=2)).isoformat()}),
        ),
        ("signal, every field wrong", key, orjson.dumps({"signal": 7, "event": "x"})),
    ]
    records += [(f"broadcast {t}, every field wrong", key,
                 orjson.dumps({"signal": "broadcast", "event": every_field_wrong({**e, "office_id": "*"})}))
                for t, e in examples.items()]  # fmt: skip
    return records


def record_examples(records: list[tuple[str, dict[str, Any]]]) -> dict[str, dict[str, Any]]:
    examples: dict[str, dict[str, Any]] = {}
    for _, value in records:
        examples.setdefault(value["type"], value)
    examples.setdefault("priority_ticket_withdrawn", {**examples["priority_ticket_assigned"],
                        "type": "priority_ticket_withdrawn", "reasons": ["system_outage"]})  # fmt: skip
    examples["office_status"] = {
        "type": "office_status", "office_id": BLITAR, "office_name": "x", "at": "2026-03-02T08:00:00+07:00",
        "clock": "2026-03-02T08:00:00+07:00", "service_day": "2026-03-02", "waiting": 1, "at_risk": 0,
        "longest_wait_s": 5, "outages_active": 0, "outcomes": {"eligible": 1}, "priority_assigned": 1,
        "priority_called": 0, "priority_withdrawn": 0,
    }  # fmt: skip
    return examples


def hostile_outputs(
    topic: str, examples: dict[str, dict[str, Any]]
) -> list[tuple[str, bytes | None, bytes | None]]:
    """The hostile records of an output topic; only 'unknown office' decodes (and names no office here)."""
    own = {t: e for t, e in examples.items() if TOPIC_OF_RECORD[t] == topic}
    base = next(iter(own.values()))
    time_field = next(k for k, v in base.items() if k != "type" and isinstance(v, str) and v[:2] == "20")
    records = common(BLITAR.encode(), base, time_field)
    records += [(f"{t}, every field wrong", BLITAR.encode(), orjson.dumps(every_field_wrong(e)))
                for t, e in own.items()]  # fmt: skip
    records.append(
        ("unknown office", b"kanim-atlantis", orjson.dumps({**base, "office_id": "kanim-atlantis"}))
    )
    return records


Coordinates = tuple[str, int, int]
VIEW_PATHS = ("/offices/{}/board", "/offices/{}/status", "/public/{}/data")


async def produce_hostile(
    address: str, records: list[tuple[str, str, bytes | None, bytes | None]]
) -> list[Coordinates]:
    """Sends each record and returns where the broker put it."""
    producer = AIOKafkaProducer(bootstrap_servers=address, max_request_size=4 * 1024 * 1024)
    await producer.start()
    try:
        placed = []
        for topic, name, key, value in records:
            if name != BAD_HEADER:
                meta = await producer.send_and_wait(topic, value, key=key)
                placed.append((topic, meta.partition, meta.offset))
    finally:
        await producer.stop()
    headed = [(topic, key, value) for topic, name, key, value in records if name == BAD_HEADER]
    return placed + await asyncio.to_thread(bad_headers.produce, address, headed)


def get(worker: WorkerProcess, path: str) -> Any:
    request = urllib.request.Request(f"http://127.0.0.1:{worker.web_port}{path}",
                                     headers={"Authorization": f"Bearer {STAFF}"})  # fmt: skip
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())


def unreadable_counts(worker: WorkerProcess) -> dict[str, float]:
    with urllib.request.urlopen(f"http://127.0.0.1:{worker.web_port}/metrics", timeout=10) as response:
        text = response.read().decode()
    counts: dict[str, float] = {}
    for line in text.splitlines():
        if line.startswith("kompensasi_unreadable_records_total{"):
            labels, value = line.rsplit(" ", 1)
            counts[labels.split('topic="', 1)[1].split('"', 1)[0]] = float(value)
    return counts


def expected_views(events: list[dict[str, Any]]) -> Views:
    """The read models as a worker builds them, from the valid input events and replay's records."""
    policies = load_policies([POLICY_DIR])
    views = Views(policies)
    reader = Reader(views.offices)
    inputs = [(topic_for(e), orjson.dumps(e)) for e in events]
    records = [(topic_of(r), encode(r)) for r in replay([orjson.dumps(e) for e in events], policies)]
    for offset, (topic, raw) in enumerate(inputs + records):
        if topic in FOLLOWED:
            item = reader.read(topic, 0, offset, raw, None, key=office_key(raw))
            if item is not None:
                views.apply(topic, item)
    return views


def comparable_operations(operations: dict[str, Any]) -> dict[str, Any]:
    """The operations view less what replay has no terms for (the wall-clock office status) and the
    order of reading (decisions newest first as read; copies of a record are one)."""
    return {
        "at_risk": sorted(canonical("", v) for v in operations["at_risk"]),
        "decisions": sorted({canonical("", v) for v in operations["decisions"]}),
    }


def test_hostile_records_on_every_topic_stop_nothing_and_change_nothing(
    broker: Broker, tmp_path: Path
) -> None:
    events = generated_day(applicants=40, seed=7)
    now = datetime.now(UTC)
    inputs = input_examples(events)
    want_records = replayed(events)
    outputs = record_examples(want_records)
    hostile: list[tuple[str, str, bytes | None, bytes | None]] = []
    for topic in INPUT_TOPICS:
        hostile += [(topic, *r) for r in hostile_inputs(inputs, now)]
    hostile += [(SIGNALS_TOPIC, *r) for r in hostile_signals(inputs, now)]
    for topic in OUTPUTS_FOLLOWED:
        hostile += [(topic, *r) for r in hostile_outputs(topic, outputs)]

    # One office status, at the start: a later one would start a new service day on the board mid-test.
    env = {"KOMPENSASI_STAFF_TOKENS": STAFF, "KOMPENSASI_STATUS_INTERVAL": "3600"}
    workers = [new_worker(broker.url, tmp_path, f"w{i}", env).start() for i in (1, 2)]
    placed: list[Coordinates] = []

    async def midway(at: datetime) -> None:
        if not placed and at.hour >= 12:
            placed.extend(await produce_hostile(broker.address, hostile))

    async def run() -> list[tuple[str, dict[str, Any]]]:
        async with OutputReader(broker.address, [*OUTPUTS_FOLLOWED, DEAD_LETTERS]) as reader:
            await produce_day(broker.address, events, pause_s=0.1, on_chunk=midway)
            await until_replayed(reader, events)
            return reader.records

    try:
        wait_all_ready(workers, PARTITIONS, 120)
        got = asyncio.run(run())
        statuses = [w.status() for w in workers]
        alive = [w.process is not None and w.process.poll() is None for w in workers]
        paths = [p.format(o) for o in (BLITAR, SINGARAJA) for p in VIEW_PATHS]
        views = {path: [get(w, path) for w in workers] for path in paths}
        unreadable = [unreadable_counts(w) for w in workers]
    finally:
        for w in workers:
            w.stop()

    assert len(placed) == len(hostile), "the hostile records went out in the middle of the day"
    assert alive == [True, True]
    assert all(s and s["ready"] and s["read_models"]["following"] for s in statuses), statuses
    for name in ("w1", "w2"):
        log = (tmp_path / f"{name}.log").read_text(errors="replace")
        assert "agent_failed" not in log and "follower_failed" not in log and "timer_failed" not in log

    # Every hostile input record is one dead letter, found by its coordinates.
    letters = Counter((v["source_topic"], v["partition"], v["offset"]) for t, v in got if t == DEAD_LETTERS)
    on_inputs = [c for c in placed if c[0] in INPUT_TOPICS]
    assert {c: letters[c] for c in on_inputs} == dict.fromkeys(on_inputs, 1)
    others = sum(n for c, n in letters.items() if c not in set(on_inputs))
    assert others == sum(1 for t, _ in want_records if t == DEAD_LETTERS), "only the day's bad lines"

    # The decisions are replay's, and so are the board, the operations view and the public figures.
    assert_same_as_replay([(t, v) for t, v in got if v.get("office_id") != "kanim-atlantis"], events)
    want = expected_views(events)
    for office in (BLITAR, SINGARAJA):
        for board in views[f"/offices/{office}/board"]:
            assert board == want.offices[office].board()
        for operations in views[f"/offices/{office}/status"]:
            assert comparable_operations(operations) == comparable_operations(
                want.offices[office].operations()
            )
        summary = public_summary(want.public[office].evaluation())
        for public in views[f"/public/{office}/data"]:
            assert public == json.loads(
                orjson.dumps(summary, option=orjson.OPT_NON_STR_KEYS | orjson.OPT_UTC_Z)
            )

    # Each follower read every hostile output record once; the signals were read by their owner.
    for topic in OUTPUTS_FOLLOWED:
        bad = sum(1 for t, name, *_ in hostile if t == topic and name != "unknown office")
        assert [u.get(topic, 0) for u in unreadable] == [bad, bad], topic
    signals = sum(1 for t, *_ in hostile if t == SIGNALS_TOPIC)
    assert sum(u.get(SIGNALS_TOPIC, 0) for u in unreadable) == signals
    assert OFFICE_STATUS in OUTPUTS_FOLLOWED
