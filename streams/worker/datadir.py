"""The worker's data dir: one worker at a time, checked before Faust starts so that a wrong start
ends in one log line."""

import fcntl
import os
from pathlib import Path

LOCK_FILE = "kompensasi.lock"


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
