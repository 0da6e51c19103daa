"""The worker's desk between Kafka and the core: clocks held while partitions move, while an input
partition may still deliver an earlier event, and while a `*` event's copy is on its way."""

import math
from typing import Any

import orjson

from rules.clock import instant
from schemas.records import CompensationDecision, OfficeStatus
from schemas.topics import SYSTEM_STATUS, TICKETS
from streams.commands.policies import shipped_policies
from streams.reading import Signal, decode_signal
from streams.worker.broadcasts import Broadcasts
from streams.worker.desk import Desk, Handled
from streams.worker.state import OfficeStates
from tests.builders import (
    BLITAR,
    JAKARTA,
    MAKASSAR,
    SINGARAJA,
    at,
    call,
    fixed_wall,
    issue,
    model,
    outage_start,
)

POLICIES = shipped_policies()
TICK = Signal(BLITAR)
BLITAR_KEY = BLITAR.encode()


class Consumer:
    """What a consumer knows of each partition: (handed over, position, high-water mark)."""

    def __init__(self) -> None:
        self.standing: dict[tuple[str, int], tuple[int | None, int | None, int | None]] = {}

    def __call__(self, topic: str, partition: int) -> tuple[int | None, int | None, int | None, None]:
        return (*self.standing.get((topic, partition), (None, 0, 0)), None)


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def _desk(consumer: Any = None, clock: Clock | None = None, broadcasts: Broadcasts | None = None) -> Desk:
    table: dict[str, Any] = {}
    states = OfficeStates({p.office_id: p for p in POLICIES}, table, fixed_wall)
    clock = clock or Clock()
    return Desk(
        POLICIES, states, fixed_wall, max_idle_s=3.0, status_interval_s=0.0,
        standing=consumer or Consumer(), broadcasts=broadcasts or Broadcasts(clock, as_of=math.inf),
        monotonic=clock,
    )  # fmt: skip


def _clock_of(desk: Desk) -> Any:
    (status,) = [r for r in desk.on_signal(TICK, 0).records if isinstance(r, OfficeStatus)]
    return status.clock


def test_a_partition_not_fetched_since_the_assignment_holds_the_clock_unset() -> None:
    consumer = Consumer()
    consumer.standing[("claims.requests", 0)] = (None, None, None)
    clock = Clock()
    desk = _desk(consumer, clock)
    desk.save(desk.on_input(TICKETS, 0, 0, orjson.dumps(issue("H1", at("08:00"))), key=BLITAR_KEY))
    clock.now += 60
    assert _clock_of(desk) is None, "held: the claims partition may still deliver earlier events"
    consumer.standing[("claims.requests", 0)] = (None, 0, 0)  # fetched: empty, caught up
    clock.now += 2.9
    assert _clock_of(desk) is None, "caught up, but not yet quiet for max_idle"
    clock.now += 0.2
    assert _clock_of(desk) is not None


def test_a_partition_behind_its_mark_bounds_the_clock_by_its_last_event() -> None:
    consumer = Consumer()
    clock = Clock()
    desk = _desk(consumer, clock)
    desk.save(
        desk.on_input("claims.requests", 0, 0, orjson.dumps(call("nobody", at("08:30"))), key=BLITAR_KEY)
    )
    consumer.standing[("claims.requests", 0)] = (1, 1, 5)  # four claims on the broker, not fetched
    clock.now += 10
    desk.save(desk.on_input(TICKETS, 0, 0, orjson.dumps(issue("H1", at("08:00"))), key=BLITAR_KEY))
    desk.save(desk.on_input(TICKETS, 0, 1, orjson.dumps(issue("H2", at("12:00"))), key=BLITAR_KEY))
    office = desk.states.get(BLITAR)
    assert office.clock.now == instant(at("08:29"))  # 08:30 less the minute of lateness
    for offset in range(1, 5):  # the four turn out to be unreadable: dead letters carry no time
        desk.save(desk.on_input("claims.requests", 0, offset, b"[1, 2, 3]", key=BLITAR_KEY))
    consumer.standing[("claims.requests", 0)] = (5, 5, 5)
    clock.now += 3.1
    decided = [r for r in desk.on_signal(TICK, 0).records if isinstance(r, CompensationDecision)]
    assert [d.ticket_id for d in decided] == ["H1"], "H1's deadline passed once the claims caught up"


