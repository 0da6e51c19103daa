"""The worker's desk between Kafka and the core: clocks held while partitions move or topics are unheard."""

from typing import Any

import orjson

from schemas.records import OfficeStatus
from streams.desk import Desk
from streams.policies import shipped_policies
from streams.reading import Signal
from streams.state import OfficeStates
from tests.builders import BLITAR, fixed_wall, issue

POLICIES = shipped_policies()
TICK = Signal(BLITAR)


def _desk() -> Desk:
    table: dict[str, Any] = {}
    states = OfficeStates({p.office_id: p for p in POLICIES}, table, fixed_wall)
    return Desk(POLICIES, states, fixed_wall, idle_topic_s=60.0, status_interval_s=0.0)


def test_a_new_office_heard_on_one_topic_keeps_its_clock_unset_until_the_others_are() -> None:
    desk = _desk()
    handled = desk.on_input("queue.tickets", 0, 0, orjson.dumps(issue("H1", fixed_wall())))
    desk.save(handled)
    (status,) = [r for r in desk.on_signal(TICK).records if isinstance(r, OfficeStatus)]
    assert status.clock is None, "held: the other input topics may still deliver earlier events"


def test_no_clock_moves_between_a_revocation_and_the_records_flowing_again() -> None:
    desk = _desk()
    desk.idle_topic_s = 0.0  # every topic counts as idle: nothing holds the clock but the rebalance
    desk.save(desk.on_input("queue.tickets", 0, 0, orjson.dumps(issue("H1", fixed_wall()))))
    office = desk.states.get(BLITAR)
    before = office.clock.now
    desk.on_rebalance()
    desk.save(desk.on_signal(TICK))
    assert desk.states.get(BLITAR).clock.now == before
    desk.on_resume()
    desk.save(desk.on_signal(TICK))
    assert desk.states.get(BLITAR).clock.now is not None
