"""Each office's core state in a changelog-backed table, as a journal of whole steps and snapshots.

A step's changes are one table entry, so one changelog record: a worker killed while it writes
leaves the state of a whole number of steps, never half of one (whose event id, saved without the
ticket it issued, would make the event a duplicate when read again). Keys are slots used again, so
nothing is ever deleted: a record overwrites the one compaction may then drop."""

import uuid
from collections.abc import Callable, Iterable, MutableMapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from rules.office import Office
from rules.policy import Policy

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


def table_key(office_id: str, kind: str, key: str) -> str:
    return f"{office_id}{_SEP}{kind}{_SEP}{key}"


@dataclass
class Written:
    """What the table holds of one office, as far as the next write needs it."""

    seq: int = 0  # the last whole step
    snapshot: tuple[int, int] = (0, 1)  # (step, slot) of the last whole snapshot
    changes: int = 0  # in the journal since that snapshot
    size: int = 0  # the office's entries at the last rebuild or snapshot
    old_layout: list[str] = field(default_factory=list)  # keys of one entry each, deleted once


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
            old_layout.append(f"{kind}{_SEP}{rest}")
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
) -> list[tuple[str, Any]]:
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
        table: MutableMapping[str, Any],
        wall: Callable[[], datetime],
        snapshot_after: int = SNAPSHOT_AFTER,
    ) -> None:
        self.policies = policies
        self.table = table
        self.wall = wall
        self.snapshot_after = snapshot_after
        self.cache: dict[str, Office] = {}
        self.written: dict[str, Written] = {}

    def get(self, office_id: str) -> Office:
        office = self.cache.get(office_id)
        if office is None:
            prefix = f"{office_id}{_SEP}"
            keys = [k for k in list(self.table.keys()) if isinstance(k, str) and k.startswith(prefix)]
            found = []
            for k in keys:
                kind, _, rest = k[len(prefix) :].partition(_SEP)
                found.append((kind, rest, self.table.get(k)))
            entries, written = rebuild(found)
            written.old_layout = [prefix + k for k in written.old_layout]
            office = Office.restore(self.policies[office_id], self.wall, entries.items())
            self.written[office_id] = written
            self.cache[office_id] = office
        return office

    def save(self, office: Office) -> list[tuple[str, Any]]:
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
        for key, value in writes:
            if value is None:
                self.table.pop(key, None)
            else:
                self.table[key] = value
        return writes

    def _snapshot(self, office: Office, written: Written) -> list[tuple[str, Any]]:
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
