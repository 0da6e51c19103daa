"""Clause 3: compensated applicants get numbers from a separate series, restarting each local day."""

from datetime import date


class PrioritySeries:
    def __init__(self, prefix: str) -> None:
        self.prefix = prefix
        self.last: dict[date, int] = {}

    def next_number(self, day: date) -> str:
        n = self.last.get(day, 0) + 1
        self.last[day] = n
        return f"{self.prefix}-{n:03d}"
