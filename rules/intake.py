"""Contract section 6: raw bytes become a valid event or a rejection with a code and a safe reason."""

import dataclasses
import json
import re
import types
import typing
from collections.abc import Container
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any, Literal

import msgspec
import orjson
from pydantic import BaseModel, PlainValidator, StringConstraints, ValidationError

from schemas.events import ALL_OFFICES, EVENT, Event, parse_timestamp

MAX_RECORD_BYTES = 1024 * 1024
# The adapter's core validator itself: TypeAdapter.validate_python adds a Python call per event.
_validate_event = EVENT.validator.validate_python
RAW_KEPT_BYTES = 4096


@dataclass(frozen=True, slots=True)
class Rejection:
    error_code: str
    error: str


def classify(raw: bytes, offices: Container[str]) -> Event | Rejection:
    """Checks in the contract's order: JSON, then the event schema, then a known office."""
    value = parse_json(raw)
    return value if isinstance(value, Rejection) else validate(value, offices)


def parse_json(raw: bytes) -> object:
    """The JSON value of a record, or a rejection (too large, not UTF-8 JSON)."""
    if len(raw) > MAX_RECORD_BYTES:
        return Rejection("invalid_event", f"record of {len(raw)} bytes is over the 1 MiB limit")
    return _parse(raw)


def validate(value: object, offices: Container[str]) -> Event | Rejection:
    """Checks a parsed JSON value against the contract's event schema and the known offices."""
    if not isinstance(value, dict):
        return Rejection("invalid_event", f"the value is a JSON {_json_kind(value)}, not an object")
    try:
        event = _validate_event(value)
    except ValidationError as exc:
        return Rejection("invalid_event", describe(exc))
    return known_office(event, offices)


def known_office(event: Event, offices: Container[str]) -> Event | Rejection:
    if event.office_id not in offices and not (
        event.office_id == ALL_OFFICES and event.type in ("outage_started", "outage_ended")
    ):
        return Rejection("unknown_office", "office_id names no office with a loaded policy")
    return event


class _AnyDatetime(type):
    def __instancecheck__(cls, value: object) -> bool:
        return isinstance(value, datetime)


class DecodedTime(datetime, metaclass=_AnyDatetime):
    """The type msgspec hands to the hook for `occurred_at`; any datetime counts as one, so the hook
    returns the models' own parse as it is (building this subclass instead cost 0.3 us an event)."""


def _msgspec_type(annotation: Any, metadata: list[Any]) -> Any:
    """The msgspec type that accepts what this pydantic field accepts (strict); fails on anything else."""
    if typing.get_origin(annotation) is Annotated:
        annotation, *more = typing.get_args(annotation)
        metadata = [*metadata, *more]
    if any(isinstance(m, PlainValidator) and m.func is parse_timestamp for m in metadata):
        return DecodedTime
    if typing.get_origin(annotation) in (typing.Union, types.UnionType) and not metadata:
        return typing.Union[tuple(_msgspec_type(arg, []) for arg in typing.get_args(annotation))]  # noqa: UP007
    if annotation is str and len(metadata) == 1 and _lengths_only(metadata[0]):
        limits = metadata[0]
        return Annotated[str, msgspec.Meta(min_length=limits.min_length, max_length=limits.max_length)]
    if (annotation in (bool, type(None)) or typing.get_origin(annotation) is Literal) and not metadata:
        return annotation
    raise TypeError(f"no fast decoding for {annotation} {metadata}")


def _lengths_only(constraint: object) -> bool:
    if not isinstance(constraint, StringConstraints):
        return False
    others = {name: value for name, value in dataclasses.asdict(constraint).items() if value is not None}
    return others.keys() <= {"min_length", "max_length"}


# The keys of a record {topic, key, value}: a line with one of them is left to the models' path,
# which tells a wrapped event from a bare one (streams/commands/replay.py).
_WRAPPER_KEYS = {"wrapper_topic": "topic", "wrapper_value": "value"}


def _struct_of(model: type[BaseModel]) -> type[msgspec.Struct]:
    """The model as a msgspec struct tagged by its `type`, with `type` kept as a class attribute."""
    (tag,) = typing.get_args(model.model_fields["type"].annotation)
    fields: list[Any] = [
        (name, _msgspec_type(f.annotation, f.metadata))
        for name, f in model.model_fields.items()
        if name != "type" and f.is_required()
    ]
    if len(fields) != len(model.model_fields) - 1 or set(_WRAPPER_KEYS.values()) & set(model.model_fields):
        raise TypeError(f"{model.__name__}: no fast decoding for a field with a default, a topic or a value")
    fields += [(name, Any, msgspec.UNSET) for name in _WRAPPER_KEYS]
    return msgspec.defstruct(
        model.__name__, fields, tag_field="type", tag=tag, namespace={"type": tag}, rename=_WRAPPER_KEYS
    )


