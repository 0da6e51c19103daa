"""`kompensasi replay`: the rules over a JSON Lines file, no broker and no wall clock for decisions."""

import gc
import multiprocessing
import os
import stat
import sys
from collections.abc import Container, Iterable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from multiprocessing.connection import Connection, wait
from typing import BinaryIO

import msgspec

from rules.intake import Rejection, fast_event, known_office, parse_json, validate
from rules.offices import Offices
from rules.policy import Policy
from schemas.events import ALL_OFFICES, Event
from schemas.records import Build, Record, model
from streams.codec import as_dict, dead_letter, fast_line


def wall_now() -> datetime:
    return datetime.now(UTC)


def replay(
    lines: Iterable[bytes], policies: list[Policy], build: Build = model, job: tuple[int, int] = (0, 1)
) -> Iterator[Record]:
    """Yields every record the worker would publish for these input lines, in order (each built by
    `build`: models by default). Job (i, n) is i's share of n: the offices in places i, i + n, ...
    of `policies`, the `*` events, and the dead letters of its offices' lines (of lines naming no
    office when i is 0)."""
    number_of, jobs = job
    known = {p.office_id for p in policies}
    job_of = {p.office_id: n % jobs for n, p in enumerate(policies)}
    offices = Offices(policies[number_of::jobs], wall_now, build)
    for number, line in enumerate(lines, start=1):
        raw = line.rstrip(b"\r\n")
        if not raw or raw.isspace():  # as `not raw.strip()`, without copying every line
            continue
        owner = None if jobs == 1 else job_of.get(_office_named(raw))  # type: ignore[arg-type]
        if owner is not None and owner != number_of:
            continue  # another job's office: not even decoded here
        source_topic, event = read_line(raw, known)
        if isinstance(event, Rejection):
            if owner == number_of or number_of == 0:
                yield dead_letter(event, raw, source_topic, None, number, build)
        elif event.office_id in offices or event.office_id == ALL_OFFICES:
            yield from offices.receive(event).records
    yield from offices.finish()


class _Named(msgspec.Struct):
    office_id: str | None = None


_decode_named = msgspec.json.Decoder(_Named).decode


def _office_named(raw: bytes) -> str | None:
    """The top-level `office_id` of a line, the rest only skipped over; None when there is none to read
    (a wrapped record, a `*` event or a bad line is then read by every job, its dead letter by one)."""
    try:
        return _decode_named(raw).office_id
    except (msgspec.DecodeError, ValueError, RecursionError):
        return None


def read_line(raw: bytes, offices: Container[str]) -> tuple[str | None, Event | Rejection]:
    """A line is a bare event, or a record {topic, key, value} whose value is the event."""
    event = fast_event(raw)
    if event is not None:
        return None, known_office(event, offices)
    value = parse_json(raw)
    if isinstance(value, Rejection):
        return None, value
    if isinstance(value, dict) and "topic" in value and "value" in value:
        topic = value["topic"] if isinstance(value["topic"], str) else None
        return topic, validate(value["value"], offices)
    return None, validate(value, offices)


class _Counted:
    """The input lines that are not blank, counted as replay reads them."""

    def __init__(self, lines: Iterable[bytes]) -> None:
        self.lines, self.read = lines, 0

    def __iter__(self) -> Iterator[bytes]:
        for line in self.lines:
            self.read += not line.isspace() and bool(line)
            yield line


def run(
    stream: BinaryIO, out: BinaryIO, policies: list[Policy], job: tuple[int, int] = (0, 1)
) -> tuple[int, int]:
    """Writes the records of `job`'s share; returns (input lines, dead letters) for the warning."""
    write = out.write
    lines, dead = _Counted(stream), 0
    # Records as dicts, encoded without their models: the same lines as replay_line of the models.
    with _rare_collections():
        for record in replay(lines, policies, as_dict, job):
            dead += record["type"] == "dead_letter"  # type: ignore[index]
            write(fast_line(record) + b"\n")  # type: ignore[arg-type]
    out.flush()
    return lines.read, dead


