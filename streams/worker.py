"""`kompensasi worker`: the composition root of the Faust app."""

import os
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib.metadata import version
from pathlib import Path

import faust

from rules.policy import Policy
from streams import metrics
from streams.agents import register
from streams.desk import Desk
from streams.logs import configure as configure_logs
from streams.state import OfficeStates
from streams.topics import declare

STATE_TABLE = "office-state"


@dataclass
class Settings:
    policies: list[Policy]
    broker: str
    web_port: int = 6066
    web_host: str = "127.0.0.1"
    partitions: int = 4
    app_id: str = "kompensasi"
    data_dir: str = field(default_factory=lambda: os.environ.get("KOMPENSASI_DATA_DIR", "kompensasi-data"))
    store: str = "memory://"
    tick_interval_s: float = 1.0
    idle_topic_s: float = 2.0
    status_interval_s: float = 10.0


def wall_now() -> datetime:
    return datetime.now(UTC)


def create_app(settings: Settings) -> faust.App:
    app = faust.App(
        settings.app_id,
        broker=settings.broker,
        store=settings.store,
        datadir=str(Path(settings.data_dir)),
        web_port=settings.web_port,
        web_host=settings.web_host,
        web_bind=settings.web_host,
        topic_partitions=settings.partitions,
        topic_replication_factor=1,
        table_standby_replicas=0,
        processing_guarantee="at_least_once",
        # The embedded broker joins a group in half the session timeout: keep it short.
        broker_session_timeout=6.0,
        broker_heartbeat_interval=1.0,
        broker_rebalance_timeout=6.0,
        # One record per producer batch: the embedded broker reports wrong end offsets after
        # multi-record batches, which would restore a table short (see README, "Guarantees").
        producer_max_batch_size=1,
        producer_linger=0.0,
        consumer_auto_offset_reset="earliest",
        web_enabled=True,
    )
    topics = declare(app, settings.partitions)
    table = app.Table(
        STATE_TABLE,
        default=None,
        partitions=settings.partitions,
        key_type=str,
        value_type=None,
    )
    states = OfficeStates({p.office_id: p for p in settings.policies}, table, wall_now)
    desk = Desk(settings.policies, states, wall_now, settings.idle_topic_s, settings.status_interval_s)
    register(app, topics, desk, settings.tick_interval_s)
    return app


def run_worker(settings: Settings, loglevel: str = "info") -> int:
    configure_logs(json=True)
    metrics.BUILD.info({"version": version("kompensasi"), "partitions": str(settings.partitions)})
    app = create_app(settings)
    # Faust and aiokafka log record payloads at debug level: their logs never go below info.
    faust_level = "info" if loglevel.lower() == "debug" else loglevel
    worker = faust.Worker(app, loglevel=faust_level)
    worker.execute_from_commandline()
    return 0
