"""The AsyncAPI document is generated from the models, is valid AsyncAPI 3.0.0, and describes what
the worker really reads and writes."""

import copy
import json
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from jsonschema import Draft7Validator
from jsonschema.validators import validator_for
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT7

import schemas
from schemas.asyncapi import SIGNALS_TOPIC, asyncapi_document, asyncapi_yaml
from schemas.export import topic_schemas
from schemas.topics import DEAD_LETTERS, INPUT_TOPICS, OUTPUT_TOPICS, TOPIC_OF_TYPE
from streams.reading import SIGNALS_TOPIC as DESK_SIGNALS_TOPIC
from tests.conftest import EXAMPLES, KOMPENSASI

FOLDER = Path(schemas.__file__).parent
SPEC = json.loads((FOLDER / "vendor" / "asyncapi-3.0.0.schema.json").read_text(encoding="utf-8"))
COMPONENTS = "#/components/schemas/"
DOC_URI = "urn:kompensasi:asyncapi"


def _offline(uri: str) -> Resource:
    raise LookupError(f"the vendored schema must be self-contained, it refers to {uri}")


def _spec_validator() -> Draft7Validator:
    assert SPEC["$schema"] == "http://json-schema.org/draft-07/schema"
    assert validator_for(SPEC) is Draft7Validator
    Draft7Validator.check_schema(SPEC)
    return Draft7Validator(SPEC, registry=Registry(retrieve=_offline))


def _errors(document: dict[str, Any]) -> list[str]:
    return [f"{list(e.absolute_path)}: {e.message[:200]}" for e in _spec_validator().iter_errors(document)]


def _channel(document: dict[str, Any], topic: str) -> tuple[str, dict[str, Any]]:
    found = [(ident, c) for ident, c in document["channels"].items() if c["address"] == topic]
    assert len(found) == 1, f"{topic}: {len(found)} channels"
    return found[0]


def _message(document: dict[str, Any], topic: str) -> tuple[str, dict[str, Any]]:
    ident, channel = _channel(document, topic)
    (name, message), *others = channel["messages"].items()
    assert not others
    return f"#/channels/{ident}/messages/{name}", message


def test_committed_yaml_matches_the_models() -> None:
    text = (FOLDER / "asyncapi.yaml").read_text(encoding="utf-8")
    assert text == asyncapi_yaml(), "schemas/asyncapi.yaml drifted: run `kompensasi schemas`"
    assert yaml.safe_load(text) == asyncapi_document()
    assert asyncapi_yaml() == asyncapi_yaml()


def test_document_is_valid_asyncapi_3() -> None:
    document = asyncapi_document()
    assert document["asyncapi"] == "3.0.0"
    assert _errors(document) == []


def test_every_topic_has_a_channel_and_operations_with_the_right_action() -> None:
    document = asyncapi_document()
    assert {c["address"] for c in document["channels"].values()} == {
        *INPUT_TOPICS,
        *OUTPUT_TOPICS,
        SIGNALS_TOPIC,
    }
    assert SIGNALS_TOPIC == DESK_SIGNALS_TOPIC
    actions: dict[str, set[str]] = {}
    for operation in document["operations"].values():
        ref = operation["channel"]["$ref"]
        channel = document["channels"][ref.removeprefix("#/channels/")]
        actions.setdefault(channel["address"], set()).add(operation["action"])
        for message in operation["messages"]:
            assert message["$ref"].startswith(f"{ref}/messages/")
            assert message["$ref"].rsplit("/", 1)[1] in channel["messages"]
    assert actions == {
        **{t: {"receive"} for t in INPUT_TOPICS},
        **{t: {"send"} for t in OUTPUT_TOPICS},
        SIGNALS_TOPIC: {"send", "receive"},
    }


def test_kafka_key_is_the_office_and_none_for_dead_letters() -> None:
    document = asyncapi_document()
    for topic in (*INPUT_TOPICS, *OUTPUT_TOPICS, SIGNALS_TOPIC):
        key = _message(document, topic)[1]["bindings"]["kafka"]["key"]
        assert key["type"] == ("null" if topic == DEAD_LETTERS else "string"), topic


