"""The evaluation report and the public summary as documents: one list of sections (text, charts,
tables from the same numbers) rendered as self-contained HTML and as PDF (reportlab)."""

import base64
import html
import io
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import matplotlib
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4, landscape
from reportlab.lib.styles import ParagraphStyle, getSampleStyleSheet
from reportlab.lib.units import cm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.platypus import Image, KeepTogether, Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from oversight import charts, labels
from oversight.disclosure import MASKED, SMALLEST_SHOWN, cells
from oversight.evaluation import CLAIM_REASONS, OUTCOMES, REFERRAL_CATEGORIES, REVOCATIONS, Evaluation

Cell = Any


@dataclass(frozen=True)
class Text:
    id: str
    en: str


@dataclass(frozen=True)
class Chart:
    png: bytes
    alt: str


@dataclass(frozen=True)
class Grid:
    """A table: `key` names it in the HTML; caption and columns are (Indonesian, English)."""

    key: str
    caption: tuple[str, str]
    columns: list[tuple[str, str]]
    rows: list[list[str]]


@dataclass(frozen=True)
class Section:
    title: str
    subtitle: str
    blocks: list[Text | Chart | Grid]


@dataclass(frozen=True)
class Document:
    title: str
    subtitle: str
    facts: list[tuple[str, str]]
    sections: list[Section]


def _chart(png: bytes | None, alt: str) -> Chart | Text:
    """A chart, or the sentence that there is nothing to draw (an empty chart has made-up axes)."""
    return Text(*labels.NO_DATA) if png is None else Chart(png, alt)


def show(value: Cell) -> str:
    """How a cell is written: a missing figure as a dash, a mask as it is, numbers plainly."""
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:.1f}"
    return str(value)


def percent(value: Cell) -> str:
    return value if value == MASKED else "–" if value is None else f"{value:.1f}%"


def _rows(periods: list[dict[str, Any]], fields: list[Any]) -> list[list[str]]:
    return [[p["label"], *(f(p) for f in fields)] for p in periods]


def _month_col() -> tuple[str, str]:
    return ("Bulan", "Month")


