"""Event time: instants, office-local days, and an office's clock with its allowed lateness."""

from dataclasses import dataclass
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

# An instant is whole microseconds since the Unix epoch: exact, hashable and cheap to compare.
Instant = int

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_SECOND = 1_000_000


def instant(moment: datetime) -> Instant:
    delta = moment - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * _SECOND + delta.microseconds


def local_time(at: Instant, zone: ZoneInfo) -> datetime:
    # From whole seconds, then the microseconds (offsets change on whole seconds): twice as fast as
    # converting an epoch-based datetime, and exact, unlike a float timestamp.
    seconds, micros = divmod(at, _SECOND)
    moment = datetime.fromtimestamp(seconds, zone)
    return moment.replace(microsecond=micros) if micros else moment


def local_day(at: Instant, zone: ZoneInfo) -> date:
    return local_time(at, zone).date()


_REMEMBERED = 4096


class LocalTimes:
    """`local_time` in one zone, remembering recent instants: a ticket's issue, deadline and call each
    appear in several records, and zone conversions were a tenth of replay."""

    def __init__(self, zone: ZoneInfo) -> None:
        self.zone = zone
        self._known: dict[Instant, datetime] = {}

    def at(self, at: Instant) -> datetime:
        known = self._known.get(at)
        if known is None:
            if len(self._known) >= _REMEMBERED:
                self._known.clear()
            known = self._known[at] = local_time(at, self.zone)
        return known


def whole_seconds(span: Instant) -> int:
    return span // _SECOND


@dataclass(slots=True)
class OfficeClock:
    """The largest `occurred_at` seen from an office minus its allowed lateness; never goes back."""

    lateness: Instant
    latest: Instant | None = None
    now: Instant | None = None

    def saw(self, at: Instant) -> None:
        if self.latest is None or at > self.latest:
            self.latest = at

    def target(self) -> Instant | None:
        """Where the clock should be after what was seen: latest minus lateness."""
        return None if self.latest is None else self.latest - self.lateness

    def is_late(self, at: Instant) -> bool:
        """An event is late once the clock has reached its time: what it could change has fired."""
        return self.now is not None and at <= self.now

    def move_to(self, at: Instant) -> None:
        if self.now is None or at > self.now:
            self.now = at