def _as_model_schema(document: dict[str, Any], payload: dict[str, Any]) -> dict[str, Any]:
    """Undo the move to components: refs back to `$defs`, `x-discriminator` back to `discriminator`."""
    components = document["components"]["schemas"]
    defs: dict[str, Any] = {}

    def back(node: Any) -> Any:
        if isinstance(node, list):
            return [back(item) for item in node]
        if not isinstance(node, dict):
            return node
        out = {}
        for key, value in node.items():
            if key == "$ref" and value.startswith(COMPONENTS):
                name = value.removeprefix(COMPONENTS)
                if name not in defs:
                    defs[name] = None
                    defs[name] = back(components[name])
                out[key] = f"#/$defs/{name}"
            elif key == "x-discriminator":
                mapping = {k: "#/$defs/" + v.removeprefix(COMPONENTS) for k, v in value["mapping"].items()}
                out["discriminator"] = {**value, "mapping": mapping}
            else:
                out[key] = back(value)
        return out

    schema = back(payload)
    return {**schema, "$defs": defs} if defs else schema


def test_each_payload_is_the_models_json_schema() -> None:
    document = asyncapi_document()
    used: set[str] = set()
    for topic in (*INPUT_TOPICS, *OUTPUT_TOPICS):
        want = json.loads(topic_schemas()[f"{topic}.schema.json"])
        got = _as_model_schema(document, _message(document, topic)[1]["payload"])
        assert {"$schema": want["$schema"], **got} == want, f"{topic} differs from its model"
        used |= set(got.get("$defs", {}))
    assert used == set(document["components"]["schemas"]), "unused or missing component schemas"


def _broken(change: str) -> dict[str, Any]:
    document = copy.deepcopy(asyncapi_document())
    operation = next(iter(document["operations"].values()))
    _, message = _message(document, INPUT_TOPICS[0])
    if change == "publish":
        operation["action"] = "publish"
    elif change == "openapi discriminator":
        message["payload"]["discriminator"] = message["payload"].pop("x-discriminator")
    elif change == "no version":
        del document["info"]["version"]
    elif change == "key not a schema":
        message["bindings"]["kafka"]["key"] = {"type": "text"}
    return document


@pytest.mark.parametrize("change", ["publish", "openapi discriminator", "no version", "key not a schema"])
def test_validator_rejects_a_broken_document(change: str) -> None:
    assert _errors(_broken(change)), f"{change}: the AsyncAPI schema accepted a broken document"


def _validators() -> tuple[Any, Any]:
    """(topic -> payload validator, topic -> key validator), resolving refs inside the document."""
    document = asyncapi_document()
    registry = Registry().with_resource(DOC_URI, Resource(document, DRAFT7))

    def at(pointer: str) -> Draft7Validator:
        return Draft7Validator({"$ref": f"{DOC_URI}{pointer}"}, registry=registry)

    paths = {t: _message(document, t)[0] for t in (*INPUT_TOPICS, *OUTPUT_TOPICS)}
    return (
        {t: at(f"{p}/payload") for t, p in paths.items()},
        {t: at(f"{p}/bindings/kafka/key") for t, p in paths.items()},
    )


@pytest.mark.parametrize("example", sorted(EXAMPLES.glob("*.input.jsonl")), ids=lambda p: p.name)
def test_contract_examples_fit_the_document(example: Path) -> None:
    """What the worker accepts and everything it writes validates against the document."""
    payloads, keys = _validators()
    run = subprocess.run([KOMPENSASI, "replay", str(example)], capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr
    written = [json.loads(line) for line in run.stdout.splitlines()]
    rejected = {
        r["value"]["raw"]
        for r in written
        if r["topic"] == DEAD_LETTERS and r["value"]["error_code"] in ("invalid_json", "invalid_event")
    }
    read = 0
    for line in example.read_text(encoding="utf-8").splitlines():
        if line.strip() and line not in rejected:
            event = json.loads(line)
            if "topic" in event and "value" in event:  # a whole record, not a bare value
                errors = [e.message for e in keys[event["topic"]].iter_errors(event["key"])]
                assert errors == [], f"accepted input key does not fit the document: {line}"
                event = event["value"]
            errors = [e.message for e in payloads[TOPIC_OF_TYPE[event["type"]]].iter_errors(event)]
            assert errors == [], f"accepted input does not fit the document: {line}"
            read += 1
    assert read or rejected
    for record in written:
        for validator, instance in ((payloads, record["value"]), (keys, record["key"])):
            errors = [e.message for e in validator[record["topic"]].iter_errors(instance)]
            assert errors == [], f"{record['topic']} record does not fit the document: {record}"
