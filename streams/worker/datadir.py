"""The worker's data dir: one worker at a time, and only state that the broker's changelog holds.

Checked before Faust starts, so that a wrong start ends in one log line instead of Faust's
`ConsistencyError` traceback in the middle of a table recovery."""

import fcntl
import os
from dataclasses import dataclass
from pathlib import Path

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from rocksdict import AccessType, Options, Rdict

LOCK_FILE = "kompensasi.lock"
# Where Faust's RocksDB store (faust/stores/rocksdb.py) records the changelog offset it holds.
OFFSET_KEY = b"__faust\0offset__"


class DataDirInUse(Exception):
    """Another process holds the data dir's lock."""

    def __init__(self, data_dir: Path, holder: str) -> None:
        super().__init__(f"{data_dir} is in use by process {holder or 'unknown'}")
        self.data_dir, self.holder = data_dir, holder


def hold(data_dir: Path) -> int:
    """Takes the data dir's lock for the rest of this process's life; DataDirInUse when it is taken.

    The descriptor is close-on-exec, so the lock goes with this process image: a worker that restarts
    itself in place (`continuity.restart`) takes it again, and a stopped or killed worker leaves no
    stale lock behind (the kernel drops a flock with its last descriptor)."""
    data_dir.mkdir(parents=True, exist_ok=True)
    fd = os.open(data_dir / LOCK_FILE, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        holder = os.pread(fd, 32, 0).decode(errors="replace").strip()
        os.close(fd)
        raise DataDirInUse(data_dir, holder) from None
    os.ftruncate(fd, 0)
    os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
    return fd


def local_offsets(table_dir: Path, table: str) -> dict[int, int]:
    """The changelog offset each local partition store of `table` holds (stores holding none left out)."""
    offsets: dict[int, int] = {}
    for path in sorted(table_dir.glob(f"{table}-*.db")):
        partition = path.name.removeprefix(f"{table}-").removesuffix(".db")
        if not partition.isdigit():
            continue
        # Read-only: takes no RocksDB lock and writes nothing, so Faust opens the store as before.
        db = Rdict(str(path), options=Options(raw_mode=True), access_type=AccessType.read_only())
        try:
            raw = db.get(OFFSET_KEY)
        finally:
            db.close()
        if raw is not None:
            offsets[int(partition)] = int(raw)
    return offsets


async def changelog_ends(bootstrap: str, topic: str, client_options: dict[str, object]) -> dict[int, int]:
    """Each changelog partition's end offset, as Faust's recovery reads it (ListOffsets); {} when the
    topic does not exist."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, **client_options)
    await admin.start()
    try:
        # Listed first by the admin client: a consumer asking for a missing topic would create it
        # with the broker's partition count before Faust creates it with ours.
        if topic not in await admin.list_topics():
            return {}
        (described,) = await admin.describe_topics([topic])
    finally:
        await admin.close()
    partitions = [TopicPartition(topic, p["partition"]) for p in described["partitions"]]
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False, **client_options)
    await consumer.start()
    try:
        ends = await consumer.end_offsets(partitions)
    finally:
        await consumer.stop()
    return {tp.partition: end for tp, end in ends.items()}


@dataclass(frozen=True)
class Foreign:
    """A local store holding an offset the changelog partition does not have."""

    partition: int
    local_offset: int
    changelog_end: int


def foreign_state(local: dict[int, int], ends: dict[int, int]) -> list[Foreign]:
    """The stores this changelog cannot have written: their offset is at or past its end (a missing
    partition ends at 0). Stricter than Faust's check, which lets an offset of 0 on an empty one through."""
    return [
        Foreign(partition, offset, ends.get(partition, 0))
        for partition, offset in sorted(local.items())
        if offset >= ends.get(partition, 0)
    ]
