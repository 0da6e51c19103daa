"""Properties over generated office days: arrival order, one decision per ticket, restore from state."""

from collections import Counter
from datetime import datetime, timedelta
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rules.clock import instant
from rules.office import Office
from schemas.events import Event
from schemas.records import ClaimDecision, Record
from tests.builders import (
    ALL,
    BLITAR,
    LATENESS,
    Raw,
    assigned,
    at,
    call,
    canonical,
    canonical_set,
    claim,
    clear,
    close,
    decisions,
    fixed_wall,
    flag,
    issue,
    model,
    new_offices,
    outage_end,
    outage_start,
    policies,
    run,
    withdrawn,
)

START = at("08:00")
COARSE = 300  # seconds: 24 coarse steps are exactly the 2 h threshold
FINE = 20  # seconds: events less than 60 s apart may arrive in any order
LATENESS_US = int(LATENESS.total_seconds() * 1_000_000)
THRESHOLD_US = 7200 * 1_000_000
BLITAR_POLICY = next(p for p in policies() if p.office_id == BLITAR)

SETTINGS = settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


# ---- generating an office day -----------------------------------------------------------------


class Grid:
    """Times on a grid of whole coarse steps plus multiples of 20 s. Half of them land near a time
    already drawn (the same instant, or up to 40 s either side), so ties and near ties are common."""

    def __init__(self, draw: st.DrawFn) -> None:
        self.draw = draw
        self.anchors: list[datetime] = []

    def time(self, after: datetime | None = None, max_coarse: int = 60) -> datetime:
        draw = self.draw
        if self.anchors and draw(st.booleans()):
            base = draw(st.sampled_from(self.anchors))
            fine = draw(st.integers(-2, 2))
        else:
            base = (START if after is None else after) + timedelta(
                seconds=draw(st.integers(0, max_coarse)) * COARSE
            )
            fine = draw(st.integers(-2, 2) if after is not None else st.integers(0, 2))
        moment = max(START, base + timedelta(seconds=fine * FINE))
        self.anchors.append(moment)
        return moment


@st.composite
def office_days(draw: st.DrawFn) -> list[Raw]:
    """Events of kanim-blitar (and `*` outages), each with a unique event_id, in no particular order."""
    events: list[Raw] = []
    grid = Grid(draw)
    applicants = ["A1", "A2", "A3"]
    n = draw(st.integers(1, 6))
    tickets = [f"T{i}" for i in range(n)]
    for ticket in tickets:
        issued = grid.time(max_coarse=30)
        events.append(
            issue(
                ticket,
                issued,
                stage=draw(st.sampled_from(["biometric"] * 5 + ["verification"])),
                applicant=draw(st.sampled_from(applicants)),
                service=draw(
                    st.sampled_from(
                        ["passport_new"] * 3 + ["passport_replacement", "passport_replacement_lost", "visa"]
                    )
                ),
                channel=draw(st.sampled_from(["m_paspor", "online_queue", "online_queue", "walk_in"])),
                smart=draw(st.sampled_from([True, True, True, False])),
            )
        )
        if draw(st.booleans()):
            events.append(call(ticket, grid.time(issued, 36)))
        if draw(st.integers(0, 2)) == 0:
            outcome = draw(st.sampled_from(["served", "no_show", "cancelled"]))
            events.append(close(ticket, grid.time(issued, 36), outcome))
        for _ in range(draw(st.integers(0, 2))):
            events.append(claim(f"C{len(events)}", ticket, grid.time(issued, 40)))
    for i in range(draw(st.integers(0, 2))):
        scope = draw(st.sampled_from([BLITAR, BLITAR, ALL]))
        started = grid.time()
        events.append(outage_start(f"O{i}", started, office=scope))
        if draw(st.booleans()):
            # mostly after the start; sometimes an end before its start or of the other scope
            end = grid.time(started, 6) if draw(st.integers(0, 3)) else grid.time()
            events.append(
                outage_end(f"O{i}", end, office=draw(st.sampled_from([scope, scope, scope, BLITAR])))
            )
    for _ in range(draw(st.integers(0, 4))):
        who, when = draw(st.sampled_from(applicants)), grid.time()
        events.append(flag(who, when) if draw(st.booleans()) else clear(who, when))
    if draw(st.integers(0, 3)) == 0:
        events.append(claim("C-any", draw(st.sampled_from([*tickets, "TX"])), grid.time()))
    if draw(st.booleans()):
        events.append(dict(draw(st.sampled_from(events))))  # a duplicate delivery of one event
    return events


def occurred(event: Raw) -> int:
    return instant(datetime.fromisoformat(event["occurred_at"]))


def in_time_order(events: list[Raw]) -> list[Raw]:
    return [e for _, e in sorted(enumerate(events), key=lambda p: (occurred(p[1]), p[0]))]


