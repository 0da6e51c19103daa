"""`kompensasi report` on a generated 60-day log: every figure against counts made here from the
records and events, the HTML tables from the same numbers, and a PDF that renders."""

import itertools
import json
import re
import subprocess
from collections import Counter, defaultdict
from datetime import date, datetime, timedelta
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import orjson
import pytest
from playwright.sync_api import sync_playwright

from oversight import labels
from rules.policy import Policy
from streams.codec import replay_line
from streams.commands.cli import main
from streams.commands.policies import shipped_policies
from streams.commands.replay import replay
from streams.commands.simulate import closing_event, office_day
from tests.test_board_browser import CHROMIUM, CHROMIUM_ARGS

ARTIFACTS = Path(__file__).parent / "artifacts"
START = date(2026, 3, 1)
DAYS = 60
CATEGORIES = ("long_wait", "claim_rejected", "officer_conduct", "other")

Event = dict[str, Any]


def blitar() -> Policy:
    return next(p for p in shipped_policies() if p.office_id == "kanim-blitar")


def _stamp(day: date, hour: int, minute: int, zone: ZoneInfo) -> str:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=zone).isoformat()


def sixty_days(policy: Policy, applicants: int = 60) -> list[Event]:
    """Generated office days, with complaints, a nationwide outage overlapping the office's own, and
    late facts (an outage and a review flag after their time) that revoke eligible decisions."""
    zone = policy.zone
    events: list[Event] = []
    for d in range(DAYS):
        day = START + timedelta(days=d)
        today = office_day(policy, day, applicants=applicants, seed=d)
        tickets = [e for e in today if e["type"] == "ticket_issued" and e["stage"] == "biometric"]
        for n in range(d % 4):
            named = tickets[(n * 7 + d) % len(tickets)]["ticket_id"] if n % 2 == 0 else None
            today.append(
                {
                    "event_id": f"complaint/{day}/{n}",
                    "type": "complaint_filed",
                    "office_id": policy.office_id,
                    "occurred_at": _stamp(day, 15, 10 + n, zone),
                    "complaint_id": f"K/{day}/{n}",
                    "ticket_id": named,
                    "category": CATEGORIES[(d + n) % 4],
                    "channel": "lapor.go.id",
                    "summary": "saya menunggu terlalu lama",
                }
            )
        if d % 9 == 4:  # arrives after its time: the clock has passed it
            today += [
                {
                    "event_id": f"late-outage/{day}/s",
                    "type": "outage_started",
                    "office_id": policy.office_id,
                    "occurred_at": _stamp(day, 9, 0, zone),
                    "outage_id": f"late/{day}",
                    "system": "SMART",
                },
                {
                    "event_id": f"late-outage/{day}/e",
                    "type": "outage_ended",
                    "office_id": policy.office_id,
                    "occurred_at": _stamp(day, 9, 30, zone),
                    "outage_id": f"late/{day}",
                },
            ]
        if d % 11 == 3:
            today.append(
                {
                    "event_id": f"late-review/{day}",
                    "type": "review_flagged",
                    "office_id": policy.office_id,
                    "occurred_at": _stamp(day, 10, 0, zone),
                    "applicant_id": tickets[0]["applicant_id"],
                    "reason": "dokumen",
                }
            )
        if d == 20:  # a nationwide outage overlapping the office's own 11:00-11:40
            today += [
                {
                    "event_id": "nation/s",
                    "type": "outage_started",
                    "office_id": "*",
                    "occurred_at": _stamp(day, 11, 20, zone),
                    "outage_id": "nation",
                    "system": "SIMKIM",
                },
                {
                    "event_id": "nation/e",
                    "type": "outage_ended",
                    "office_id": "*",
                    "occurred_at": _stamp(day, 12, 5, zone),
                    "outage_id": "nation",
                },
            ]
        events += today
    events.append(closing_event(policy, START + timedelta(days=DAYS - 1)))
    return events


def records_of(events: list[Event], policy: Policy) -> list[dict[str, Any]]:
    return [orjson.loads(replay_line(r)) for r in replay([orjson.dumps(e) for e in events], [policy])]


