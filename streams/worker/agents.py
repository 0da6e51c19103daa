"""The agent and the timer: thin, they decode, hand to the desk, and send what it returns."""

import asyncio
import time
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import NoReturn

import faust
import orjson
from aiokafka import TopicPartition
from aiokafka.errors import IllegalStateError, KafkaError
from faust.exceptions import ConsumerNotStarted

from schemas.records import (
    ClaimDecision,
    CompensationDecision,
    DeadLetter,
    PriorityTicketAssigned,
    PriorityTicketWithdrawn,
    Record,
)
from schemas.topics import DEAD_LETTERS, INPUT_TOPICS, OUTPUT_TOPICS, SYSTEM_STATUS, TICKETS
from streams import metrics
from streams.codec import encode, key_of, topic_of
from streams.logs import log
from streams.reading import SIGNALS_TOPIC, log_time, read_event, read_signal
from streams.web.process import WebProcess
from streams.worker.broadcasts import watch
from streams.worker.continuity import Continuity, Gap, GroupOffsets, leave, lost, restart
from streams.worker.desk import Desk, Handled
from streams.worker.topics import Topics

_TICK = orjson.dumps({"signal": "tick"})
STEP_RECORDS = 1000
STEP_WITHIN_S = 0.002
# Records the agent has not applied this long after their fetch, while it applies ticks: dropped.
DROPPED_AFTER_S = 10.0
# What the read models follow: the published records but the dead letters (raw, maybe personal, and
# shown nowhere), and the calls and outages (the board shows calls, the public summary outages).
FOLLOWED = [*(t for t in OUTPUT_TOPICS if t != DEAD_LETTERS), TICKETS, SYSTEM_STATUS]
_READY_EVERY_S = 0.5


def written_at(message: faust.types.Message) -> datetime | None:
    """The record's log timestamp (Faust gives seconds), None when it has none or no usable one."""
    return log_time(round(message.timestamp * 1000))


def survives(name: str, body: Callable[[], Awaitable[None]]) -> Callable[[], Awaitable[None]]:
    """A timer body whose fault is logged and counted, and tried again at the next tick: Faust would
    otherwise crash the worker, and a timer has nothing to keep uncommitted."""

    async def timer() -> None:
        try:
            await body()
        except Exception as exc:
            metrics.BACKGROUND_FAILURES.labels(name).inc()
            log.warning("timer_failed", timer=name, error=type(exc).__name__)

    timer.__name__ = timer.__qualname__ = name  # Faust names a timer after its function
    return timer


def log_record(record: Record, where: dict[str, object]) -> None:
    """One line per published record, with ids and codes only."""
    match record:
        case CompensationDecision():
            log.info(
                "decision",
                office=record.office_id,
                ticket_id=record.ticket_id,
                outcome=record.outcome,
                **where,
            )
        case ClaimDecision():
            log.info(
                "claim", office=record.office_id, claim_id=record.claim_id, outcome=record.outcome, **where
            )
        case DeadLetter():
            log.warning("dead_letter", error_code=record.error_code, **where)
        case PriorityTicketAssigned() | PriorityTicketWithdrawn():
            log.info(record.type, office=record.office_id, priority_no=record.priority_no, **where)


def stop(exc: Exception, message: faust.types.Message) -> NoReturn:
    """A fault of ours or of the broker, not of the input (that is a dead letter): the worker stops
    at once. Faust would ack the step's records when its body raised and commit them as it stopped;
    ended here, they stay uncommitted for the next start. The text may quote the event: type only."""
    log.error("agent_failed", error=type(exc).__name__, topic=message.topic, partition=message.partition,
              offset=message.offset)  # fmt: skip
    leave(70)


