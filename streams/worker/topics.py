"""The Kafka topics the worker reads and writes, declared with one partition count."""

from dataclasses import dataclass

import faust
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from schemas import topics as names
from streams.reading import SIGNALS_TOPIC


@dataclass(frozen=True)
class Topics:
    inputs: faust.TopicT
    outputs: dict[str, faust.TopicT]


def declare(app: faust.App, partitions: int) -> Topics:
    """Input topics and the internal signals topic share one agent: records keyed by office_id."""
    raw = {"key_type": bytes, "value_type": bytes, "key_serializer": "raw", "value_serializer": "raw"}
    inputs = app.topic(*names.INPUT_TOPICS, SIGNALS_TOPIC, partitions=partitions, **raw)
    outputs = {name: app.topic(name, partitions=partitions, **raw) for name in names.OUTPUT_TOPICS}
    return Topics(inputs, outputs)


async def ensure_topics(
    bootstrap: str, partitions: int, replication: int, client_options: dict[str, object]
) -> dict[str, int]:
    """Creates the input, internal and output topics that are missing, before any consumer asks for
    them (a broker that creates topics on first use would pick its own partition count).
    Returns every topic's partition count."""
    wanted = [*names.INPUT_TOPICS, SIGNALS_TOPIC, *names.OUTPUT_TOPICS]
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, **client_options)
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        missing = [NewTopic(n, partitions, replication) for n in wanted if n not in existing]
        if missing:
            await admin.create_topics(missing)
        described = await admin.describe_topics(wanted)
        return {t["topic"]: len(t["partitions"]) for t in described}
    finally:
        await admin.close()
