"""Clause 2g: an application under review for suspicion, per applicant."""

from bisect import bisect_right, insort
from dataclasses import dataclass, field

from rules.clock import Instant


@dataclass(slots=True)
class Review:
    """Flag and clear instants of one applicant, kept sorted so arrival order does not matter."""

    flags: list[Instant] = field(default_factory=list)
    clears: list[Instant] = field(default_factory=list)

    def is_open(self, at: Instant) -> bool:
        """Open at `at`: flagged at or before it and not cleared before it (a clear at `at` is too late)."""
        i = bisect_right(self.flags, at)
        if i == 0:
            return False
        flagged = self.flags[i - 1]
        j = bisect_right(self.clears, flagged - 1)
        return not (j < len(self.clears) and self.clears[j] < at)

    def finished_before(self, at: Instant) -> bool:
        """Cleared, with every flag and clear before `at`: it can no longer matter."""
        last_flag = self.flags[-1] if self.flags else None
        last_clear = self.clears[-1] if self.clears else None
        return last_clear is not None and last_clear < at and (last_flag is None or last_flag <= last_clear)


class Reviews:
    def __init__(self) -> None:
        self.by_applicant: dict[str, Review] = {}

    def flag(self, applicant_id: str, at: Instant) -> None:
        insort(self.by_applicant.setdefault(applicant_id, Review()).flags, at)

    def clear(self, applicant_id: str, at: Instant) -> None:
        insort(self.by_applicant.setdefault(applicant_id, Review()).clears, at)

    def is_open(self, applicant_id: str, at: Instant) -> bool:
        review = self.by_applicant.get(applicant_id)
        return review is not None and review.is_open(at)
