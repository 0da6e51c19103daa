"""Contract section 6: classification of raw records into events or dead letters."""

import json
from typing import Any

import pytest

from rules.intake import MAX_RECORD_BYTES, Rejection, classify
from schemas.events import ClaimSubmitted, OutageEnded, OutageStarted, ReviewFlagged, TicketIssued
from tests.builders import (
    ALL,
    BLITAR,
    SINGARAJA,
    Raw,
    call,
    claim,
    clear,
    close,
    flag,
    issue,
    new_offices,
    outage_end,
    outage_start,
)

MARKER = "SECRET-MARKER"
OFFICES = {BLITAR, SINGARAJA}


def encode(value: Any) -> bytes:
    return json.dumps(value).encode()


def rejected(raw: bytes, code: str) -> Rejection:
    got = classify(raw, OFFICES)
    assert isinstance(got, Rejection), f"accepted: {got!r}"
    assert got.error_code == code, got
    assert got.error, "a rejection explains itself"
    assert MARKER not in got.error
    return got


def with_field(event: Raw, **changes: Any) -> Raw:
    return {**event, **changes}


def without(event: Raw, name: str) -> Raw:
    return {k: v for k, v in event.items() if k != name}


EVERY_TYPE = [
    issue("T1", "08:00"),
    call("T1", "09:00"),
    close("T1", "09:00"),
    flag("A1", "09:00"),
    clear("A1", "09:00"),
    outage_start("O1", "09:00"),
    outage_end("O1", "09:00"),
    claim("C1", "T1", "09:00"),
]


# ---- valid events -----------------------------------------------------------------------------


@pytest.mark.parametrize("event", EVERY_TYPE, ids=lambda e: e["type"])
def test_every_valid_event_type_is_accepted(event: Raw) -> None:
    got = classify(encode(event), OFFICES)
    assert not isinstance(got, Rejection), got
    assert got.type == event["type"]
    assert got.event_id == event["event_id"]


def test_the_offices_container_can_be_the_offices_object() -> None:
    assert isinstance(classify(encode(issue("T1")), new_offices()), TicketIssued)
    assert rejected_with(new_offices(), with_field(issue("T1"), office_id="kanim-x")) == "unknown_office"


def rejected_with(offices: Any, event: Raw) -> str:
    got = classify(encode(event), offices)
    assert isinstance(got, Rejection)
    return got.error_code


def test_extra_unknown_fields_are_ignored() -> None:
    event = with_field(issue("T1"), extra_field=MARKER, nested={"a": [1, 2, {"b": None}]}, number=1.5)
    got = classify(encode(event), OFFICES)
    assert isinstance(got, TicketIssued)
    assert not hasattr(got, "extra_field")
    assert MARKER not in repr(got)


def test_a_review_reason_is_kept_only_in_the_event() -> None:
    got = classify(encode(flag("A1", "09:00", reason=MARKER)), OFFICES)
    assert isinstance(got, ReviewFlagged)


@pytest.mark.parametrize(
    "event", [outage_start("O1", "09:00", office=ALL), outage_end("O1", "09:00", office=ALL)]
)
def test_star_is_accepted_for_outage_events(event: Raw) -> None:
    got = classify(encode(event), OFFICES)
    assert isinstance(got, OutageStarted | OutageEnded)
    assert got.office_id == ALL


@pytest.mark.parametrize(
    "event",
    [e for e in EVERY_TYPE if not e["type"].startswith("outage")],
    ids=lambda e: e["type"],
)
def test_star_is_unknown_office_for_other_events(event: Raw) -> None:
    rejected(encode(with_field(event, office_id=ALL)), "unknown_office")


@pytest.mark.parametrize("event", EVERY_TYPE, ids=lambda e: e["type"])
def test_an_office_without_policy_is_unknown_office(event: Raw) -> None:
    got = rejected(encode(with_field(event, office_id=MARKER)), "unknown_office")
    assert MARKER not in got.error


def test_a_wellformed_json_with_utf8_text_and_bom_free_is_accepted() -> None:
    event = with_field(issue("T1"), applicant_id="Pemohon-ÄÖ-日本")
    got = classify(json.dumps(event, ensure_ascii=False).encode(), OFFICES)
    assert isinstance(got, TicketIssued)
    assert got.applicant_id == "Pemohon-ÄÖ-日本"


