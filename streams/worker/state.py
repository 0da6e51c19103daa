"""Each office's core state in a changelog-backed table, as a journal of whole steps and snapshots.

A step's changes are one table entry, so one changelog record: a worker killed while it writes
leaves the state of a whole number of steps, never half of one (whose event id, saved without the
ticket it issued, would make the event a duplicate when read again)."""

from collections.abc import Callable, Iterable, MutableMapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from rules.office import Office
from rules.policy import Policy

_SEP = "\x1f"
# Both {office}␟{kind}␟{seq}␟{chunk}: {"n": chunks, "c": [[kind, key, value or None], ...]}.
JOURNAL = "j"  # the changes of step `seq`
SNAPSHOT = "S"  # the whole office after step `seq`
# Entries per chunk: a chunk stays far below the broker's largest message (1 MiB). A step of up to
# this many changes is one record; a larger one is whole only with all its chunks.
CHUNK = 1000
# A snapshot is written once the journal since the last holds this many changes, or as many as the
# office has entries: writing costs at most twice the changes, and a restore reads as much again.
SNAPSHOT_AFTER = 2000


def table_key(office_id: str, kind: str, key: str) -> str:
    return f"{office_id}{_SEP}{kind}{_SEP}{key}"


def _seq(seq: int) -> str:
    return f"{seq:012d}"  # sorts as the number does


@dataclass
class Written:
    """What the table holds of one office: the keys a snapshot will replace, and the step count."""

    seq: int = 0
    keys: list[str] = field(default_factory=list)
    changes: int = 0  # in the journal since the last complete snapshot
    size: int = 0  # the office's entries at the last rebuild or snapshot


def rebuild(entries: Iterable[tuple[str, str, Any]]) -> tuple[dict[tuple[str, str], Any], int]:
    """The entries of the state after the last whole step, and that step's number, from an office's
    table entries as (kind, rest of the key, value); entries of the old one-key-an-entry layout are
    the base when no snapshot is complete."""
    journal: dict[int, dict[int, Any]] = {}
    snapshots: dict[int, dict[int, Any]] = {}
    base: dict[tuple[str, str], Any] = {}
    for kind, rest, value in entries:
        if value is None:
            continue
        if kind in (JOURNAL, SNAPSHOT):
            seq, chunk = rest.split(_SEP)
            (journal if kind == JOURNAL else snapshots).setdefault(int(seq), {})[int(chunk)] = value
        else:
            base[(kind, rest)] = value
    whole = [s for s, chunks in snapshots.items() if _whole(chunks)]
    since = last = max(whole, default=0)
    if whole:
        base = {(kind, key): value for chunk in snapshots[since].values() for kind, key, value in chunk["c"]}
    for seq in sorted(s for s in journal if s > since):
        if not _whole(journal[seq]):  # the step a worker was killed writing: the last one
            break
        for chunk in journal[seq].values():
            for kind, key, value in chunk["c"]:
                base[(kind, key)] = value
        last = seq
    return {k: v for k, v in base.items() if v is not None}, last


def _whole(chunks: dict[int, Any]) -> bool:
    return len(chunks) == next(iter(chunks.values()))["n"]


def _chunked(office_id: str, kind: str, seq: int, entries: list[list[Any]]) -> list[tuple[str, Any]]:
    chunks = [entries[i : i + CHUNK] for i in range(0, len(entries), CHUNK)] or [[]]
    return [
        (table_key(office_id, kind, f"{_seq(seq)}{_SEP}{i}"), {"n": len(chunks), "c": chunk})
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
            found = [(k, *k[len(prefix) :].split(_SEP, 1)) for k in keys]
            entries, seq = rebuild((kind, rest, self.table.get(k)) for k, kind, rest in found)
            office = Office.restore(self.policies[office_id], self.wall, entries.items())
            journal = sum(
                len((self.table.get(k) or {}).get("c", ())) for k, kind, _ in found if kind == JOURNAL
            )
            self.written[office_id] = Written(seq, keys, journal, len(entries))
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
        writes = _chunked(office_id, JOURNAL, written.seq, step)
        written.keys += [name for name, _ in writes]
        written.changes += len(changes)
        if written.changes >= max(self.snapshot_after, written.size):
            writes += self._snapshot(office, written)
        for key, value in writes:
            if value is None:
                self.table.pop(key, None)
            else:
                self.table[key] = value
        return writes

    def _snapshot(self, office: Office, written: Written) -> list[tuple[str, Any]]:
        """The chunks first, then the entries they replace: a worker killed in between leaves either
        an incomplete snapshot (ignored) or a complete one beside entries it supersedes."""
        entries = [[kind, key, value] for (kind, key), value in office.entries().items()]
        writes = _chunked(office.policy.office_id, SNAPSHOT, written.seq, entries)
        names = [name for name, _ in writes]
        writes += [(name, None) for name in written.keys]
        written.keys, written.changes, written.size = names, 0, len(entries)
        return writes

    def forget(self) -> None:
        """After a rebalance another worker may have moved an office on: rebuild from the table."""
        self.cache.clear()
        self.written.clear()