def write_lines(path: Path, values: list[Any]) -> Path:
    path.write_bytes(b"".join(orjson.dumps(v) + b"\n" for v in values))
    return path


# ---- the figures, counted here from the records and the events --------------------------------


def nearest_rank(values: list[int], p: int) -> int | None:
    ordered = sorted(values)
    if not ordered:
        return None
    return ordered[max(0, -(-p * len(ordered) // 100) - 1)]


def expected(policy: Policy, events: list[Event], records: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    zone = policy.zone
    last = START + timedelta(days=DAYS - 1)

    def local(text: str) -> datetime:
        return datetime.fromisoformat(text).astimezone(zone)

    months: dict[str, dict[str, Any]] = defaultdict(lambda: defaultdict(Counter))
    waits: dict[str, list[int]] = defaultdict(list)
    decisions = {
        v["decision_id"]: v for v in (r["value"] for r in records) if v["type"] == "compensation_decision"
    }
    first_call: dict[str, datetime] = {}
    for e in events:
        if e["type"] == "service_called" or (e["type"] == "ticket_closed" and e["outcome"] == "served"):
            at = datetime.fromisoformat(e["occurred_at"])
            first_call[e["ticket_id"]] = min(at, first_call.get(e["ticket_id"], at))
    primary = {}
    for v in decisions.values():
        m = months[v["service_day"][:7]]
        m["outcomes"][v["outcome"]] += 1
        if v["outcome"] == "revoked":
            m["revoked_by"].update(v["reasons"])
            continue
        primary[v["ticket_id"]] = v
        if v["outcome"] == "suppressed":
            m["suppressed_by"].update(r for r in v["reasons"] if r in ("system_outage", "under_review"))
        if v["outcome"] == "within_standard":
            waits[v["service_day"][:7]].append(v["waited_s"])
        elif v["outcome"] != "not_served" and v["ticket_id"] in first_call:
            wait = first_call[v["ticket_id"]] - datetime.fromisoformat(v["issued_at"])
            waits[v["service_day"][:7]].append(int(wait.total_seconds()))
            m["n"]["joined"] += 1
    for v in (r["value"] for r in records):
        if v["type"] == "claim_decision":
            m = months[local(v["decided_at"]).date().isoformat()[:7]]
            m["claims"][v["outcome"]] += 1
            if v["outcome"] == "rejected":
                m["rejected_by"].update(v["reasons"])
        elif v["type"] == "ombudsman_referral":
            months[local(v["referred_at"]).date().isoformat()[:7]]["referrals"][v["category"]] += 1
        elif v["type"] == "ticket_at_risk":
            m = months[local(v["issued_at"]).date().isoformat()[:7]]
            m["warned"]["all"] += 1
            outcome = primary[v["ticket_id"]]["outcome"]
            ended = {"within_standard": "in_time", "not_served": "not_served"}.get(outcome, "late")
            m["warned"][ended] += 1
        elif v["type"].startswith("priority_ticket_"):
            months[v["service_day"][:7]]["priority"][v["type"].rsplit("_", 1)[1]] += 1
    # Outage hours: the minutes covered by any outage of the office or of `*`, by office-local month.
    starts: dict[str, datetime] = {}
    covered: set[datetime] = set()
    for e in events:
        if e["type"] == "outage_started" and e["office_id"] in ("*", policy.office_id):
            starts.setdefault(e["outage_id"], local(e["occurred_at"]))
            day = local(e["occurred_at"]).date()
            if START <= day <= last:
                months[day.isoformat()[:7]]["n"]["outages"] += 1
        elif e["type"] == "outage_ended" and e["outage_id"] in starts:
            minute = starts.pop(e["outage_id"])
            while minute < local(e["occurred_at"]):
                covered.add(minute)
                minute += timedelta(minutes=1)
    for minute in covered:
        months[minute.date().isoformat()[:7]]["n"]["outage_minutes"] += 1
    out = {}
    for label, m in months.items():
        o = m["outcomes"]
        within = o["within_standard"] + m["revoked_by"]["called_within_standard"]
        past = o["ineligible"] + o["suppressed"] + o["eligible"] - m["revoked_by"]["called_within_standard"]
        past -= m["revoked_by"]["closed_before_deadline"]
        w = m["warned"]
        out[label] = {
            "decisions": sum(o.values()) - o["revoked"],
            "outcomes": dict(o),
            "within_standard": within,
            "past_threshold": past,
            "share_within": within / (within + past),
            "waits": waits[label],
            "late_wait_unknown": o["ineligible"] + o["suppressed"] + o["eligible"] - m["n"]["joined"],
            "outage_hours": round(m["n"]["outage_minutes"] / 60, 2),
            "outages": m["n"]["outages"],
            "suppressed_by": dict(m["suppressed_by"]),
            "revoked_by": dict(m["revoked_by"]),
            "claims": dict(m["claims"]),
            "rejected_by": dict(m["rejected_by"]),
            "referrals": dict(m["referrals"]),
            "warned": dict(w),
            "prevention_rate": w["in_time"] / (w["in_time"] + w["late"]),
            "priority": dict(m["priority"]),
        }
    return out


def nonzero(d: dict[str, int]) -> dict[str, int]:
    return {k: v for k, v in d.items() if v}


class Tables(HTMLParser):
    """The cell texts of every table of a page, by the table's id."""

    def __init__(self) -> None:
        super().__init__()
        self.tables: dict[str, list[list[str]]] = {}
        self._table: str | None = None
        self._cell: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "table":
            self._table = dict(attrs).get("id")
            if self._table:
                self.tables[self._table] = []
        elif tag == "tr" and self._table:
            self.tables[self._table].append([])
        elif tag == "td" and self._table:
            self._cell = []

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)

    def handle_endtag(self, tag: str) -> None:
        if tag == "td" and self._table and self._cell is not None:
            self.tables[self._table][-1].append("".join(self._cell))
            self._cell = None
        elif tag == "table":
            self._table = None


def body_rows(html_text: str, table: str) -> dict[str, list[str]]:
    parser = Tables()
    parser.feed(html_text)
    return {row[0]: row[1:] for row in parser.tables[table] if row}


def pct(x: float) -> str:
    return f"{100 * x:.1f}%"


def test_every_figure_of_a_sixty_day_report_matches_counts_made_from_the_log(tmp_path: Path) -> None:
    policy = blitar()
    events = sixty_days(policy)
    records = records_of(events, policy)
    # At-least-once delivery: copies of records are dropped, not counted twice.
    output = write_lines(tmp_path / "out.jsonl", [*records, *records[100:160]])
    inputs = write_lines(tmp_path / "in.jsonl", events)
    out = tmp_path / "report"
    last = START + timedelta(days=DAYS - 1)
    code = main(
        [
            "report",
            "--office",
            policy.office_id,
            "--from",
            START.isoformat(),
            "--to",
            last.isoformat(),
            "--input",
            str(output),
            "--input",
            str(inputs),
            "--out",
            str(out),
        ]
    )
    assert code == 0
    want = expected(policy, events, records)
    figures = json.loads((out / "report.json").read_text())
    assert [m["label"] for m in figures["months"]] == sorted(want) == ["2026-03", "2026-04"]
    assert sum(w["outcomes"].get("revoked", 0) for w in want.values()) > 0, "the late facts revoke something"
    assert set().union(*(w["referrals"] for w in want.values())) == {*CATEGORIES, "auto"}
    for month in figures["months"]:
        w = want[month["label"]]
        assert month["decisions"] == w["decisions"]
        assert nonzero(month["outcomes"]) == w["outcomes"]
        assert (month["within_standard"], month["past_threshold"]) == (
            w["within_standard"],
            w["past_threshold"],
        )
        assert month["share_within"] == pytest.approx(w["share_within"])
        assert month["waits_known"] == len(w["waits"])
        assert month["late_wait_unknown"] == w["late_wait_unknown"]
        assert month["wait_percentiles"] == {str(p): nearest_rank(w["waits"], p) for p in (50, 90)}
        assert month["outage_hours"] == w["outage_hours"]
        assert month["outages"] == w["outages"]
        assert nonzero(month["suppressed_by"]) == w["suppressed_by"]
        assert nonzero(month["revoked_by"]) == w["revoked_by"]
        assert (month["claims_granted"], month["claims_rejected"]) == (
            w["claims"].get("granted", 0),
            w["claims"].get("rejected", 0),
        )
        assert nonzero(month["rejected_by"]) == w["rejected_by"]
        assert nonzero(month["referrals"]) == w["referrals"]
        assert month["warned"] == w["warned"]["all"]
        assert nonzero(month["warned_ended"]) == {k: v for k, v in w["warned"].items() if k != "all"}
        assert month["prevention_rate"] == pytest.approx(w["prevention_rate"])
        assert (month["priority_assigned"], month["priority_withdrawn"]) == (
            w["priority"].get("assigned", 0),
            w["priority"].get("withdrawn", 0),
        )
    all_waits = [x for w in want.values() for x in w["waits"]]
    edges = [round(i * policy.threshold_s / 8) for i in range(17)]
    bins = [
        sum(1 for x in all_waits if (lo < x or (i == 0 and x == 0)) and x <= hi)
        for i, (lo, hi) in enumerate(itertools.pairwise(edges))
    ]
    assert [n for _, _, n in figures["histogram"]] == [*bins, sum(1 for x in all_waits if x > edges[-1])]
    assert figures["total"]["decisions"] == sum(w["decisions"] for w in want.values())
    assert len(figures["days"]) == DAYS

    page = (out / "report.html").read_text()
    assert "data:image/png;base64," in page and "<script" not in page
    for label, w in want.items():
        o = w["outcomes"]
        assert body_rows(page, "outcomes")[label] == [
            *(
                str(o.get(k, 0))
                for k in ("within_standard", "not_served", "ineligible", "suppressed", "eligible", "revoked")
            ),
            str(w["priority"].get("assigned", 0)),
            str(w["priority"].get("withdrawn", 0)),
        ]
        p50, p90 = (nearest_rank(w["waits"], p) for p in (50, 90))
        assert body_rows(page, "standard")[label] == [
            str(w["decisions"]),
            str(w["within_standard"]),
            str(w["past_threshold"]),
            pct(w["share_within"]),
            f"{p50 / 60:.1f}",
            f"{p90 / 60:.1f}",
            str(w["late_wait_unknown"]),
        ]
        assert body_rows(page, "outages")[label] == [
            str(w["outages"]),
            f"{w['outage_hours']:.1f}",
            str(w["suppressed_by"].get("system_outage", 0)),
            str(w["revoked_by"].get("system_outage", 0)),
        ]
        assert body_rows(page, "referrals")[label] == [
            str(sum(w["referrals"].values())),
            *(str(w["referrals"].get(c, 0)) for c in (*CATEGORIES, "auto")),
        ]
        assert body_rows(page, "at_risk")[label] == [
            str(w["warned"]["all"]),
            *(str(w["warned"].get(k, 0)) for k in ("in_time", "late", "not_served")),
            "0",
            pct(w["prevention_rate"]),
        ]
        claims = w["claims"]
        assert body_rows(page, "claims")[label][:3] == [
            str(sum(claims.values())),
            str(claims.get("granted", 0)),
            str(claims.get("rejected", 0)),
        ]

    pdf = out / "report.pdf"
    assert pdf.read_bytes().startswith(b"%PDF")
    ARTIFACTS.mkdir(exist_ok=True)
    subprocess.run(
        [
            "pdftoppm",
            "-png",
            "-r",
            "80",
            "-f",
            "1",
            "-l",
            "1",
            "-singlefile",
            str(pdf),
            str(ARTIFACTS / "report-page1"),
        ],
        check=True,
        timeout=60,
    )
    assert (ARTIFACTS / "report-page1.png").stat().st_size > 10_000
    text = subprocess.run(
        ["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True, check=True
    ).stdout
    total = sum(w["decisions"] for w in want.values())
    assert "Laporan Evaluasi" in text and "Evaluation report" in text
    assert re.search(rf"Jumlah / Total\s+{total}\b", text), "the PDF's tables carry the same numbers"
    assert_labelled(text)
    html_text = (out / "report.html").read_text()
    assert "<caption>" in html_text and html_text.count("<caption>") == html_text.count("<table id=")
    assert "Dalam standar / Within standard" in html_text or "Dalam standar<span" in html_text


LABELLED = (labels.OUTCOMES, labels.CLAIM_REASONS, labels.REFERRAL_CATEGORIES, labels.CLAIM_OUTCOMES)


def assert_labelled(text: str) -> None:
    """Every code is printed as its two labels, each word whole, and never as the raw code."""
    words = set(re.findall(r"[\w%]+", text))
    for table in LABELLED:
        for indonesian, english in table.values():
            for word in re.findall(r"\w+", f"{indonesian} {english}"):
                assert word in words, f"{word!r} of {indonesian} / {english} is not whole in the PDF"
    codes = {c for table in (*LABELLED, labels.REASONS) for c in table if "_" in c}
    raw = sorted(c for c in codes if re.search(rf"\b{c}\b", text))
    assert not raw, f"raw codes in the PDF: {raw}"
    assert "within_standard / within_standard" not in text


def test_an_empty_period_says_so_instead_of_drawing_empty_charts(tmp_path: Path) -> None:
    policy = blitar()
    events = office_day(policy, START, applicants=20, seed=1)
    records = records_of(events, policy)
    output = write_lines(tmp_path / "out.jsonl", records)
    out = tmp_path / "report"
    args = ["report", "--office", policy.office_id, "--from", "2027-01-01", "--to", "2027-01-31"]
    assert main([*args, "--input", str(output), "--out", str(out)]) == 0
    text = subprocess.run(
        ["pdftotext", str(out / "report.pdf"), "-"], capture_output=True, text=True, check=True
    ).stdout
    flat = " ".join(text.split())
    # Seven charts, none of them drawn: each says there is nothing to draw, in both languages.
    assert flat.count("Tidak ada data untuk periode ini") == 7
    assert flat.count("No data for this period") == 7
    assert "data:image/png" not in (out / "report.html").read_text()


def test_the_reports_html_fits_a_1200_px_window(tmp_path: Path) -> None:
    policy = blitar()
    events = [
        e for d in range(3) for e in office_day(policy, START + timedelta(days=d), applicants=40, seed=d)
    ]
    records = records_of(events, policy)
    output = write_lines(tmp_path / "out.jsonl", records)
    inputs = write_lines(tmp_path / "in.jsonl", events)
    args = ["report", "--office", policy.office_id, "--from", START.isoformat(), "--to", "2026-03-31"]
    args += ["--input", str(output), "--input", str(inputs)]
    assert main([*args, "--out", str(tmp_path / "full")]) == 0
    assert main([*args, "--out", str(tmp_path / "public"), "--public"]) == 0
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1200, "height": 900})
            for name in ("full/report.html", "public/public.html"):
                page.set_content((tmp_path / name).read_text())
                width = page.evaluate("document.documentElement.scrollWidth")
                assert width <= 1200, f"{name} scrolls sideways: {width} px"
                # The claims table is whole: inside a box that scrolls, not cut by the page.
                box = page.evaluate(
                    "(() => { const t = document.getElementById('claims');"
                    " const s = getComputedStyle(t.parentElement).overflowX;"
                    " return [s, t.parentElement.scrollWidth >= t.scrollWidth]; })()"
                )
                assert box == ["auto", True], f"{name}: claims table {box}"
        finally:
            browser.close()


def test_unusable_arguments_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    common = ["report", "--office", "kanim-blitar", "--from", "2026-03-01", "--out", str(tmp_path)]
    assert main([*common, "--to", "2026-02-01", "--input", "x"]) == 2
    assert main([*common, "--to", "2026-03-31"]) == 2  # neither --input nor --broker
    assert main([*common, "--to", "2026-03-31", "--input", str(tmp_path / "missing.jsonl")]) == 2
    assert (
        main(
            [
                "report",
                "--office",
                "nowhere",
                "--from",
                "2026-03-01",
                "--to",
                "2026-03-02",
                "--input",
                "x",
                "--out",
                str(tmp_path),
            ]
        )
        == 2
    )
    assert "kompensasi report:" in capsys.readouterr().err