@pytest.mark.parametrize("length", [1, 128])
def test_event_id_of_1_to_128_chars_is_valid(length: int) -> None:
    assert not isinstance(
        classify(encode(with_field(issue("T1"), event_id="e" * length)), OFFICES), Rejection
    )


def test_timestamp_offsets_and_fractions_are_accepted() -> None:
    for stamp in ["2026-03-02T08:15:00+07:00", "2026-03-02T01:15:00Z", "2026-03-02T01:15:00.123456789Z"]:
        got = classify(encode(with_field(claim("C1", "T1", "09:00"), occurred_at=stamp)), OFFICES)
        assert isinstance(got, ClaimSubmitted), stamp


# ---- invalid_json -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "raw",
    [
        pytest.param(b"{not json", id="broken"),
        pytest.param(b'{"event_id": "' + MARKER.encode() + b'"', id="unterminated"),
        pytest.param(b"", id="empty"),
        pytest.param(b"   ", id="blank"),
        pytest.param(b'{"a": 1}{"b": 2}', id="two-values"),
        pytest.param(b"{'single': 'quotes'}", id="single-quotes"),
        pytest.param(b'{"a": 1,}', id="trailing-comma"),
        pytest.param(b'{"event_id": "\xff\xfe' + MARKER.encode() + b'"}', id="invalid-utf8"),
        pytest.param(b'{"event_id": "\xc3"}', id="truncated-utf8"),
        pytest.param(b'{"event_id": NaN}', id="nan"),
        pytest.param(b'{"event_id": Infinity}', id="infinity"),
        pytest.param(b'{"event_id": -Infinity}', id="minus-infinity"),
        pytest.param(b"NaN", id="bare-nan"),
        pytest.param(b"[" * 5000 + b"]" * 4999, id="deep-unbalanced-array"),
        pytest.param(b'{"a":' * 5000 + b"1" + b"}" * 4999, id="deep-unbalanced-object"),
        pytest.param(b"[" * 5000 + b"x" + b"]" * 5000, id="deep-array-bad-token"),
    ],
)
def test_invalid_json(raw: bytes) -> None:
    rejected(raw, "invalid_json")


def test_invalid_json_is_checked_before_the_size_of_a_big_record() -> None:
    # a record of exactly 1 MiB is classified by the rules
    raw = b"{" + b" " * (MAX_RECORD_BYTES - 2) + b"x"
    assert len(raw) == MAX_RECORD_BYTES
    rejected(raw, "invalid_json")


# ---- invalid_event: not an object ----------------------------------------------------------------


@pytest.mark.parametrize(
    "raw",
    [
        pytest.param(b"[1, 2]", id="array"),
        pytest.param(b"[]", id="empty-array"),
        pytest.param(b'"' + MARKER.encode() + b'"', id="string"),
        pytest.param(b"42", id="number"),
        pytest.param(b"1e999", id="huge-number"),
        pytest.param(b"123456789012345678901234567890", id="big-integer"),
        pytest.param(b"true", id="bool"),
        pytest.param(b"null", id="null"),
        pytest.param(b"[" * 5000 + b"]" * 5000, id="deep-array-5000"),
        pytest.param(b"[" * 100_000 + b"]" * 100_000, id="deep-array-100000"),
        pytest.param(b'[{"a":' * 3000 + b"1" + b"}]" * 3000, id="deep-mixed"),
        pytest.param(b'{"a":' * 5000 + b"1" + b"}" * 5000, id="deep-object"),
        pytest.param(encode([issue("T1")]), id="event-in-array"),
    ],
)
def test_valid_json_that_is_not_an_event_object(raw: bytes) -> None:
    rejected(raw, "invalid_event")


# ---- invalid_event: fails section 2 --------------------------------------------------------------

BASE = issue("T1", "08:00")


