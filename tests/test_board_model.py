"""The board's read model gives the same picture whatever order the topics are read in."""

import itertools

from streams.web.board import REFERRALS_KEPT, OfficeView

ASSIGNED = (
    "queue.priority-tickets",
    {
        "type": "priority_ticket_assigned",
        "office_id": "o",
        "priority_no": "K-001",
        "ticket_id": "T1",
        "ticket_no": "B-1",
        "service_day": "2026-03-02",
        "assigned_at": "2026-03-02T10:00:00+07:00",
    },
)
ASSIGNED_2 = (
    "queue.priority-tickets",
    {
        **ASSIGNED[1],
        "priority_no": "K-002",
        "ticket_id": "T2",
        "ticket_no": "B-2",
        "assigned_at": "2026-03-02T10:10:00+07:00",
    },
)
CALLED = (
    "queue.tickets",
    {
        "type": "service_called",
        "office_id": "o",
        "ticket_id": "T1",
        "counter": "L3",
        "occurred_at": "2026-03-02T10:05:00+07:00",
        "event_id": "e",
    },
)
STATUS = ("ops.office-status", {"type": "office_status", "office_id": "o", "service_day": "2026-03-02"})
DECIDED = (
    "compensation.decisions",
    {
        "type": "compensation_decision",
        "office_id": "o",
        "ticket_id": "T2",
        "service_day": "2026-03-02",
        "outcome": "eligible",
    },
)


def test_any_reading_order_shows_the_same_board() -> None:
    boards = set()
    for order in itertools.permutations([ASSIGNED, ASSIGNED_2, CALLED, STATUS, DECIDED]):
        view = OfficeView("o", "Office", "Asia/Jakarta")
        for topic, value in order:
            view.apply(topic, value)
        board = view.board()
        boards.add((tuple(w["priority_no"] for w in board["waiting"]), str(board["last_called"])))
    assert boards == {
        (("K-002",), str({"priority_no": "K-001", "counter": "L3", "at": "2026-03-02T10:05:00+07:00"}))
    }


def test_a_new_day_clears_yesterdays_board() -> None:
    view = OfficeView("o", "Office", "Asia/Jakarta")
    view.apply(*ASSIGNED)
    view.apply("ops.office-status", {**STATUS[1], "service_day": "2026-03-03"})
    assert view.board()["waiting"] == [] and view.board()["service_day"] == "2026-03-03"


def referral(n: int, at: str = "2026-03-02T10:00:00+07:00") -> tuple[str, dict]:
    return ("ombudsman.referrals", {"type": "ombudsman_referral", "office_id": "o", "referral_id": f"R{n}",
                                    "referred_at": at})  # fmt: skip


def test_referrals_are_kept_across_days_once_each_newest_first_up_to_a_limit() -> None:
    view = OfficeView("o", "Office", "Asia/Jakarta")
    view.apply(*referral(0, "2026-03-01T09:00:00+07:00"))
    view.apply("ops.office-status", {**STATUS[1], "service_day": "2026-03-03"})  # a new day
    assert not view.apply(*referral(1)), "nothing on the pages changes"
    view.apply(*referral(1))  # published twice
    assert [r["referral_id"] for r in view.referral_list()["referrals"]] == ["R1", "R0"]
    for n in range(2, REFERRALS_KEPT + 2):
        view.apply(*referral(n))
    kept = {r["referral_id"] for r in view.referral_list()["referrals"]}
    assert len(kept) == REFERRALS_KEPT and "R0" not in kept and "R1" not in kept
