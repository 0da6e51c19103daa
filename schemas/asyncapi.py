"""AsyncAPI 3.0.0 document of every topic the worker reads and writes, generated from the models.

The payload of each topic is its JSON Schema from `schemas.export.topic_schemas()` (the files under
`schemas/json/`), made to fit an AsyncAPI Schema Object, whose `$ref`s resolve against the whole
document:

- every `$defs` entry moves to `components/schemas` and `#/$defs/X` becomes `#/components/schemas/X`
  (two topics defining the same name differently is an error);
- pydantic's OpenAPI-style `discriminator` object (`propertyName` + `mapping`) becomes the extension
  `x-discriminator`, because an AsyncAPI Schema Object only allows a string there; the `oneOf` with a
  `const` `type` per variant still decides on its own;
- the `$schema` of the file is dropped: an AsyncAPI Schema Object is a superset of draft-07.

`python -m schemas.asyncapi` rewrites `schemas/asyncapi.yaml`.
"""

import json
import re
from importlib.metadata import version
from pathlib import Path
from typing import Any

import yaml

from schemas import topics
from schemas.export import topic_schemas

ASYNCAPI_VERSION = "3.0.0"
KAFKA_BINDING_VERSION = "0.5.0"
COMPONENT_SCHEMAS = "#/components/schemas/"
DEFS = "#/$defs/"

# streams/reading.py SIGNALS_TOPIC; not imported, so that generating the contract needs no Faust.
SIGNALS_TOPIC = "kompensasi.office-signals"

_DESCRIPTIONS: dict[str, str] = {
    topics.TICKETS: "Queue tickets of biometric and other services: issued, called to a counter, closed.",
    topics.REVIEWS: "Application reviews flagged and cleared; a flagged review can make a ticket ineligible.",
    topics.SYSTEM_STATUS: (
        "System outages started and ended. `office_id` may be `*`: the outage applies to every office "
        "(the worker copies such events to each office over the internal signals topic)."
    ),
    topics.CLAIMS: "Compensation claims submitted by applicants.",
    topics.DECISIONS: (
        "One primary decision per biometric ticket (`within_standard`, `not_served`, `ineligible`, "
        "`suppressed`, `eligible`), and `revoked` when a late fact undoes an `eligible`. `decision_id` "
        "is a deterministic function of `ticket_id` and `outcome`: a consumer that sees a record twice "
        "drops the copy."
    ),
    topics.PRIORITY_TICKETS: "Priority tickets assigned to, and withdrawn from, eligible applicants.",
    topics.CLAIM_DECISIONS: "`granted` with the policy's compensation, or `rejected` with every reason.",
    topics.DEAD_LETTERS: (
        "Input records the worker could not use (`invalid_json`, `invalid_event`, `unknown_office`), "
        "with the raw record cut at 4 KiB."
    ),
    topics.AT_RISK: "A ticket still uncalled at the policy's `warn_after_s`.",
    topics.OFFICE_STATUS: "One status per office every few seconds.",
    topics.REFERRALS: "Cases referred to the Ombudsman liaison (Pasal 5): complaints and automatic ones.",
}

_SIGNALS_PAYLOAD: dict[str, Any] = {
    "title": "OfficeSignal",
    "description": (
        "`tick`: the wall clock of live mode advanced (sent by every worker for every office, acted on "
        "by the owner of the office's partition). `broadcast`: a copy, for one office, of an "
        "`ops.system-status` event whose `office_id` is `*`, without its `reason`."
    ),
    "oneOf": [
        {
            "type": "object",
            "properties": {"signal": {"const": "tick", "type": "string"}},
            "required": ["signal"],
            "additionalProperties": False,
        },
        {
            "type": "object",
            "properties": {
                "signal": {"const": "broadcast", "type": "string"},
                "event": {
                    "type": "object",
                    "description": "the `*` outage_started or outage_ended event, `reason` left out",
                },
            },
            "required": ["signal", "event"],
            "additionalProperties": False,
        },
    ],
}


def _ident(topic: str) -> str:
    """`ops.system-status` -> `opsSystemStatus`: the id of its channel and message."""
    first, *rest = re.split(r"[.\-_]", topic)
    return first + "".join(part[:1].upper() + part[1:] for part in rest)


def _to_components(node: Any, names: bool = False) -> Any:
    """A copy with `#/$defs/` refs pointing at components/schemas and `discriminator` renamed.
    `names`: the keys of this object are property or definition names, not keywords."""
    if isinstance(node, list):
        return [_to_components(item) for item in node]
    if not isinstance(node, dict):
        return node
    out: dict[str, Any] = {}
    for key, value in node.items():
        if names:
            out[key] = _to_components(value)
        elif key == "$ref" and isinstance(value, str) and value.startswith(DEFS):
            out[key] = COMPONENT_SCHEMAS + value.removeprefix(DEFS)
        elif key == "discriminator" and isinstance(value, dict):
            mapping = {
                k: COMPONENT_SCHEMAS + v.removeprefix(DEFS) for k, v in value.get("mapping", {}).items()
            }
            out["x-discriminator"] = {**value, "mapping": mapping} if mapping else dict(value)
        else:
            out[key] = _to_components(value, names=key in ("properties", "patternProperties", "$defs"))
    return out


