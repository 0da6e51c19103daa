"""The audit trail of one ticket (Ombudsman agreement, Pasal 4): every input event and output record
about it, read from the log itself, so a ticket decided months ago has one for as long as the topics
keep their records (400 days in deploy/compose.yaml)."""

import asyncio
import json
import re
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import orjson
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.partitioner import DefaultPartitioner

from rules.clock import instant
from rules.outages import Outage
from schemas.events import ALL_OFFICES, Event
from schemas.topics import (
    AT_RISK,
    CLAIM_DECISIONS,
    DECISIONS,
    INPUT_TOPICS,
    PRIORITY_TICKETS,
    REFERRALS,
    REVIEWS,
    SYSTEM_STATUS,
)
from streams.reading import Reader, log_time

# Dead letters (raw records, maybe personal) and office status (no ticket) are not part of a trail.
AUDITED_OUTPUTS = (DECISIONS, PRIORITY_TICKETS, CLAIM_DECISIONS, AT_RISK, REFERRALS)
# Free text of the input events: personal data, replaced in a trail (the ids stay).
PERSONAL_TEXT = frozenset({"reason", "summary"})
REDACTED = "[redacted]"
# A producer's clock may run behind: read a day past `to` and keep only what was written before it.
_CLOCK_MARGIN_MS = 86_400_000
_TIME_FIELD = {
    "compensation_decision": "decided_at",
    "priority_ticket_assigned": "assigned_at",
    "priority_ticket_withdrawn": "assigned_at",
    "claim_decision": "decided_at",
    "ticket_at_risk": "at",
    "ombudsman_referral": "referred_at",
}


@dataclass
class Entry:
    at: datetime
    topic: str
    partition: int
    offset: int
    timestamp_ms: int
    record: dict[str, Any]
    event: Event | None = None

    def order(self) -> tuple[int, int, str, int, int]:
        # Same instant: the input that caused a record comes before it.
        return (instant(self.at), 0 if self.event is not None else 1, self.topic, self.partition, self.offset)

    def public(self) -> dict[str, Any]:
        return {
            "at": self.at.isoformat(),
            "topic": self.topic,
            "partition": self.partition,
            "offset": self.offset,
            # None when the producer stamped the record with no time or one past any date.
            "logged_at": None if (logged := log_time(self.timestamp_ms)) is None else logged.isoformat(),
            "record": self.record,
        }


def redacted(event: Event) -> dict[str, Any]:
    """The event as the worker read it (unknown fields dropped), its free text replaced."""
    value = event.model_dump(mode="json")
    return {k: REDACTED if k in PERSONAL_TEXT else v for k, v in value.items()}


