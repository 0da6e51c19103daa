"""The public summary (Pasal 6): no id of the input in anything it writes, every figure built from
fewer than five applicants masked, and the worker's read model giving the same figures."""

import html
import json
import subprocess
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import orjson

from oversight.disclosure import MASKED, SMALLEST_SHOWN, parts, public_summary
from schemas.topics import TOPIC_OF_TYPE
from streams.commands.cli import main
from streams.commands.simulate import closing_event, office_day
from streams.reading import Reader
from streams.web.board import Views
from tests.test_report import blitar, records_of, sixty_days, write_lines

ID_FIELDS = (
    "event_id",
    "ticket_id",
    "applicant_id",
    "claim_id",
    "complaint_id",
    "officer_id",
    "outage_id",
    "decision_id",
    "referral_id",
    "ticket_no",
    "priority_no",
)
NOT_COUNTS = {
    "label",
    "share_within",
    "prevention_rate",
    "wait_p50_min",
    "wait_p90_min",
    "outage_hours",
    "outages",
}


def small_log() -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Sixty generated days, and one more day in May with three applicants: all its cells are small."""
    policy = blitar()
    events = [
        e for e in sixty_days(policy, applicants=12) if e["type"] != "ticket_issued" or e["stage"] != "pickup"
    ]
    may = date(2026, 5, 4)
    events += office_day(policy, may, applicants=3, seed=99, outage=None, reviews=0)
    events.append(closing_event(policy, may))
    return events, records_of(events, policy)


def ids_in(values: list[dict[str, Any]]) -> set[str]:
    found: set[str] = set()

    def walk(v: Any) -> None:
        if isinstance(v, dict):
            for k, x in v.items():
                if k in ID_FIELDS and isinstance(x, str):
                    found.add(x)
                walk(x)
        elif isinstance(v, list):
            for x in v:
                walk(x)

    walk(values)
    return found


def count_cells(month: dict[str, Any]) -> list[tuple[str, Any]]:
    out = []
    for key, value in month.items():
        if key in NOT_COUNTS:
            continue
        for k, v in value.items() if isinstance(value, dict) else [(key, value)]:
            out.append((f"{key}.{k}", v))
    return out


def test_the_public_summary_holds_no_id_and_masks_small_cells(tmp_path: Path) -> None:
    events, records = small_log()
    output = write_lines(tmp_path / "out.jsonl", records)
    inputs = write_lines(tmp_path / "in.jsonl", events)
    full, public = tmp_path / "full", tmp_path / "public"
    for folder, extra in ((full, []), (public, ["--public"])):
        assert (
            main(
                [
                    "report",
                    "--office",
                    "kanim-blitar",
                    "--from",
                    "2026-03-01",
                    "--to",
                    "2026-05-31",
                    "--input",
                    str(output),
                    "--input",
                    str(inputs),
                    "--out",
                    str(folder),
                    *extra,
                ]
            )
            == 0
        )
    summary = json.loads((public / "public.json").read_text())
    texts = {
        "html": (public / "public.html").read_text(),
        "json": json.dumps(summary),
        "pdf": subprocess.run(
            ["pdftotext", str(public / "public.pdf"), "-"], capture_output=True, text=True, check=True
        ).stdout,
    }
    ids = ids_in(events) | ids_in([r["value"] for r in records])
    assert len(ids) > 1000
    for kind, text in texts.items():
        leaked = sorted(i for i in ids if i in text)
        assert not leaked, f"{kind} names {leaked[:5]}"
    assert "saya menunggu" not in texts["html"] and "dokumen" not in texts["json"]

    assert "days" not in summary and "total" not in summary
    months = {m["label"]: m for m in summary["months"]}
    assert set(months) == {"2026-03", "2026-04", "2026-05"}
    assert months["2026-05"]["decisions"] == MASKED
    for month in months.values():
        for name, value in count_cells(month):
            assert value in (MASKED, 0) or value >= SMALLEST_SHOWN, f"{month['label']} {name} = {value}"
    # A count that is small in the full report is masked in the public one.
    full_months = {m["label"]: m for m in json.loads((full / "report.json").read_text())["months"]}
    small = [(label, k) for label, m in full_months.items() for k, v in m["rejected_by"].items() if 0 < v < 5]
    assert small, "the log has small cells"
    for label, reason in small:
        assert months[label]["rejected_by"][reason] == MASKED
    assert html.escape(MASKED) in texts["html"] and f"kurang dari {SMALLEST_SHOWN} pemohon" in texts["html"]


def test_one_masked_cell_of_a_total_takes_another_with_it() -> None:
    cells = parts({"granted": 40, "rejected": 3, "other": 9}, 52)
    assert cells == {"granted": 40, "rejected": MASKED, "other": MASKED}
    assert parts({"a": 40, "b": 3, "c": 2}, 45) == {"a": 40, "b": MASKED, "c": MASKED}
    assert parts({"a": 40, "b": 0}, 40) == {"a": 40, "b": 0}
    assert parts({"a": 3}, 3) == {"a": MASKED}


def test_the_workers_read_model_gives_the_public_figures_of_the_report(tmp_path: Path) -> None:
    """What /public/{office} shows: the same stream the worker reads (records and the calls and
    outages of the input topics), in the bounded read model."""
    events, records = small_log()
    views = Views([blitar()])
    reader = Reader(views.offices)
    for offset, (topic, value) in enumerate(
        [(TOPIC_OF_TYPE[e["type"]], e) for e in events] + [(r["topic"], r["value"]) for r in records]
    ):
        item = reader.read(topic, 0, offset, orjson.dumps(value), None, key=value["office_id"].encode())
        assert item is not None, "the log is valid"
        views.apply(topic, item)
    output = write_lines(tmp_path / "out.jsonl", records)
    inputs = write_lines(tmp_path / "in.jsonl", events)
    first, last = date(2026, 3, 1), date(2026, 5, 31)
    assert (
        main(
            [
                "report",
                "--office",
                "kanim-blitar",
                "--from",
                str(first),
                "--to",
                str(last),
                "--input",
                str(output),
                "--input",
                str(inputs),
                "--out",
                str(tmp_path),
                "--public",
            ]
        )
        == 0
    )
    from_report = json.loads((tmp_path / "public.json").read_text())
    live = public_summary(views.public["kanim-blitar"].evaluation())
    assert live["months"] == from_report["months"]
    assert live["first"] is None and from_report["first"] == str(first)
    assert last - first > timedelta(days=60)
