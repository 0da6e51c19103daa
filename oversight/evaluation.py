"""The evaluation figures of one office (Ombudsman agreement, Pasal 9): a pure, incremental
aggregation of its decision log into monthly figures, and daily ones for the charts.

It keeps counts, not records. The only per-ticket state is two joins (a late ticket waiting for
its call, an at-risk warning waiting for its decision), each pruned once the other side of it has
moved `WINDOW_S` of event time past it, and the ids of the records counted, for dropping copies."""

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any, get_args

from rules.policy import Policy
from schemas.records import ClaimReason, Outcome

OUTCOMES: tuple[str, ...] = get_args(Outcome)
AT_DEADLINE = (
    "ineligible",
    "suppressed",
    "eligible",
)  # decided at the deadline: the wait passed the threshold
CLAIM_REASONS: tuple[str, ...] = get_args(ClaimReason)
REFERRAL_CATEGORIES = ("long_wait", "claim_rejected", "officer_conduct", "other", "auto")
EXCLUSIONS = ("system_outage", "under_review")  # 2f and 2g, the reasons that suppress or revoke
REVOCATIONS = ("system_outage", "under_review", "called_within_standard", "closed_before_deadline")
WARNED = ("in_time", "late", "not_served")  # how an at-risk ticket ended
PERCENTILES = (50, 90)
# The histogram's bins are fractions of the policy threshold, up to twice it, then one open bin.
BINS_PER_THRESHOLD = 8
HISTOGRAM_SPAN = 2
# A join or a duplicate more than this much event time apart is not waited for.
WINDOW_S = 7 * 86_400
_PRUNE_EVERY = 4096

Value = Mapping[str, Any]


