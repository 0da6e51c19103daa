"""The JSON Schema files are generated from the models and must not drift from them."""

import json
from pathlib import Path

import schemas
from schemas.export import topic_schemas
from schemas.topics import INPUT_TOPICS, OUTPUT_TOPICS

FOLDER = Path(schemas.__file__).parent / "json"


def test_one_schema_file_per_topic() -> None:
    names = {p.name for p in FOLDER.glob("*.schema.json")}
    assert names == {f"{t}.schema.json" for t in (*INPUT_TOPICS, *OUTPUT_TOPICS)}


def test_files_match_the_models() -> None:
    for name, text in topic_schemas().items():
        assert (FOLDER / name).read_text(encoding="utf-8") == text, f"{name} drifted: run `make schemas`"


def test_ticket_schema_requires_every_field_and_knows_every_type() -> None:
    schema = json.loads((FOLDER / "queue.tickets.schema.json").read_text())
    issued = schema["$defs"]["TicketIssued"]
    assert set(issued["required"]) >= {
        "event_id",
        "office_id",
        "occurred_at",
        "ticket_id",
        "smart_registered",
    }
    assert issued["properties"]["smart_registered"]["type"] == "boolean"
    assert set(schema["discriminator"]["mapping"]) == {"ticket_issued", "service_called", "ticket_closed"}
