"""Offset continuity: notices when a partition's records reach the agent with a gap.

After a restart with a backlog, faust-streaming can go on delivering a fetch made before its
recovery seek and drop the records that seek would have read again (faust-streaming/faust#596).
Faust then never commits past the skipped offsets, so a restart reads them again; until then
their decisions are missing. The worker cannot safely rewind Faust's fetcher itself, so it counts
each gap (`kompensasi_offset_gaps_total`, an alert) and logs where it is."""

from dataclasses import dataclass, field

from aiokafka import TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

Partition = tuple[str, int]


@dataclass
class Continuity:
    expected: dict[Partition, int] = field(default_factory=dict)

    def knows(self, tp: Partition) -> bool:
        return tp in self.expected

    def start(self, tp: Partition, committed: int | None) -> None:
        """Where the group's committed offset says this partition resumes (None: from its first record)."""
        if committed is not None and committed >= 0:
            self.expected[tp] = committed

    def forget(self) -> None:
        """Partitions were reassigned: each resumes from its committed offset again."""
        self.expected.clear()

    def gap(self, tp: Partition, offset: int) -> int | None:
        """The offset expected instead, when records before `offset` were skipped; else None."""
        expected = self.expected.get(tp)
        self.expected[tp] = max(offset + 1, expected or 0)
        return expected if expected is not None and offset > expected else None


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
