"""The report's charts as PNG bytes (matplotlib's object API: no pyplot state, no display needed)."""

import io

from matplotlib.figure import Figure

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


def share_within(evaluation: Evaluation) -> bytes:
    figure = Figure(figsize=_SIZE)
    ax = figure.subplots()
    shares = [100 * (m.share_within or 0.0) for m in evaluation.months]
    bars = ax.bar(_months(evaluation), shares, color=_COLOURS["within_standard"])
    ax.bar_label(bars, labels=[f"{s:.1f}%" for s in shares], fontsize=8)
    ax.set_ylim(0, 105)
    ax.set_ylabel("% pemohon / applicants")
    ax.set_title("Dilayani dalam standar / Served within the standard")
    return _png(figure)


def wait_histogram(evaluation: Evaluation) -> bytes:
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
    ax.set_xlabel(f"tunggu, menit / wait, minutes (bar terakhir: > {lefts[-1]:g})")
    ax.set_ylabel("pemohon / applicants")
    ax.set_title("Sebaran waktu tunggu / Wait distribution")
    return _png(figure)


def daily_percentiles(evaluation: Evaluation) -> bytes:
    figure = Figure(figsize=_SIZE)
    ax = figure.subplots()
    days = [d for d in evaluation.days if d.waits_known]
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
    ax.set_ylabel("menit / minutes")
    ax.set_title("Persentil tunggu per hari / Daily wait percentiles")
    ax.legend(fontsize=8, loc="upper left")
    return _png(figure)


def outcomes(evaluation: Evaluation) -> bytes:
    figure = Figure(figsize=_SIZE)
    ax = figure.subplots()
    months = _months(evaluation)
    bottom = [0] * len(months)
    for outcome in OUTCOMES:
        values = [m.outcomes[outcome] for m in evaluation.months]
        ax.bar(months, values, bottom=bottom, color=_COLOURS[outcome], label=outcome)
        bottom = [b + v for b, v in zip(bottom, values, strict=True)]
    ax.set_ylabel("keputusan / decisions")
    ax.set_title("Hasil keputusan per bulan / Outcomes per month")
    ax.set_ylim(0, max(bottom, default=0) * 1.35 or 1)
    ax.legend(fontsize=7, ncols=3, loc="upper center")
    return _png(figure)


def outages(evaluation: Evaluation) -> bytes:
    figure = Figure(figsize=_SIZE)
    left, right = figure.subplots(1, 2)
    months = _months(evaluation)
    left.bar(months, [m.outage_hours for m in evaluation.months], color="#455a64")
    left.set_title("Jam gangguan / Outage hours", fontsize=10)
    right.bar(
        months, [m.suppressed_by["system_outage"] for m in evaluation.months], color=_COLOURS["suppressed"]
    )
    right.set_title("Ditangguhkan karena gangguan /\nSuppressed by outages", fontsize=10)
    return _png(figure)


def claims_and_warnings(evaluation: Evaluation) -> bytes:
    figure = Figure(figsize=_SIZE)
    left, right = figure.subplots(1, 2)
    months = _months(evaluation)
    granted = [m.claims_granted for m in evaluation.months]
    left.bar(months, granted, color="#2e7d32", label="dikabulkan / granted")
    left.bar(
        months,
        [m.claims_rejected for m in evaluation.months],
        bottom=granted,
        color="#c62828",
        label="ditolak / rejected",
    )
    left.set_title("Klaim / Claims", fontsize=10)
    left.legend(fontsize=7, loc="lower center")
    in_time = [m.warned_ended["in_time"] for m in evaluation.months]
    right.bar(months, in_time, color="#2e7d32", label="dipanggil tepat waktu / called in time")
    right.bar(
        months,
        [m.warned_ended["late"] for m in evaluation.months],
        bottom=in_time,
        color="#c62828",
        label="tetap terlambat / still late",
    )
    right.set_title("Peringatan berisiko / At-risk warnings", fontsize=10)
    right.legend(fontsize=7, loc="lower center")
    return _png(figure)
