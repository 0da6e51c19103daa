"""Remembered local times are the zone's local times, and the memory stays bounded."""

from zoneinfo import ZoneInfo

from hypothesis import given
from hypothesis import strategies as st

from rules.clock import LocalTimes, local_time

# Around 2026 in zones with and without daylight saving, and one with a 30-minute shift.
instants = st.integers(1_760_000_000_000_000, 1_800_000_000_000_000)
zones = st.sampled_from(["Asia/Jakarta", "Asia/Jayapura", "America/New_York", "Australia/Lord_Howe"])


@given(zones, st.lists(instants, min_size=1, max_size=50))
def test_remembered_local_times_equal_the_zone_conversion(zone_name: str, ats: list[int]) -> None:
    zone = ZoneInfo(zone_name)
    times = LocalTimes(zone)
    for at in ats + ats:  # the second pass answers from memory
        got, want = times.at(at), local_time(at, zone)
        assert (got, got.utcoffset(), got.isoformat()) == (want, want.utcoffset(), want.isoformat())


def test_memory_is_bounded() -> None:
    times = LocalTimes(ZoneInfo("Asia/Jakarta"))
    for at in range(0, 10_000 * 1_000_000, 1_000_000):
        times.at(1_772_000_000_000_000 + at)
    assert len(times._known) <= 4096