@pytest.mark.parametrize(
    "event",
    [
        pytest.param({}, id="empty-object"),
        pytest.param(without(BASE, "ticket_id"), id="missing-ticket_id"),
        pytest.param(without(BASE, "smart_registered"), id="missing-bool"),
        pytest.param(without(BASE, "event_id"), id="missing-event_id"),
        pytest.param(without(BASE, "occurred_at"), id="missing-occurred_at"),
        pytest.param(without(BASE, "type"), id="missing-type"),
        pytest.param(without(BASE, "office_id"), id="missing-office_id"),
        pytest.param(with_field(BASE, office_id=7), id="number-office_id"),
        pytest.param(with_field(BASE, office_id=None), id="null-office_id"),
        pytest.param(with_field(BASE, office_id=[BLITAR]), id="array-office_id"),
        pytest.param(with_field(BASE, office_id=""), id="empty-office_id"),
        pytest.param(with_field(BASE, smart_registered="yes"), id="string-for-bool"),
        pytest.param(with_field(BASE, smart_registered="true"), id="string-true-for-bool"),
        pytest.param(with_field(BASE, smart_registered=1), id="number-for-bool"),
        pytest.param(with_field(BASE, smart_registered=None), id="null-for-bool"),
        pytest.param(with_field(BASE, ticket_id=1), id="number-for-string"),
        pytest.param(with_field(BASE, ticket_id=True), id="bool-for-string"),
        pytest.param(with_field(BASE, ticket_id=None), id="null-for-string"),
        pytest.param(with_field(BASE, ticket_id={"id": MARKER}), id="object-for-string"),
        pytest.param(with_field(BASE, ticket_id=""), id="empty-string"),
        pytest.param(with_field(BASE, applicant_id=""), id="empty-applicant"),
        pytest.param(with_field(BASE, event_id=""), id="empty-event_id"),
        pytest.param(with_field(BASE, event_id="e" * 129), id="event_id-129"),
        pytest.param(with_field(BASE, event_id=12), id="number-event_id"),
        pytest.param(with_field(BASE, type=MARKER), id="unknown-type"),
        pytest.param(with_field(BASE, type="Ticket_Issued"), id="wrong-case-type"),
        pytest.param(with_field(BASE, type=None), id="null-type"),
        pytest.param(with_field(BASE, occurred_at="2026-03-02T08:00:00"), id="naive"),
        pytest.param(with_field(BASE, occurred_at="2026-03-02 08:00"), id="no-seconds"),
        pytest.param(with_field(BASE, occurred_at="2026-03-02"), id="date-only"),
        pytest.param(with_field(BASE, occurred_at=MARKER), id="not-a-time"),
        pytest.param(with_field(BASE, occurred_at="2026-02-30T08:00:00+07:00"), id="no-such-date"),
        pytest.param(with_field(BASE, occurred_at="2026-03-02T25:00:00+07:00"), id="no-such-hour"),
        pytest.param(with_field(BASE, occurred_at=1772413200), id="epoch-number"),
        pytest.param(with_field(BASE, occurred_at=""), id="empty-time"),
        pytest.param(with_field(close("T1", "09:00"), outcome=MARKER), id="unknown-close-outcome"),
        pytest.param(with_field(close("T1", "09:00"), outcome="SERVED"), id="wrong-case-outcome"),
        pytest.param(without(call("T1", "09:00"), "counter"), id="missing-counter"),
        pytest.param(without(flag("A1", "09:00"), "reason"), id="missing-reason"),
        pytest.param(with_field(flag("A1", "09:00"), reason=""), id="empty-reason"),
        pytest.param(without(outage_start("O1", "09:00"), "system"), id="missing-system"),
        pytest.param(without(outage_end("O1", "09:00"), "outage_id"), id="missing-outage_id"),
        pytest.param(without(claim("C1", "T1", "09:00"), "officer_id"), id="missing-officer"),
        pytest.param(with_field(claim("C1", "T1", "09:00"), claim_id=5), id="number-claim_id"),
        pytest.param(
            with_field(BASE, office_id=ALL, type="ticket_issued", smart_registered="no"), id="star-bad"
        ),
    ],
)
def test_invalid_event(event: Raw) -> None:
    rejected(encode(event), "invalid_event")


def test_invalid_event_wins_over_unknown_office() -> None:
    rejected(encode(with_field(BASE, office_id="kanim-atlantis", smart_registered="yes")), "invalid_event")


