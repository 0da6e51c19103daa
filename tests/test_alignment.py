"""The alignment rule alone (rules/alignment.py), and an office fed by it through any reading order."""

import math
import random

from hypothesis import given, settings
from hypothesis import strategies as st

from rules.alignment import Partition, align
from rules.clock import instant
from rules.office import Office
from schemas.topics import TOPIC_OF_TYPE
from streams.commands.simulate import office_day
from tests.builders import BLITAR, DAY, canonical_set, fixed_wall, model, policies, run

S = 1_000_000
LATENESS = 60 * S
IDLE = 3.0
INF = math.inf


def caught_up(latest: int | None, since: float = 0.0) -> Partition:
    return Partition(since=since, applied=10, delivered=10, position=10, highwater=10, latest=latest)


def test_a_partition_never_fetched_holds_the_clock_whole() -> None:
    got = align({"a": caught_up(100 * S), "b": Partition(since=0.0)}, [], INF, LATENESS, 500 * S, 99.0, IDLE)
    assert got.to is None


def test_a_partition_behind_its_high_water_mark_holds_at_its_last_event_less_lateness() -> None:
    behind = Partition(since=0.0, applied=4, delivered=4, position=4, highwater=9, latest=200 * S)
    got = align({"a": caught_up(900 * S), "b": behind}, [], INF, LATENESS, 800 * S, 99.0, IDLE)
    assert got.to == 200 * S - LATENESS
    assert behind.since == 99.0, "seen behind: its idle time starts again"


def test_records_handed_over_but_not_applied_hold_though_the_fetch_position_is_at_the_end() -> None:
    buffered = Partition(since=0.0, applied=4, delivered=9, position=9, highwater=9, latest=200 * S)
    assert align({"b": buffered}, [], INF, LATENESS, 800 * S, 99.0, IDLE).to == 200 * S - LATENESS


def test_a_position_past_a_trailing_marker_is_caught_up_though_offsets_stop_short() -> None:
    # The last record is offset 8; a transaction marker took offset 9: the mark is 10.
    marker = Partition(since=0.0, applied=9, delivered=9, position=10, highwater=10, latest=200 * S)
    assert marker.caught_up()
    assert align({"b": marker}, [], INF, LATENESS, 800 * S, 99.0, IDLE).to == 800 * S


def test_a_caught_up_partition_holds_until_it_has_been_quiet_for_max_idle() -> None:
    quiet = caught_up(200 * S, since=10.0)
    assert align({"b": quiet}, [], INF, LATENESS, 800 * S, 12.9, IDLE).to == 200 * S - LATENESS
    late = align({"b": quiet}, [], INF, LATENESS, 800 * S, 13.0, IDLE)
    assert late.to == 800 * S and late.overtaken == ("b",)


def test_an_empty_partition_caught_up_at_once_stops_holding_after_max_idle() -> None:
    empty = Partition(since=5.0, position=0, highwater=0)
    assert align({"e": empty}, [], INF, LATENESS, 800 * S, 7.0, IDLE).to is None
    assert align({"e": empty}, [], INF, LATENESS, 800 * S, 8.0, IDLE).to == 800 * S


def test_a_broadcast_on_its_way_keeps_the_clock_before_its_time() -> None:
    got = align({"a": caught_up(900 * S)}, [300 * S], INF, LATENESS, 800 * S, 99.0, IDLE)
    assert got.to == 300 * S - 1


def test_records_fetched_after_the_broadcasts_were_last_read_hold_the_clock() -> None:
    fetched = caught_up(900 * S)
    fetched.fetched_at = 50.0
    assert align({"a": fetched}, [], 49.9, LATENESS, 800 * S, 99.0, IDLE).to is None
    assert align({"a": fetched}, [], 50.0, LATENESS, 800 * S, 99.0, IDLE).to == 800 * S


def test_an_event_applied_restarts_the_quiet_time_and_a_dead_letter_does_not() -> None:
    p = caught_up(100 * S, since=0.0)
    p.apply(10, None, 50.0)
    assert p.since == 0.0 and p.latest == 100 * S
    p.apply(11, 300 * S, 60.0)
    assert p.since == 60.0 and p.latest == 300 * S and p.applied == 12


# ---- an office fed by a simulated consumer: any reading order gives replay's records ----------


def _day(seed: int) -> list[dict]:
    (policy,) = [p for p in policies() if p.office_id == BLITAR]
    return office_day(policy, DAY, applicants=25, seed=seed)


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 10_000), st.integers(0, 10_000))
def test_any_fetch_and_apply_order_gives_replays_records_and_no_late_event(day_seed: int, order: int) -> None:
    """Each topic is one partition; a random consumer fetches a random number of records of a random
    partition (its high-water mark then known), and applies what it fetched, partition by partition,
    in a random interleaving; the wall clock runs on meanwhile."""
    events = _day(day_seed)
    (policy,) = [p for p in policies() if p.office_id == BLITAR]
    rng = random.Random(order)
    topics = sorted(set(TOPIC_OF_TYPE.values()))
    log = {t: [e for e in events if TOPIC_OF_TYPE[e["type"]] == t] for t in topics}
    parts = {t: Partition(since=0.0) for t in topics}
    fetched: dict[str, list[dict]] = {t: [] for t in topics}
    office = Office(policy, fixed_wall)
    records = []
    now = 0.0
    while any(parts[t].applied != len(log[t]) for t in topics if log[t]):
        now += rng.choice((0.0, 0.01, 0.5, 2.0))
        topic = rng.choice(topics)
        if rng.random() < 0.4:
            part = parts[topic]
            start = part.position or 0
            fetched[topic] += log[topic][start : start + rng.randint(1, 30)]
            part.position = (part.applied or 0) + len(fetched[topic])
            part.highwater = len(log[topic])
            part.delivered = part.position
            continue
        if not fetched[topic]:
            continue
        event = fetched[topic].pop(0)
        part = parts[topic]
        receipt = office.receive(model(event), advance=False)
        assert not receipt.late, f"late: {event['type']} at {event['occurred_at']}"
        records += receipt.records
        part.apply((part.applied or 0), instant(model(event).occurred_at), now)
        target = office.clock.target()
        if target is not None:
            got = align(parts, [], INF, office.clock.lateness, target, now, IDLE)
            if got.to is not None and (office.clock.now is None or got.to > office.clock.now):
                records += office.advance_to(got.to)
    records += office.finish()
    assert canonical_set(records) == canonical_set(run(events))
