"""The shared reading path: what decodes, what does not, and read models that never raise on a record."""

import asyncio
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rules.intake import Rejection
from schemas.records import CompensationDecision, OfficeStatus
from schemas.topics import TOPIC_OF_RECORD, TOPIC_OF_TYPE
from streams import metrics
from streams.codec import encode, topic_of
from streams.commands.policies import load_policies
from streams.reading import (
    Reader,
    Signal,
    Unreadable,
    decode_record,
    decode_signal,
    log_time,
    read_event,
)
from streams.web import follower as following
from streams.web.board import Views
from streams.worker.agents import FOLLOWED
from tests.kafka import POLICY_DIR, generated_day, office_key, replayed

POLICIES = load_policies([POLICY_DIR])
OFFICES = {p.office_id for p in POLICIES}
NOW = datetime(2026, 3, 2, 12, tzinfo=UTC)
RECORDS = replayed(generated_day(applicants=20))
DECISION = next(v for t, v in RECORDS if v["type"] == "compensation_decision")
OUTAGE = {
    "event_id": "n1",
    "type": "outage_started",
    "office_id": "*",
    "occurred_at": "2026-03-02T10:00:00+07:00",
    "outage_id": "N1",
    "system": "SMART",
}


def test_every_record_replay_publishes_decodes_into_the_same_record() -> None:
    for topic, value in RECORDS:
        record = decode_record(topic, orjson.dumps(value))
        assert not isinstance(record, Unreadable), (topic, record)
        assert record.model_dump(mode="json") == value


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (None, "empty"),
        (b"", "empty"),
        (b"[1, 2, 3]", "not_a_record"),
        (b"null", "not_a_record"),
        (b'"compensation_decision"', "not_a_record"),
        (b"\xff\xfe", "not_a_record"),
        (b"[" * 20_000 + b"]" * 20_000, "not_a_record"),
        (orjson.dumps({**DECISION, "waited_s": "10"}), "not_a_record"),  # strict: no number from a string
        (orjson.dumps({**DECISION, "office_id": ["kanim-blitar"]}), "not_a_record"),
        (orjson.dumps({**DECISION, "extra": 1}), "not_a_record"),
        (orjson.dumps({**DECISION, "type": "compensation_teleported"}), "not_a_record"),
        (orjson.dumps(DECISION).replace(b'"waited_s":', b'"waited_s":1e400,"x":'), "not_a_record"),
        (orjson.dumps(DECISION).replace(b'"waited_s":', b'"waited_s":NaN,"x":'), "not_a_record"),
        (orjson.dumps({**DECISION, "padding": "x" * (1 << 20)}), "too_large"),
        (orjson.dumps({**DECISION, "decided_at": "0001-01-01T00:00:00+14:00"}), "out_of_bounds"),
        (orjson.dumps({**DECISION, "decided_at": "2026-03-02T10:00:00"}), "out_of_bounds"),  # naive
        (json.dumps({**DECISION, "waited_s": 2**64}).encode(), "out_of_bounds"),
    ],
)
def test_what_is_no_decision(raw: bytes | None, reason: str) -> None:
    assert decode_record("compensation.decisions", raw) == Unreadable(reason)


def test_a_record_on_another_records_topic_is_not_read() -> None:
    assert decode_record("queue.priority-tickets", orjson.dumps(DECISION)) == Unreadable("wrong_topic")


def test_an_unreadable_record_is_counted_by_topic_and_logged_by_coordinates(
    capfd: pytest.CaptureFixture[str],
) -> None:
    counter = metrics.UNREADABLE.labels("compensation.decisions")
    before = counter._value.get()
    assert Reader(()).record("compensation.decisions", 3, 41, b'{"summary": "SECRET-MARKER"') is None
    assert counter._value.get() == before + 1
    # fd-level: once the worker's logging is set up (another test may have), lines go to fd 1 itself.
    out = capfd.readouterr().out
    assert "unreadable_record" in out and "41" in out and "SECRET-MARKER" not in out


def test_the_future_rule_is_against_the_log_time_or_the_wall_clock_whichever_is_earlier() -> None:
    event = {**OUTAGE, "occurred_at": "2026-03-04T10:00:00+07:00"}  # 2 days after NOW less 5 hours
    raw = orjson.dumps(event)
    assert isinstance(read_event(raw, OFFICES, None, NOW, key=b"*"), Rejection)
    assert not isinstance(read_event(raw, OFFICES, None, NOW + timedelta(days=2), key=b"*"), Rejection)
    # Read two days later it is still what the agent dead-lettered when it was written.
    assert isinstance(read_event(raw, OFFICES, NOW, NOW + timedelta(days=2), key=b"*"), Rejection)
    assert isinstance(read_event(raw, OFFICES, NOW + timedelta(days=30), NOW, key=b"*"), Rejection)


def test_an_event_is_read_only_from_a_record_keyed_by_its_office() -> None:
    local = orjson.dumps({**OUTAGE, "office_id": "kanim-blitar"})
    assert not isinstance(read_event(local, OFFICES, None, NOW, key=b"kanim-blitar"), Rejection)
    for key in (None, b"", b"kanim-singaraja", b"\xff", b"kanim-blitar "):
        rejected = read_event(local, OFFICES, None, NOW, key=key)
        assert rejected == Rejection("invalid_event", "the record key is not the event's office_id")
    assert Reader(OFFICES).read("ops.system-status", 0, 0, local, None, key=None) is None


