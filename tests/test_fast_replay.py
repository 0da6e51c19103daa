"""Replay's fast path gives what the models give: the msgspec decoder accepts and rejects what the
event models do, and records encoded from dicts are the bytes the models encode."""

import gc
import io
import json
import re
from collections.abc import Iterable
from datetime import date
from pathlib import Path
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rules.intake import Rejection, fast_event, parse_json, validate
from schemas.events import Event
from streams.codec import replay_line
from streams.commands.policies import shipped_policies
from streams.commands.replay import read_line, replay, run
from streams.commands.simulate import month_log
from tests.conftest import EXAMPLES
from tests.test_fuzz import ABSURD_TIMES, VALID, bad_records, dumps
from tests.test_intake import EVERY_TYPE
from tests.test_referrals import complaint

POLICIES = shipped_policies()
OFFICES = {p.office_id for p in POLICIES}
MONTH = list(month_log(POLICIES, date(2026, 3, 1), 8, 60))
_EMITTED = re.compile(rb',"emitted_at":"[^"]*"')


def fields(event: Event, names: Iterable[str]) -> dict[str, Any]:
    """What the rules read of an event; the offset too, which datetime equality ignores."""
    return {"type": event.type, **{n: getattr(event, n) for n in names}, "at": event.occurred_at.isoformat()}


def models_read(raw: bytes) -> Event | Rejection:
    return validate(parse_json(raw), OFFICES)


def assert_same_as_models(raw: bytes) -> None:
    fast, models = fast_event(raw), models_read(raw)
    value = parse_json(raw)
    plain = not (isinstance(value, dict) and ("topic" in value or "value" in value))
    if isinstance(models, Rejection):
        assert fast is None or models.error_code == "unknown_office", models
    else:
        assert (fast is not None) == plain
    if fast is not None and not isinstance(models, Rejection):
        names = [n for n in type(models).model_fields if n != "type"]
        assert fields(fast, names) == fields(models, names)


def utf8(value: Any) -> bytes:
    """JSON with text as UTF-8, not escaped (which only the models' path reads); any JSON, as `dumps`."""
    return json.dumps(value, ensure_ascii=False).encode("utf-8", "surrogatepass")


def unescaped(raw: bytes) -> bytes:
    try:
        return utf8(json.loads(raw))
    except ValueError:
        return raw


lines = st.one_of(
    bad_records, bad_records.map(unescaped), st.sampled_from(VALID[:-1]).map(utf8), st.sampled_from(MONTH)
)


@settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(lines)
def test_the_fast_decoder_accepts_and_rejects_what_the_models_do(raw: bytes) -> None:
    assert_same_as_models(raw)


TIMES = st.one_of(
    st.sampled_from([*ABSURD_TIMES, "2026-03-02t08:00:00z", "2026-03-02 08:00:00+07:00",
                     "2026-02-30T08:00:00Z", "1999-12-31T23:59:59Z", "2026-03-02T08:00:00.1234567891-03:30",
                     "2026-03-02T08:00Z"]),
    st.from_regex(r"\A2[01]\d\d-[01]\d-[0-3]\d[Tt ][0-2]\d:[0-5]\d:[0-6]\d(\.\d{1,9})?"
                  r"([Zz]|[+-][01]\d:[0-5]\d)\Z"),
)  # fmt: skip


# Every event type, and a complaint naming no ticket.
EVENTS = [*EVERY_TYPE, complaint("K1", "T1", "17:00"), complaint("K2", None, "17:00")]
LENGTHS = [0, 1, 31, 32, 33, 127, 128, 129, 1999, 2000, 2001]  # each side of every length limit
VALUES = st.one_of(
    st.text(max_size=40), st.sampled_from(LENGTHS).map("x".__mul__),
    st.sampled_from(LENGTHS).map("é".__mul__), st.none(), st.integers(), st.floats(), st.booleans(),
    st.lists(st.text(max_size=3), max_size=2), TIMES,
    st.sampled_from(["served", "cancelled", "other", "long_wait", "ticket_issued", "review_flagged"]),
)  # fmt: skip


@settings(max_examples=1500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(EVENTS).flatmap(lambda e: st.tuples(st.just(e), st.sampled_from(sorted(e)))), VALUES,
       st.booleans())  # fmt: skip
def test_a_field_changed_to_anything_is_read_as_the_models_read_it(
    picked: tuple[dict, str], value: Any, drop: bool
) -> None:
    event, name = picked
    assert_same_as_models(
        dumps({k: v for k, v in event.items() if k != name} if drop else {**event, name: value})
    )


def test_every_line_of_a_generated_log_is_read_as_the_models_read_it() -> None:
    for raw in MONTH:
        assert_same_as_models(raw)


def test_a_repeated_type_key_is_left_to_the_models() -> None:
    called = dumps(VALID[1])
    raw = called.replace(b'"type": "service_called"', b'"type": "ticket_issued", "type": "service_called"')
    assert fast_event(raw) is None and not isinstance(models_read(raw), Rejection)


def fast_and_models(lines: list[bytes]) -> tuple[list[bytes], list[bytes]]:
    out = io.BytesIO()
    run(io.BytesIO(b"\n".join(lines) + b"\n"), out, POLICIES)
    models = [replay_line(r) for r in replay(lines, POLICIES)]
    return [_EMITTED.sub(b"", line) for line in out.getvalue().splitlines()], [
        _EMITTED.sub(b"", m) for m in models
    ]


def test_records_encoded_without_models_are_the_models_bytes_on_a_generated_log() -> None:
    fast, models = fast_and_models(MONTH)
    assert len(fast) > 1000 and fast == models
    kinds = {orjson.loads(line)["value"]["type"] for line in fast}
    assert kinds == {"compensation_decision", "priority_ticket_assigned", "priority_ticket_withdrawn",
                     "claim_decision", "ticket_at_risk", "ombudsman_referral", "dead_letter"}  # fmt: skip


@pytest.mark.parametrize("name", sorted(p.name for p in EXAMPLES.glob("*.input.jsonl")))
def test_records_encoded_without_models_are_the_models_bytes_on_the_examples(name: str) -> None:
    fast, models = fast_and_models(Path(EXAMPLES / name).read_bytes().splitlines())
    assert fast and fast == models


def test_replay_collects_cycles_rarely_and_gives_the_pace_back() -> None:
    before, seen = gc.get_threshold(), list[tuple[int, int, int]]()

    def lines() -> Iterable[bytes]:
        for line in MONTH[:50]:
            seen.append(gc.get_threshold())  # as replay reads each line
            yield line

    run(lines(), io.BytesIO(), POLICIES)  # type: ignore[arg-type]
    assert len(seen) == 50 and all(t[0] >= 10 * before[0] and t[1:] == before[1:] for t in seen)
    assert gc.get_threshold() == before


def test_a_wrapped_record_is_left_to_the_models_even_with_its_keys_escaped() -> None:
    event = utf8(VALID[0])
    for topic in (b'"topic"', b'"\\u0074opic"'):
        raw = b"{" + topic + b': "queue.tickets", "key": "kanim-blitar", "value": ' + event + b"}"
        assert fast_event(raw) is None
        topic_read, read = read_line(raw, OFFICES)
        assert topic_read == "queue.tickets"
        assert fields(read, ["event_id"]) == fields(models_read(event), ["event_id"])
