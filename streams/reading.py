"""Reading the topics anyone with access can write, the same way in every reader of the worker.

Input topics go through the deciding agent's own checks, so what it dead-letters no view, figure or
trail sees. Our output and signal topics are decoded into their models; a record that does not
decode is skipped, counted and logged by its coordinates, never by its bytes."""

from collections.abc import Container
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

from rules.intake import MAX_RECORD_BYTES, Rejection, classify, validate
from schemas.events import ALL_OFFICES, Event
from schemas.records import Record
from schemas.topics import INPUT_TOPICS, TOPIC_OF_RECORD
from streams import metrics
from streams.logs import log

SIGNALS_TOPIC = "kompensasi.office-signals"
# A queue system whose clock is a day fast would otherwise push an office's clock past every deadline.
FUTURE_LIMIT = timedelta(days=1)
# Bounds of what a read model can hold without failing later: Python dates near year 1 overflow on a
# change of zone, and orjson (the web answers) refuses integers beyond 64 bits.
_YEARS = range(2000, 2201)
_INT64 = range(-(2**63), 2**63)

_RECORD: TypeAdapter[Record] = TypeAdapter(Annotated[Record, Field(discriminator="type")])


@dataclass(frozen=True, slots=True)
class Unreadable:
    """Why bytes are no record of their topic: a short code, safe to log (never the bytes)."""

    reason: str


def ahead(event: Event, written_at: datetime | None, now: datetime) -> Rejection | None:
    """The future rule: an event more than a day ahead of when it was written (the log timestamp, or
    the wall clock when that is earlier or missing). Every reader gets the same answer at any time."""
    reference = now if written_at is None else min(now, written_at)
    if event.occurred_at - reference > FUTURE_LIMIT:
        return Rejection("invalid_event", "occurred_at is more than a day ahead of when it was written")
    return None


def read_event(
    raw: bytes | None,
    offices: Container[str],
    written_at: datetime | None,
    now: datetime,
    *,
    key: bytes | None,
) -> Event | Rejection:
    """The event the deciding agent applies, or the rejection it dead-letters."""
    event = classify(raw or b"", offices)
    if isinstance(event, Rejection):
        return event
    if key != event.office_id.encode():
        # Keyed by its office, a record is on the office's partition, beside its state: one on
        # another partition would move the office there for a step, and hold the wrong clock.
        return Rejection("invalid_event", "the record key is not the event's office_id")
    return ahead(event, written_at, now) or event


def decode_record(topic: str, raw: bytes | None) -> Record | Unreadable:
    """An output record of this topic, within the bounds the read models rely on."""
    if not raw:
        return Unreadable("empty")
    if len(raw) > MAX_RECORD_BYTES:
        return Unreadable("too_large")
    try:
        record = _RECORD.validate_json(raw, strict=True)
    except ValidationError:
        return Unreadable("not_a_record")
    if TOPIC_OF_RECORD[record.type] != topic:
        return Unreadable("wrong_topic")
    if not _bounded(record):
        return Unreadable("out_of_bounds")
    return record


def _bounded(value: object) -> bool:
    if isinstance(value, BaseModel):
        return all(_bounded(v) for v in value.__dict__.values())
    if isinstance(value, list | tuple):
        return all(_bounded(v) for v in value)
    if isinstance(value, dict):
        return all(_bounded(v) for v in value.values())
    if isinstance(value, datetime):  # before date: a datetime is a date
        return value.tzinfo is not None and value.year in _YEARS
    if isinstance(value, date):
        return value.year in _YEARS
    if isinstance(value, int):
        return value in _INT64
    return True


def unreadable(topic: str, partition: int, offset: int, why: Unreadable) -> None:
    """Counts and logs a record that does not read: where it is, so it can be looked at, not what."""
    metrics.UNREADABLE.labels(topic).inc()
    log.warning("unreadable_record", topic=topic, partition=partition, offset=offset, reason=why.reason)


def unreadable_state(topic: str, office_id: str, why: str) -> None:
    """Counts and logs a state table record a restore skipped: its office and why, never its bytes."""
    metrics.UNREADABLE.labels(topic).inc()
    log.warning("unreadable_record", topic=topic, office=office_id, reason=why)


def log_time(timestamp_ms: int | None) -> datetime | None:
    """A Kafka timestamp (ms) as a time; None when the record has none (-1, or 0 from a client that
    never set it: not a record written in 1970) or one past any date (a producer sets any it likes)."""
    if timestamp_ms is None or timestamp_ms <= 0:
        return None
    try:
        return datetime.fromtimestamp(timestamp_ms / 1000, UTC)
    except (ValueError, OverflowError, OSError):
        return None


class Reader:
    """Reads a record of an input or output topic for the read models, the audit trail and the
    report; None for what the agent dead-letters (silently: that is the agent's to log) and for what
    does not decode (counted and logged)."""

    def __init__(self, offices: Container[str]) -> None:
        self.offices = offices

    def read(
        self, topic: str, partition: int, offset: int, raw: bytes | None, timestamp_ms: int | None,
        now: datetime | None = None, *, key: bytes | None,
    ) -> Event | Record | None:  # fmt: skip
        if topic in INPUT_TOPICS:
            return self.event(raw, timestamp_ms, now, key=key)
        return self.record(topic, partition, offset, raw)

    def event(
        self, raw: bytes | None, timestamp_ms: int | None, now: datetime | None = None, *, key: bytes | None
    ) -> Event | None:
        event = read_event(raw, self.offices, log_time(timestamp_ms), now or datetime.now(UTC), key=key)
        return None if isinstance(event, Rejection) else event

    def record(self, topic: str, partition: int, offset: int, raw: bytes | None) -> Record | None:
        record = decode_record(topic, raw)
        if isinstance(record, Unreadable):
            unreadable(topic, partition, offset, record)
            return None
        return record


class _SignalValue(BaseModel):
    model_config = ConfigDict(strict=True, extra="ignore", frozen=True)

    signal: Literal["tick", "broadcast"]
    event: dict[str, Any] | None = None


@dataclass(frozen=True, slots=True)
class Signal:
    """A clock tick for an office, or its copy of a `*` event."""

    office_id: str
    event: Event | None = None


def decode_signal(
    key: bytes | None, raw: bytes | None, offices: Container[str], written_at: datetime | None, now: datetime
) -> Signal | Unreadable:
    """A record of the signals topic: keyed by office, a tick or a copy of a `*` outage event."""
    if not key or not raw:
        return Unreadable("empty")
    if len(raw) > MAX_RECORD_BYTES:
        return Unreadable("too_large")
    try:
        office_id = key.decode("utf-8")
        value = _SignalValue.model_validate_json(raw, strict=True)
    except (UnicodeDecodeError, ValidationError):
        return Unreadable("not_a_signal")
    if value.signal == "tick":
        return Signal(office_id)
    if value.event is None:
        return Unreadable("not_a_signal")
    event = validate(value.event, offices)
    # Only `*` events are copied to the offices: anything else on this topic was not written by us.
    if isinstance(event, Rejection) or event.office_id != ALL_OFFICES or ahead(event, written_at, now):
        return Unreadable("not_a_signal")
    return Signal(office_id, event)


def read_signal(
    partition: int, offset: int, key: bytes | None, raw: bytes | None, offices: Container[str],
    written_at: datetime | None, now: datetime,
) -> Signal | None:  # fmt: skip
    """The signal, or None (counted and logged) when the record is none."""
    signal = decode_signal(key, raw, offices, written_at, now)
    if isinstance(signal, Unreadable):
        unreadable(SIGNALS_TOPIC, partition, offset, signal)
        return None
    return signal
