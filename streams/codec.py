"""Encodes output records for Kafka and for replay lines."""

import typing
from typing import Any

import orjson
from pydantic import BaseModel

from rules.intake import RAW_KEPT_BYTES, Rejection
from schemas.records import Build, DeadLetter, Record, model
from schemas.topics import TOPIC_OF_RECORD


def topic_of(record: Record) -> str:
    return TOPIC_OF_RECORD[record.type]


def key_of(record: Record) -> str | None:
    return None if isinstance(record, DeadLetter) else record.office_id


def encode(record: Record) -> bytes:
    return record.__pydantic_serializer__.to_json(record)


_HEADS: dict[tuple[str, str | None], bytes] = {}


def _head(topic: str, key: str | None) -> bytes:
    head = _HEADS.get((topic, key))
    if head is None:  # one per topic and office: encoded once
        head = _HEADS[(topic, key)] = orjson.dumps({"topic": topic, "key": key})[:-1] + b',"value":'
    return head


def replay_line(record: Record) -> bytes:
    return _head(topic_of(record), key_of(record)) + record.__pydantic_serializer__.to_json(record) + b"}"


_TYPE_OF = {kind: kind.model_fields["type"].default for kind in typing.get_args(Record)}


def as_dict(kind: type[BaseModel], **fields: Any) -> dict[str, Any]:
    """A record as the dict of its fields in the model's order (`type` first, as the models declare it),
    for `fast_line`; the rules pass every field, in order (tests/test_fast_replay.py)."""
    tag = _TYPE_OF.get(kind)
    return fields if tag is None else {"type": tag, **fields}


def fast_line(record: dict[str, Any]) -> bytes:
    """`replay_line` of an `as_dict` record, without the model: the same bytes, as orjson writes
    the JSON types of the fields as pydantic does (UTC as Z; local times are after 1972, so no zone
    offset has seconds)."""
    tag = record["type"]
    head = _head(TOPIC_OF_RECORD[tag], None if tag == "dead_letter" else record["office_id"])
    return head + orjson.dumps(record, option=orjson.OPT_UTC_Z) + b"}"


def dead_letter(
    rejection: Rejection,
    raw: bytes,
    source_topic: str | None,
    partition: int | None,
    offset: int,
    build: Build = model,
) -> DeadLetter:
    return build(
        DeadLetter,
        source_topic=source_topic,
        partition=partition,
        offset=offset,
        error_code=rejection.error_code,
        error=rejection.error,
        raw=raw[:RAW_KEPT_BYTES].decode("utf-8", errors="replace"),
    )
