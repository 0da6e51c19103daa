"""Clause 2f: system outages of one office or of every office (`*`), as half-open intervals."""

from dataclasses import dataclass

from rules.clock import Instant


@dataclass(slots=True)
class Outage:
    start: Instant
    end: Instant | None = None

    def overlaps(self, first: Instant, last: Instant) -> bool:
        """[start, end) overlaps the closed wait [first, last]; an outage with no end is open-ended."""
        if self.end is not None and (self.end <= self.start or self.end <= first):
            return False
        return self.start <= last

    def active_at(self, at: Instant) -> bool:
        return self.start <= at and (self.end is None or self.end > at)


class Outages:
    """Known outages keyed by (scope, outage_id); scope is the office id or `*`."""

    def __init__(self) -> None:
        self.by_key: dict[str, Outage] = {}

    @staticmethod
    def key(scope: str, outage_id: str) -> str:
        return f"{scope}\x1f{outage_id}"

    def start(self, key: str, at: Instant) -> bool:
        if key in self.by_key:
            return False
        self.by_key[key] = Outage(at)
        return True

    def end(self, key: str, at: Instant) -> bool:
        """An end with no known start, before its start, or for an ended outage changes nothing."""
        outage = self.by_key.get(key)
        if outage is None or outage.end is not None or at < outage.start:
            return False
        outage.end = at
        return True

    def any_overlap(self, first: Instant, last: Instant) -> bool:
        return any(o.overlaps(first, last) for o in self.by_key.values())
