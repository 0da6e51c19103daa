"""JSON Schema of every topic's record values, generated from the models (`kompensasi schemas`)."""

import json
from typing import Any

from pydantic import TypeAdapter

from schemas import events, records, topics

_VALUES: dict[str, Any] = {
    topics.TICKETS: events.TicketEvent,
    topics.REVIEWS: events.ReviewEvent,
    topics.SYSTEM_STATUS: events.StatusEvent,
    topics.CLAIMS: events.ClaimsEvent,
    topics.DECISIONS: records.CompensationDecision,
    topics.PRIORITY_TICKETS: records.PriorityTicketAssigned | records.PriorityTicketWithdrawn,
    topics.CLAIM_DECISIONS: records.ClaimDecision,
    topics.DEAD_LETTERS: records.DeadLetter,
    topics.AT_RISK: records.TicketAtRisk,
    topics.OFFICE_STATUS: records.OfficeStatus,
    topics.REFERRALS: records.OmbudsmanReferral,
}


def topic_schemas() -> dict[str, str]:
    """File name -> JSON text, one file per topic."""
    out = {}
    for topic, model in _VALUES.items():
        schema = TypeAdapter(model).json_schema(
            mode="serialization" if topic in topics.OUTPUT_TOPICS else "validation"
        )
        schema = {"$schema": "https://json-schema.org/draft/2020-12/schema", "title": topic, **schema}
        out[f"{topic}.schema.json"] = json.dumps(schema, indent=2, sort_keys=True) + "\n"
    return out
