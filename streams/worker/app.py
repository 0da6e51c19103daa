"""`kompensasi worker`: the composition root of the Faust app."""

import asyncio
import functools
import ssl
from datetime import UTC, datetime
from importlib.metadata import version
from pathlib import Path

import faust
from aiohttp import web
from faust.auth import Credentials

from schemas.topics import INPUT_TOPICS
from streams import metrics
from streams.logs import configure as configure_logs
from streams.logs import log, logging_config
from streams.reading import unreadable_state
from streams.settings import Settings
from streams.web.access import Access, TokenError, Tokens
from streams.web.audit import AuditLog
from streams.web.board import Views
from streams.web.follower import Follower
from streams.web.process import Feed, WebProcess
from streams.web.routes import build_app
from streams.worker.agents import FOLLOWED, register
from streams.worker.broadcasts import Broadcasts
from streams.worker.datadir import DataDirInUse, hold
from streams.worker.desk import Desk
from streams.worker.state import OfficeStates
from streams.worker.topics import declare, ensure_topics
from streams.worker.transport import transport_for

STATE_TABLE = "office-state"
WEB_FEED = "web-feed.json"


def wall_now() -> datetime:
    return datetime.now(UTC)


def tls_context(settings: Settings) -> ssl.SSLContext | None:
    """The TLS context of the SSL protocols, shared by Faust and the plain Kafka clients."""
    if settings.security_protocol.upper() in ("SSL", "SASL_SSL"):
        return ssl.create_default_context(cafile=settings.ssl_cafile or None)
    return None


def credentials(settings: Settings) -> Credentials | None:
    """TLS and SASL (SCRAM) for a real cluster; none on the embedded broker."""
    protocol = settings.security_protocol.upper()
    context = tls_context(settings)
    if protocol == "SSL":
        return faust.SSLCredentials(context)
    if protocol in ("SASL_PLAINTEXT", "SASL_SSL"):
        return faust.SASLCredentials(
            username=settings.sasl_username,
            password=settings.sasl_password,
            mechanism=settings.sasl_mechanism,
            ssl_context=context,
        )
    if protocol != "PLAINTEXT":
        raise ValueError(f"unknown security protocol {settings.security_protocol!r}")
    return None


def create_app(settings: Settings) -> faust.App:
    app = faust.App(
        settings.app_id,
        broker=settings.broker,
        # In memory, rebuilt from the changelog at each start: the state is written to the store and
        # the changelog per office partition (streams/worker/state.py), which a RocksDB store refuses
        # outside Faust's own per-record path.
        store="memory://",
        datadir=str(Path(settings.data_dir)),
        web_port=settings.web_port,
        web_host=settings.web_host,
        web_bind=settings.web_host,
        topic_partitions=settings.partitions,
        topic_replication_factor=settings.replication_factor,
        table_standby_replicas=0,
        processing_guarantee=settings.processing_guarantee,
        broker_credentials=credentials(settings),
        # The embedded broker joins a group in half the session timeout: keep it short.
        broker_session_timeout=6.0,
        broker_heartbeat_interval=1.0,
        broker_rebalance_timeout=6.0,
        producer_linger=0.0,
        consumer_auto_offset_reset="earliest",
        # The web port is served by a process of its own (streams/web/process.py), so that no request
        # load makes the agent wait; Faust's own pages (the state table with applicant ids, the
        # cluster's layout) are not served at all.
        web_enabled=False,
        web_tables_enabled=False,
        web_router_enabled=False,
        web_stats_enabled=False,
        web_graph_enabled=False,
        web_metrics_enabled=False,
    )
    tokens(settings)  # checked and counted here, once: the web process reads them again
    app.transport = transport_for(app, settings.fetch_wait_ms)
    topics = declare(app, settings.partitions)
    # Bytes both ways: Faust decodes nothing, so no record on the changelog can stop a restore
    # (a record Faust cannot decode hangs its recovery); OfficeStates reads and checks each value.
    table = app.Table(
        STATE_TABLE,
        default=None,
        partitions=settings.partitions,
        key_type=bytes,
        value_type=bytes,
    )
    changelog_topic = table.changelog_topic.get_topic_name()
    states = OfficeStates(
        {p.office_id: p for p in settings.policies}, table.data, wall_now,
        on_unreadable=lambda office_id, reason: unreadable_state(changelog_topic, office_id, reason),
    )  # fmt: skip

    async def changelog(writes: list[tuple[int, bytes, bytes | None]]) -> None:
        """Each record is acknowledged before the next, so each is a batch of its own: the embedded
        broker reports wrong end offsets after multi-record batches, which would restore the table
        short (README, "Guarantees"). A step writes one record per office it changed."""
        for partition, key, value in writes:
            await table.send_changelog(partition, key, value)

    desk = Desk(
        settings.policies, states, wall_now, settings.max_idle_s, settings.status_interval_s,
        standing=lambda topic, partition: app.consumer.standing(topic, partition), broadcasts=Broadcasts(),
    )  # fmt: skip
    register(
        app,
        topics,
        desk,
        changelog,
        settings.tick_interval_s,
        bootstrap_servers(settings.broker),
        client_options(settings),
        WebProcess(functools.partial(web_app, settings), settings.web_host, settings.web_port,
                   Feed(Path(settings.data_dir) / WEB_FEED)),
    )  # fmt: skip
    return app