def tables(periods: list[dict[str, Any]], public: bool) -> dict[str, Grid]:
    """Every table of the report, from the cells of each period (a month, or the whole period)."""
    standard_cols = [_month_col(), ("Keputusan", "Decisions")]
    standard_fields: list[Any] = [lambda p: show(p["decisions"])]
    if not public:
        standard_cols += [("Dalam standar", "Within standard"), ("Lewat batas", "Past threshold")]
        standard_fields += [lambda p: show(p["within_standard"]), lambda p: show(p["past_threshold"])]
    standard_cols += [
        ("% dalam standar", "% within standard"),
        ("Tunggu p50 (menit)", "Wait p50 (min)"),
        ("Tunggu p90 (menit)", "Wait p90 (min)"),
        ("Lewat batas, tunggu tak diketahui", "Past threshold, wait unknown"),
    ]
    standard_fields += [
        lambda p: percent(p["share_within"]),
        lambda p: show(p["wait_p50_min"]),
        lambda p: show(p["wait_p90_min"]),
        lambda p: show(p["late_wait_unknown"]),
    ]
    return {
        "standard": Grid(
            "standard",
            ("Standar pelayanan per bulan", "Service standard per month"),
            standard_cols,
            _rows(periods, standard_fields),
        ),
        "outcomes": Grid(
            "outcomes",
            ("Hasil keputusan per bulan", "Outcomes per month"),
            [
                _month_col(),
                *[labels.OUTCOMES[o] for o in OUTCOMES],
                ("Nomor prioritas", "Priority numbers"),
                ("Ditarik", "Withdrawn"),
            ],
            _rows(
                periods,
                [
                    *[(lambda p, o=o: show(p["outcomes"][o])) for o in OUTCOMES],
                    lambda p: show(p["priority_assigned"]),
                    lambda p: show(p["priority_withdrawn"]),
                ],
            ),
        ),
        "outages": Grid(
            "outages",
            ("Gangguan sistem per bulan", "System outages per month"),
            [
                _month_col(),
                ("Gangguan", "Outages"),
                ("Jam gangguan", "Outage hours"),
                ("Ditangguhkan (gangguan)", "Suppressed (outage)"),
                ("Dicabut (gangguan)", "Revoked (outage)"),
            ],
            _rows(
                periods,
                [
                    lambda p: show(p["outages"]),
                    lambda p: show(p["outage_hours"]),
                    lambda p: show(p["suppressed_by"]["system_outage"]),
                    lambda p: show(p["revoked_by"]["system_outage"]),
                ],
            ),
        ),
        "reviews": Grid(
            "reviews",
            ("Pemeriksaan permohonan per bulan", "Application reviews per month"),
            [
                _month_col(),
                ("Ditangguhkan (pemeriksaan)", "Suppressed (review)"),
                ("Dicabut (pemeriksaan)", "Revoked (review)"),
                ("Klaim ditolak (pemeriksaan)", "Claims rejected (review)"),
            ],
            _rows(
                periods,
                [
                    lambda p: show(p["suppressed_by"]["under_review"]),
                    lambda p: show(p["revoked_by"]["under_review"]),
                    lambda p: show(p["rejected_by"]["under_review"]),
                ],
            ),
        ),
        "revocations": Grid(
            "revocations",
            ("Keputusan dicabut menurut alasan", "Revoked decisions by reason"),
            [_month_col(), *[labels.REASONS[r] for r in REVOCATIONS]],
            _rows(periods, [(lambda p, r=r: show(p["revoked_by"][r])) for r in REVOCATIONS]),
        ),
        "claims": Grid(
            "claims",
            ("Klaim per bulan, ditolak menurut alasan", "Claims per month, rejected by reason"),
            [
                _month_col(),
                ("Klaim", "Claims"),
                labels.CLAIM_OUTCOMES["granted"],
                labels.CLAIM_OUTCOMES["rejected"],
                *[labels.CLAIM_REASONS[r] for r in CLAIM_REASONS],
            ],
            _rows(
                periods,
                [
                    lambda p: show(p["claims"]),
                    lambda p: show(p["claims_granted"]),
                    lambda p: show(p["claims_rejected"]),
                    *[(lambda p, r=r: show(p["rejected_by"][r])) for r in CLAIM_REASONS],
                ],
            ),
        ),
        "referrals": Grid(
            "referrals",
            ("Rujukan Ombudsman menurut kategori", "Ombudsman referrals by category"),
            [
                _month_col(),
                ("Rujukan", "Referrals"),
                *[labels.REFERRAL_CATEGORIES[c] for c in REFERRAL_CATEGORIES],
            ],
            _rows(
                periods,
                [
                    lambda p: show(p["referrals"]),
                    *[(lambda p, c=c: show(p["referrals_by"][c])) for c in REFERRAL_CATEGORIES],
                ],
            ),
        ),
        "at_risk": Grid(
            "at_risk",
            ("Peringatan dini dan akhirnya", "Early warnings and how they ended"),
            [
                _month_col(),
                ("Peringatan", "Warned"),
                ("Dipanggil tepat waktu", "Called in time"),
                ("Tetap terlambat", "Still late"),
                ("Tidak dilayani", "Not served"),
                ("Belum diputus", "Undecided"),
                ("Tingkat pencegahan", "Prevention rate"),
            ],
            _rows(
                periods,
                [
                    lambda p: show(p["warned"]),
                    *[(lambda p, k=k: show(p["warned_ended"][k])) for k in ("in_time", "late", "not_served")],
                    lambda p: show(p["warned_pending"]),
                    lambda p: percent(p["prevention_rate"]),
                ],
            ),
        ),
    }