def payloads() -> tuple[dict[str, Any], dict[str, Any]]:
    """Topic -> payload schema, and the component schemas they refer to."""
    files = topic_schemas()
    out: dict[str, Any] = {}
    components: dict[str, Any] = {}
    for topic in (*topics.INPUT_TOPICS, *topics.OUTPUT_TOPICS):
        schema = json.loads(files[f"{topic}.schema.json"])
        schema.pop("$schema", None)
        for name, definition in _to_components(schema.pop("$defs", {}), names=True).items():
            if components.setdefault(name, definition) != definition:
                raise ValueError(f"two topics define the schema {name!r} differently")
        out[topic] = _to_components(schema)
    return out, dict(sorted(components.items()))


def _records_on(topic: str) -> list[str]:
    of = topics.TOPIC_OF_TYPE if topic in topics.INPUT_TOPICS else topics.TOPIC_OF_RECORD
    return [name for name, t in of.items() if t == topic]


def _key(topic: str) -> dict[str, Any]:
    if topic == topics.DEAD_LETTERS:
        return {"type": "null", "description": "no key: the office of a dead letter may be unknown"}
    if topic == topics.SYSTEM_STATUS:
        return {"type": "string", "description": "`office_id` of the record, or `*` for every office"}
    if topic == SIGNALS_TOPIC:
        return {"type": "string", "description": "`office_id` of the office the signal is for"}
    return {"type": "string", "description": "`office_id` of the record"}


def _message(topic: str, payload: dict[str, Any]) -> dict[str, Any]:
    summary = " | ".join(_records_on(topic)) if topic != SIGNALS_TOPIC else "tick | broadcast"
    return {
        "name": _ident(topic),
        "title": f"{topic} record",
        "summary": summary,
        "contentType": "application/json",
        "payload": payload,
        "bindings": {"kafka": {"key": _key(topic), "bindingVersion": KAFKA_BINDING_VERSION}},
    }


def _operation(action: str, topic: str, summary: str) -> dict[str, Any]:
    """{operation id: operation}, e.g. `receiveQueueTickets`."""
    ident = _ident(topic)
    return {
        f"{action}{ident[:1].upper()}{ident[1:]}": {
            "action": action,
            "channel": {"$ref": f"#/channels/{ident}"},
            "summary": summary,
            "messages": [{"$ref": f"#/channels/{ident}/messages/{ident}"}],
        }
    }


def asyncapi_document() -> dict[str, Any]:
    """The AsyncAPI 3.0.0 document, as plain JSON data (no shared objects)."""
    values, components = payloads()
    channels: dict[str, Any] = {}
    operations: dict[str, Any] = {}
    for topic in (*topics.INPUT_TOPICS, *topics.OUTPUT_TOPICS):
        direction = "Input" if topic in topics.INPUT_TOPICS else "Output"
        ident = _ident(topic)
        channels[ident] = {
            "address": topic,
            "title": topic,
            "description": f"{direction}. {_DESCRIPTIONS[topic]}",
            "messages": {ident: _message(topic, values[topic])},
        }
    ident = _ident(SIGNALS_TOPIC)
    channels[ident] = {
        "address": SIGNALS_TOPIC,
        "title": SIGNALS_TOPIC,
        "description": (
            "Internal to the worker, not part of the contract: copies of `*` events for each office, "
            "keyed by office so they reach the office's partition, and the clock ticks of live mode. "
            "Workers both write and read it."
        ),
        "messages": {ident: _message(SIGNALS_TOPIC, _SIGNALS_PAYLOAD)},
    }
    for topic in topics.INPUT_TOPICS:
        operations.update(_operation("receive", topic, f"The worker reads {topic}."))
    for topic in topics.OUTPUT_TOPICS:
        operations.update(_operation("send", topic, f"The worker writes {topic}."))
    operations.update(
        _operation(
            "send", SIGNALS_TOPIC, "Internal: a worker sends broadcast copies and ticks to each office."
        )
    )
    operations.update(
        _operation(
            "receive", SIGNALS_TOPIC, "Internal: the owner of an office's partition acts on its signals."
        )
    )
    document = {
        "asyncapi": ASYNCAPI_VERSION,
        "info": {
            "title": "Kompensasi",
            "version": version("kompensasi"),
            "description": (
                "Event-time compensation decisions for Indonesian immigration office queues, on Kafka. "
                "Every record is one JSON object keyed by `office_id`. Generated from the pydantic "
                "models (`schemas/asyncapi.py`); the JSON Schema of each topic is also in "
                "`schemas/json/`."
            ),
        },
        "defaultContentType": "application/json",
        "servers": {
            "production": {
                "host": "kafka:9092",
                "protocol": "kafka",
                "description": "The Kafka cluster of a deployment.",
            },
            "embedded": {
                "host": "127.0.0.1:9092",
                "protocol": "kafka",
                "description": "The embedded Kafka-compatible broker of `kompensasi broker` (the default).",
            },
        },
        "channels": channels,
        "operations": operations,
        "components": {"schemas": components},
    }
    # A JSON round trip leaves no shared objects, so the YAML has no anchors or aliases.
    return json.loads(json.dumps(document))


def asyncapi_yaml() -> str:
    return yaml.safe_dump(
        asyncapi_document(), sort_keys=False, allow_unicode=True, default_flow_style=False, width=100
    )


def write(folder: Path | str) -> Path:
    """Write `asyncapi.yaml` into `folder`; returns its path."""
    path = Path(folder) / "asyncapi.yaml"
    path.write_text(asyncapi_yaml(), encoding="utf-8")
    return path


if __name__ == "__main__":
    print(write(Path(__file__).parent))
