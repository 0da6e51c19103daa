"""Input events (contract section 2): a discriminated union on `type`, strict, extra fields ignored."""

import re
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PlainSerializer,
    PlainValidator,
    StringConstraints,
    TypeAdapter,
    WithJsonSchema,
)

ALL_OFFICES = "*"

Id = Annotated[str, StringConstraints(min_length=1, max_length=128)]
Label = Annotated[str, StringConstraints(min_length=1, max_length=32)]
FreeText = Annotated[str, StringConstraints(min_length=1, max_length=2000)]

_RFC3339 = re.compile(r"\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d{1,9})?([Zz]|[+-]\d{2}:\d{2})\Z")


def parse_timestamp(value: Any) -> datetime:
    # Strict on purpose: only an RFC 3339 string with an offset, never a number or a naive time.
    if not isinstance(value, str):
        raise ValueError("must be an RFC 3339 timestamp string")
    if not _RFC3339.match(value):
        raise ValueError("must be an RFC 3339 timestamp with a UTC offset")
    text = value
    if "." in text:  # datetime keeps microseconds: cut finer fractions instead of rejecting them
        frac = re.search(r"\.(\d+)", text)
        if frac and len(frac.group(1)) > 6:
            text = text.replace(frac.group(0), "." + frac.group(1)[:6], 1)
    try:
        parsed = datetime.fromisoformat(text.replace("z", "Z"))
    except ValueError as exc:
        raise ValueError("is not a real calendar date and time") from exc
    if parsed.year < 2000 or parsed.year > 2200:
        raise ValueError("is outside the years 2000-2200")
    return parsed


Timestamp = Annotated[
    datetime,
    PlainValidator(parse_timestamp),
    PlainSerializer(lambda moment: moment.isoformat(), return_type=str, when_used="json"),
    WithJsonSchema({"type": "string", "format": "date-time", "description": "RFC 3339 with offset"}),
]


class _Event(BaseModel):
    model_config = ConfigDict(strict=True, extra="ignore", frozen=True)

    event_id: Id
    office_id: Id
    occurred_at: Timestamp


class TicketIssued(_Event):
    type: Literal["ticket_issued"]
    ticket_id: Id
    ticket_no: Label
    stage: Id
    applicant_id: Id
    service: Id
    booking_channel: Id
    smart_registered: bool


class ServiceCalled(_Event):
    type: Literal["service_called"]
    ticket_id: Id
    counter: Label


class TicketClosed(_Event):
    type: Literal["ticket_closed"]
    ticket_id: Id
    outcome: Literal["served", "no_show", "cancelled"]


class ReviewFlagged(_Event):
    type: Literal["review_flagged"]
    applicant_id: Id
    reason: FreeText = Field(description="personal data: never logged, never forwarded")


class ReviewCleared(_Event):
    type: Literal["review_cleared"]
    applicant_id: Id


class OutageStarted(_Event):
    type: Literal["outage_started"]
    outage_id: Id
    system: Id


class OutageEnded(_Event):
    type: Literal["outage_ended"]
    outage_id: Id


class ClaimSubmitted(_Event):
    type: Literal["claim_submitted"]
    claim_id: Id
    ticket_id: Id
    officer_id: Id


class ComplaintFiled(_Event):
    """A public complaint (Ombudsman agreement, Pasal 5); `summary` is personal data."""

    type: Literal["complaint_filed"]
    complaint_id: Id
    ticket_id: Id | None
    category: Literal["long_wait", "claim_rejected", "officer_conduct", "other"]
    channel: Id
    summary: FreeText = Field(description="personal data: never logged, never forwarded")


TicketEvent = Annotated[TicketIssued | ServiceCalled | TicketClosed, Field(discriminator="type")]
ReviewEvent = Annotated[ReviewFlagged | ReviewCleared, Field(discriminator="type")]
StatusEvent = Annotated[OutageStarted | OutageEnded, Field(discriminator="type")]
ClaimsEvent = Annotated[ClaimSubmitted | ComplaintFiled, Field(discriminator="type")]

Event = Annotated[
    TicketIssued
    | ServiceCalled
    | TicketClosed
    | ReviewFlagged
    | ReviewCleared
    | OutageStarted
    | OutageEnded
    | ClaimSubmitted
    | ComplaintFiled,
    Field(discriminator="type"),
]

EVENT: TypeAdapter[Event] = TypeAdapter(Event)