def build(evaluation: Evaluation, generated_at: datetime, public: bool = False) -> Document:
    """The report (or, with `public`, the public summary) of one office and period."""
    periods = [cells(m, mask=public) for m in evaluation.months]
    if not public:
        total = cells(evaluation.total, mask=False)
        periods.append({**total, "label": "Jumlah / Total"})
    grids = tables(periods, public)
    months = [m.label for m in evaluation.months] or ["…"]
    period = f"{evaluation.first or months[0]} – {evaluation.last or months[-1]}"
    threshold_min = evaluation.threshold_s / 60
    facts = [
        ("Kantor / Office", f"{evaluation.office_name} ({evaluation.office_id})"),
        ("Periode / Period", period),
        (
            "Batas tunggu / Wait threshold",
            f"{threshold_min:g} menit / minutes (kebijakan / policy {evaluation.policy_id})",
        ),
        ("Dibuat / Generated", generated_at.isoformat(timespec="seconds")),
    ]
    if evaluation.warn_after_s is not None:
        facts.insert(
            3, ("Peringatan dini / Early warning", f"{evaluation.warn_after_s / 60:g} menit / minutes")
        )
    sections = [] if public else [_summary(cells(evaluation.total, mask=False))]
    sections += [
        Section(
            "Standar pelayanan",
            "Service standard",
            [
                *(
                    []
                    if public
                    else [_chart(charts.share_within(evaluation), "share within standard per month")]
                ),
                Text(
                    "Bagian pemohon yang dipanggil paling lama pada batas tunggu, per bulan, dan persentil "
                    "waktu tunggu pemohon yang dilayani.",
                    "Share of applicants called within the threshold, per month, and wait percentiles of the "
                    "applicants served.",
                ),
                grids["standard"],
                *(
                    []
                    if public
                    else [
                        _chart(charts.wait_histogram(evaluation), "wait histogram"),
                        _chart(charts.daily_percentiles(evaluation), "daily wait percentiles"),
                    ]
                ),
            ],
        ),
        Section(
            "Hasil keputusan",
            "Outcomes",
            [
                *([] if public else [_chart(charts.outcomes(evaluation), "outcomes per month")]),
                grids["outcomes"],
                grids["revocations"],
            ],
        ),
        Section(
            "Gangguan sistem",
            "System outages",
            [
                Text(
                    "Jam gangguan dari ops.system-status; keputusan yang ditangguhkan atau dicabut "
                    "karenanya.",
                    "Outage hours from ops.system-status; the decisions they suppressed or revoked.",
                ),
                *([] if public else [_chart(charts.outages(evaluation), "outages")]),
                grids["outages"],
            ],
        ),
        Section("Pemeriksaan permohonan", "Application reviews", [grids["reviews"]]),
        Section(
            "Klaim dan rujukan Ombudsman",
            "Claims and Ombudsman referrals",
            [
                *(
                    []
                    if public
                    else [_chart(charts.claims(evaluation), "claims granted and rejected per month")]
                ),
                grids["claims"],
                grids["referrals"],
            ],
        ),
        Section(
            "Peringatan dini",
            "Early warnings",
            [
                Text(
                    "Tiket yang diperingatkan dan bagaimana berakhirnya; tingkat pencegahan = "
                    "dipanggil tepat waktu / (tepat waktu + tetap terlambat).",
                    "Warned tickets and how they ended; prevention rate = called in time / "
                    "(in time + still late).",
                ),
                *(
                    []
                    if public
                    else [_chart(charts.at_risk(evaluation), "at-risk warnings and how they ended")]
                ),
                grids["at_risk"],
            ],
        ),
    ]
    if not public:
        sections.append(_daily_section(evaluation))
    sections.append(_method(evaluation, public))
    if public:
        return Document(
            "Ringkasan Publik Standar Pelayanan Paspor",
            "Public summary: passport service standard",
            facts,
            sections,
        )
    return Document(
        "Laporan Evaluasi Standar Pelayanan Paspor",
        "Evaluation report: passport service standard",
        facts,
        sections,
    )


