"""An office's state as entries (`Office.entries`, `Office.restore`): the shape of each kind, checked
before a restore trusts an entry read back from a changelog that anyone with access can write."""

from datetime import UTC, date, datetime
from typing import Annotated, Any, Literal

from pydantic import Field, StrictBool, StrictInt, StrictStr, TypeAdapter, ValidationError

from rules.clock import instant
from rules.office import WITHHELD
from rules.ticket import Ticket
from schemas.events import EVENT
from schemas.records import ClaimReason, Outcome, Reason

# Instants a restored office can still turn into local times and add thresholds to: events are of
# the years 2000-2200, and their deadlines come a few hours later.
Moment = Annotated[
    StrictInt,
    Field(ge=instant(datetime(1970, 1, 1, tzinfo=UTC)), lt=instant(datetime(2300, 1, 1, tzinfo=UTC))),
]
_Day = Annotated[StrictStr, Field(pattern=r"^\d{4}-\d{2}-\d{2}$")]
_Claim = tuple[StrictStr, Literal["granted", "rejected"], list[ClaimReason], Moment]

# In the order of Ticket's slots, the order `Office.entries` writes them in.
_TICKET_FIELDS: dict[str, Any] = {
    "ticket_id": StrictStr,
    "ticket_no": StrictStr,
    "applicant_id": StrictStr,
    "service": StrictStr,
    "booking_channel": StrictStr,
    "smart_registered": StrictBool,
    "issued_at": Moment,
    "deadline": Moment,
    "service_day": _Day,
    "ended_at": Moment | None,
    "called_at": Moment | None,
    "outcome": Outcome | None,
    "decided_at": Moment | None,
    "priority_no": StrictStr | None,
    "revoked_at": Moment | None,
    "granted_at": Moment | None,
    "warned_at": Moment | None,
    "reasons": list[Reason],
    "revoke_reason": Reason | None,
    "claims": list[_Claim],
}
if tuple(_TICKET_FIELDS) != Ticket.__slots__:
    raise TypeError("rules/entries.py: the ticket entry's fields differ from Ticket's")

_KINDS: dict[str, TypeAdapter[Any]] = {
    "clock": TypeAdapter(tuple[Moment | None, Moment | None]),
    "t": TypeAdapter(tuple[*_TICKET_FIELDS.values()]),  # type: ignore[misc]
    "o": TypeAdapter(tuple[Moment, Moment | None]),
    "r": TypeAdapter(tuple[list[Moment], list[Moment]]),
    "p": TypeAdapter(Annotated[StrictInt, Field(ge=0, lt=1_000_000)]),
    "s": TypeAdapter(Moment),
    "e": TypeAdapter(Moment),
    "b": TypeAdapter(dict[StrictStr, Any]),
}


def readable(kind: str, key: str, value: Any) -> bool:
    """Whether `Office.restore` can take this entry and the rules then work on what it restored."""
    adapter = _KINDS.get(kind)
    if adapter is None or not isinstance(key, str):
        return False
    try:
        adapter.validate_python(value)
        if kind == "t":
            date.fromisoformat(value[8])
            outcome, decided_at, priority_no = value[11], value[12], value[13]
            # What a decided ticket always holds: a revocation needs its decision and its number.
            if outcome is not None and decided_at is None:
                return False
            if outcome == "eligible" and priority_no is None:
                return False
        elif kind == "p":
            date.fromisoformat(key)
        elif kind == "b":
            flagged = value.get("type") == "review_flagged"
            EVENT.validate_python({**value, "reason": WITHHELD} if flagged else value)
    except (ValidationError, ValueError):
        return False
    return True
