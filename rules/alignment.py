"""Event-time alignment across input partitions: how far an office's clock may go before one of the
partitions feeding it could still deliver an earlier event (Kafka Streams' rule since KIP-695).

Facts in, a decision out: the shell reports what each partition delivered and where its consumer
stands; nothing here reads a clock or a broker, so the rule is tested alone."""

from collections.abc import Hashable, Iterable, Mapping
from dataclasses import dataclass, field

from rules.clock import Instant


@dataclass(slots=True)
class Partition:
    """What is known of one input partition since it was assigned."""

    since: float  # wall seconds (monotonic) since when it was caught up with no event applied
    applied: int | None = None  # next offset after the last record applied
    delivered: int | None = None  # next offset after the last record the consumer handed to the worker
    position: int | None = None  # the consumer's fetch position (past control records too)
    highwater: int | None = None  # from the last fetch; None until the partition was first fetched
    latest: Instant | None = None  # the largest event time applied from it
    fetched_at: float | None = None  # wall seconds of the fetch that handed over its last records
    applied_at: float | None = None  # wall seconds (monotonic) of the last record applied

    def apply(self, offset: int, at: Instant | None, now: float) -> None:
        """A record was applied; `at` is its event time, None for one that carries none (a dead letter)."""
        self.applied = offset + 1
        self.applied_at = now
        if at is not None:
            self.since = now
            if self.latest is None or at > self.latest:
                self.latest = at

    def caught_up(self) -> bool:
        """Nothing delivered waits to be applied, and nothing on the broker waits to be fetched.

        The position is compared with the high-water mark rather than the last offset + 1: transaction
        markers and compaction gaps leave the two apart for good."""
        if self.highwater is None or self.position is None:
            return False
        buffered = self.delivered is not None and (self.applied or 0) < self.delivered
        return not buffered and self.position >= self.highwater

    def holds(self, now: float, max_idle_s: float) -> bool:
        """A partition holds the clock unless it has been caught up, with no event, for `max_idle_s`;
        seen behind, its idle time starts again."""
        if not self.caught_up():
            self.since = now
            return True
        return now - self.since < max_idle_s


@dataclass(frozen=True, slots=True)
class Alignment:
    """`to`: where the clock may move, at most the target asked for; None: it may not move now.
    `overtaken`: idle partitions whose last event the clock then passes (Kafka Streams' enforced
    processing): an event they deliver afterwards could be late."""

    to: Instant | None
    overtaken: tuple[Hashable, ...] = field(default=())


def align(
    partitions: Mapping[Hashable, Partition],
    broadcasts: Iterable[Instant],
    broadcasts_as_of: float,
    lateness: Instant,
    target: Instant,
    now: float,
    max_idle_s: float,
) -> Alignment:
    """How far toward `target` an office's clock may move, given the partitions feeding it and the
    `*` events known to be on their way to it (each must find the clock before its time).

    `broadcasts_as_of`: the wall time up to which those `*` events are known (another consumer reads
    them). Records fetched after it may follow a `*` event not yet known: the clock waits."""
    if any(p.fetched_at is not None and p.fetched_at > broadcasts_as_of for p in partitions.values()):
        return Alignment(None)
    to = target
    for at in broadcasts:
        to = min(to, at - 1)
    idle: list[tuple[Hashable, Instant | None]] = []
    for key, partition in partitions.items():
        if partition.holds(now, max_idle_s):
            if partition.latest is None:
                return Alignment(None)
            to = min(to, partition.latest - lateness)
        else:
            idle.append((key, partition.latest))
    overtaken = tuple(key for key, latest in idle if latest is None or latest - lateness < to)
    return Alignment(to, overtaken)