def _summary(total: dict[str, Any]) -> Section:
    figures = [
        ("Keputusan", "Decisions", show(total["decisions"])),
        ("Dilayani dalam standar", "Served within the standard", percent(total["share_within"])),
        (
            "Tunggu p50 / p90 (menit)",
            "Wait p50 / p90 (min)",
            f"{show(total['wait_p50_min'])} / {show(total['wait_p90_min'])}",
        ),
        ("Jam gangguan", "Outage hours", show(total["outage_hours"])),
        (
            "Ditangguhkan karena gangguan",
            "Suppressed by outages",
            show(total["suppressed_by"]["system_outage"]),
        ),
        (
            "Klaim dikabulkan / ditolak",
            "Claims granted / rejected",
            f"{show(total['claims_granted'])} / {show(total['claims_rejected'])}",
        ),
        ("Rujukan Ombudsman", "Ombudsman referrals", show(total["referrals"])),
        (
            "Peringatan dini, tingkat pencegahan",
            "Early warnings, prevention rate",
            f"{show(total['warned'])}, {percent(total['prevention_rate'])}",
        ),
    ]
    grid = Grid(
        "summary",
        ("Angka pokok seluruh periode", "Key figures of the whole period"),
        [("Angka", "Figure"), ("Nilai", "Value")],
        [[f"{i} / {e}", v] for i, e, v in figures],
    )
    return Section("Ringkasan", "Summary", [grid])


def _daily_section(evaluation: Evaluation) -> Section:
    histogram = Grid(
        "histogram",
        ("Sebaran waktu tunggu", "Wait distribution"),
        [
            ("Tunggu di atas (menit)", "Wait above (min)"),
            ("Sampai (menit)", "Up to (min)"),
            ("Pemohon", "Applicants"),
        ],
        [
            [show(lo / 60), "–" if hi is None else show(hi / 60), show(n)]
            for lo, hi, n in evaluation.histogram
        ],
    )
    days = Grid(
        "daily",
        ("Angka harian", "Daily figures"),
        [
            ("Hari", "Day"),
            ("Keputusan", "Decisions"),
            ("% dalam standar", "% within standard"),
            ("Tunggu diketahui", "Waits known"),
            ("p50 (menit)", "p50 (min)"),
            ("p90 (menit)", "p90 (min)"),
        ],
        [
            [
                d.label,
                show(d.decisions),
                percent(None if d.share_within is None else round(100 * d.share_within, 1)),
                show(d.waits_known),
                show(cells(d, mask=False)["wait_p50_min"]),
                show(cells(d, mask=False)["wait_p90_min"]),
            ]
            for d in evaluation.days
        ],
    )
    return Section(
        "Sebaran tunggu dan angka harian", "Wait distribution and daily figures", [histogram, days]
    )


def _method(evaluation: Evaluation, public: bool) -> Section:
    notes = [
        Text(
            "Batas tunggu dan peringatan dini diambil dari kebijakan kantor, bukan dari kode.",
            "The wait threshold and the early warning come from the office's policy, not from code.",
        ),
        Text(
            "Bulan dan hari adalah tanggal lokal kantor dari service_day (keputusan) atau waktu kejadian.",
            "Months and days are office-local dates of service_day (decisions) or of the record's time.",
        ),
        Text(
            "Tunggu pemohon yang lewat batas diukur sampai panggilan pertama di queue.tickets bila dibaca; "
            "tanpa itu tunggunya tidak diketahui dan dihitung terpisah.",
            "The wait of an applicant past the threshold runs to the first call on queue.tickets when it is "
            "read; without it the wait is unknown and counted apart.",
        ),
    ]
    if public:
        notes.append(
            Text(
                f'Angka yang berasal dari kurang dari {SMALLEST_SHOWN} pemohon ditulis "{MASKED}"; tidak ada '
                "nomor tiket, pemohon, klaim, rujukan atau petugas, dan tidak ada jumlah lintas bulan.",
                f'Any figure built from fewer than {SMALLEST_SHOWN} applicants is shown as "{MASKED}"; '
                "no ticket, "
                "applicant, claim, referral or officer id, and no totals across months.",
            )
        )
    return Section("Catatan metode", "Method", notes)  # type: ignore[arg-type]


# ---- HTML -------------------------------------------------------------------------------------

