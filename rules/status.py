"""What a supervisor sees of one office at its clock: who waits, who is at risk, today's counts."""

from collections import Counter
from datetime import datetime

from rules.clock import local_day, whole_seconds
from rules.office import Office
from schemas.records import OfficeStatus


def office_status(office: Office, at: datetime) -> OfficeStatus:
    """The office's status at its event-time clock, stamped with wall time `at`."""
    policy = office.policy
    now = office.clock.now
    waiting = [t for t in office.tickets.values() if t.is_open and t.ended_at is None]
    today = None if now is None else local_day(now, policy.zone)
    todays = [t for t in office.tickets.values() if t.service_day == today]
    outcomes = Counter(t.outcome for t in todays if t.outcome is not None)
    revoked = sum(1 for t in todays if t.revoked_at is not None)
    if revoked:
        outcomes["revoked"] = revoked
    numbered = [t for t in todays if t.priority_no is not None]
    return OfficeStatus(
        office_id=policy.office_id,
        office_name=policy.office_name,
        at=at,
        clock=None if now is None else office.local(now),
        service_day=today,
        waiting=len(waiting),
        at_risk=sum(1 for t in waiting if t.warned_at is not None),
        longest_wait_s=max((whole_seconds(now - t.issued_at) for t in waiting), default=0) if now else 0,
        outages_active=sum(
            1
            for o in office.outages.by_key.values()
            if now is not None and o.start <= now and (o.end is None or o.end > now)
        ),
        outcomes=dict(sorted(outcomes.items())),
        priority_assigned=len(numbered),
        priority_called=sum(1 for t in numbered if t.revoked_at is None and t.called_at is not None),
        priority_withdrawn=sum(1 for t in numbered if t.revoked_at is not None),
    )