def register(
    app: faust.App,
    topics: Topics,
    desk: Desk,
    changelog: Callable[[list[tuple[int, bytes, bytes | None]]], Awaitable[None]],
    tick_interval_s: float,
    bootstrap: str,
    client_options: dict[str, object],
    web: WebProcess,
) -> None:
    signals = app.topic(SIGNALS_TOPIC, key_serializer="raw", value_serializer="raw")

    async def publish(step: Handled) -> None:
        """Sends a step's records and waits for the broker to acknowledge them all, then saves the
        state: one journal entry per changed office, sent to its changelog partition."""
        metrics.observe(step.records)
        sent = []
        for record in step.records:
            key = key_of(record)
            sent.append(
                await topics.outputs[topic_of(record)].send(
                    key=None if key is None else key.encode(), value=encode(record)
                )
            )
        for office_id, value in step.signals:
            sent.append(await signals.send(key=office_id.encode(), value=value))
        if sent:  # a failed send raises, and the worker stops before it saves or commits (`stop`)
            await asyncio.gather(*sent)
        await changelog(desk.save(step))

    continuity = Continuity.from_environment()
    for topic, *_ in continuity.seen_before:  # the gaps that restarted this process, for the alert
        metrics.OFFSET_GAPS.labels(topic).inc()
    group = GroupOffsets(bootstrap, app.conf.id, client_options)

    def start_afresh(gap: Gap, event: str, **fields: object) -> NoReturn:
        """Records were lost before the agent: counted, logged, and read again by a fresh process."""
        metrics.OFFSET_GAPS.labels(gap[0]).inc()
        log.error(event, topic=gap[0], partition=gap[1], **fields)
        restart(continuity.seen_before | {gap})

    async def resume_offset(tp: tuple[str, int]) -> int | None:
        """The group's committed offset; with none, the partition's first, as a group with no commit reads
        from there: records dropped before the first one handed over are a gap too (one run lost a
        `*` outage so). None when neither is known: from the first record handed over."""
        committed = await group.committed(tp)
        if committed is not None:
            return committed
        first = TopicPartition(*tp)
        try:
            return (await app.consumer.earliest_offsets(first)).get(first)
        except KafkaError as exc:
            log.warning("first_offset_unknown", topic=tp[0], partition=tp[1], error=type(exc).__name__)
            return None

    async def check_continuity(message: faust.types.Message) -> None:
        """On a gap before this record, log it and start the worker afresh; it never returns then."""
        tp = (message.topic, message.partition)
        if not continuity.knows(tp):
            continuity.start(tp, await resume_offset(tp))
        gap = continuity.gap(tp, message.offset)
        if gap is not None:
            start_afresh(gap, "offset_gap", offset=message.offset, expected=gap[2])

    async def check_dropped() -> None:
        """Records handed over but never applied (Faust dropped them): start afresh, as on a gap.
        Those below the group's committed offset were applied by an earlier owner: Faust fetched them
        before its seek to that offset, and rightly skips them."""
        gap = desk.dropped(list(app.consumer.handed), DROPPED_AFTER_S)
        if gap is None:
            return
        topic, partition, applied, handed = gap
        committed = await group.committed((topic, partition))
        if committed is not None and not lost(gap, committed):
            log.info("skipped_below_committed", topic=topic, partition=partition, committed=committed)
            desk.applied_before(topic, partition, committed)
            return
        start_afresh(gap, "records_dropped", expected=applied, handed=handed, committed=committed,
                     again=gap in continuity.seen_before)  # fmt: skip

    async def handle(message: faust.types.Message) -> Handled:
        await check_continuity(message)
        if message.topic == SIGNALS_TOPIC:  # a tick comes every second, whatever else does
            await check_dropped()
        # A `*` event produced before this record must be known first; the other reader of the
        # status topic usually fetched since, else it will within milliseconds.
        fetched_at = app.consumer.handed_at.get((message.topic, message.partition))
        if fetched_at is not None and desk.broadcasts.as_of < fetched_at:
            await desk.broadcasts.known_as_of(fetched_at, timeout_s=1.0)
        where = {"topic": message.topic, "partition": message.partition, "offset": message.offset}
        if message.topic == SIGNALS_TOPIC:
            signal = read_signal(message.partition, message.offset, message.key, message.value,
                                 desk.policies, written_at(message), desk.wall())  # fmt: skip
            handled = Handled() if signal is None else desk.on_signal(signal, message.partition)
        elif message.topic in INPUT_TOPICS:
            handled = desk.on_input(message.topic, message.partition, message.offset, message.value,
                                    written_at(message), key=message.key)  # fmt: skip
        else:
            return Handled()
        if handled.late:
            log.warning("late_event", office=handled.office_id, **where)
        for record in handled.records:
            log_record(record, where)
        return handled

    @app.agent(topics.inputs, name="decide")
    async def decide(stream: faust.StreamT) -> None:
        # A step is what has arrived within STEP_WITHIN_S, up to STEP_RECORDS: its records wait for
        # one acknowledgement, and each office it changed writes one journal entry.
        async for events in stream.take_events(STEP_RECORDS, within=STEP_WITHIN_S):
            step = Handled()
            message = events[0].message
            try:
                for event in events:
                    message = event.message
                    step.add(await handle(message))
                await publish(step)
            except asyncio.CancelledError:
                # Stopped (SIGTERM) in the middle of a step: Faust would ack its records as the
                # cancellation left the body and commit them as it stopped, unsent and unsaved.
                log.info("stopped_mid_step", topic=message.topic, partition=message.partition,
                         offset=message.offset)  # fmt: skip
                leave(0)
            except Exception as exc:
                stop(exc, message)
            now = time.monotonic()
            for event in events:
                if event.message.time_in is not None:
                    metrics.LATENCY.observe(now - event.message.time_in)

    async def tick() -> None:
        # Every worker ticks every office; only the owner of its partition acts on it.
        for office_id in desk.policies:
            await signals.send(key=office_id.encode(), value=_TICK)

    app.timer(tick_interval_s)(survives("tick", tick))

    desk_topics = (*INPUT_TOPICS, SIGNALS_TOPIC)
    feed = web.feed

    def measure() -> None:
        """On the agent's loop, every half second and at rebalances: what /ready says, with the metrics."""
        try:
            assignment = app.consumer.assignment()
        except ConsumerNotStarted:
            feed.publish({"ready": False, "partitions": [], "assignment": {}})
            return
        assigned = sorted(tp.partition for tp in assignment if tp.topic == TICKETS)
        is_ready = bool(assigned) and not app.rebalancing and app.tables.recovery.completed.is_set()
        # Every topic's partitions, so a test can see that partition p of each comes to one worker.
        topics = {t: sorted(tp.partition for tp in assignment if tp.topic == t) for t in desk_topics}
        feed.publish({"ready": is_ready, "partitions": assigned, "assignment": topics})

    async def publish_readiness() -> None:
        measure()

    app.timer(_READY_EVERY_S)(survives("readiness", publish_readiness))

    @app.on_partitions_revoked.connect
    async def on_revoked(sender: faust.App, revoked: object, **_: object) -> None:
        desk.on_rebalance()
        app.consumer.forget_standing()
        continuity.forget()
        feed.publish({**feed.state, "ready": False})

    @app.on_rebalance_complete.connect
    async def on_resumed(sender: faust.App, **_: object) -> None:
        desk.on_resume()
        measure()

    app.add_dependency(web)
    app.kompensasi_web = web  # type: ignore[attr-defined]  # the tests build the same app from it

    async def consumer_lag() -> None:
        if app.rebalancing:
            return
        for tp in app.consumer.assignment():
            try:
                highwater = app.consumer.highwater(tp)
                position = await app.consumer.position(tp)
            except (AssertionError, IllegalStateError):
                # Revoked by a rebalance while this loop ran: aiokafka asserts, and an uncaught
                # error in a timer crashes the whole worker.
                continue
            if highwater is not None and position is not None:
                metrics.CONSUMER_LAG.labels(tp.topic, str(tp.partition)).set(max(0, highwater - position))

    app.timer(5.0)(survives("consumer_lag", consumer_lag))

    @app.task
    async def follow_broadcasts() -> None:
        await watch(
            bootstrap,
            client_options,
            desk.broadcasts,
            lambda value, key, timestamp_ms: read_event(
                value, desk.policies, log_time(timestamp_ms), desk.wall(), key=key
            ),
        )
