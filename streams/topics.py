"""The Kafka topics the worker reads and writes, declared with one partition count."""

from dataclasses import dataclass

import faust

from schemas import topics as names
from streams.desk import SIGNALS_TOPIC


@dataclass(frozen=True)
class Topics:
    inputs: faust.TopicT
    outputs: dict[str, faust.TopicT]

    def all(self) -> list[faust.TopicT]:
        return [self.inputs, *self.outputs.values()]


def declare(app: faust.App, partitions: int) -> Topics:
    """Input topics and the internal signals topic share one agent: records keyed by office_id."""
    raw = {"key_type": bytes, "value_type": bytes, "key_serializer": "raw", "value_serializer": "raw"}
    inputs = app.topic(*names.INPUT_TOPICS, SIGNALS_TOPIC, partitions=partitions, **raw)
    outputs = {name: app.topic(name, partitions=partitions, **raw) for name in names.OUTPUT_TOPICS}
    return Topics(inputs, outputs)
