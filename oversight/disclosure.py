"""The public summary (Ombudsman agreement, Pasal 6): monthly figures only, with every figure built
from fewer than SMALLEST_SHOWN applicants shown as "< 5", so that no person can be singled out."""

from typing import Any

from oversight.evaluation import WARNED, Evaluation, Figures

# The least number of applicants a published figure may rest on (a count of 1 to 4 is masked).
SMALLEST_SHOWN = 5
MASKED = f"< {SMALLEST_SHOWN}"

Cell = int | float | str | None


def count(n: int, mask: bool = True) -> Cell:
    """A count of 1 to 4 is masked; 0 is shown, since it points at nobody."""
    return MASKED if mask and 0 < n < SMALLEST_SHOWN else n


def parts(values: dict[str, int], total: int, mask: bool = True) -> dict[str, Cell]:
    """Cells that add up to a shown total: when one alone is masked it could be recovered as the total
    minus the others, so the smallest other cell is masked too."""
    cells = {k: count(v, mask) for k, v in values.items()}
    hidden = [k for k, v in values.items() if 0 < v < SMALLEST_SHOWN]
    shown = [k for k, v in values.items() if v >= SMALLEST_SHOWN]
    if mask and len(hidden) == 1 and total >= SMALLEST_SHOWN and shown:
        cells[min(shown, key=lambda k: (values[k], k))] = MASKED
    return cells


def share(numerator: int, denominator: int, mask: bool = True) -> Cell:
    """A share in percent, shown only when both of its parts could be shown."""
    rest = denominator - numerator
    if mask and (denominator < SMALLEST_SHOWN or 0 < numerator < SMALLEST_SHOWN or 0 < rest < SMALLEST_SHOWN):
        return MASKED
    return round(100 * numerator / denominator, 1) if denominator else None


def minutes(seconds: int | None, sample: int, mask: bool = True) -> Cell:
    if mask and 0 < sample < SMALLEST_SHOWN:
        return MASKED
    return None if seconds is None else round(seconds / 60, 1)


def cells(f: Figures, mask: bool = True) -> dict[str, Any]:
    """One period's figures as table cells: no id of any kind; with `mask`, small cells masked."""
    primary = {k: v for k, v in f.outcomes.items() if k != "revoked"}
    claims = f.claims_granted + f.claims_rejected
    pending = f.warned - sum(f.warned_ended.values())
    warned = parts({**f.warned_ended, "pending": pending}, f.warned, mask)
    referred = sum(f.referrals.values())
    in_time, late = f.warned_ended["in_time"], f.warned_ended["late"]
    claim_cells = parts({"granted": f.claims_granted, "rejected": f.claims_rejected}, claims, mask)
    # The public gets the share alone: beside the outcome cells, the two counts under it could give
    # back a masked outcome.
    counts = {} if mask else {"within_standard": f.within_standard, "past_threshold": f.past_threshold}
    return {
        "label": f.label,
        "decisions": count(f.decisions, mask),
        **counts,
        "share_within": share(f.within_standard, f.within_standard + f.past_threshold, mask),
        "wait_p50_min": minutes(f.wait_percentiles[50], f.waits_known, mask),
        "wait_p90_min": minutes(f.wait_percentiles[90], f.waits_known, mask),
        "late_wait_unknown": count(f.late_wait_unknown, mask),
        "outcomes": {**parts(primary, f.decisions, mask), "revoked": count(f.outcomes["revoked"], mask)},
        "priority_assigned": count(f.priority_assigned, mask),
        "priority_withdrawn": count(f.priority_withdrawn, mask),
        "outages": f.outages,
        "outage_hours": f.outage_hours,
        "suppressed_by": {k: count(v, mask) for k, v in f.suppressed_by.items()},
        "revoked_by": {k: count(v, mask) for k, v in f.revoked_by.items()},
        "claims": count(claims, mask),
        "claims_granted": claim_cells["granted"],
        "claims_rejected": claim_cells["rejected"],
        "rejected_by": {k: count(v, mask) for k, v in f.rejected_by.items()},
        "referrals": count(referred, mask),
        "referrals_by": parts(f.referrals, referred, mask),
        "warned": count(f.warned, mask),
        "warned_ended": {k: warned[k] for k in WARNED},
        "warned_pending": warned["pending"],
        "prevention_rate": share(in_time, in_time + late, mask),
    }


def public_summary(evaluation: Evaluation) -> dict[str, Any]:
    """Monthly figures only: no daily figures and no period totals, since a total minus the shown
    months would give back a masked month."""
    return {
        "office_id": evaluation.office_id,
        "office_name": evaluation.office_name,
        "threshold_s": evaluation.threshold_s,
        "smallest_shown": SMALLEST_SHOWN,
        "first": None if evaluation.first is None else evaluation.first.isoformat(),
        "last": None if evaluation.last is None else evaluation.last.isoformat(),
        "months": [cells(m) for m in evaluation.months],
    }