def test_a_record_over_one_mebibyte_is_invalid_event() -> None:
    event = with_field(BASE, padding="x" * MAX_RECORD_BYTES)
    raw = encode(event)
    assert len(raw) > MAX_RECORD_BYTES
    rejected(raw, "invalid_event")


def padded_to_one_mebibyte(event: Raw) -> bytes:
    """The event with an unknown field that makes it exactly 1 MiB long."""
    filler = MAX_RECORD_BYTES - len(encode(with_field(event, padding="")))
    raw = encode(with_field(event, padding="x" * filler))
    assert len(raw) == MAX_RECORD_BYTES
    return raw


def test_a_record_of_one_mebibyte_is_classified_by_the_rules() -> None:
    assert isinstance(classify(padded_to_one_mebibyte(BASE), OFFICES), TicketIssued)
    rejected(padded_to_one_mebibyte(with_field(BASE, office_id="kanim-atlantis")), "unknown_office")
    rejected(padded_to_one_mebibyte(with_field(BASE, smart_registered="yes")), "invalid_event")


@pytest.mark.parametrize(
    ("event", "field", "limit"),
    [
        pytest.param(BASE, "ticket_id", 128, id="ticket_id"),
        pytest.param(BASE, "applicant_id", 128, id="applicant_id"),
        pytest.param(BASE, "ticket_no", 32, id="ticket_no"),
        pytest.param(call("T1", "09:00"), "counter", 32, id="counter"),
        pytest.param(flag("A1", "09:00"), "reason", 2000, id="reason"),
    ],
)
def test_strings_are_bounded_by_the_schema(event: Raw, field: str, limit: int) -> None:
    # The schema bounds every string (ids 128, display numbers and counters 32, free text 2,000
    # characters; README "Choices"): at the limit valid, one more is an invalid event naming the field.
    assert not isinstance(classify(encode(with_field(event, **{field: "v" * limit})), OFFICES), Rejection)
    got = classify(encode(with_field(event, **{field: "v" * (limit + 1)})), OFFICES)
    assert isinstance(got, Rejection)
    assert got.error_code == "invalid_event"
    assert field in got.error
    assert "vvvv" not in got.error


# ---- the error text never quotes a value ---------------------------------------------------------


@pytest.mark.parametrize(
    "raw",
    [
        encode(with_field(BASE, smart_registered=MARKER)),
        encode(with_field(BASE, ticket_id=[MARKER])),
        encode(with_field(BASE, occurred_at=MARKER)),
        encode(with_field(BASE, occurred_at="2026-13-02T08:00:00+07:00" + MARKER)),
        encode(with_field(BASE, occurred_at=f"2026-03-02T08:00:00+07:00{MARKER}")),
        encode(with_field(BASE, type=MARKER)),
        encode(with_field(BASE, office_id=MARKER)),
        encode(with_field(BASE, office_id={"x": MARKER})),
        encode(with_field(BASE, event_id=MARKER * 20)),
        encode(with_field(close("T1", "09:00"), outcome=MARKER)),
        encode(with_field(flag("A1", "09:00", reason=MARKER), applicant_id=5)),
        encode(with_field(flag("A1", "09:00"), reason=MARKER * 500, applicant_id="")),
        encode([MARKER]),
        encode(MARKER),
        encode({MARKER: MARKER}),
        encode({"type": MARKER, "office_id": MARKER, MARKER: 1}),
        b'{"' + MARKER.encode() + b'": ' + b"[" * 5000,
        b"[" * 5000 + b'"' + MARKER.encode() + b'"' + b"]" * 5000,
        MARKER.encode(),
        b'{"event_id": "' + MARKER.encode() + b'\xff"}',
        encode(with_field(BASE, padding=MARKER * (MAX_RECORD_BYTES // len(MARKER)))),
    ],
)
def test_the_error_never_quotes_a_value(raw: bytes) -> None:
    got = classify(raw, OFFICES)
    assert isinstance(got, Rejection)
    assert MARKER not in got.error
    assert MARKER.lower() not in got.error.lower()
    assert "secret" not in got.error.lower()
