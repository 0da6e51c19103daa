"""A biometric ticket's wait: issued, ended by its first call or close, decided once, maybe revoked."""

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from rules.clock import Instant


@dataclass(slots=True)
class Ticket:
    ticket_id: str
    ticket_no: str
    applicant_id: str
    service: str
    booking_channel: str
    smart_registered: bool
    issued_at: Instant
    deadline: Instant
    service_day: date
    ended_at: Instant | None = None
    called_at: Instant | None = None
    outcome: str | None = None
    decided_at: Instant | None = None
    priority_no: str | None = None
    revoked_at: Instant | None = None
    granted_at: Instant | None = None
    warned_at: Instant | None = None
    reasons: list[str] = field(default_factory=list)
    revoke_reason: str | None = None
    claims: list[list[Any]] = field(default_factory=list)  # [claim_id, outcome, reasons, at]

    @property
    def is_open(self) -> bool:
        """Still waiting for its primary decision."""
        return self.outcome is None

    @property
    def holds_eligible(self) -> bool:
        return self.outcome == "eligible" and self.revoked_at is None

    def end_wait(self, at: Instant, called: bool) -> bool:
        """Records the first end of the wait; False when the wait had already ended by then."""
        if self.ended_at is not None and self.ended_at <= at:
            return False
        self.ended_at = at
        self.called_at = at if called else None
        return True
