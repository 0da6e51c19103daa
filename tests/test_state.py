"""The worker's state table: a worker killed between any two changelog records leaves whole steps."""

from collections.abc import Iterator, MutableMapping
from typing import Any

import orjson
import pytest

from rules.entries import readable
from rules.office import Office
from rules.ticket import Ticket
from schemas.records import Record
from streams.commands.policies import shipped_policies
from streams.commands.simulate import office_day
from streams.worker import state
from streams.worker.state import JOURNAL, SNAPSHOT, OfficeStates, table_key
from tests.builders import BLITAR, DAY, canonical, fixed_wall, model
from tests.kafka import hostile_state

POLICIES = {p.office_id: p for p in shipped_policies()}


class Changelog(MutableMapping[bytes, bytes]):
    """A table that keeps every write in order, as its changelog topic does."""

    def __init__(self, writes: list[tuple[bytes, bytes | None]] | None = None) -> None:
        self.writes: list[tuple[bytes, bytes | None]] = []
        self.latest: dict[bytes, bytes] = {}
        for key, value in writes or []:
            self[key] = value

    def __getitem__(self, key: bytes) -> bytes:
        return self.latest[key]

    def __setitem__(self, key: bytes, value: bytes | None) -> None:
        self.writes.append((key, value))
        if value is None:
            self.latest.pop(key, None)
        else:
            self.latest[key] = value

    def __delitem__(self, key: bytes) -> None:
        self[key] = None

    def __iter__(self) -> Iterator[bytes]:
        return iter(self.latest)

    def __len__(self) -> int:
        return len(self.latest)


def _kind(key: bytes) -> str:
    return key.decode().split("\x1f")[1]


def _copy(office: Office) -> dict[tuple[str, str], Any]:
    return {k: orjson.loads(orjson.dumps(v)) for k, v in office.entries().items()}


def _day() -> list[Any]:
    return [model(e) for e in office_day(POLICIES[BLITAR], DAY, applicants=30, seed=3)]


class Run:
    """The events run one step each: the state and records after each step, and the index of the
    journal write that ended it (None when the step changed nothing)."""

    def __init__(self, events: list[Any], snapshot_after: int) -> None:
        self.table = Changelog()
        states = OfficeStates(POLICIES, self.table, fixed_wall, snapshot_after=snapshot_after)
        self.after = [_copy(states.get(BLITAR))]
        self.journal: list[int | None] = [None]
        self.records: list[list[Record]] = [[]]
        for event in events:
            office = states.get(BLITAR)
            self.records.append(office.receive(event).records)
            written = len(self.table.writes)
            states.save(office)
            writes = self.table.writes
            steps = [
                i for i in range(written, len(writes)) if writes[i][1] and _kind(writes[i][0]) == JOURNAL
            ]
            self.journal.append(steps[-1] if steps else None)
            self.after.append(_copy(office))

    def steps_in(self, cut: int) -> int:
        """The steps whole in the first `cut` writes: those whose last journal chunk is among them."""
        return max(i for i, at in enumerate(self.journal) if i == 0 or (at is not None and at < cut))