class Trail:
    """Picks, from the records read, those about one ticket of one office. No Kafka here.

    About the ticket: events and records naming it, the review events of its applicant whose flag
    touched its time in the log, and the outages (of the office or `*`) that overlapped it."""

    def __init__(self, office_id: str, ticket_id: str) -> None:
        self.office_id = office_id
        self.ticket_id = ticket_id
        # Another office's event reads as unknown here: never part of this office's trail.
        self.reader = Reader({office_id})
        # A cheap byte test before decoding: the id as JSON encoders write it.
        self.needles = needles(ticket_id)
        self.own: list[Entry] = []
        self.reviews: list[Entry] = []
        self.outages: list[Entry] = []

    def take(
        self, topic: str, partition: int, offset: int, timestamp_ms: int, value: bytes, key: bytes | None
    ) -> None:
        if topic in (REVIEWS, SYSTEM_STATUS):
            self._input(topic, partition, offset, timestamp_ms, value, key)
        elif any(needle in value for needle in self.needles):
            if topic in INPUT_TOPICS:
                self._input(topic, partition, offset, timestamp_ms, value, key)
            else:
                self._output(topic, partition, offset, timestamp_ms, value)

    def _input(
        self, topic: str, partition: int, offset: int, timestamp_ms: int, value: bytes, key: bytes | None
    ) -> None:
        event = self.reader.event(value, timestamp_ms, key=key)
        if event is None:
            return  # a dead letter (or another office's event): never applied to this office
        entry = Entry(event.occurred_at, topic, partition, offset, timestamp_ms, redacted(event), event)
        if event.type in ("review_flagged", "review_cleared"):
            self.reviews.append(entry)
        elif event.type in ("outage_started", "outage_ended"):
            self.outages.append(entry)
        elif getattr(event, "ticket_id", None) == self.ticket_id:
            self.own.append(entry)

    def _output(self, topic: str, partition: int, offset: int, timestamp_ms: int, value: bytes) -> None:
        read = self.reader.record(topic, partition, offset, value)
        if read is None or read.type not in _TIME_FIELD:
            return
        record = read.model_dump(mode="json")
        if record["office_id"] != self.office_id:
            return
        at = getattr(read, _TIME_FIELD[read.type])
        evidence = record.get("evidence") or {}
        if record.get("ticket_id") == self.ticket_id or evidence.get("ticket_id") == self.ticket_id:
            self.own.append(Entry(at, topic, partition, offset, timestamp_ms, record))

    def entries(self) -> list[Entry]:
        """What is about the ticket, by event time, then topic and offset."""
        own = self.own
        if not own:
            return []
        revoked = [e.at for e in own if e.record.get("outcome") == "revoked"]
        for e in own:
            # A withdrawal has no time of its own: it is published with the revocation that caused it.
            if e.record.get("type") == "priority_ticket_withdrawn" and revoked:
                e.at = min(revoked)
        issued = [e.at for e in own if e.record.get("type") == "ticket_issued"]
        first = instant(min(issued) if issued else min(e.at for e in own))
        last = instant(max(e.at for e in own))
        applicants = {e.record["applicant_id"] for e in own if "applicant_id" in e.record}
        found = own + self._touching_outages(first, last) + self._touching_reviews(applicants, first, last)
        return sorted(found, key=Entry.order)

    def _touching_outages(self, first: int, last: int) -> list[Entry]:
        by_outage: dict[tuple[str, str], list[Entry]] = defaultdict(list)
        for e in self.outages:
            by_outage[(e.record["office_id"], e.record["outage_id"])].append(e)
        out: list[Entry] = []
        for events in by_outage.values():
            starts = sorted((e for e in events if e.record["type"] == "outage_started"), key=Entry.order)
            ends = sorted((e for e in events if e.record["type"] == "outage_ended"), key=Entry.order)
            if not starts:
                continue
            start = instant(starts[0].at)
            end = next((instant(e.at) for e in ends if instant(e.at) >= start), None)
            if Outage(start, end).overlaps(first, last):
                out += events
        return out

    def _touching_reviews(self, applicants: set[str], first: int, last: int) -> list[Entry]:
        mine = sorted((e for e in self.reviews if e.record["applicant_id"] in applicants), key=Entry.order)
        clears = [e for e in mine if e.record["type"] == "review_cleared"]
        out: dict[tuple[str, int, int], Entry] = {}
        for flag in (e for e in mine if e.record["type"] == "review_flagged"):
            cleared = next((c for c in clears if c.at >= flag.at), None)
            if instant(flag.at) <= last and (cleared is None or instant(cleared.at) >= first):
                for e in (flag, cleared):
                    if e is not None:
                        out[(e.topic, e.partition, e.offset)] = e
        return list(out.values())


def needles(text: str) -> tuple[bytes, ...]:
    """A JSON string's content as producers write it: UTF-8 as is, or every non-ASCII character as
    a \\u escape with lower- or upper-case hex (Python's, Java's ensure-ASCII encoders)."""
    raw = orjson.dumps(text)[1:-1]
    escaped = json.dumps(text)[1:-1].encode()
    upper = re.sub(rb"\\u([0-9a-f]{4})", lambda m: b"\\u" + m.group(1).upper(), escaped)
    return tuple(dict.fromkeys((raw, escaped, upper)))


def partition_of(key: str, partitions: list[int]) -> int:
    """Where the default (murmur2) partitioner puts a key: records are keyed by office_id."""
    return int(DefaultPartitioner()(key.encode(), partitions, partitions))


def window(since: date | None, until: date | None, zone: ZoneInfo) -> tuple[int | None, int | None]:
    """Office-local days, both included, as log timestamps in milliseconds."""

    def midnight(day: date) -> int:
        return int(datetime.combine(day, time(), tzinfo=zone).timestamp() * 1000)

    return (
        None if since is None else midnight(since),
        None if until is None else midnight(until + timedelta(days=1)),
    )


class AuditBusy(Exception):
    """Another trail is being read: one at a time per worker, the others are turned away, not queued."""