_CSS = """
*{box-sizing:border-box}
body{font-family:"DejaVu Sans",Arial,sans-serif;margin:2rem auto;padding:0 1rem;max-width:1100px}
body{color:#1b1b1b}
h1{margin-bottom:0}.en{color:#666;font-weight:normal}h1 .en{display:block;font-size:1.1rem}
h2{border-bottom:2px solid #1565c0;padding-bottom:.2rem;margin-top:2rem}h2 .en{font-size:1rem}
.scroll{overflow-x:auto;max-width:100%;margin:.8rem 0}
table{border-collapse:collapse;margin:.8rem 0;font-size:.85rem}.scroll table{margin:0}
caption{caption-side:top;text-align:left;font-weight:bold;padding:.2rem 0}caption .en{font-weight:normal}
th,td{border:1px solid #ccc;padding:.25rem .5rem;text-align:right}
th{background:#eef3fb;vertical-align:bottom;white-space:normal;hyphens:auto}td:first-child,th:first-child{text-align:left}
th .en{display:block;font-size:.75rem}table.facts td{text-align:left}p .en{display:block}
img{max-width:100%;display:block;margin:.8rem 0}
"""


def _html_block(block: Text | Chart | Grid) -> str:
    if isinstance(block, Text):
        return f'<p>{html.escape(block.id)}<span class="en">{html.escape(block.en)}</span></p>'
    if isinstance(block, Chart):
        data = base64.b64encode(block.png).decode("ascii")
        return f'<img alt="{html.escape(block.alt)}" src="data:image/png;base64,{data}">'
    head = "".join(
        f'<th>{html.escape(i)}<span class="en">{html.escape(e)}</span></th>' for i, e in block.columns
    )
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in row) + "</tr>" for row in block.rows
    )
    caption = f'{html.escape(block.caption[0])} <span class="en">/ {html.escape(block.caption[1])}</span>'
    # The scroll box keeps a wide table (claims: eleven columns) inside the page at any width: it
    # scrolls on its own instead of pushing the page sideways or being cut.
    return (
        f'<div class="scroll"><table id="{block.key}"><caption>{caption}</caption>'
        f"<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table></div>"
    )


def to_html(document: Document) -> str:
    """One self-contained page: styles inline, charts as data URIs."""
    facts = "".join(f"<tr><td>{html.escape(k)}</td><td>{html.escape(v)}</td></tr>" for k, v in document.facts)
    sections = "".join(
        f'<section><h2>{html.escape(s.title)} <span class="en">/ {html.escape(s.subtitle)}</span></h2>'
        + "".join(_html_block(b) for b in s.blocks)
        + "</section>"
        for s in document.sections
    )
    return (
        '<!doctype html><html lang="id"><head><meta charset="utf-8">'
        f"<title>{html.escape(document.title)}</title>"
        f"<style>{_CSS}</style></head><body><h1>{html.escape(document.title)}"
        f'<span class="en">{html.escape(document.subtitle)}</span></h1>'
        f'<table class="facts">{facts}</table>{sections}</body></html>'
    )


# ---- PDF --------------------------------------------------------------------------------------

_FONT, _BOLD = "DejaVuSans", "DejaVuSans-Bold"
_CHART_HEIGHT = 5.4 * cm


def _fonts() -> None:
    """DejaVu Sans from matplotlib's own data: every character of both languages, no system font needed."""
    if _FONT in pdfmetrics.getRegisteredFontNames():
        return
    folder = Path(matplotlib.get_data_path()) / "fonts" / "ttf"
    pdfmetrics.registerFont(TTFont(_FONT, str(folder / "DejaVuSans.ttf")))
    pdfmetrics.registerFont(TTFont(_BOLD, str(folder / "DejaVuSans-Bold.ttf")))


