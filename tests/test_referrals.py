"""Pasal 5: complaints and automatic referrals to the Ombudsman liaison, with the office's evidence."""

from schemas.records import OmbudsmanReferral
from tests.builders import (
    BLITAR,
    _event,
    call,
    claim,
    clear,
    flag,
    issue,
    outage_end,
    outage_start,
    run,
    tick,
)

SECRET = "RAHASIA-PRIBADI-9124"


def complaint(complaint_id: str, ticket_id: str | None, when: str, category: str = "long_wait") -> dict:
    fields = {"complaint_id": complaint_id, "ticket_id": ticket_id, "category": category}
    return _event(
        "complaint_filed", when, BLITAR, None, **fields, channel="lapor.go.id", summary=f"{SECRET} waited"
    )


def referrals(records: list) -> list[OmbudsmanReferral]:
    return [r for r in records if isinstance(r, OmbudsmanReferral)]


def test_a_filed_complaint_carries_the_tickets_evidence_and_no_personal_text() -> None:
    records = run([
        issue("T1", "08:00", service="passport_replacement_lost"),
        flag("A-T1", "08:30", reason=f"{SECRET} suspicious documents"),
        clear("A-T1", "09:00"),
        outage_start("O1", "09:10"),
        outage_end("O1", "09:20"),
        outage_start("O2", "07:00"),  # before the ticket, never ended: it touches the wait too
        tick("10:30"),
        claim("C1", "T1", "10:31"),
        complaint("K1", "T1", "11:00"),
        tick("12:00"),
    ])  # fmt: skip
    filed = [r for r in referrals(records) if r.trigger == "complaint"]
    (ref,) = filed
    assert (ref.category, ref.complaint_id, ref.channel, ref.ticket_id) == (
        "long_wait",
        "K1",
        "lapor.go.id",
        "T1",
    )
    assert ref.evidence is not None
    assert [(d.outcome, d.reasons) for d in ref.evidence.decisions] == [
        ("ineligible", ["damaged_or_lost_passport", "system_outage"])
    ]
    assert [(c.claim_id, c.outcome) for c in ref.evidence.claims] == [("C1", "rejected")]
    assert [o.start.isoformat()[11:16] for o in ref.evidence.outages] == ["07:00", "09:10"]
    assert [
        (f.start.isoformat()[11:16], f.end.isoformat()[11:16]) for f in ref.evidence.review_flags if f.end
    ] == [("08:30", "09:00")]
    assert SECRET not in "".join(r.model_dump_json() for r in records)


def test_a_complaint_without_a_ticket_is_referred_without_evidence() -> None:
    (ref,) = referrals(run([tick("08:00"), complaint("K2", None, "09:00", "officer_conduct"), tick("10:00")]))
    assert (ref.category, ref.ticket_id, ref.evidence) == ("officer_conduct", None, None)


def test_a_revocation_is_referred_automatically() -> None:
    records = run([issue("T1", "08:00"), tick("10:30"), call("T1", "09:50")])  # the late call revokes
    (ref,) = referrals(records)
    assert (ref.category, ref.trigger, ref.ticket_id) == ("auto", "revoked", "T1")
    assert ref.evidence is not None
    assert [d.outcome for d in ref.evidence.decisions] == ["eligible", "revoked"]


def test_a_claim_rejected_after_a_late_wait_is_referred_but_not_one_served_in_time() -> None:
    late = run(
        [issue("T1", "08:00", channel="walk_in"), tick("10:30"), claim("C1", "T1", "10:31"), tick("11:00")]
    )
    (ref,) = referrals(late)
    assert (ref.trigger, ref.ticket_id) == ("claim_rejected_after_late_wait", "T1")
    in_time = run([issue("T2", "08:00"), call("T2", "09:00"), claim("C2", "T2", "09:30"), tick("11:00")])
    assert referrals(in_time) == []


def test_referral_ids_are_deterministic_and_distinct() -> None:
    events = [issue("T1", "08:00", channel="walk_in"), tick("10:30"), claim("C1", "T1", "10:31"),
              complaint("K1", "T1", "10:40"), tick("11:00")]  # fmt: skip
    first, second = referrals(run(events)), referrals(run(events))
    assert [r.referral_id for r in first] == [r.referral_id for r in second]
    assert len({r.referral_id for r in first}) == len(first) == 2
