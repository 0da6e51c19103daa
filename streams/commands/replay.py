"""`kompensasi replay`: the rules over a JSON Lines file, no broker and no wall clock for decisions."""

import sys
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from typing import BinaryIO

from rules.intake import Rejection, fast_event, known_office, parse_json, validate
from rules.offices import Offices
from rules.policy import Policy
from schemas.events import Event
from schemas.records import Build, Record, model
from streams.codec import as_dict, dead_letter, fast_line


def wall_now() -> datetime:
    return datetime.now(UTC)


def replay(lines: Iterable[bytes], policies: list[Policy], build: Build = model) -> Iterator[Record]:
    """Yields every record the worker would publish for these input lines, in order (each built by
    `build`: models by default)."""
    offices = Offices(policies, wall_now, build)
    for number, line in enumerate(lines, start=1):
        raw = line.rstrip(b"\r\n")
        if not raw or raw.isspace():  # as `not raw.strip()`, without copying every line
            continue
        source_topic, event = _read(raw, offices)
        if isinstance(event, Rejection):
            yield dead_letter(event, raw, source_topic, None, number, build)
            continue
        yield from offices.receive(event).records
    yield from offices.finish()


def _read(raw: bytes, offices: Offices) -> tuple[str | None, Event | Rejection]:
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


def run(stream: BinaryIO, out: BinaryIO, policies: list[Policy]) -> tuple[int, int]:
    """Writes the records; returns (input lines, dead letters) for the warning."""
    write = out.write
    lines, dead = _Counted(stream), 0
    # Records as dicts, encoded without their models: the same lines as replay_line of the models.
    for record in replay(lines, policies, as_dict):
        dead += record["type"] == "dead_letter"  # type: ignore[index]
        write(fast_line(record) + b"\n")  # type: ignore[arg-type]
    out.flush()
    return lines.read, dead


def main_replay(path: str, policies: list[Policy]) -> int:
    try:
        stream = open(path, "rb")  # noqa: SIM115
    except OSError as exc:
        print(f"kompensasi replay: cannot read {path}: {exc.strerror}", file=sys.stderr)
        return 2
    with stream:
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
