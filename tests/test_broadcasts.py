"""As of when a worker knows the `*` events: the reader's last fetches, once it has read what they brought."""

import time

from streams.worker.broadcasts import Broadcasts
from tests.builders import at, model, outage_start


def reader_at(partitions: list[int]) -> Broadcasts:
    broadcasts = Broadcasts()
    broadcasts.restart(partitions)
    return broadcasts


def test_the_broadcasts_are_known_as_of_the_oldest_last_fetch_once_its_records_are_read() -> None:
    broadcasts = reader_at([0, 1])
    broadcasts.read(0, 0, model(outage_start("N1", at("09:00"), office="*")))
    assert broadcasts.known_after({0: (2_000, 1), 1: (1_500, 0)}) == 1.5


def test_a_fetch_that_brought_records_not_read_yet_or_no_fetch_at_all_says_nothing() -> None:
    broadcasts = reader_at([0, 1])
    broadcasts.read(0, 0, model(outage_start("N1", at("09:00"), office="*")))
    assert broadcasts.known_after({0: (2_000, 2), 1: (1_500, 0)}) is None, "offset 1 came, unread"
    assert broadcasts.known_after({0: (2_000, 1), 1: (None, None)}) is None, "1 never fetched"
    broadcasts.stand(0, 2, 2)  # read past a control record: the position is at the high-water mark
    assert broadcasts.known_after({0: (2_000, 2), 1: (1_500, 0)}) == 1.5


async def test_a_waiting_agent_moves_on_at_the_next_fetch_and_not_before() -> None:
    broadcasts = reader_at([0])
    fetches: list[tuple[int | None, int | None]] = [(None, None)] * 3
    broadcasts.probe = lambda: broadcasts.known_after({0: fetches.pop() if fetches else (9_000, 0)})
    await broadcasts.known_as_of(8.0, timeout_s=5.0)
    assert broadcasts.as_of == 9.0 and not fetches
    started = time.monotonic()
    await broadcasts.known_as_of(10.0, timeout_s=0.05)
    assert broadcasts.as_of == 9.0 and time.monotonic() - started >= 0.05