def late_positions(arrival: list[Raw]) -> list[int]:
    """The contract's rule, on its own: an event is late iff its occurred_at is at or before the
    largest occurred_at seen before it from its office, minus the allowed lateness; `*` events and
    duplicates move no clock."""
    latest: int | None = None
    seen: set[str] = set()
    late = []
    for i, event in enumerate(arrival):
        if event["event_id"] in seen:
            continue
        seen.add(event["event_id"])
        at_ = occurred(event)
        if latest is not None and at_ <= latest - LATENESS_US:
            late.append(i)
        if event["office_id"] != ALL:
            latest = at_ if latest is None else max(latest, at_)
    return late


@st.composite
def in_time_arrivals(draw: st.DrawFn) -> tuple[list[Raw], list[Raw]]:
    """An office day and an arrival order in which no event is late: sorted by occurred_at plus a
    jitter of 0-59 s, ties in random order. Whatever arrives before an event occurred at most 59 s
    after it, so the office clock (latest minus 60 s) never reaches it."""
    events = draw(office_days())
    jitter = draw(st.lists(st.integers(0, 59), min_size=len(events), max_size=len(events)))
    ties = draw(st.permutations(range(len(events))))
    keys = [occurred(e) + j * 1_000_000 for e, j in zip(events, jitter, strict=True)]
    order = sorted(range(len(events)), key=lambda i: (keys[i], ties[i]))
    return events, [events[i] for i in order]


# ---- property 1: the invariant ----------------------------------------------------------------


def run_checked(arrival: list[Raw]) -> list[Record]:
    offices = new_offices()
    out: list[Record] = []
    for event in arrival:
        receipt = offices.receive(model(event))
        assert not receipt.late, f"core found {event['event_id']} late"
        out += receipt.records
    return out + offices.finish()


@SETTINGS
@given(in_time_arrivals())
def test_any_in_time_arrival_order_gives_the_records_of_the_sorted_order(
    case: tuple[list[Raw], list[Raw]],
) -> None:
    events, arrival = case
    assert late_positions(arrival) == []
    reference = run_checked(in_time_order(events))
    got = run_checked(arrival)
    assert canonical_set(got) == canonical_set(reference)
    assert Counter(map(canonical, got)) == Counter(map(canonical, reference))
    # nothing is late in time order, so nothing is ever revoked
    assert not any(d.outcome == "revoked" for d in decisions(reference))


@SETTINGS
@given(office_days(), st.randoms(use_true_random=False))
def test_sorted_orders_with_ties_shuffled_agree(events: list[Raw], rnd: Any) -> None:
    shuffled = list(events)
    rnd.shuffle(shuffled)
    assert canonical_set(run(in_time_order(shuffled))) == canonical_set(run(in_time_order(events)))


@SETTINGS
@given(office_days())
def test_late_position_rule_matches_the_core(events: list[Raw]) -> None:
    # the precise lateness rule used above agrees with what the core reports, for any order
    offices = new_offices()
    flagged = [i for i, e in enumerate(events) if offices.receive(model(e)).late]
    assert flagged == late_positions(events)


# ---- property 2: one primary decision, revocations only after eligible -------------------------


