"""Encodes output records for Kafka and for replay lines."""

import orjson

from rules.intake import RAW_KEPT_BYTES, Rejection
from schemas.records import DeadLetter, Record
from schemas.topics import TOPIC_OF_RECORD


def topic_of(record: Record) -> str:
    return TOPIC_OF_RECORD[record.type]


def key_of(record: Record) -> str | None:
    return None if isinstance(record, DeadLetter) else record.office_id


def encode(record: Record) -> bytes:
    return record.__pydantic_serializer__.to_json(record)


_HEADS: dict[tuple[str, str | None], bytes] = {}


def replay_line(record: Record) -> bytes:
    topic, key = topic_of(record), key_of(record)
    head = _HEADS.get((topic, key))
    if head is None:  # one per topic and office: encoded once
        head = _HEADS[(topic, key)] = orjson.dumps({"topic": topic, "key": key})[:-1] + b',"value":'
    return head + record.__pydantic_serializer__.to_json(record) + b"}"


def dead_letter(
    rejection: Rejection, raw: bytes, source_topic: str | None, partition: int | None, offset: int
) -> DeadLetter:
    return DeadLetter(
        source_topic=source_topic,
        partition=partition,
        offset=offset,
        error_code=rejection.error_code,  # type: ignore[arg-type]
        error=rejection.error,
        raw=raw[:RAW_KEPT_BYTES].decode("utf-8", errors="replace"),
    )