@pytest.mark.parametrize("timestamp_ms", [None, -1, 0, 253_402_300_800_000, 2**63 - 1])
def test_a_log_time_no_date_can_hold_is_no_log_time(timestamp_ms: int | None) -> None:
    """A producer sets any timestamp it likes: year 10000 must not stop the reader of its record."""
    assert log_time(timestamp_ms) is None
    assert not isinstance(
        read_event(orjson.dumps(OUTAGE), OFFICES, log_time(timestamp_ms), NOW, key=b"*"), Rejection
    )


def test_a_signal_is_a_tick_or_a_copy_of_a_nationwide_event() -> None:
    key = b"kanim-blitar"
    tick = decode_signal(key, b'{"signal": "tick"}', OFFICES, None, NOW)
    assert tick == Signal("kanim-blitar")
    copy = decode_signal(key, orjson.dumps({"signal": "broadcast", "event": OUTAGE}), OFFICES, None, NOW)
    assert isinstance(copy, Signal) and copy.event is not None and copy.event.outage_id == "N1"
    for bad_key, raw in [
        (None, b'{"signal": "tick"}'),
        (b"\xff", b'{"signal": "tick"}'),
        (key, None),
        (key, b"[1]"),
        (key, b'{"signal": "broadcast"}'),
        (key, b'{"signal": "teleport"}'),
        (key, orjson.dumps({"signal": "broadcast", "event": {**OUTAGE, "office_id": "kanim-blitar"}})),
        (
            key,
            orjson.dumps({"signal": "broadcast", "event": {**OUTAGE, "occurred_at": "2026-03-09T00:00:00Z"}}),
        ),
        (key, b'{"signal": "broadcast", "event": ' + b"[" * 20_000 + b"]" * 20_000 + b"}"),
    ]:
        assert isinstance(decode_signal(bad_key, raw, OFFICES, None, NOW), Unreadable), raw


def test_the_reader_hides_what_the_agent_dead_letters() -> None:
    reader = Reader(OFFICES)
    assert reader.read("queue.tickets", 0, 0, b"[1, 2, 3]", None, key=b"*") is None
    assert (
        reader.read("queue.tickets", 0, 1, orjson.dumps({**OUTAGE, "office_id": "x"}), None, key=b"x") is None
    )
    assert (
        reader.read("ops.system-status", 0, 2, orjson.dumps(OUTAGE), 1_772_420_400_000, key=b"*") is not None
    )


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=12,
)
FOLLOWED_TOPICS = FOLLOWED
STATUS = OfficeStatus(
    office_id="kanim-blitar",
    office_name="x",
    at=NOW,
    clock=NOW,
    service_day=NOW.date(),
    waiting=1,
    at_risk=0,
    longest_wait_s=3,
    outages_active=0,
    outcomes={"eligible": 1},
    priority_assigned=0,
    priority_called=0,
    priority_withdrawn=0,
)
ODD_VALUES = [
    "2026-03-02T10:00:00",
    "0001-01-01T00:00:00+14:00",
    "9999-12-31T23:59:59-14:00",
    "kanim-blitar",
    2**70,
]
TEMPLATES = [v for _, v in RECORDS] + [STATUS.model_dump(mode="json"), OUTAGE]


@st.composite
def near_records(draw: st.DrawFn) -> tuple[str, bytes]:
    """A published record or followed event on its topic with some fields replaced by odd values or any
    JSON, or any JSON at all on any followed topic."""
    if draw(st.integers(0, 3)) == 0:
        return draw(st.sampled_from(FOLLOWED_TOPICS)), json.dumps(draw(json_values)).encode()
    value: dict[str, Any] = dict(draw(st.sampled_from(TEMPLATES)))
    topic = {**TOPIC_OF_RECORD, **TOPIC_OF_TYPE}[value["type"]]
    for name in draw(st.lists(st.sampled_from(sorted(set(value) - {"type"})), min_size=1, max_size=2)):
        value[name] = draw(st.sampled_from(ODD_VALUES)) if draw(st.booleans()) else draw(json_values)
    return topic, json.dumps(value).encode()


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(near_records(), max_size=12))
def test_the_read_models_never_raise_and_their_pages_always_encode(records: list[tuple[str, bytes]]) -> None:
    views = Views(POLICIES)
    reader = Reader(views.offices)
    valid = [(topic_of(r), encode(r)) for r in (CompensationDecision.model_validate(DECISION),)]
    for offset, (topic, raw) in enumerate(valid + records):
        item = reader.read(topic, 0, offset, raw, None, NOW, key=office_key(raw))
        if item is not None:
            views.apply(topic, item)
    for office_id, view in views.offices.items():
        orjson.dumps([view.board(), view.operations(), view.referral_list()])
        views.public[office_id].evaluation()


def test_the_follower_retries_with_capped_backoff_and_says_so() -> None:
    """No broker at all: the follower keeps trying, ever slower up to the cap, and never raises."""
    waits: list[float] = []

    async def no_wait(delay: float) -> None:
        waits.append(delay)
        if len(waits) == 8:
            raise asyncio.CancelledError

    views = Views(POLICIES)
    f = following.Follower("127.0.0.1:1", ["queue.tickets"], views, lambda office: None, {})
    f.sleep = no_wait
    with pytest.raises(asyncio.CancelledError):
        asyncio.run(f.run())
    assert waits == [1.0, 2.0, 4.0, 8.0, 16.0, 30.0, 30.0, 30.0]
    assert f.status() == {"following": False, "failures": 8, "last_error": "KafkaConnectionError"}
    assert metrics.READ_MODELS_FOLLOWING._value.get() == 0
