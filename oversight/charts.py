"""The report's charts as PNG bytes (matplotlib's object API: no pyplot state, no display needed);
None when the period has nothing to draw, so the document says so instead."""

import io

from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from oversight import labels
from oversight.evaluation import OUTCOMES, Evaluation

_SIZE = (8.0, 3.4)
_DPI = 110
_COLOURS = {
    "within_standard": "#2e7d32",
    "not_served": "#9e9e9e",
    "ineligible": "#6d4c41",
    "suppressed": "#f9a825",
    "eligible": "#c62828",
    "revoked": "#5e35b1",
}
THRESHOLD_COLOUR = "#c62828"


def _png(figure: Figure) -> bytes:
    figure.tight_layout()
    out = io.BytesIO()
    figure.savefig(out, format="png", dpi=_DPI)
    return out.getvalue()


def _months(evaluation: Evaluation) -> list[str]:
    return [m.label for m in evaluation.months]


def _counts(ax: Axes, top: float, headroom: float = 1.15) -> None:
    """A count axis from 0 in whole numbers: with all zeros matplotlib would draw -0.04 to 0.04."""
    ax.set_ylim(0, top * headroom if top > 0 else 1)
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))


def share_within(evaluation: Evaluation) -> bytes | None:
    if not any(m.share_within is not None for m in evaluation.months):
        return None
    figure = Figure(figsize=_SIZE)
    ax = figure.subplots()
    shares = [100 * (m.share_within or 0.0) for m in evaluation.months]
    bars = ax.bar(_months(evaluation), shares, color=_COLOURS["within_standard"])
    ax.bar_label(bars, labels=[f"{s:.1f}%" for s in shares], fontsize=8)
    ax.set_ylim(0, 105)
    ax.set_ylabel("% pemohon / applicants")
    ax.set_title("Dilayani dalam standar / Served within the standard")
    return _png(figure)


def wait_histogram(evaluation: Evaluation) -> bytes | None:
    if not any(n for _, _, n in evaluation.histogram):
        return None
    figure = Figure(figsize=_SIZE)
    ax = figure.subplots()
    threshold_min = evaluation.threshold_s / 60
    width = (evaluation.histogram[0][1] or 0) / 60
    lefts = [lo / 60 for lo, _, _ in evaluation.histogram]
    counts = [n for _, _, n in evaluation.histogram]
    colours = [
        "#2e7d32" if lo < evaluation.threshold_s else THRESHOLD_COLOUR for lo, _, _ in evaluation.histogram
    ]
    ax.bar(lefts, counts, width=width, align="edge", color=colours, edgecolor="white")
    ax.axvline(threshold_min, color="black", linestyle="--", linewidth=1)
    ax.annotate(
        f"batas / threshold {threshold_min:g} min",
        (threshold_min, max(counts, default=0) or 1),
        xytext=(4, -12),
        textcoords="offset points",
        fontsize=8,
    )
    _counts(ax, max(counts))
    ax.set_xlabel(f"tunggu, menit / wait, minutes (bar terakhir: > {lefts[-1]:g})")
    ax.set_ylabel("pemohon / applicants")
    ax.set_title("Sebaran waktu tunggu / Wait distribution")
    return _png(figure)


