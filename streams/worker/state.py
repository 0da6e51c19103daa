"""Each office's core state in a changelog-backed table, as a journal of whole steps and snapshots.

A step's changes are one table entry, so one changelog record: a worker killed while it writes
leaves the state of a whole number of steps, never half of one (whose event id, saved without the
ticket it issued, would make the event a duplicate when read again). Keys are slots used again, so
nothing is ever deleted: a record overwrites the one compaction may then drop."""

import uuid
from collections.abc import Callable, Iterable, MutableMapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Annotated, Any

import orjson
from pydantic import BaseModel, ConfigDict, Field, StrictInt, StrictStr, ValidationError

from rules.entries import readable
from rules.office import Office
from rules.policy import Policy
from streams.reading import Unreadable

_SEP = "\x1f"
# Both {office}␟{kind}␟{slot}␟{chunk}: {"s": step, "w": write, "i": chunk, "n": chunks,
# "c": [[kind, key, value or None], ...]}; "w" tells two writes of one step apart.
JOURNAL = "j"  # the changes of step `s`, in slot s % JOURNAL_SLOTS
SNAPSHOT = "S"  # the whole office after step `s`, in slot 0 or 1 (the other keeps the last one)
# Entries per chunk: a chunk stays far below the broker's largest message (1 MiB). A step of up to
# this many changes is one record; a larger one is whole only with all its chunks.
CHUNK = 1000
# A snapshot is written once the journal since the last holds this many changes, or as many as the
# office has entries: writing costs at most twice the changes, and a restore reads as much again;
# and before a journal slot is used again.
SNAPSHOT_AFTER = 2000
JOURNAL_SLOTS = 4096


def table_key(office_id: str, kind: str, key: str) -> bytes:
    return f"{office_id}{_SEP}{kind}{_SEP}{key}".encode()


class _Chunk(BaseModel):
    """A journal step's or a snapshot's chunk as `_chunked` writes it, checked on its parsed JSON:
    strict scalars, and (lax only there) a JSON array for each [kind, key, value] entry."""

    model_config = ConfigDict(extra="forbid")

    s: Annotated[StrictInt, Field(ge=0)]
    w: StrictStr
    i: Annotated[StrictInt, Field(ge=0)]
    n: Annotated[StrictInt, Field(ge=1)]
    c: list[tuple[StrictStr, StrictStr, Any]]


def _read(kind: str, rest: str, raw: Any) -> Any:
    """The value of a table entry, or the reason it is not one of ours: the changelog is a topic
    anyone with access can write, and no record on it may stop a restore."""
    if not isinstance(raw, bytes):
        return Unreadable("not_bytes")
    try:
        value = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return Unreadable("not_json")
    if kind not in (JOURNAL, SNAPSHOT):  # an entry of the old layout (null: a deleted one)
        return value if value is None or readable(kind, rest, value) else Unreadable("not_an_entry")
    slot, _, index = rest.partition(_SEP)
    try:
        chunk = _Chunk.model_validate(value)
    except ValidationError:
        return Unreadable("not_a_chunk")
    due = {JOURNAL: str(chunk.s % JOURNAL_SLOTS), SNAPSHOT: slot if slot in ("0", "1") else None}[kind]
    if slot != due or index != str(chunk.i) or chunk.i >= chunk.n:
        return Unreadable("wrong_slot")
    return value


@dataclass
class Written:
    """What the table holds of one office, as far as the next write needs it."""

    seq: int = 0  # the last whole step
    snapshot: tuple[int, int] = (0, 1)  # (step, slot) of the last whole snapshot
    changes: int = 0  # in the journal since that snapshot
    size: int = 0  # the office's entries at the last rebuild or snapshot
    old_layout: list[bytes] = field(default_factory=list)  # keys of one entry each, deleted once


def _whole(chunks: list[Any]) -> bool:
    return len({c["i"] for c in chunks}) == chunks[0]["n"]


def _whole_of(writes: dict[str, list[Any]]) -> list[Any] | None:
    """The chunks of one write that are all there: a step or snapshot a worker was killed writing
    is written again by the next, whose chunks must not mix with what is left of the first."""
    return next((chunks for chunks in writes.values() if _whole(chunks)), None)


def rebuild(entries: Iterable[tuple[str, str, Any]]) -> tuple[dict[tuple[str, str], Any], Written]:
    """The entries of the state after the last whole step, and what was written, from an office's
    table entries as (kind, rest of the key, value); entries of the old one-key-an-entry layout are
    the base when no snapshot is whole."""
    steps: dict[int, dict[str, list[Any]]] = {}
    snapshots: dict[tuple[int, int], dict[str, list[Any]]] = {}
    base: dict[tuple[str, str], Any] = {}
    old_layout = []
    for kind, rest, value in entries:
        if value is None:
            continue
        if kind == JOURNAL:
            steps.setdefault(value["s"], {}).setdefault(value["w"], []).append(value)
        elif kind == SNAPSHOT:
            key = (value["s"], int(rest.split(_SEP)[0]))
            snapshots.setdefault(key, {}).setdefault(value["w"], []).append(value)
        else:
            base[(kind, rest)] = value
            old_layout.append(f"{kind}{_SEP}{rest}".encode())
    whole = {key: chunks for key, writes in snapshots.items() if (chunks := _whole_of(writes))}
    snapshot = max(whole, default=(0, 1))
    if whole:
        base = {(kind, key): value for chunk in whole[snapshot] for kind, key, value in chunk["c"]}
    seq, changes = snapshot[0], 0
    # A step a worker was killed writing ends the journal.
    while seq + 1 in steps and (chunks := _whole_of(steps[seq + 1])) is not None:
        seq += 1
        for chunk in chunks:
            changes += len(chunk["c"])
            for kind, key, value in chunk["c"]:
                base[(kind, key)] = value
    state = {k: v for k, v in base.items() if v is not None}
    return state, Written(seq, snapshot, changes, len(state), old_layout)