def _timestamp(kind: type, value: Any) -> Any:
    if kind is DecodedTime:
        return parse_timestamp(value)
    raise NotImplementedError(kind)


_EVENT_STRUCTS = tuple(_struct_of(m) for m in typing.get_args(typing.get_args(Event)[0]))
_decode_event = msgspec.json.Decoder(typing.Union[_EVENT_STRUCTS], dec_hook=_timestamp).decode  # noqa: UP007


def fast_event(raw: bytes) -> Event | None:
    """The event of a bare line as the models would read it, decoded by msgspec; None when the line is
    not plainly one (maybe a wrapped record, or anything msgspec refuses): then the models decide."""
    if len(raw) > MAX_RECORD_BYTES:
        return None
    try:
        event = _decode_event(raw)
    except (msgspec.DecodeError, ValueError, RecursionError):
        return None
    if event.wrapper_topic is not msgspec.UNSET or event.wrapper_value is not msgspec.UNSET:
        return None
    return event  # type: ignore[no-any-return]


def describe(exc: ValidationError) -> str:
    """The failing fields and why, never the values (they may be personal data)."""
    parts = []
    for err in exc.errors(include_input=False, include_url=False, include_context=False)[:5]:
        loc = ".".join(str(p) for p in err["loc"]) or "value"
        parts.append(f"{loc}: {_safe_message(err)}")
    return "; ".join(parts)


def _safe_message(err: object) -> str:
    kind = err["type"]  # type: ignore[index]
    if kind == "union_tag_invalid":
        return "unknown event type"
    if kind == "union_tag_not_found":
        return "missing event type"
    if kind == "value_error":
        return str(err["msg"]).removeprefix("Value error, ")  # type: ignore[index]
    return str(err["msg"])  # type: ignore[index]


def _json_kind(value: object) -> str:
    return {list: "array", str: "string", bool: "boolean", type(None): "null"}.get(type(value), "number")


def _parse(raw: bytes) -> object:
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError:
        pass
    # orjson refuses some valid JSON (integers beyond 64 bits, nesting past 1024): ask the stdlib.
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return Rejection("invalid_json", "the record is not valid UTF-8")
    try:
        return json.loads(text, parse_constant=_no_constants)
    except (ValueError, TypeError):
        return Rejection("invalid_json", "the record is not valid JSON")
    except RecursionError:
        if not _is_json(text):
            return Rejection("invalid_json", "the record is not valid JSON")
        if text.lstrip().startswith("{"):
            return Rejection("invalid_event", "the object is nested deeper than the decoder accepts")
        return Rejection("invalid_event", "the value is a deeply nested JSON array or value, not an object")


def _no_constants(name: str) -> object:
    raise ValueError(f"{name} is not JSON")


_TOKEN = re.compile(
    r'\s*(?:(?P<open>[\[{])|(?P<close>[\]}])|(?P<comma>,)|(?P<colon>:)|(?P<string>")'
    r"|(?P<scalar>-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?|true|false|null))"
)


def _is_json(text: str) -> bool:
    """An iterative JSON validator, for nesting too deep for a recursive parser."""
    stack: list[str] = []
    pos, expect = 0, "value"  # value | value_or_close | key | key_or_close | colon | comma_or_close | end
    scanstring = json.decoder.scanstring  # type: ignore[attr-defined]
    while True:
        m = _TOKEN.match(text, pos)
        if m is None:
            return expect == "end" and text[pos:].strip() == ""
        kind, pos = m.lastgroup, m.end()
        if kind == "string":
            try:
                _, pos = scanstring(text, pos)
            except ValueError:
                return False
        if expect in ("key", "key_or_close"):
            if kind == "string":
                expect = "colon"
                continue
            if kind == "close" and expect == "key_or_close" and stack[-1] == "{" and m.group("close") == "}":
                stack.pop()
                expect = "comma_or_close" if stack else "end"
                continue
            return False
        if expect == "colon":
            if kind != "colon":
                return False
            expect = "value"
            continue
        if expect in ("comma_or_close", "end"):
            if expect == "end" or kind not in ("comma", "close"):
                return False
            if kind == "comma":
                expect = "key" if stack[-1] == "{" else "value"
                continue
            if {"]": "[", "}": "{"}[m.group("close")] != stack.pop():
                return False
            expect = "comma_or_close" if stack else "end"
            continue
        # expecting a value
        if kind == "open":
            stack.append(m.group("open"))
            expect = "key_or_close" if m.group("open") == "{" else "value_or_close"
        elif kind in ("string", "scalar"):
            expect = "comma_or_close" if stack else "end"
        elif kind == "close" and expect == "value_or_close" and m.group("close") == "]" and stack[-1] == "[":
            stack.pop()
            expect = "comma_or_close" if stack else "end"
        else:
            return False