def web_app(settings: Settings, feed: Feed) -> web.Application:
    """The web process's app: the read models and their follower, the pages, the audit trail, and
    what the worker feeds it for /ready and /metrics."""
    views = Views(settings.policies)
    bootstrap, options = bootstrap_servers(settings.broker), client_options(settings)
    follower = Follower(bootstrap, FOLLOWED, views, lambda office: None, options)

    def ready() -> dict[str, object]:
        """Ready means deciding. Read models that stopped following show here and in
        `kompensasi_read_models_following`, but do not make the worker unready (README, "/ready")."""
        return {**feed.readiness(), "read_models": follower.status()}

    access = Access(configured_tokens(settings))
    audit = AuditLog(bootstrap, dict(options), settings.audit_timeout_s)
    return build_app(views, ready, access, audit, follower, metrics_text=feed.metrics_text)


def configured_tokens(settings: Settings) -> Tokens:
    """The staff and inspector tokens; TokenError when one is unusable (the message names no token)."""
    return Tokens.configured(settings.staff_tokens, settings.inspector_tokens, settings.tokens_file)


def tokens(settings: Settings) -> Tokens:
    """`configured_tokens`, their counts logged (once, in the worker)."""
    configured = configured_tokens(settings)
    counts = configured.count()
    if not any(counts.values()):
        log.warning("no_tokens", detail="no staff or inspector token: the operations view stays closed")
    log.info("tokens", **counts)
    return configured


def client_options(settings: Settings) -> dict[str, object]:
    """The same security settings for the plain Kafka clients the worker uses beside Faust."""
    protocol = settings.security_protocol.upper()
    options: dict[str, object] = {"security_protocol": protocol}
    context = tls_context(settings)
    if context is not None:
        options["ssl_context"] = context
    if protocol.startswith("SASL"):
        options.update(
            sasl_mechanism=settings.sasl_mechanism,
            sasl_plain_username=settings.sasl_username,
            sasl_plain_password=settings.sasl_password,
        )
    return options


def bootstrap_servers(broker: str) -> str:
    return ",".join(url.split("://", 1)[-1] for url in broker.split(";") if url)


def run_worker(settings: Settings) -> int:
    loglevel = settings.log_level
    configure_logs(json=True)
    data_dir = Path(settings.data_dir).resolve()
    try:
        hold(data_dir)
    except DataDirInUse as exc:
        log.error(
            "data_dir_in_use", data_dir=str(data_dir), holder_pid=exc.holder,
            detail="another worker runs on this data dir: give each worker its own --data-dir",
        )  # fmt: skip
        return 1
    bootstrap, options = bootstrap_servers(settings.broker), client_options(settings)
    counts = asyncio.run(ensure_topics(bootstrap, settings.partitions, settings.replication_factor, options))
    inputs = {counts[t] for t in INPUT_TOPICS}
    if len(inputs) != 1:
        raise SystemExit(f"kompensasi: the input topics must have one partition count, found {counts}")
    try:
        app = create_app(settings)
    except TokenError as exc:
        raise SystemExit(f"kompensasi: {exc}") from None
    metrics.BUILD.info({"version": version("kompensasi"), "partitions": str(settings.partitions)})
    # Faust and aiokafka log record payloads at debug level: their logs never go below info.
    faust_level = "info" if loglevel.lower() == "debug" else loglevel
    worker = faust.Worker(app, loglevel=faust_level, logging_config=logging_config(faust_level))
    worker.execute_from_commandline()
    return 0
