"""Offset continuity: each input partition's records reach the core once, in offset order.

After a takeover or a restart with a backlog, faust-streaming can go on delivering a fetch made
before its recovery seek and drop the records that seek would have read again
(faust-streaming/faust#596); applied past the gap, facts would arrive late and change decisions.
Rewinding Faust's fetcher from the agent does not help (it kept reading forward in our tests), so
on a gap the worker starts itself afresh (`restart`): offsets past the gap were
never committed, and a new consumer reads from the committed offset. The same gap seen again
right after such a restart is real (compaction, transaction markers) and is accepted."""

import os
import sys
from dataclasses import dataclass, field
from typing import NoReturn

from aiokafka import TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

Partition = tuple[str, int]
Gap = tuple[str, int, int, int]  # topic, partition, expected offset, offset received
GAPS_ENV = "KOMPENSASI_GAPS_SEEN"


@dataclass
class Continuity:
    expected: dict[Partition, int] = field(default_factory=dict)
    # gaps that made the previous process restart: seen again, they are real
    seen_before: set[Gap] = field(default_factory=set)

    @classmethod
    def from_environment(cls) -> "Continuity":
        return cls(seen_before=parse_gaps(os.environ.get(GAPS_ENV, "")))

    def knows(self, tp: Partition) -> bool:
        return tp in self.expected

    def start(self, tp: Partition, committed: int | None) -> None:
        """Where the group's committed offset (or, with none, the partition's first offset) says this
        partition resumes; None: from its first record handed over."""
        if committed is not None and committed >= 0:
            self.expected[tp] = committed

    def forget(self) -> None:
        """Partitions were reassigned: each resumes from its committed offset again."""
        self.expected.clear()

    def gap(self, tp: Partition, offset: int) -> Gap | None:
        """The gap before `offset` when records were skipped and it is not known to be real; else None
        (and the record is the partition's next)."""
        expected = self.expected.get(tp)
        if expected is not None and offset > expected and (*tp, expected, offset) not in self.seen_before:
            return (*tp, expected, offset)
        self.expected[tp] = max(offset + 1, expected or 0)
        return None


def lost(dropped: Gap, committed: int | None) -> bool:
    """Records handed over and never applied are lost unless the group's committed offset is past them
    (an earlier owner applied them). Unlike an offset gap, the same loss after a restart is no hole in
    the log: the records are there, so it is never accepted (accepted once, a `*` outage was lost)."""
    return committed is None or committed < dropped[3]


def parse_gaps(text: str) -> set[Gap]:
    gaps = set()
    for item in filter(None, text.split(";")):
        topic, partition, expected, offset = item.rsplit(":", 3)
        gaps.add((topic, int(partition), int(expected), int(offset)))
    return gaps


def format_gaps(gaps: set[Gap]) -> str:
    return ";".join(f"{t}:{p}:{e}:{o}" for t, p, e, o in sorted(gaps))


def flush_logs() -> None:
    sys.stdout.flush()
    sys.stderr.flush()


def leave(code: int) -> NoReturn:
    """Ends the process now, without Faust's shutdown, which would commit the step in hand unsaved."""
    flush_logs()
    os._exit(code)


def restart(gaps: set[Gap]) -> NoReturn:
    """Replaces this process by a fresh worker with the same arguments, telling it the gaps seen."""
    flush_logs()
    env = {**os.environ, GAPS_ENV: format_gaps(gaps)}
    os.execve(sys.executable, [sys.executable, "-m", "streams.commands.cli", *sys.argv[1:]], env)


class GroupOffsets:
    """The group's committed offsets, read with a plain admin client (once per partition and assignment)."""

    def __init__(self, bootstrap: str, group_id: str, client_options: dict[str, object]) -> None:
        self.bootstrap, self.group_id, self.client_options = bootstrap, group_id, client_options
        self.admin: AIOKafkaAdminClient | None = None

    async def committed(self, tp: Partition) -> int | None:
        if self.admin is None:
            admin = AIOKafkaAdminClient(bootstrap_servers=self.bootstrap, **self.client_options)
            await admin.start()
            self.admin = admin
        partition = TopicPartition(*tp)
        offsets = await self.admin.list_consumer_group_offsets(self.group_id, partitions=[partition])
        found = offsets.get(partition)
        return None if found is None or found.offset < 0 else found.offset