# Young objects allocated before the cycle collector looks at them (the default is 700).
_YOUNG = 50_000


@contextmanager
def _rare_collections() -> Iterator[None]:
    """Replay allocates objects by the million and almost never a cycle (reference counting frees
    them): the collector's default pace took 7 % of replay."""
    before = gc.get_threshold()
    gc.set_threshold(_YOUNG, *before[1:])
    try:
        yield
    finally:
        gc.set_threshold(*before)


def default_jobs() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


_CHUNK = 1 << 18


class _Sender:
    """A job's output as chunks of whole lines through a pipe, so the parent never splits a line."""

    def __init__(self, conn: Connection) -> None:
        self.conn, self.parts, self.size = conn, list[bytes](), 0

    def write(self, line: bytes) -> None:
        self.parts.append(line)
        self.size += len(line)
        if self.size >= _CHUNK:
            self.flush()

    def flush(self) -> None:
        if self.parts:
            self.conn.send_bytes(b"".join(self.parts))
            self.parts, self.size = [], 0


def _job(path: str, policies: list[Policy], job: tuple[int, int], conn: Connection) -> None:
    with open(path, "rb") as stream:
        counts = run(stream, _Sender(conn), policies, job)  # type: ignore[arg-type]
    conn.send_bytes(b"")
    conn.send(counts)


def run_jobs(path: str, out: BinaryIO, policies: list[Policy], jobs: int) -> tuple[int, int]:
    """`run` with the offices split over `jobs` processes, each reading the whole file and decoding
    only its share: every office's records in one process's order, the offices interleaved."""
    context = multiprocessing.get_context("spawn")  # no fork of a process that may hold threads
    readers, processes = [], []
    for number_of in range(jobs):
        reader, writer = context.Pipe(duplex=False)
        process = context.Process(target=_job, args=(path, policies, (number_of, jobs), writer), daemon=True)
        process.start()
        writer.close()
        readers.append(reader)
        processes.append(process)
    counts, open_readers = {}, set(readers)
    try:
        while open_readers:
            for reader in wait(list(open_readers)):
                try:
                    chunk = reader.recv_bytes()  # type: ignore[union-attr]
                    if chunk:
                        out.write(chunk)
                        continue
                    counts[readers.index(reader)] = reader.recv()  # type: ignore[union-attr]
                except EOFError:
                    raise RuntimeError("a replay job stopped before its end (see above)") from None
                open_readers.discard(reader)
    finally:
        for process in processes:
            process.join(timeout=None if len(counts) == jobs else 0)
            process.kill()
    out.flush()
    return counts[0][0], sum(dead for _, dead in counts.values())


def main_replay(path: str, policies: list[Policy], jobs: int | None = None) -> int:
    try:
        stream = open(path, "rb")  # noqa: SIM115
    except OSError as exc:
        print(f"kompensasi replay: cannot read {path}: {exc.strerror}", file=sys.stderr)
        return 2
    with stream:
        jobs = min(jobs or default_jobs(), len(policies))
        if jobs > 1 and stat.S_ISREG(os.fstat(stream.fileno()).st_mode):  # each job reads the file itself
            try:
                lines, dead = run_jobs(path, sys.stdout.buffer, policies, jobs)
            except RuntimeError as exc:
                print(f"kompensasi replay: {exc}", file=sys.stderr)
                return 1
        else:
            lines, dead = run(stream, sys.stdout.buffer, policies)
    if dead * 2 > lines:
        # Most likely a file in the wrong shape (a console consumer's `key<TAB>value` lines): the
        # output is still every record, but the exit status alone would not tell.
        print(
            f"kompensasi replay: warning: {dead} of {lines} lines of {path} are dead letters; "
            "lines must be bare events or {topic, key, value} records (README, Reprocessing)",
            file=sys.stderr,
        )
    return 0