def daily_percentiles(evaluation: Evaluation) -> bytes | None:
    days = [d for d in evaluation.days if d.waits_known]
    if not days:
        return None
    figure = Figure(figsize=_SIZE)
    ax = figure.subplots()
    x = list(range(len(days)))
    for p, colour in ((50, "#1565c0"), (90, "#ef6c00")):
        ax.plot(
            x, [(d.wait_percentiles[p] or 0) / 60 for d in days], color=colour, label=f"p{p}", linewidth=1.2
        )
    ax.axhline(
        evaluation.threshold_s / 60,
        color=THRESHOLD_COLOUR,
        linestyle="--",
        linewidth=1,
        label="batas / threshold",
    )
    step = max(1, len(days) // 8)
    ax.set_xticks(x[::step], [d.label[5:] for d in days][::step], fontsize=8)
    ax.set_ylim(bottom=0)
    ax.set_ylabel("menit / minutes")
    ax.set_title("Persentil tunggu per hari / Daily wait percentiles")
    ax.legend(fontsize=8, loc="upper left")
    return _png(figure)


def outcomes(evaluation: Evaluation) -> bytes | None:
    if not any(m.outcomes[o] for m in evaluation.months for o in OUTCOMES):
        return None
    figure = Figure(figsize=_SIZE)
    ax = figure.subplots()
    months = _months(evaluation)
    bottom = [0] * len(months)
    for outcome in OUTCOMES:
        values = [m.outcomes[outcome] for m in evaluation.months]
        ax.bar(
            months,
            values,
            bottom=bottom,
            color=_COLOURS[outcome],
            label=labels.both(labels.OUTCOMES, outcome),
        )
        bottom = [b + v for b, v in zip(bottom, values, strict=True)]
    ax.set_ylabel("keputusan / decisions")
    ax.set_title("Hasil keputusan per bulan / Outcomes per month")
    _counts(ax, max(bottom, default=0), headroom=1.35)
    ax.legend(fontsize=7, ncols=2, loc="upper center")
    return _png(figure)


def outages(evaluation: Evaluation) -> bytes | None:
    hours = [m.outage_hours for m in evaluation.months]
    suppressed = [m.suppressed_by["system_outage"] for m in evaluation.months]
    if not any(hours) and not any(suppressed):
        return None
    figure = Figure(figsize=_SIZE)
    left, right = figure.subplots(1, 2)
    months = _months(evaluation)
    left.bar(months, hours, color="#455a64")
    left.set_ylim(0, max(hours) * 1.15 or 1)
    left.set_title("Jam gangguan / Outage hours", fontsize=10)
    right.bar(months, suppressed, color=_COLOURS["suppressed"])
    _counts(right, max(suppressed))
    right.set_title("Ditangguhkan karena gangguan /\nSuppressed by outages", fontsize=10)
    return _png(figure)


def claims(evaluation: Evaluation) -> bytes | None:
    granted = [m.claims_granted for m in evaluation.months]
    rejected = [m.claims_rejected for m in evaluation.months]
    if not any(granted) and not any(rejected):
        return None
    figure = Figure(figsize=_SIZE)
    ax = figure.subplots()
    months = _months(evaluation)
    ax.bar(months, granted, color="#2e7d32", label=labels.both(labels.CLAIM_OUTCOMES, "granted"))
    ax.bar(
        months,
        rejected,
        bottom=granted,
        color="#c62828",
        label=labels.both(labels.CLAIM_OUTCOMES, "rejected"),
    )
    _counts(ax, max(g + r for g, r in zip(granted, rejected, strict=True)), headroom=1.3)
    ax.set_ylabel("klaim / claims")
    ax.set_title("Klaim per bulan / Claims per month")
    ax.legend(fontsize=7, loc="upper left")
    return _png(figure)


def at_risk(evaluation: Evaluation) -> bytes | None:
    in_time = [m.warned_ended["in_time"] for m in evaluation.months]
    late = [m.warned_ended["late"] for m in evaluation.months]
    if not any(in_time) and not any(late):
        return None
    figure = Figure(figsize=_SIZE)
    ax = figure.subplots()
    months = _months(evaluation)
    ax.bar(months, in_time, color="#2e7d32", label="dipanggil tepat waktu / called in time")
    ax.bar(months, late, bottom=in_time, color="#c62828", label="tetap terlambat / still late")
    _counts(ax, max(a + b for a, b in zip(in_time, late, strict=True)), headroom=1.3)
    ax.set_ylabel("tiket / tickets")
    ax.set_title("Peringatan berisiko dan akhirnya / At-risk warnings and how they ended")
    ax.legend(fontsize=7, loc="upper left")
    return _png(figure)
