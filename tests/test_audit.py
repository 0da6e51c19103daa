"""The audit trail of a ticket: what is about it, in event-time order, personal text redacted.

The selection is tested on the pure `Trail` with the core's own records; one test reads it through
a worker's route from the embedded broker."""

import asyncio
import contextlib
import socket
import time
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any, get_args
from urllib.parse import quote
from zoneinfo import ZoneInfo

import orjson
import pytest

from schemas.events import Event
from schemas.topics import INPUT_TOPICS, REFERRALS, TOPIC_OF_TYPE
from streams.codec import encode, topic_of
from streams.commands.broker import start_broker
from streams.commands.feed import OutputReader, produce_paced, produce_raw
from streams.commands.supervise import WorkerProcess
from streams.web.audit import AUDITED_OUTPUTS, PERSONAL_TEXT, REDACTED, Entry, Trail, window
from tests.builders import (
    ALL,
    BLITAR,
    DAY,
    SINGARAJA,
    _event,
    at,
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
from tests.kafka import POLICY_DIR, office_key

MARKER = "RAHASIA-PRIBADI-5521"
GARBAGE = b'{"type":"nonsense","office_id":"kanim-blitar","ticket_id":"T1"}'


def complaint(complaint_id: str, ticket_id: str, when: str, event_id: str) -> dict[str, Any]:
    fields = {"complaint_id": complaint_id, "ticket_id": ticket_id, "category": "long_wait"}
    summary = f"{MARKER} waited all morning"
    return _event("complaint_filed", when, BLITAR, event_id, **fields, channel="lapor.go.id", summary=summary)


def scenario() -> list[dict[str, Any]]:
    """T1 waits past its deadline through an outage, is claimed for and complained about; around it,
    other tickets (one whose id starts with T1), other applicants' reviews, other offices' outages."""
    yesterday = DAY - timedelta(days=1)
    return [
        flag("A-T1", at("07:00", day=yesterday), reason=f"{MARKER} old case", event_id="old-flag"),
        clear("A-T1", at("07:30", day=yesterday), event_id="old-clear"),
        issue("T1", "08:00", event_id="t1-issue"),
        issue("T10", "08:02", event_id="t10-issue"),
        issue("T2", "08:05", event_id="t2-issue"),
        issue("T1", at("08:00", zone=ZoneInfo("Asia/Makassar")), office=SINGARAJA, event_id="other-office"),
        flag("A-T1", "08:30", reason=f"{MARKER} documents", event_id="t1-flag"),
        flag("A-T2", "08:40", reason=f"{MARKER} someone else", event_id="t2-flag"),
        call("T2", "09:00", event_id="t2-call"),
        clear("A-T1", "09:00", event_id="t1-clear"),
        outage_start("S1", "09:05", office=SINGARAJA, event_id="s1-start"),
        outage_start("O1", "09:10", event_id="o1-start"),
        outage_end("O1", "09:20", event_id="o1-end"),
        outage_start("N1", "09:30", office=ALL, event_id="n1-start"),
        outage_end("N1", "09:35", office=ALL, event_id="n1-end"),
        outage_end("S1", "09:50", office=SINGARAJA, event_id="s1-end"),
        tick("10:01"),
        claim("C1", "T1", "10:31", event_id="t1-claim"),
        complaint("K1", "T1", "11:00", event_id="t1-complaint"),
        tick("12:00"),
        outage_start("O2", "15:00", event_id="o2-start"),
        outage_end("O2", "15:10", event_id="o2-end"),
        tick("16:00"),
    ]


T1_INPUTS = ["t1-issue", "t1-flag", "t1-clear", "o1-start", "o1-end", "n1-start", "n1-end", "t1-claim",
             "t1-complaint"]  # fmt: skip
DECIDED_AT = {"compensation_decision": "decided_at", "priority_ticket_assigned": "assigned_at",
              "claim_decision": "decided_at", "ticket_at_risk": "at",
              "ombudsman_referral": "referred_at"}  # fmt: skip


def about(value: dict[str, Any], ticket_id: str) -> bool:
    if value.get("office_id") != BLITAR:
        return False
    return value.get("ticket_id") == ticket_id or (value.get("evidence") or {}).get("ticket_id") == ticket_id


def trail_of(events: list[dict[str, Any]], ticket_id: str, garbage: bytes = GARBAGE) -> list[Entry]:
    """Feeds the events and the core's records to a Trail, with made-up log coordinates."""
    offsets: Counter[str] = Counter()
    trail = Trail(BLITAR, ticket_id)

    def take(topic: str, value: bytes) -> None:
        trail.take(topic, 0, offsets[topic], 0, value, office_key(value))
        offsets[topic] += 1

    take("queue.tickets", garbage)
    for event in events:
        take(TOPIC_OF_TYPE[event["type"]], orjson.dumps(event))
    for record in run(events):
        take(topic_of(record), encode(record))
    return trail.entries()


def test_the_trail_holds_what_is_about_the_ticket_and_nothing_else() -> None:
    events = scenario()
    entries = trail_of(events, "T1")
    inputs = [e.record["event_id"] for e in entries if e.event is not None]
    assert sorted(inputs) == sorted(T1_INPUTS)
    outputs = Counter(orjson.dumps(e.record) for e in entries if e.event is None)
    expected = Counter(
        encode(r)
        for r in run(events)
        if topic_of(r) in AUDITED_OUTPUTS and about(r.model_dump(mode="json"), "T1")
    )
    assert outputs == Counter(orjson.dumps(orjson.loads(v)) for v in expected)
    kinds = Counter(e.record["type"] for e in entries if e.event is None)
    assert kinds["ombudsman_referral"] == 2, "the complaint's and the automatic one"
    assert {"compensation_decision", "claim_decision", "ticket_at_risk"} <= set(kinds)


def test_the_trail_is_in_event_time_order_inputs_first_at_the_same_instant() -> None:
    entries = trail_of(scenario(), "T1")
    keys = [(e.at, 0 if e.event is not None else 1) for e in entries]
    assert keys == sorted(keys)
    assert [e.record.get("event_id") for e in entries if e.event is not None] == T1_INPUTS
    (warning,) = [e for e in entries if e.record["type"] == "ticket_at_risk"]
    outage = next(i for i, e in enumerate(entries) if e.record.get("event_id") == "n1-start")
    assert entries[outage + 1] is warning, "09:30: the outage event, then the warning of the same instant"
    for e in entries:
        if e.event is None:
            assert e.at == datetime.fromisoformat(e.record[DECIDED_AT[e.record["type"]]])


def test_a_log_time_past_any_date_is_shown_as_none() -> None:
    """A producer stamps its records with any time it likes: one in the year 10000 answers, not 500."""
    trail = Trail(BLITAR, "T1")
    for n, event in enumerate(scenario()):
        stamp = 253_402_300_800_000 if n % 2 else 1_772_420_000_000
        trail.take(
            TOPIC_OF_TYPE[event["type"]], 0, n, stamp, orjson.dumps(event), event["office_id"].encode()
        )
    shown = [e.public()["logged_at"] for e in trail.entries()]
    assert None in shown and "2026-03-02T02:53:20+00:00" in shown


def test_personal_text_is_redacted_and_ids_are_kept() -> None:
    entries = trail_of(scenario(), "T1")
    text = orjson.dumps([e.public() for e in entries]).decode()
    assert MARKER not in text
    (flagged,) = [e.record for e in entries if e.record["type"] == "review_flagged"]
    (filed,) = [e.record for e in entries if e.record["type"] == "complaint_filed"]
    assert (flagged["reason"], flagged["applicant_id"]) == (REDACTED, "A-T1")
    assert (filed["summary"], filed["complaint_id"], filed["ticket_id"]) == (REDACTED, "K1", "T1")


def test_every_free_text_field_of_the_events_is_redacted() -> None:
    free_text = {
        name
        for model in get_args(get_args(Event)[0])
        for name, info in model.model_fields.items()
        if any(getattr(m, "max_length", None) == 2000 for m in info.metadata)
    }
    assert free_text == PERSONAL_TEXT == {"reason", "summary"}


def test_a_withdrawal_is_placed_with_the_revocation_that_caused_it() -> None:
    events = [issue("T3", "08:00", event_id="t3"), tick("10:30"), call("T3", "09:50", event_id="late")]
    entries = trail_of(events, "T3", garbage=b"")
    (revoked,) = [e for e in entries if e.record.get("outcome") == "revoked"]
    (withdrawn,) = [e for e in entries if e.record["type"] == "priority_ticket_withdrawn"]
    assert withdrawn.at == revoked.at == at("09:50")
    assert withdrawn.record["assigned_at"] == at("10:00").isoformat(), "the record itself is unchanged"
    assert [e.topic for e in entries if e.at == at("09:50") and e.event is None] == [
        "compensation.decisions",
        REFERRALS,
        "queue.priority-tickets",
    ]


def test_a_ticket_nobody_mentions_has_an_empty_trail() -> None:
    assert trail_of(scenario(), "T9") == []


def test_dates_are_office_days_in_the_offices_time_zone() -> None:
    since, until = window(date(2026, 3, 2), date(2026, 3, 2), ZoneInfo("Asia/Jakarta"))
    assert since == int(datetime(2026, 3, 1, 17, tzinfo=UTC).timestamp() * 1000)
    assert until == since + 86_400_000
    assert window(None, None, ZoneInfo("Asia/Jakarta")) == (None, None)


# --- Through a worker: the routes read the embedded broker's log; tokens never reach a log line. ---

STAFF = "staff-live-token-0123456789"
INSPECTOR = "inspector-live-token+/9876543210="
UNKNOWN = "unknown-live-token-5555555555"
JAKARTA = ZoneInfo("Asia/Jakarta")


@dataclass
class Live:
    worker: WorkerProcess
    records: list[tuple[str, dict[str, Any]]]
    log: Path

    def get(self, path: str, token: str | None = INSPECTOR, cookie: str | None = None) -> tuple[int, Any]:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        if cookie:
            headers["Cookie"] = f"kompensasi_token={quote(cookie, safe='')}"
        request = urllib.request.Request(f"http://127.0.0.1:{self.worker.web_port}{path}", headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=30) as r:
                return r.status, orjson.loads(r.read())
        except urllib.error.HTTPError as exc:
            return exc.code, orjson.loads(exc.read() or b"null")


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    tmp = tmp_path_factory.mktemp("audit")
    (tmp / "tokens").write_text(f"# rotated by the ops team\ninspector {INSPECTOR}\n")
    broker = start_broker()
    worker = WorkerProcess(
        broker.url, tmp / "w", [POLICY_DIR], log_path=tmp / "w.log",
        env={"KOMPENSASI_STAFF_TOKENS": STAFF, "KOMPENSASI_TOKENS_FILE": str(tmp / "tokens"),
             "KOMPENSASI_LOG_LEVEL": "debug"},
    )  # fmt: skip

    async def feed() -> list[tuple[str, dict[str, Any]]]:
        async with OutputReader(broker.address) as reader:
            await produce_raw(broker.address, [("queue.tickets", BLITAR.encode(), GARBAGE)])
            await produce_paced(broker.address, scenario(), chunk_s=600, pause_s=0.15)
            await reader.until_quiet(quiet_s=6, limit_s=90)
            return reader.records

    try:
        worker.start().wait_ready(90)
        yield Live(worker, asyncio.run(feed()), tmp / "w.log")
    finally:
        worker.stop()
        broker.stop()


def canonical(value: dict[str, Any]) -> bytes:
    return orjson.dumps(value, option=orjson.OPT_SORT_KEYS)


@pytest.mark.broker
def test_the_audit_route_reads_the_tickets_trail_from_the_log(live: Live) -> None:
    status, body = live.get("/audit/kanim-blitar/T1")
    assert status == 200
    entries = body["entries"]
    assert [e["record"]["event_id"] for e in entries if e["topic"] in INPUT_TOPICS] == T1_INPUTS
    published = Counter(canonical(v) for t, v in live.records if t in AUDITED_OUTPUTS and about(v, "T1"))
    assert Counter(canonical(e["record"]) for e in entries if e["topic"] not in INPUT_TOPICS) == published
    assert sum(published.values()) >= 5
    ats = [datetime.fromisoformat(e["at"]) for e in entries]
    assert ats == sorted(ats)
    assert MARKER not in orjson.dumps(body).decode()
    assert body["records_read"] > len(entries)


@pytest.mark.broker
def test_the_audit_trail_is_narrowed_by_the_days_its_records_were_written(live: Live) -> None:
    today = datetime.now(JAKARTA).date()
    _, everything = live.get("/audit/kanim-blitar/T1")
    _, written_today = live.get(f"/audit/kanim-blitar/T1?from={today}&to={today}")
    assert written_today["entries"] == everything["entries"]
    for query in (f"from={today + timedelta(days=1)}", f"to={today - timedelta(days=1)}"):
        status, body = live.get(f"/audit/kanim-blitar/T1?{query}")
        assert (status, body["entries"]) == (200, []), query


@pytest.mark.broker
def test_staff_and_the_inspector_read_the_referrals(live: Live) -> None:
    status, body = live.get("/offices/kanim-blitar/referrals", token=STAFF)
    assert status == 200
    published = {v["referral_id"]: v for t, v in live.records if t == REFERRALS and v["office_id"] == BLITAR}
    assert [r["referral_id"] for r in body["referrals"]] == sorted(
        published, key=lambda k: datetime.fromisoformat(published[k]["referred_at"]), reverse=True
    )
    assert {(r["trigger"], r["ticket_id"]) for r in body["referrals"]} >= {
        ("complaint", "T1"),
        ("claim_rejected_after_late_wait", "T1"),
    }
    assert MARKER not in orjson.dumps(body).decode()
    assert live.get("/offices/kanim-blitar/referrals", token=None, cookie=INSPECTOR) == (status, body)
    assert live.get("/offices/kanim-blitar/referrals", token=None)[0] == 401


@pytest.mark.broker
def test_the_operations_view_signs_in_with_a_token_in_chromium(live: Live) -> None:
    from playwright.sync_api import expect, sync_playwright

    from tests.test_board_browser import CHROMIUM, CHROMIUM_ARGS

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page()
            page.goto(f"http://127.0.0.1:{live.worker.web_port}/ops/kanim-blitar")
            page.fill("#token", UNKNOWN)
            page.press("#token", "Enter")
            expect(page.locator("#refused")).to_be_visible()
            page.fill("#token", INSPECTOR)
            page.press("#token", "Enter")
            expect(page.locator("#office")).to_contain_text("Blitar")
            expect(page.locator("body")).not_to_have_class("offline", timeout=5000)
            assert INSPECTOR not in page.url
            page.click("#sign-out")
            expect(page.locator("#sign-in")).to_be_visible()
        finally:
            browser.close()


@pytest.mark.broker
def test_no_token_reaches_a_log_line(live: Live) -> None:
    live.get("/offices/kanim-blitar/status", token=STAFF)
    live.get("/offices/kanim-blitar/status", token=None, cookie=INSPECTOR)
    assert live.get("/offices/kanim-blitar/status", token=UNKNOWN)[0] == 403
    assert live.get(f"/offices/kanim-blitar/status?token={STAFF}", token=None)[0] == 401
    post = urllib.request.Request(
        f"http://127.0.0.1:{live.worker.web_port}/audit/kanim-blitar/T1", method="POST", data=b"{}",
        headers={"Authorization": f"Bearer {INSPECTOR}"},
    )  # fmt: skip
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(post, timeout=5)
    assert refused.value.code == 405
    live.get("/audit/kanim-blitar/T2", token=STAFF)
    logs = live.log.read_text(errors="replace")
    assert '"outcome": "granted"' in logs and '"outcome": "unknown_token"' in logs
    assert '"event": "audit"' in logs
    for secret in (STAFF, INSPECTOR, quote(INSPECTOR, safe=""), UNKNOWN, MARKER):
        assert secret not in logs


def exchange(port: int, request: bytes) -> bytes:
    """One raw request on its own connection; what comes back until the server closes (5 s at most)."""
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        with contextlib.suppress(OSError):  # the server may close before it has read everything
            s.sendall(request)
        got = b""
        with contextlib.suppress(OSError):
            while chunk := s.recv(65536):
                got += chunk
    return got


@pytest.mark.broker
def test_oversized_and_malformed_requests_carry_no_token_into_a_log_line_or_an_answer(live: Live) -> None:
    route = "/offices/kanim-blitar/status"
    hostile = [
        # aiohttp logged the start of an over-8190-byte Cookie (the token first), and echoed it.
        f"GET {route} HTTP/1.1\r\nHost: x\r\nCookie: kompensasi_token={STAFF}; other={'x' * 8200}\r\n\r\n",
        f"GET {route} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {STAFF}{'A' * 9000}\r\n\r\n",
        f"GET {route} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {'A' * 8200}{STAFF}\r\n\r\n",
        f"GET {route}?token={STAFF}{'a' * 9000} HTTP/1.1\r\nHost: x\r\n\r\n",
        f"GET {route} HTTP/1.1\r\nHost: x\r\nX-Broken {STAFF}\r\n\r\n",
        f"GET {route} HTTP/1.1\r\nHost: x\r\nBad\x01Name: {STAFF}\r\n\r\n",
        f"G{STAFF} {route} HTTP/1.1\r\nHost: x\r\n\r\n",
        f"GET {route} HTTP/1.1\r\nHost: x\r\nBearer: {STAFF}\r\nContent-Length: x{STAFF}\r\n\r\n",
    ]
    port = live.worker.web_port
    answers = [exchange(port, r.encode("latin-1")) for r in hostile]
    secrets = (STAFF, quote(STAFF, safe=""))
    for request, answer in zip(hostile, answers, strict=True):
        assert answer.startswith((b"HTTP/1.0 400", b"HTTP/1.1 400")), (request[:40], answer[:60])
        assert not any(s.encode() in answer for s in secrets), request[:40]
        assert b"aiohttp" not in answer and b"Python/" not in answer
    time.sleep(0.5)  # the log lines of the last requests
    logs = live.log.read_text(errors="replace")
    assert not any(s in logs for s in secrets)
    assert "Error handling request" not in logs and "Traceback" not in logs
    assert logs.count('"event": "web_bad_request"') >= len(hostile)


@pytest.mark.broker
def test_bad_audit_dates_are_400_with_the_expected_format_never_500(live: Live) -> None:
    for query in ("to=9999-12-31", "from=0001-01-01", "from=1970-01-01", "from=20260302", "from=2026-W10-1",
                  "to=2026-02-30", "from=2026-03-05&to=2026-03-01"):  # fmt: skip
        status, body = live.get(f"/audit/kanim-blitar/T1?{query}")
        assert status == 400 and "YYYY-MM-DD" in body["error"], query
    assert "Traceback" not in live.log.read_text(errors="replace")


@pytest.mark.broker
def test_pages_carry_security_headers_and_the_server_no_version(live: Live) -> None:
    port = live.worker.web_port
    paths = {"/board/kanim-blitar": 200, "/public/kanim-blitar": 200, "/ops/kanim-blitar": 401,
             "/static/board.js": 200, "/": 404}  # fmt: skip
    for path, status in paths.items():
        request = urllib.request.Request(f"http://127.0.0.1:{port}{path}", headers={"Accept": "text/html"})
        try:
            with urllib.request.urlopen(request, timeout=10) as r:
                got, headers = r.status, r.headers
        except urllib.error.HTTPError as exc:
            got, headers = exc.code, exc.headers
        assert got == status, path
        assert headers["Server"] == "kompensasi", path
        assert headers["X-Content-Type-Options"] == "nosniff" and headers["X-Frame-Options"] == "DENY", path
        csp = headers["Content-Security-Policy"]
        assert (
            "frame-ancestors 'none'" in csp
            and "script-src 'self';" in csp
            and "unsafe-inline'" not in csp.split("script-src")[1].split(";")[0]
        ), path