def _chunked(
    office_id: str, kind: str, slot: int, seq: int, entries: list[list[Any]]
) -> list[tuple[bytes, Any]]:
    chunks = [entries[i : i + CHUNK] for i in range(0, len(entries), CHUNK)] or [[]]
    write = uuid.uuid4().hex[:12]
    return [
        (
            table_key(office_id, kind, f"{slot}{_SEP}{i}"),
            {"s": seq, "w": write, "i": i, "n": len(chunks), "c": chunk},
        )
        for i, chunk in enumerate(chunks)
    ]


class OfficeStates:
    """Offices rebuilt from the table on first use in this assignment, each step written back as one
    journal entry, and a snapshot now and then so that the journal stays short. The table is the
    local store; the shell sends the writes `save` returns to the changelog."""

    def __init__(
        self,
        policies: dict[str, Policy],
        table: MutableMapping[bytes, bytes],
        wall: Callable[[], datetime],
        snapshot_after: int = SNAPSHOT_AFTER,
        on_unreadable: Callable[[str, str], None] = lambda office_id, reason: None,
    ) -> None:
        self.policies = policies
        self.table = table
        self.wall = wall
        self.snapshot_after = snapshot_after
        self.on_unreadable = on_unreadable
        self.cache: dict[str, Office] = {}
        self.written: dict[str, Written] = {}

    def get(self, office_id: str) -> Office:
        office = self.cache.get(office_id)
        if office is None:
            prefix = f"{office_id}{_SEP}".encode()
            keys = [k for k in list(self.table.keys()) if isinstance(k, bytes) and k.startswith(prefix)]
            found = []
            for k in keys:
                try:
                    kind, _, rest = k[len(prefix) :].decode().partition(_SEP)
                except UnicodeDecodeError:
                    self.on_unreadable(office_id, "key_not_utf8")
                    continue
                value = _read(kind, rest, self.table.get(k))
                if isinstance(value, Unreadable):
                    self.on_unreadable(office_id, value.reason)
                else:
                    found.append((kind, rest, value))
            entries, written = rebuild(found)
            written.old_layout = [prefix + k for k in written.old_layout]
            for kind, key in [k for k, v in entries.items() if not readable(*k, v)]:
                self.on_unreadable(office_id, "not_an_entry")
                del entries[(kind, key)]
            office = Office.restore(self.policies[office_id], self.wall, entries.items())
            self.written[office_id] = written
            self.cache[office_id] = office
        return office

    def save(self, office: Office) -> list[tuple[bytes, bytes | None]]:
        """Writes the changes since the last save to the table as one journal step (and a snapshot
        when due); returns the writes, in order, for the changelog (a value None deletes)."""
        changes = office.take_changes()
        if not changes:
            return []
        office_id = office.policy.office_id
        written = self.written[office_id]
        written.seq += 1
        step = [[kind, key, value] for (kind, key), value in changes.items()]
        writes = _chunked(office_id, JOURNAL, written.seq % JOURNAL_SLOTS, written.seq, step)
        written.changes += len(changes)
        if (
            written.changes >= max(self.snapshot_after, written.size)
            or written.seq - written.snapshot[0] >= JOURNAL_SLOTS - 1
        ):
            writes += self._snapshot(office, written)
        encoded = [(key, None if value is None else orjson.dumps(value)) for key, value in writes]
        for key, value in encoded:
            if value is None:
                self.table.pop(key, None)
            else:
                self.table[key] = value
        return encoded

    def _snapshot(self, office: Office, written: Written) -> list[tuple[bytes, Any]]:
        """In the slot the last snapshot does not hold: a worker killed while it writes leaves that
        one whole, and the journal since it."""
        entries = [[kind, key, value] for (kind, key), value in office.entries().items()]
        slot = 1 - written.snapshot[1]
        writes = _chunked(office.policy.office_id, SNAPSHOT, slot, written.seq, entries)
        writes += [(key, None) for key in written.old_layout]
        written.snapshot, written.changes, written.size, written.old_layout = (
            (written.seq, slot),
            0,
            len(entries),
            [],
        )
        return writes

    def forget(self) -> None:
        """After a rebalance another worker may have moved an office on: rebuild from the table."""
        self.cache.clear()
        self.written.clear()
