"""Prometheus metrics of the worker. Label values are bounded: office ids, topics, codes, never
ticket or applicant ids."""

from collections.abc import Iterable

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, Info

from schemas.records import (
    ClaimDecision,
    CompensationDecision,
    DeadLetter,
    OfficeStatus,
    PriorityTicketAssigned,
    PriorityTicketWithdrawn,
    Record,
    TicketAtRisk,
)

REGISTRY = CollectorRegistry(auto_describe=True)

# Waits cluster around the 2-hour threshold: fine buckets from 90 minutes to 150.
WAIT_BUCKETS = (600, 1800, 3600, 4500, 5400, 6000, 6600, 7000, 7200, 7400, 7800, 9000, 10800, 14400)

EVENTS = Counter(
    "kompensasi_events_consumed_total",
    "Input records consumed.",
    ["topic", "type", "office"],
    registry=REGISTRY,
)
DUPLICATES = Counter(
    "kompensasi_duplicate_events_total", "Events dropped as duplicates.", ["office"], registry=REGISTRY
)
LATE = Counter(
    "kompensasi_late_events_total", "Events that arrived after their office clock passed them.", ["office"],
    registry=REGISTRY,
)  # fmt: skip
DEAD_LETTERS = Counter(
    "kompensasi_dead_letters_total", "Records sent to the dead-letter topic.", ["error_code", "topic"],
    registry=REGISTRY,
)  # fmt: skip
DECISIONS = Counter(
    "kompensasi_decisions_total",
    "Compensation decisions published.",
    ["office", "outcome"],
    registry=REGISTRY,
)
PRIORITY_TICKETS = Counter(
    "kompensasi_priority_tickets_total", "Priority tickets assigned or withdrawn.", ["office", "action"],
    registry=REGISTRY,
)  # fmt: skip
CLAIMS = Counter("kompensasi_claims_total", "Claims answered.", ["office", "outcome"], registry=REGISTRY)
AT_RISK_WARNINGS = Counter(
    "kompensasi_at_risk_warnings_total", "Tickets that reached the early-warning wait uncalled.", ["office"],
    registry=REGISTRY,
)  # fmt: skip
WAIT = Histogram(
    "kompensasi_wait_seconds", "Wait of each primary decision (decided_at - issued_at).", ["office"],
    buckets=WAIT_BUCKETS, registry=REGISTRY,
)  # fmt: skip
WAITING = Gauge(
    "kompensasi_waiting_applicants", "Biometric tickets waiting now.", ["office"], registry=REGISTRY
)
AT_RISK = Gauge(
    "kompensasi_at_risk_applicants", "Waiting tickets past the warning.", ["office"], registry=REGISTRY
)
CLOCK_LAG = Gauge(
    "kompensasi_office_clock_lag_seconds", "Wall time minus the office's event-time clock.", ["office"],
    registry=REGISTRY,
)  # fmt: skip
OUTAGES_ACTIVE = Gauge(
    "kompensasi_outages_active", "Outages open at the office clock.", ["office"], registry=REGISTRY
)
CONSUMER_LAG = Gauge(
    "kompensasi_consumer_lag_records", "Records behind the partition's end.", ["topic", "partition"],
    registry=REGISTRY,
)  # fmt: skip
OFFSET_GAPS = Counter(
    "kompensasi_offset_gaps_total",
    "Gaps in an input partition's offsets (faust-streaming#596), each followed by a restart.",
    ["topic"],
    registry=REGISTRY,
)
ENFORCED = Counter(
    "kompensasi_enforced_advances_total",
    "Clock moves past an idle input partition's last event: one it delivers afterwards could be late.",
    ["office"],
    registry=REGISTRY,
)
BROADCAST_READ_FAILURES = Counter(
    "kompensasi_broadcast_read_failures_total",
    "Broker faults reading the `*` events; clocks wait until the read is back.",
    registry=REGISTRY,
)
LATENCY = Histogram(
    "kompensasi_processing_latency_seconds", "From a record's arrival to its outputs being sent.",
    buckets=(0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0), registry=REGISTRY,
)  # fmt: skip
UNREADABLE = Counter(
    "kompensasi_unreadable_records_total",
    "Records of an output, signals or state topic that do not decode into what it holds, skipped.",
    ["topic"],
    registry=REGISTRY,
)
READ_MODELS_FOLLOWING = Gauge(
    "kompensasi_read_models_following",
    "1 while the board, operations and public read models follow the topics, 0 while retrying.",
    registry=REGISTRY,
)
BACKGROUND_FAILURES = Counter(
    "kompensasi_background_failures_total",
    "Faults of a background task (the read-model follower, a timer), each retried.",
    ["task"],
    registry=REGISTRY,
)
WEB_REFUSED = Counter(
    "kompensasi_web_refused_total",
    'Web connections, event streams and audit trails refused at a limit (README, "Access").',
    ["limit"],
    registry=REGISTRY,
)
WEB_BAD_REQUESTS = Counter(
    "kompensasi_web_bad_requests_total",
    "Requests the web server could not parse or answer (400, 500...), by status; never their bytes.",
    ["status"],
    registry=REGISTRY,
)
BUILD = Info("kompensasi_build", "Version of the running worker.", registry=REGISTRY)

# Counted by the web process (streams/web/process.py), the others by the worker; SHARED by both,
# and /metrics adds the two up.
WEB = (READ_MODELS_FOLLOWING, WEB_REFUSED, WEB_BAD_REQUESTS)
SHARED = (UNREADABLE, BACKGROUND_FAILURES)


def observe(records: Iterable[Record]) -> None:
    """Counts what the worker publishes."""
    for r in records:
        match r:
            case CompensationDecision():
                DECISIONS.labels(r.office_id, r.outcome).inc()
                if r.outcome != "revoked":
                    WAIT.labels(r.office_id).observe(r.waited_s)
            case PriorityTicketAssigned():
                PRIORITY_TICKETS.labels(r.office_id, "assigned").inc()
            case PriorityTicketWithdrawn():
                PRIORITY_TICKETS.labels(r.office_id, "withdrawn").inc()
            case ClaimDecision():
                CLAIMS.labels(r.office_id, r.outcome).inc()
            case TicketAtRisk():
                AT_RISK_WARNINGS.labels(r.office_id).inc()
            case DeadLetter():
                DEAD_LETTERS.labels(r.error_code, r.source_topic or "").inc()


def observe_status(status: OfficeStatus) -> None:
    office = status.office_id
    WAITING.labels(office).set(status.waiting)
    AT_RISK.labels(office).set(status.at_risk)
    OUTAGES_ACTIVE.labels(office).set(status.outages_active)
    if status.clock is not None:
        CLOCK_LAG.labels(office).set((status.at - status.clock).total_seconds())