class AuditLog:
    """Reads an office's partitions of the input and decided topics with a plain consumer (no group),
    one trail at a time per worker, and gives up after `timeout_s`."""

    def __init__(self, bootstrap: str, client_options: dict[str, Any], timeout_s: float) -> None:
        self.bootstrap = bootstrap
        self.client_options = client_options
        self.timeout_s = timeout_s
        self._one_at_a_time = asyncio.Lock()

    async def trail(
        self, office_id: str, ticket_id: str, since_ms: int | None, until_ms: int | None
    ) -> tuple[list[Entry], int]:
        """The entries, and how many records were read. Raises TimeoutError past the time limit, and
        AuditBusy while another trail is read."""
        if self._one_at_a_time.locked():
            raise AuditBusy
        async with asyncio.timeout(self.timeout_s), self._one_at_a_time:
            return await self._read(Trail(office_id, ticket_id), since_ms, until_ms)

    async def _read(
        self, trail: Trail, since_ms: int | None, until_ms: int | None
    ) -> tuple[list[Entry], int]:
        consumer = AIOKafkaConsumer(
            bootstrap_servers=self.bootstrap, enable_auto_commit=False, **self.client_options
        )
        try:
            await consumer.start()
            await consumer.topics()  # metadata of every topic, for the partition counts
            tps: set[TopicPartition] = set()
            for topic in (*INPUT_TOPICS, *AUDITED_OUTPUTS):
                partitions = sorted(consumer.partitions_for_topic(topic) or ())
                if not partitions:
                    continue
                tps.add(TopicPartition(topic, partition_of(trail.office_id, partitions)))
                if topic == SYSTEM_STATUS:
                    tps.add(TopicPartition(topic, partition_of(ALL_OFFICES, partitions)))
            start, stop, open_ended = await _bounds(consumer, sorted(tps), since_ms, until_ms)
            pending = {tp for tp in tps if start[tp] < stop[tp]}
            if not pending:
                return [], 0
            consumer.assign(sorted(pending))
            for tp in pending:
                consumer.seek(tp, start[tp])
            read = 0
            while pending:
                batch = await consumer.getmany(*pending, timeout_ms=500, max_records=5000)
                for tp in open_ended & pending:
                    # The embedded broker under-reports end offsets after multi-record batches (README,
                    # "Guarantees"); the high watermark of a fetch is right: the first one read is the end.
                    highwater = consumer.highwater(tp)
                    if highwater is not None:
                        stop[tp] = max(stop[tp], highwater)
                        open_ended.discard(tp)
                for tp, messages in batch.items():
                    for m in messages:
                        if m.offset >= stop[tp] or m.value is None:
                            continue
                        read += 1
                        if (since_ms is None or m.timestamp >= since_ms) and (
                            until_ms is None or m.timestamp < until_ms
                        ):
                            trail.take(tp.topic, tp.partition, m.offset, m.timestamp, m.value, m.key)
                for tp in list(pending):
                    if await consumer.position(tp) >= stop[tp]:
                        pending.discard(tp)
                        consumer.pause(tp)
            return trail.entries(), read
        finally:
            await consumer.stop()


async def _bounds(
    consumer: AIOKafkaConsumer, tps: list[TopicPartition], since_ms: int | None, until_ms: int | None
) -> tuple[dict[TopicPartition, int], dict[TopicPartition, int], set[TopicPartition]]:
    """Offsets to read from and up to, and the partitions read up to their end. The time index
    narrows them where the broker answers by timestamp; one that ignores timestamps (the embedded
    broker) answers with earlier offsets, which only means reading more, and the record timestamps
    are checked anyway."""
    start = dict(await consumer.beginning_offsets(tps))
    stop = dict(await consumer.end_offsets(tps))
    if since_ms is not None:
        found = await consumer.offsets_for_times(dict.fromkeys(tps, since_ms))
        for tp, hit in found.items():
            start[tp] = stop[tp] if hit is None else max(start[tp], hit.offset)
    open_ended = set(tps)
    if until_ms is not None:
        found = await consumer.offsets_for_times(dict.fromkeys(tps, until_ms + _CLOCK_MARGIN_MS))
        for tp, hit in found.items():
            if hit is not None and hit.timestamp >= until_ms + _CLOCK_MARGIN_MS:
                stop[tp] = min(stop[tp], hit.offset)
                open_ended.discard(tp)
    return start, stop, open_ended
