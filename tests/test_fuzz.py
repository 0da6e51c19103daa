"""Bad input never crashes anything, never changes state, and becomes exactly one dead letter."""

import json
from datetime import timedelta
from typing import Any

import orjson
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from schemas.records import DeadLetter
from streams.codec import topic_of
from streams.commands.policies import shipped_policies
from streams.commands.replay import replay
from streams.worker.desk import Desk
from streams.worker.state import OfficeStates
from tests.builders import call, claim, fixed_wall, issue, outage_start, tick

POLICIES = shipped_policies()
VALID = [
    issue("T1", "08:00", event_id="v1"),
    call("T1", "09:00", event_id="v2"),
    issue("T2", "08:30", event_id="v3"),
    outage_start("O1", "09:30", event_id="v4"),
    claim("C1", "T2", "10:45", event_id="v5"),
    tick("12:00"),
]
DAMAGE = ["wrong_type", "missing", "naive", "absurd", "type", "office", "huge", "deep"]
ABSURD_TIMES = ["9999-99-99T99:99:99+07:00", "1900-01-01T00:00:00Z", "yesterday", "2026-03-02T08:00:00+25:00"]


def dumps(value: Any) -> bytes:
    """Any JSON, also integers beyond 64 bits and deep nesting, which orjson would refuse to write."""
    return json.dumps(value).encode()


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=40),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=20,
)


@st.composite
def near_valid(draw: st.DrawFn) -> bytes:
    """A valid event with one field broken: wrong type, missing, naive or absurd time, unknown type or office,
    huge string, deep nesting."""
    event: dict[str, Any] = dict(draw(st.sampled_from(VALID[:-1])))
    event["event_id"] = "bad-" + str(draw(st.integers(0, 10**6)))
    field = draw(st.sampled_from(sorted(k for k in event if k != "event_id")))
    damage = draw(
        st.sampled_from(["wrong_type", "missing", "naive", "absurd", "type", "office", "huge", "deep"])
    )
    if damage == "wrong_type":
        # Never the field's own type: `True` for `smart_registered` would be a valid event.
        event[field] = draw(
            st.sampled_from([v for v in [1, 2.5, True, None, [], {}] if type(v) is not type(event[field])])
        )
    elif damage == "missing":
        del event[field]
    elif damage == "naive":
        event["occurred_at"] = "2026-03-02T08:00:00"
    elif damage == "absurd":
        event["occurred_at"] = draw(
            st.sampled_from(["9999-99-99T99:99:99+07:00", "1900-01-01T00:00:00Z", "yesterday"])
        )
    elif damage == "type":
        event["type"] = draw(st.text(max_size=20).filter(lambda t: t not in {e["type"] for e in VALID}))
    elif damage == "office":
        event["office_id"] = "kanim-" + draw(st.text(min_size=1, max_size=10)) + "-nowhere"
    elif damage == "huge":
        event["ticket_no" if "ticket_no" in event else "event_id"] = "x" * 5000
    else:
        event[field] = json.loads("[" * 300 + "]" * 300)
    return dumps(event)


bad_records = st.one_of(
    st.binary(max_size=200).filter(lambda b: b.strip() != b""),
    json_values.filter(lambda v: not isinstance(v, dict)).map(dumps),
    st.dictionaries(st.text(max_size=10), json_values, max_size=6).map(dumps),
    near_valid(),
)


def _lines(records: list[dict[str, Any]]) -> list[bytes]:
    return [orjson.dumps(r) for r in records]


def _not_dead(records: list) -> list[str]:
    return sorted(r.model_dump_json(exclude={"emitted_at"}) for r in records if not isinstance(r, DeadLetter))


EXPECTED = _not_dead(list(replay(_lines(VALID), POLICIES)))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(bad_records, min_size=1, max_size=6), st.randoms())
def test_replay_turns_each_bad_line_into_one_dead_letter(bad: list[bytes], rng: Any) -> None:
    lines = _lines(VALID)
    for raw in bad:
        lines.insert(rng.randint(0, len(lines) - 1), raw.replace(b"\n", b" "))
    records = list(replay(lines, POLICIES))
    dead = [r for r in records if isinstance(r, DeadLetter)]
    assert len(dead) == len(bad)
    assert all(d.error and d.error_code in ("invalid_json", "invalid_event", "unknown_office") for d in dead)
    assert _not_dead(records) == EXPECTED


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(bad_records)
def test_the_worker_path_dead_letters_bad_records_without_touching_state(raw: bytes) -> None:
    table: dict[str, Any] = {}
    desk = Desk(POLICIES, OfficeStates({p.office_id: p for p in POLICIES}, table, fixed_wall), fixed_wall)
    for n, event in enumerate(VALID[:3]):
        desk.save(desk.on_input("queue.tickets", 0, n, orjson.dumps(event), key=event["office_id"].encode()))
    before = dict(table)
    handled = desk.on_input("queue.tickets", 0, 99, raw, key=b"kanim-blitar")
    desk.save(handled)
    assert [topic_of(r) for r in handled.records] == ["queue.dead-letters"]
    (letter,) = handled.records
    assert isinstance(letter, DeadLetter) and letter.offset == 99 and letter.partition == 0
    assert table == before


def test_an_event_more_than_a_day_ahead_of_the_wall_clock_is_a_dead_letter() -> None:
    table: dict[str, Any] = {}
    desk = Desk(POLICIES, OfficeStates({p.office_id: p for p in POLICIES}, table, fixed_wall), fixed_wall)
    ahead = issue("F1", fixed_wall() + timedelta(days=1, seconds=1), event_id="f1")
    handled = desk.on_input("queue.tickets", 0, 5, orjson.dumps(ahead), key=ahead["office_id"].encode())
    desk.save(handled)
    (letter,) = handled.records
    assert isinstance(letter, DeadLetter) and letter.error_code == "invalid_event"
    assert "day ahead" in letter.error
    assert table == {}
    within = issue("F2", fixed_wall() + timedelta(hours=23), event_id="f2")
    handled = desk.on_input("queue.tickets", 0, 6, orjson.dumps(within), key=within["office_id"].encode())
    assert handled.records == []
    desk.save(handled)
    assert table != {}