@pytest.mark.parametrize(
    ("snapshot_after", "chunk", "slots"),
    [(25, 1000, 4096), (10_000, 1000, 4096), (25, 2, 4096), (10_000, 2, 5)],
)
def test_a_restore_from_any_prefix_of_the_changelog_holds_whole_steps(
    snapshot_after: int, chunk: int, slots: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(state, "CHUNK", chunk)  # 2: a step of several records, whole only with all
    monkeypatch.setattr(state, "JOURNAL_SLOTS", slots)  # 5: slots used again, a snapshot before each
    run = Run(_day(), snapshot_after)
    assert all(value is not None for _, value in run.table.writes), "a slot is overwritten, never deleted"
    if chunk == 2:
        assert any(_kind(k) == JOURNAL and not k.endswith(b"\x1f0") for k, _ in run.table.writes)
    kinds = {_kind(key) for key, _ in run.table.writes}
    assert JOURNAL in kinds and (SNAPSHOT in kinds) == (snapshot_after < 100 or slots < 100)
    for cut in range(len(run.table.writes) + 1):
        restored = OfficeStates(POLICIES, Changelog(run.table.writes[:cut]), fixed_wall).get(BLITAR)
        assert _copy(restored) == run.after[run.steps_in(cut)], f"cut at write {cut}"


@pytest.mark.parametrize("chunk", [1000, 2])
def test_a_worker_killed_mid_write_and_started_again_publishes_what_one_run_does(
    chunk: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """At least once: the restarted worker reads again from a few events back; those are duplicates
    in the state, the rest is applied, and the records are those of the uncut run."""
    monkeypatch.setattr(state, "CHUNK", chunk)
    events = _day()
    run = Run(events, snapshot_after=25)
    for cut in range(1, len(run.table.writes), 3):
        table = Changelog(run.table.writes[:cut])
        states = OfficeStates(POLICIES, table, fixed_wall, snapshot_after=25)
        whole = run.steps_in(cut)
        got: list[Record] = []
        for event in events[max(0, whole - 3) :]:
            office = states.get(BLITAR)
            got += office.receive(event).records
            states.save(office)
        expected = [r for step in run.records[whole + 1 :] for r in step]
        assert [canonical(r) for r in got] == [canonical(r) for r in expected], f"cut at write {cut}"
        assert _copy(states.get(BLITAR)) == run.after[-1], f"cut at write {cut}"
        # Restored again: the step rewritten after the cut must not mix with what the cut left of it.
        again = OfficeStates(POLICIES, Changelog(table.writes), fixed_wall).get(BLITAR)
        assert _copy(again) == run.after[-1], f"cut at write {cut}, restored twice"


def test_entries_of_the_old_layout_are_the_base_until_a_snapshot_replaces_them() -> None:
    office = Office(POLICIES[BLITAR], fixed_wall)
    for event in _day()[:40]:
        office.receive(event)
    table = Changelog()
    for (kind, key), value in office.entries().items():
        table[table_key(BLITAR, kind, key)] = orjson.dumps(value)
    states = OfficeStates(POLICIES, table, fixed_wall, snapshot_after=5)
    restored = states.get(BLITAR)
    assert _copy(restored) == _copy(office)
    for event in _day()[40:60]:
        office.receive(event)
        restored.receive(event)
        states.save(restored)
    assert not any(_kind(k) not in (JOURNAL, SNAPSHOT) for k in table.latest)
    assert _copy(OfficeStates(POLICIES, table, fixed_wall).get(BLITAR)) == _copy(office)


def test_a_step_written_again_in_fewer_chunks_after_a_kill_is_restored_whole(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The next worker batches the records it reads again its own way: its rewrite of the step a kill
    cut short may need fewer chunks, and a restore must not take the cut write's leftovers for part of it."""
    monkeypatch.setattr(state, "CHUNK", 2)
    events = _day()[:12]
    first = Changelog()
    states = OfficeStates(POLICIES, first, fixed_wall, snapshot_after=10_000)
    office = states.get(BLITAR)
    for event in events:
        office.receive(event)
    states.save(office)  # one step of twelve events
    assert len(first.writes) >= 4, "the step needs several chunks"
    table = Changelog(first.writes[:-1])  # killed before its last chunk
    states = OfficeStates(POLICIES, table, fixed_wall, snapshot_after=10_000)
    again = states.get(BLITAR)
    assert _copy(again) == _copy(Office(POLICIES[BLITAR], fixed_wall)), "the cut step is not applied"
    for event in events:  # one step an event this time: the first rewrites step 1, in fewer chunks
        again.receive(event)
        states.save(again)
    assert _copy(again) == _copy(office)
    restored = OfficeStates(POLICIES, Changelog(table.writes), fixed_wall).get(BLITAR)
    assert _copy(restored) == _copy(office)


def test_a_restore_skips_and_counts_what_is_no_state_and_restores_the_rest() -> None:
    run = Run(_day(), snapshot_after=25)
    clean = OfficeStates(POLICIES, Changelog(run.table.writes), fixed_wall).get(BLITAR)
    hostile, skipped = hostile_state(BLITAR)
    skips: list[tuple[str, str]] = []
    mixed = Changelog(run.table.writes[:7] + hostile + run.table.writes[7:])
    restored = OfficeStates(POLICIES, mixed, fixed_wall, on_unreadable=lambda *why: skips.append(why)).get(
        BLITAR
    )
    assert _copy(restored) == _copy(clean)
    assert len(skips) == skipped and {office for office, _ in skips} == {BLITAR}
    assert {reason for _, reason in skips} == {
        "key_not_utf8",
        "not_json",
        "not_a_chunk",
        "wrong_slot",
        "not_an_entry",
    }


def _ticket(**fields: Any) -> list[Any]:
    office = Office(POLICIES[BLITAR], fixed_wall)
    for event in _day()[:20]:
        office.receive(event)
    (entry,) = [v for (kind, _), v in office.entries().items() if kind == "t"][:1]
    names = list(Ticket.__slots__)
    return [
        fields.get(name, value) for name, value in zip(names, orjson.loads(orjson.dumps(entry)), strict=True)
    ]


@pytest.mark.parametrize(
    ("kind", "key", "value"),
    [
        ("t", "T", {"deadline": "tomorrow"}),
        ("t", "T", {"deadline": 10**30}),  # past any local time: the rules would overflow on it
        ("t", "T", {"smart_registered": 1}),
        ("t", "T", {"service_day": "2026-02-30"}),
        ("t", "T", {"outcome": "eligible", "decided_at": None}),  # a revocation would need both
        ("t", "T", {"outcome": "maybe"}),
        ("t", "T", {"claims": [["c1", "granted", [], "noon"]]}),
        ("clock", "", [1, "x"]),
        ("o", "k", [None, None]),
        ("r", "A", [["x"], []]),
        ("p", "not-a-day", 3),
        ("p", "2026-03-02", -1),
        ("b", "E", {"type": "ticket_teleported"}),
        ("e", "E", True),
        ("unknown", "", 1),
    ],
)
def test_an_entry_the_rules_could_not_work_on_is_not_readable(kind: str, key: str, value: Any) -> None:
    entry = _ticket(**value) if kind == "t" else value
    assert not readable(kind, key, entry)


def test_every_entry_an_office_writes_is_readable() -> None:
    office = Office(POLICIES[BLITAR], fixed_wall)
    for event in _day():
        office.receive(event)
    entries = {k: orjson.loads(orjson.dumps(v)) for k, v in office.entries().items()}
    assert {kind for kind, _ in entries} >= {"clock", "t", "o", "r", "p", "s", "e", "b"}
    assert [k for k, v in entries.items() if not readable(*k, v)] == []
