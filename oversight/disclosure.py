"""The public summary (Ombudsman agreement, Pasal 6): monthly figures only, with every figure built
from fewer than SMALLEST_SHOWN applicants shown as "< 5", so that no person can be singled out."""

import math
from fractions import Fraction
from typing import Any

from oversight.evaluation import (
    AT_DEADLINE,
    CLAIM_REASONS,
    EXCLUSIONS,
    OUTCOMES,
    REFERRAL_CATEGORIES,
    REVOCATIONS,
    WARNED,
    Evaluation,
    Figures,
)

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
    out = {
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
    return protect(out) if mask else out


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


# ---- the disclosure check --------------------------------------------------------------------
#
# What a statistician knows beside the published figures: how the figures of one month relate
# (each a linear equation or inequality over the counts, a share as two inequalities), and that a
# masked cell holds at least 1 (0 is shown). `recomputable` narrows every unknown to the values
# these relations leave; a masked cell narrowed to one value is a leak. Months share no figure
# (there are no totals across months), so each month is checked on its own.

UNBOUNDED = 10**9
EXCLUSIVE_REASONS = ("not_yet_decided", "not_eligible", "revoked")  # contract 5: one at most
Linear = dict[str, Fraction]
Relation = tuple[Linear, str, Fraction]  # sum(coefficient * count) "<=" or "==" bound


def flatten(month: dict[str, Any]) -> dict[str, Cell]:
    """A month's cells by path (`rejected_by.unknown_ticket`); the label and outages are not counts."""
    out: dict[str, Cell] = {}
    for key, value in month.items():
        if key in ("label", "outages", "outage_hours", "wait_p50_min", "wait_p90_min"):
            continue
        if isinstance(value, dict):
            out.update({f"{key}.{k}": v for k, v in value.items()})
        else:
            out[key] = value
    return out


def _lin(*terms: tuple[int | Fraction, str]) -> Linear:
    out: Linear = {}
    for c, name in terms:
        out[name] = out.get(name, Fraction(0)) + Fraction(c)
    return out


def _eq(total: str, parts_: list[str]) -> Relation:
    return _lin((1, total), *((-1, p) for p in parts_)), "==", Fraction(0)


def _le(small: list[str], big: list[str]) -> Relation:
    return _lin(*((1, s) for s in small), *((-1, b) for b in big)), "<=", Fraction(0)


def _share(name: str, value: Cell, num: Linear, den: Linear) -> list[Relation]:
    """A share in percent rounded to 0.1: (s - 0.05) * den <= 100 * num <= (s + 0.05) * den; the
    share's own name stands in it with coefficient 0, so that masking it is seen to help."""
    if not isinstance(value, int | float) or isinstance(value, bool):
        return []
    s = Fraction(str(value))
    out = []
    for edge, sign in ((s - Fraction(1, 20), 1), (s + Fraction(1, 20), -1)):
        # sign 1: edge * den - 100 * num <= 0; sign -1: 100 * num - edge * den <= 0
        linear: Linear = {name: Fraction(0)}
        for count, c in den.items():
            linear[count] = linear.get(count, Fraction(0)) + sign * edge * c
        for count, c in num.items():
            linear[count] = linear.get(count, Fraction(0)) - sign * 100 * c
        out.append((linear, "<=", Fraction(0)))
    return out


def relations(month: dict[str, Any]) -> list[Relation]:
    """Every relation between one month's figures that the contract lets a reader know."""
    primary = [f"outcomes.{o}" for o in OUTCOMES if o != "revoked"]
    at_deadline = [f"outcomes.{o}" for o in AT_DEADLINE]
    others = [f"rejected_by.{r}" for r in CLAIM_REASONS if r != "unknown_ticket"]
    rel: list[Relation] = [
        _eq("decisions", primary),
        _le(["outcomes.revoked"], ["outcomes.eligible"]),  # a revoked decision undoes an eligible one
        _le(["late_wait_unknown"], at_deadline),
        _eq("claims", ["claims_granted", "claims_rejected"]),
        # unknown_ticket comes alone; every other rejection has one reason or more, of which
        # not_yet_decided, not_eligible and revoked exclude each other.
        _eq("claims_rejected", ["rejected_by.unknown_ticket", "~rejected_known"]),
        _le(["~rejected_known"], others),
        _le([f"rejected_by.{r}" for r in EXCLUSIVE_REASONS], ["~rejected_known"]),
        _eq("referrals", [f"referrals_by.{c}" for c in REFERRAL_CATEGORIES]),
        _eq("warned", [*(f"warned_ended.{k}" for k in WARNED), "warned_pending"]),
        _le(["priority_withdrawn"], ["priority_assigned"]),
        # Reasons of one suppressed or revoked decision overlap, and there is at least one.
        _le(["outcomes.suppressed"], [f"suppressed_by.{r}" for r in EXCLUSIONS]),
        _le(["outcomes.revoked"], [f"revoked_by.{r}" for r in REVOCATIONS]),
        # Revoked for a call in time moves a ticket from past the threshold to within; revoked for
        # a close before the deadline (and not for a call) takes it out of both.
        _le(["~closed_only"], ["revoked_by.closed_before_deadline"]),
        _le(["revoked_by.closed_before_deadline"], ["~closed_only", "revoked_by.called_within_standard"]),
    ]
    rel += [_le([o], ["~rejected_known"]) for o in others]
    rel += [_le([f"suppressed_by.{r}"], ["outcomes.suppressed"]) for r in EXCLUSIONS]
    rel += [_le([f"revoked_by.{r}"], ["outcomes.revoked"]) for r in REVOCATIONS]
    within = _lin((1, "outcomes.within_standard"), (1, "revoked_by.called_within_standard"))
    decided = _lin((1, "outcomes.within_standard"), *((1, a) for a in at_deadline), (-1, "~closed_only"))
    rel += _share("share_within", month.get("share_within"), within, decided)
    rel += _share(
        "prevention_rate",
        month.get("prevention_rate"),
        _lin((1, "warned_ended.in_time")),
        _lin((1, "warned_ended.in_time"), (1, "warned_ended.late")),
    )
    return rel


def bounds(month: dict[str, Any], rel: list[Relation]) -> dict[str, tuple[int, int]]:
    """The least and greatest value of every count the relations leave (bound propagation)."""
    shown = flatten(month)
    box: dict[str, tuple[int, int]] = {}
    for name in {n for linear, _, _ in rel for n in linear}:
        v = shown.get(name)
        if isinstance(v, int) and not isinstance(v, bool):
            box[name] = (v, v)
        else:  # masked, or not published at all
            box[name] = (1 if v == MASKED else 0, UNBOUNDED)
    # Integer coefficients, each relation once per direction: sum(c * x) <= b.
    rows: list[tuple[list[tuple[str, int]], int]] = []
    for linear, op, bound in rel:
        scale = math.lcm(bound.denominator, *(c.denominator for c in linear.values()))
        for sense in (1, -1) if op == "==" else (1,):
            terms = [(n, int(sense * c * scale)) for n, c in linear.items() if c]
            rows.append((terms, int(sense * bound * scale)))
    for _ in range(200):
        changed = False
        for terms, bound in rows:
            least = sum(c * (box[n][0] if c > 0 else box[n][1]) for n, c in terms)
            for n, c in terms:
                lo, hi = box[n]
                rest = least - c * (lo if c > 0 else hi)
                if c > 0:
                    hi = min(hi, (bound - rest) // c)
                else:
                    lo = max(lo, -((bound - rest) // -c))
                if (lo, hi) != box[n]:
                    box[n], changed = (lo, hi), True
                    least = rest + c * (lo if c > 0 else hi)
        if not changed:
            break
    return box


def recomputable(month: dict[str, Any]) -> dict[str, int]:
    """The masked cells of one published month that its figures give back, with their value."""
    box = bounds(month, relations(month))
    masked = [n for n, v in flatten(month).items() if v == MASKED]
    return {n: box[n][0] for n in masked if n in box and box[n][0] == box[n][1]}


def protect(month: dict[str, Any]) -> dict[str, Any]:
    """Masks further cells of a published month until `recomputable` gives none back: each time a
    share, else the smallest count, that stands in a relation with a cell given back."""
    while leaks := recomputable(month):
        shown = flatten(month)
        rel = relations(month)
        # The unknowns tied to a leak through relations, and the shown cells beside them.
        unknown, near = set(leaks), set()
        while (
            grown := {n for linear, _, _ in rel if unknown & linear.keys() for n in linear} - unknown - near
        ):
            near |= {n for n in grown if n in shown and shown[n] != MASKED}
            unknown |= grown - near
        candidates = [
            n for n in near
            if isinstance(shown[n], float) or (isinstance(shown[n], int) and shown[n] >= SMALLEST_SHOWN)
        ]  # fmt: skip
        if not candidates:
            break  # nothing beside it can be masked (only zeros): `recomputable` still reports it
        name = min(candidates, key=lambda n: (isinstance(shown[n], int), shown[n], n))
        key, _, sub = name.partition(".")
        if sub:
            month[key] = {**month[key], sub: MASKED}
        else:
            month[key] = MASKED
    return month