def test_no_clock_moves_between_a_revocation_and_the_records_flowing_again() -> None:
    clock = Clock()
    desk = _desk(clock=clock)
    desk.save(desk.on_input(TICKETS, 0, 0, orjson.dumps(issue("H1", at("08:00"))), key=BLITAR_KEY))
    clock.now += 10
    desk.save(desk.on_input(TICKETS, 0, 1, orjson.dumps(issue("H2", at("09:00"))), key=BLITAR_KEY))
    before = desk.states.get(BLITAR).clock.now
    assert before is not None
    desk.on_rebalance()
    clock.now += 10
    desk.save(desk.on_signal(TICK, 0))
    assert desk.states.get(BLITAR).clock.now == before
    desk.on_resume()
    clock.now += 10
    desk.save(desk.on_signal(TICK, 0))
    assert desk.states.get(BLITAR).clock.now > before


def test_a_broadcast_seen_on_the_status_topic_holds_the_clock_until_its_copy_arrives() -> None:
    clock = Clock()
    broadcasts = Broadcasts(clock)
    broadcasts.restart([0])
    nationwide = outage_start("N1", at("09:00"), office="*")
    broadcasts.read(0, 0, model(nationwide))
    broadcasts.stand(0, 1, 1)
    broadcasts.as_of = math.inf  # as if the reader had just fetched
    desk = _desk(clock=clock, broadcasts=broadcasts)
    desk.save(desk.on_input(TICKETS, 0, 0, orjson.dumps(issue("H1", at("08:00"))), key=BLITAR_KEY))
    clock.now += 10
    desk.save(desk.on_input(TICKETS, 0, 1, orjson.dumps(issue("H2", at("12:00"))), key=BLITAR_KEY))
    office = desk.states.get(BLITAR)
    assert office.clock.now == instant(at("09:00")) - 1, "the copy of N1 is still on its way"
    (_, copy), *_ = desk.on_input(SYSTEM_STATUS, 1, 0, orjson.dumps(nationwide), key=b"*").signals
    signal = decode_signal(BLITAR.encode(), copy, desk.policies, None, fixed_wall())
    assert isinstance(signal, Signal)
    handled = desk.on_signal(signal, 0)
    assert not handled.late
    decided = [r for r in handled.records if isinstance(r, CompensationDecision)]
    assert [(d.ticket_id, d.outcome) for d in decided] == [("H1", "suppressed")]


def test_records_handed_over_and_never_applied_are_found_dropped_after_a_while() -> None:
    consumer = Consumer()
    clock = Clock()
    desk = _desk(consumer, clock)
    desk.save(desk.on_input(TICKETS, 0, 0, orjson.dumps(issue("H1", at("08:00"))), key=BLITAR_KEY))
    fetched = fixed_wall().timestamp()
    standing = {TICKETS: (256, 256, 256, fetched)}  # 255 more handed over with the first

    def stand(topic: str, partition: int) -> tuple[int | None, int | None, int | None, float | None]:
        return standing.get(topic, (None, 0, 0, None))

    desk.standing = stand

    def dropped() -> tuple[str, int, int, int] | None:
        return desk.dropped([(TICKETS, 0), (SYSTEM_STATUS, 3)], after_s=10.0)

    clock.now += 9.0
    assert dropped() is None, "the agent may still be working through them"
    clock.now += 2.0
    assert dropped() is None, "fetched at the wall clock's now: not yet 10 s ago"
    standing[TICKETS] = (256, 256, 256, fetched - 11.0)
    assert dropped() == (TICKETS, 0, 1, 256)
    desk.save(desk.on_input(TICKETS, 0, 1, orjson.dumps(issue("H2", at("08:01"))), key=BLITAR_KEY))
    assert dropped() is None, "one applied: they are coming"
    standing[SYSTEM_STATUS] = (4, 4, 4, fetched - 11.0)  # none of them ever applied
    assert dropped() == (SYSTEM_STATUS, 3, 0, 4)
    desk.applied_before(SYSTEM_STATUS, 3, 4)  # below the group's committed offset: an earlier owner's
    assert dropped() is None


def test_a_step_of_many_events_writes_one_changelog_record_per_office_it_changed() -> None:
    desk = _desk()
    step = Handled()
    for n in range(40):
        for office, partition in ((BLITAR, 0), (SINGARAJA, 3)):
            when = at(f"08:{n:02d}", zone=JAKARTA if office == BLITAR else MAKASSAR)
            value = orjson.dumps(issue(f"{office}-{n}", when, office=office))
            step.add(desk.on_input(TICKETS, partition, n, value, key=office.encode()))
    writes = desk.save(step)
    assert sorted((partition, key.decode().split("\x1f")[:2]) for partition, key, _ in writes) == [
        (0, [BLITAR, "j"]), (3, [SINGARAJA, "j"])
    ]  # fmt: skip
    assert desk.save(Handled()) == [], "an empty step writes nothing"