def check_decision_shape(events: list[Raw], records: list[Record], in_time: bool) -> None:
    biometric = {e["ticket_id"]: e for e in reversed(events) if e["type"] == "ticket_issued"}
    biometric = {t: e for t, e in biometric.items() if e["stage"] == "biometric"}
    by_ticket: dict[str, list[tuple[int, str]]] = {}
    for i, r in enumerate(records):
        if r.type == "compensation_decision":
            by_ticket.setdefault(r.ticket_id, []).append((i, r.outcome))
    assert set(by_ticket) <= set(biometric)
    for ticket, seq in by_ticket.items():
        primary = [(i, o) for i, o in seq if o != "revoked"]
        revoked = [(i, o) for i, o in seq if o == "revoked"]
        assert len(primary) <= 1, (ticket, seq)
        assert len(revoked) <= 1, (ticket, seq)
        if revoked:
            assert primary and primary[0][1] == "eligible", (ticket, seq)
            assert primary[0][0] < revoked[0][0], (ticket, seq)

    latest = max(occurred(e) for e in events if e["office_id"] != ALL)
    for ticket, event in biometric.items():
        if occurred(event) + THRESHOLD_US <= latest:
            assert any(o != "revoked" for _, o in by_ticket.get(ticket, [])), f"{ticket} undecided"

    eligible = {r.ticket_id for r in decisions(records) if r.outcome == "eligible"}
    revoked_ids = {r.ticket_id for r in decisions(records) if r.outcome == "revoked"}
    given_out = assigned(records)
    assert sorted(p.ticket_id for p in given_out) == sorted(eligible)
    assert len({(p.service_day, p.priority_no) for p in given_out}) == len(given_out)
    numbers = {p.ticket_id: p.priority_no for p in given_out}
    taken_back = withdrawn(records)
    assert sorted(w.ticket_id for w in taken_back) == sorted(revoked_ids)
    for w in taken_back:
        assert w.priority_no == numbers[w.ticket_id]

    claims = [r for r in records if isinstance(r, ClaimDecision)]
    submitted = {e["event_id"]: e["claim_id"] for e in events if e["type"] == "claim_submitted"}
    assert sorted(c.claim_id for c in claims) == sorted(submitted.values())
    for d in decisions(records):
        if d.outcome != "revoked" and in_time:
            # (late calls from before the issue break this: see test_boundaries.py)
            assert d.issued_at <= d.decided_at, d
            assert d.waited_s == (d.decided_at - d.issued_at) // timedelta(seconds=1), d
        assert (d.called_at is not None) == (d.outcome == "within_standard"), d
        if d.outcome in ("ineligible", "suppressed", "eligible"):
            assert d.waited_s == 7200 and d.decided_at - d.issued_at == timedelta(hours=2), d
        if d.outcome == "within_standard":
            assert d.called_at == d.decided_at and d.waited_s <= 7200, d
        assert (d.reasons == []) == (d.outcome in ("within_standard", "not_served", "eligible")), d

    if in_time:
        # (with late claims, see test_claims.py::test_a_late_earlier_claim_is_not_granted_twice)
        granted = Counter(c.ticket_id for c in claims if c.outcome == "granted")
        assert all(n == 1 for n in granted.values()), granted
    for c in claims:
        assert (c.outcome == "granted") == (c.reasons == [])
        assert (c.compensation != []) == (c.outcome == "granted")


@SETTINGS
@given(office_days().flatmap(st.permutations))
def test_any_arrival_order_gives_at_most_one_primary_and_one_revoked_decision(events: list[Raw]) -> None:
    check_decision_shape(events, run(events), in_time=not late_positions(events))


@SETTINGS
@given(in_time_arrivals())
def test_in_time_orders_have_the_same_shape(case: tuple[list[Raw], list[Raw]]) -> None:
    check_decision_shape(case[0], run(case[1]), in_time=True)


# ---- property 3: restoring an office from its state entries -------------------------------------


def receive_all(office: Office, events: list[Event]) -> list[Record]:
    out: list[Record] = []
    for event in events:
        out += office.receive(event).records
    return out


@SETTINGS
@given(office_days().flatmap(st.permutations), st.data())
def test_restoring_from_entries_mid_stream_changes_nothing(events: list[Raw], data: st.DataObject) -> None:
    stream = [model(e) for e in events]
    cuts = sorted(data.draw(st.lists(st.integers(0, len(stream)), min_size=1, max_size=3)))

    straight = Office(BLITAR_POLICY, fixed_wall)
    expected = receive_all(straight, stream) + straight.finish()

    office = Office(BLITAR_POLICY, fixed_wall)
    got: list[Record] = []
    done = 0
    for cut in cuts:
        got += receive_all(office, stream[done:cut])
        office = Office.restore(BLITAR_POLICY, fixed_wall, office.entries().items())
        done = cut
    got += receive_all(office, stream[done:]) + office.finish()

    assert [canonical(r) for r in got] == [canonical(r) for r in expected]
    assert office.entries() == straight.entries()


@SETTINGS
@given(office_days().flatmap(st.permutations), st.data())
def test_restoring_from_accumulated_changes_mid_stream_changes_nothing(
    events: list[Raw], data: st.DataObject
) -> None:
    stream = [model(e) for e in events]
    cuts = sorted(data.draw(st.lists(st.integers(0, len(stream)), min_size=1, max_size=3)))

    straight = Office(BLITAR_POLICY, fixed_wall)
    expected = receive_all(straight, stream) + straight.finish()

    office = Office(BLITAR_POLICY, fixed_wall)
    table: dict[tuple[str, str], Any] = {}  # a changelog-backed table: the latest value per key
    got: list[Record] = []
    done = 0
    for cut in cuts:
        for event in stream[done:cut]:
            got += office.receive(event).records
            if data.draw(st.booleans(), label="flush"):
                table.update(office.take_changes())
        table.update(office.take_changes())
        office = Office.restore(BLITAR_POLICY, fixed_wall, list(table.items()))
        office.take_changes()
        done = cut
    got += receive_all(office, stream[done:]) + office.finish()

    assert [canonical(r) for r in got] == [canonical(r) for r in expected]
    table.update(office.take_changes())
    assert {k: v for k, v in table.items() if v is not None} == office.entries() == straight.entries()