@dataclass
class Tally:
    """Counts of one month, one day or the whole period; tallies add up."""

    outcomes: Counter[str] = field(default_factory=Counter)
    within: int = 0  # served within the standard, after revocations
    past: int = 0  # reached the threshold uncalled, after revocations
    late_joined: int = 0  # tickets past the threshold whose call was read
    waits: Counter[int] = field(default_factory=Counter)  # seconds -> served applicants
    suppressed_by: Counter[str] = field(default_factory=Counter)
    revoked_by: Counter[str] = field(default_factory=Counter)
    claims: Counter[str] = field(default_factory=Counter)  # granted, rejected
    claim_reasons: Counter[str] = field(default_factory=Counter)
    referrals: Counter[str] = field(default_factory=Counter)
    warned: Counter[str] = field(default_factory=Counter)  # "all" and WARNED
    priority: Counter[str] = field(default_factory=Counter)  # assigned, withdrawn
    outage_s: int = 0
    outages: int = 0

    def __iadd__(self, other: "Tally") -> "Tally":
        for name in ("outcomes", "waits", "suppressed_by", "revoked_by", "claims", "claim_reasons",
                     "referrals", "warned", "priority"):  # fmt: skip
            getattr(self, name).update(getattr(other, name))
        for name in ("within", "past", "late_joined", "outage_s", "outages"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        return self


@dataclass(frozen=True)
class Figures:
    """What one period's tally shows; every field is a count, a share or a wait in seconds."""

    label: str
    decisions: int
    outcomes: dict[str, int]
    within_standard: int
    past_threshold: int
    share_within: float | None
    waits_known: int
    late_wait_unknown: int
    wait_percentiles: dict[int, int | None]
    outage_hours: float
    outages: int
    suppressed_by: dict[str, int]
    revoked_by: dict[str, int]
    claims_granted: int
    claims_rejected: int
    rejected_by: dict[str, int]
    referrals: dict[str, int]
    warned: int
    warned_ended: dict[str, int]
    prevention_rate: float | None
    priority_assigned: int
    priority_withdrawn: int


@dataclass(frozen=True)
class Evaluation:
    """The report's numbers: per month, per day, the whole period, and the wait histogram."""

    office_id: str
    office_name: str
    policy_id: str
    threshold_s: int
    warn_after_s: int | None
    first: date | None
    last: date | None
    as_of: datetime | None
    outages_open: int
    months: list[Figures]
    days: list[Figures]
    total: Figures
    histogram: list[tuple[int, int | None, int]]  # (above, up to, applicants); None = open bin


def percentile(waits: Counter[int], p: int) -> int | None:
    """Nearest rank: the least wait such that at least p % of the waits are at most it."""
    n = waits.total()
    if n == 0:
        return None
    rank = -(-p * n // 100)  # ceil(p * n / 100)
    seen = 0
    for wait in sorted(waits):
        seen += waits[wait]
        if seen >= rank:
            return wait
    return None  # unreachable: rank <= n


def histogram_edges(threshold_s: int) -> list[int]:
    return [
        round(i * threshold_s / BINS_PER_THRESHOLD) for i in range(BINS_PER_THRESHOLD * HISTOGRAM_SPAN + 1)
    ]


def histogram(waits: Counter[int], threshold_s: int) -> list[tuple[int, int | None, int]]:
    """Bins (above, up to]; the first also takes a wait of 0, the last is everything above."""
    edges = histogram_edges(threshold_s)
    counts = [0] * len(edges)
    for wait, n in waits.items():
        i = next((i for i in range(1, len(edges)) if wait <= edges[i]), len(edges))
        counts[i - 1] += n
    bins: list[tuple[int, int | None, int]] = [
        (edges[i], edges[i + 1], counts[i]) for i in range(len(edges) - 1)
    ]
    return [*bins, (edges[-1], None, counts[-1])]


class _Recent:
    """Keys with their event time, forgotten once a watermark has moved WINDOW_S past them."""

    def __init__(self) -> None:
        self.items: dict[str, tuple[float, Any]] = {}

    def prune(self, watermark: float) -> None:
        self.items = {k: v for k, v in self.items.items() if v[0] >= watermark - WINDOW_S}


class OfficeEvaluation:
    """Takes one office's published records (and, when given, its call and outage events) one by one."""

    def __init__(
        self,
        policy: Policy,
        first: date | None = None,
        last: date | None = None,
        daily: bool = True,
        bounded: bool = False,
    ) -> None:
        """`daily` keeps daily figures too (the report's charts); `bounded` forgets the ids of records
        WINDOW_S behind, as a long-running worker must, where a report remembers every id of its period
        (its files may overlap)."""
        self.policy = policy
        self.first, self.last = first, last
        self.daily = daily
        self.bounded = bounded
        self.months: dict[str, Tally] = {}
        self.days: dict[str, Tally] = {}
        self._seen = _Recent()  # record ids, for dropping copies
        self._late = _Recent()  # ticket -> (issued, day) of a ticket past the threshold, waiting for its call
        self._calls = _Recent()  # ticket -> first call, waiting for its decision
        self._warned = _Recent()  # ticket -> day of an at-risk ticket, waiting for its decision
        self._warnable = _Recent()  # ticket -> how a ticket that could have been warned ended
        self._decided_until = 0.0  # event-time watermarks of the sides of the joins
        self._called_until = 0.0
        self._warned_until = 0.0
        self._outages: dict[str, float] = {}  # outage key -> start, while open
        self._outage_spans: list[tuple[float, float]] = []
        self._outages_started: list[float] = []
        self._latest: float | None = None
        self._added = 0

    # ---- input ---------------------------------------------------------------------------

    def add(self, value: Value) -> bool:
        """Takes one record or event as a JSON object; True when it counted. Anything malformed is ignored."""
        try:
            counted = self._add(value)
        except (KeyError, TypeError, ValueError, AttributeError):
            return False
        self._added += 1
        if self._added % _PRUNE_EVERY == 0:
            self._prune()
        return counted

    def _add(self, value: Value) -> bool:
        kind = value.get("type")
        office = value.get("office_id")
        if kind in ("outage_started", "outage_ended"):
            return office in (self.policy.office_id, "*") and self._outage(kind, value)
        if office != self.policy.office_id:
            return False
        if kind == "compensation_decision":
            return self._decision(value)
        if kind in ("service_called", "ticket_closed"):
            return self._call(value)
        if kind == "ticket_at_risk":
            return self._at_risk(value)
        if kind == "claim_decision":
            return self._claim(value)
        if kind == "ombudsman_referral":
            return self._referral(value)
        if kind in ("priority_ticket_assigned", "priority_ticket_withdrawn"):
            return self._priority(kind, value)
        return False

    def _moment(self, text: Any) -> datetime:
        moment = text if isinstance(text, datetime) else datetime.fromisoformat(text)
        if moment.tzinfo is None:
            raise ValueError("naive timestamp")
        return moment.astimezone(self.policy.zone)

    def _seconds(self, text: Any) -> float:
        seconds = self._moment(text).timestamp()
        self._latest = seconds if self._latest is None or seconds > self._latest else self._latest
        return seconds

    def _in_period(self, day: date) -> bool:
        return (self.first is None or day >= self.first) and (self.last is None or day <= self.last)

    def _first_time(self, key: str, at: float) -> bool:
        """False for a copy of a record already counted (at-least-once delivery)."""
        if key in self._seen.items:
            return False
        self._seen.items[key] = (at, None)
        return True

    def _tallies(self, day: date) -> list[Tally]:
        month = self.months.setdefault(day.isoformat()[:7], Tally())
        return [month, self.days.setdefault(day.isoformat(), Tally())] if self.daily else [month]

    def _decision(self, value: Value) -> bool:
        decided = self._seconds(value["decided_at"])
        self._decided_until = max(self._decided_until, decided)
        outcome, ticket = value["outcome"], value["ticket_id"]
        if outcome not in OUTCOMES or not self._first_time(f"d\x1f{value['decision_id']}", decided):
            return False
        day = date.fromisoformat(str(value["service_day"]))
        issued = self._seconds(value["issued_at"])
        reasons = set(value["reasons"])
        self._join_warning(ticket, outcome, int(value["waited_s"]), decided)
        if not self._in_period(day):
            self._calls.items.pop(ticket, None)
            return False
        tallies = self._tallies(day)
        for tally in tallies:
            tally.outcomes[outcome] += 1
            if outcome == "within_standard":
                tally.within += 1
                tally.waits[int(value["waited_s"])] += 1
            elif outcome in AT_DEADLINE:
                tally.past += 1
            if outcome == "suppressed":
                tally.suppressed_by.update(reasons & set(EXCLUSIONS))
            if outcome == "revoked":
                tally.revoked_by.update(reasons)
                # A late call or close shows the ticket never passed the threshold uncalled.
                if "called_within_standard" in reasons:
                    tally.within += 1
                    tally.past -= 1
                elif "closed_before_deadline" in reasons:
                    tally.past -= 1
        if outcome in AT_DEADLINE:
            called = self._calls.items.pop(ticket, None)
            if called is None:
                self._late.items[ticket] = (decided, (issued, day))
            else:
                self._joined(tallies, called[1] - issued)
        elif outcome in ("within_standard", "not_served"):
            self._calls.items.pop(ticket, None)
        return True

    def _call(self, value: Value) -> bool:
        """The first call (or close as served) of a ticket that passed the threshold ends its wait."""
        if value["type"] == "ticket_closed" and value.get("outcome") != "served":
            return False
        at = self._seconds(value["occurred_at"])
        self._called_until = max(self._called_until, at)
        ticket = value["ticket_id"]
        late = self._late.items.pop(ticket, None)
        if late is not None:
            issued, day = late[1]
            self._joined(self._tallies(day), at - issued)
            return True
        known = self._calls.items.get(ticket)
        if known is None or at < known[1]:
            self._calls.items[ticket] = (at, at)
        return False

    def _joined(self, tallies: list[Tally], wait: float) -> None:
        for tally in tallies:
            tally.late_joined += 1
            tally.waits[max(0, int(wait))] += 1

    def _at_risk(self, value: Value) -> bool:
        at = self._seconds(value["at"])
        self._warned_until = max(self._warned_until, at)
        ticket = value["ticket_id"]
        if not self._first_time(f"w\x1f{ticket}", at):
            return False
        day = self._moment(value["issued_at"]).date()
        ended = self._warnable.items.pop(ticket, None)
        if not self._in_period(day):
            return False
        for tally in self._tallies(day):
            tally.warned["all"] += 1
            if ended is not None:
                tally.warned[ended[1]] += 1
        if ended is None:
            self._warned.items[ticket] = (at, day)
        return True

    def _join_warning(self, ticket: str, outcome: str, waited_s: int, decided: float) -> None:
        ended = "in_time" if outcome == "within_standard" else "late" if outcome in AT_DEADLINE else None
        ended = "not_served" if outcome == "not_served" else ended
        warn = self.policy.warn_after_s
        if ended is None or warn is None or waited_s < warn:
            return  # a ticket decided before the warning wait was never at risk
        warned = self._warned.items.pop(ticket, None)
        if warned is None:
            self._warnable.items[ticket] = (decided, ended)
            return
        for tally in self._tallies(warned[1]):
            tally.warned[ended] += 1

    def _claim(self, value: Value) -> bool:
        at = self._seconds(value["decided_at"])
        outcome = value["outcome"]
        if outcome not in ("granted", "rejected") or not self._first_time(f"c\x1f{value['claim_id']}", at):
            return False
        day = self._moment(value["decided_at"]).date()
        if not self._in_period(day):
            return False
        for tally in self._tallies(day):
            tally.claims[outcome] += 1
            if outcome == "rejected":
                tally.claim_reasons.update(r for r in set(value["reasons"]) if r in CLAIM_REASONS)
        return True

    def _referral(self, value: Value) -> bool:
        at = self._seconds(value["referred_at"])
        category = value["category"]
        if category not in REFERRAL_CATEGORIES or not self._first_time(f"r\x1f{value['referral_id']}", at):
            return False
        day = self._moment(value["referred_at"]).date()
        if not self._in_period(day):
            return False
        for tally in self._tallies(day):
            tally.referrals[category] += 1
        return True

    def _priority(self, kind: str, value: Value) -> bool:
        at = self._seconds(value["assigned_at"])
        what = "assigned" if kind == "priority_ticket_assigned" else "withdrawn"
        key = f"p\x1f{what}\x1f{value['service_day']}\x1f{value['priority_no']}"
        day = date.fromisoformat(str(value["service_day"]))
        if not self._first_time(key, at) or not self._in_period(day):
            return False
        for tally in self._tallies(day):
            tally.priority[what] += 1
        return True

    def _outage(self, kind: str, value: Value) -> bool:
        """Outages come from the input topic ops.system-status: the decision log only names their effect."""
        at = self._seconds(value["occurred_at"])
        key = f"{value['office_id']}\x1f{value['outage_id']}"
        if kind == "outage_started":
            if not self._first_time(f"o\x1f{key}", at):
                return False
            self._outages[key] = at
            self._outages_started.append(at)
            return True
        start = self._outages.get(key)
        if start is None or at < start:  # as the rule does: such an end changes nothing
            return False
        del self._outages[key]
        self._outage_spans.append((start, at))
        return True

    def _prune(self) -> None:
        # Each side of a join is forgotten once the side it waits for has moved past it.
        if self.bounded:
            self._seen.prune(max(self._decided_until, self._warned_until, self._latest or 0.0))
        self._late.prune(self._called_until)
        self._calls.prune(self._decided_until)
        self._warned.prune(self._decided_until)
        self._warnable.prune(self._warned_until)
        self._outage_spans = _merged(self._outage_spans)

    # ---- output --------------------------------------------------------------------------

    def evaluation(self) -> Evaluation:
        """The figures as of now; taking them changes nothing."""
        months = {k: _copy(t) for k, t in self.months.items()}
        as_of = self._latest
        self._outage_figures(months, as_of)
        total = Tally()
        for tally in months.values():
            total += tally
        return Evaluation(
            office_id=self.policy.office_id,
            office_name=self.policy.office_name,
            policy_id=self.policy.policy_id,
            threshold_s=self.policy.threshold_s,
            warn_after_s=self.policy.warn_after_s,
            first=self.first,
            last=self.last,
            as_of=None if as_of is None else datetime.fromtimestamp(as_of, self.policy.zone),
            outages_open=len(self._outages),
            months=[self._figures(k, months[k]) for k in sorted(months)],
            days=[self._figures(k, self.days[k]) for k in sorted(self.days)],
            total=self._figures("total", total),
            histogram=histogram(total.waits, self.policy.threshold_s),
        )

    def _outage_figures(self, months: dict[str, Tally], as_of: float | None) -> None:
        """Outage hours per office-local month: the union of the outages, an open one up to the latest
        record; cut to the period."""
        lower = self._midnight(self.first) if self.first is not None else float("-inf")
        upper = self._midnight(self.last + timedelta(days=1)) if self.last is not None else float("inf")
        spans = list(self._outage_spans)
        if as_of is not None:
            spans += [(start, max(start, min(as_of, upper))) for start in self._outages.values()]
        for start, end in _merged(spans):
            start, end = max(start, lower), min(end, upper)
            while start < end:
                local = datetime.fromtimestamp(start, self.policy.zone)
                month_end = self._midnight((local.replace(day=28) + timedelta(days=4)).replace(day=1).date())
                cut = min(end, month_end)
                months.setdefault(local.date().isoformat()[:7], Tally()).outage_s += round(cut - start)
                start = cut
        for start in self._outages_started:
            day = datetime.fromtimestamp(start, self.policy.zone).date()
            if self._in_period(day):
                months.setdefault(day.isoformat()[:7], Tally()).outages += 1

    def _midnight(self, day: date) -> float:
        return datetime.combine(day, time(0), self.policy.zone).timestamp()

    def _figures(self, label: str, tally: Tally) -> Figures:
        decided = tally.within + tally.past
        ended = {k: tally.warned[k] for k in WARNED}
        prevented = ended["in_time"] + ended["late"]
        return Figures(
            label=label,
            decisions=sum(tally.outcomes[o] for o in OUTCOMES if o != "revoked"),
            outcomes={o: tally.outcomes[o] for o in OUTCOMES},
            within_standard=tally.within,
            past_threshold=tally.past,
            share_within=tally.within / decided if decided else None,
            waits_known=tally.waits.total(),
            late_wait_unknown=tally.outcomes["ineligible"] + tally.outcomes["suppressed"]
            + tally.outcomes["eligible"] - tally.late_joined,
            wait_percentiles={p: percentile(tally.waits, p) for p in PERCENTILES},
            outage_hours=round(tally.outage_s / 3600, 2),
            outages=tally.outages,
            suppressed_by={r: tally.suppressed_by[r] for r in EXCLUSIONS},
            revoked_by={r: tally.revoked_by[r] for r in REVOCATIONS},
            claims_granted=tally.claims["granted"],
            claims_rejected=tally.claims["rejected"],
            rejected_by={r: tally.claim_reasons[r] for r in CLAIM_REASONS},
            referrals={c: tally.referrals[c] for c in REFERRAL_CATEGORIES},
            warned=tally.warned["all"],
            warned_ended=ended,
            prevention_rate=ended["in_time"] / prevented if prevented else None,
            priority_assigned=tally.priority["assigned"],
            priority_withdrawn=tally.priority["withdrawn"],
        )  # fmt: skip


def _copy(tally: Tally) -> Tally:
    fresh = Tally()
    fresh += tally
    return fresh


def _merged(spans: Iterable[tuple[float, float]]) -> list[tuple[float, float]]:
    """The union of half-open intervals, as disjoint intervals in order."""
    out: list[tuple[float, float]] = []
    for start, end in sorted(spans):
        if out and start <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], end))
        else:
            out.append((start, end))
    return out