def to_pdf(document: Document) -> bytes:
    """The same document as a landscape A4 PDF, drawn by reportlab (no browser)."""
    _fonts()
    base = getSampleStyleSheet()
    body = ParagraphStyle("body", parent=base["BodyText"], fontName=_FONT, fontSize=9, leading=11)
    english = ParagraphStyle("english", parent=body, textColor=colors.HexColor("#666666"))
    title = ParagraphStyle("title", parent=base["Title"], fontName=_BOLD, fontSize=18, alignment=0)
    heading = ParagraphStyle("heading", parent=base["Heading2"], fontName=_BOLD, fontSize=13)
    cell = ParagraphStyle("cell", parent=body, fontSize=7, leading=8.5)
    head_cell = ParagraphStyle("head", parent=cell, fontName=_BOLD)
    width = landscape(A4)[0] - 3 * cm
    story: list[Any] = [
        Paragraph(html.escape(document.title), title),
        Paragraph(html.escape(document.subtitle), english),
        Spacer(1, 0.3 * cm),
        _pdf_table(
            [[Paragraph(html.escape(k), body), Paragraph(html.escape(v), body)] for k, v in document.facts],
            None,
            [6 * cm, width - 6 * cm],
        ),
    ]
    caption = ParagraphStyle("caption", parent=body, fontName=_BOLD, spaceBefore=4)

    def flowables(block: Text | Chart | Grid) -> list[Any]:
        if isinstance(block, Text):
            return [Paragraph(html.escape(block.id), body), Paragraph(html.escape(block.en), english)]
        if isinstance(block, Chart):
            image = Image(io.BytesIO(block.png))
            scale = min(1.0, width / image.drawWidth, _CHART_HEIGHT / image.drawHeight)
            image.drawWidth, image.drawHeight = image.drawWidth * scale, image.drawHeight * scale
            return [image]
        header = [
            Paragraph(f"{html.escape(i)}<br/><font color='#666666'>{html.escape(e)}</font>", head_cell)
            for i, e in block.columns
        ]
        rows = [[Paragraph(html.escape(c), cell) for c in row] for row in block.rows]
        title = (
            f"{html.escape(block.caption[0])} <font color='#666666' name='{_FONT}'>/ "
            f"{html.escape(block.caption[1])}</font>"
        )
        return [Spacer(1, 0.2 * cm), Paragraph(title, caption), _pdf_table([header, *rows], 1, None, width)]

    for section in document.sections:
        heading_ = Paragraph(
            f"{html.escape(section.title)} <font color='#666666'>/ {html.escape(section.subtitle)}</font>",
            heading,
        )
        blocks = [flowables(b) for b in section.blocks] or [[]]
        # A heading moves to the next page with its first block rather than end a page alone; a
        # table stays with its caption (a long one still splits, its header repeated).
        story.append(KeepTogether([heading_, *blocks[0]]))
        story += [KeepTogether(f) for f in blocks[1:]]
    out = io.BytesIO()
    SimpleDocTemplate(
        out,
        pagesize=landscape(A4),
        leftMargin=1.5 * cm,
        rightMargin=1.5 * cm,
        topMargin=1.2 * cm,
        bottomMargin=1.2 * cm,
        title=document.title,
        author="kompensasi",
    ).build(story)
    return out.getvalue()


def _pdf_table(
    rows: list[list[Any]],
    header_rows: int | None,
    widths: list[float] | None,
    total_width: float | None = None,
) -> Table:
    if widths is None and total_width is not None and len(rows[0]) == 2:
        widths = [10 * cm, 6 * cm]
    elif widths is None and total_width is not None:
        first = min(3.2 * 28.35, total_width / 4)
        widths = [first] + [(total_width - first) / (len(rows[0]) - 1)] * (len(rows[0]) - 1)
    table = Table(rows, colWidths=widths, repeatRows=header_rows or 0, hAlign="LEFT")
    style = [("GRID", (0, 0), (-1, -1), 0.4, colors.HexColor("#bbbbbb")), ("VALIGN", (0, 0), (-1, -1), "TOP")]
    if header_rows:
        style.append(("BACKGROUND", (0, 0), (-1, header_rows - 1), colors.HexColor("#eef3fb")))
    table.setStyle(TableStyle(style))
    return table
