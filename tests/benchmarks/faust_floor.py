"""A bare Faust passthrough agent, the floor of any Faust worker: each record in, decoded, encoded
and sent on, at least once, with Faust's default settings. Prints `floor_s=` and the seconds from the
first record to the last one sent, then exits.

usage: python -m tests.benchmarks.faust_floor BROKER_URL SOURCE COUNT DATA_DIR"""

import os
import sys
import time

import faust
import orjson


def main(broker: str, source_topic: str, count: int, data_dir: str) -> None:
    app = faust.App(
        "bench-faust-floor", broker=broker, datadir=data_dir, web_enabled=False,
        consumer_auto_offset_reset="earliest",
    )  # fmt: skip
    source = app.topic(source_topic, key_serializer="raw", value_serializer="raw")
    sink = app.topic(f"{source_topic}.floor", key_serializer="raw", value_serializer="raw")
    seen = {"n": 0, "first": 0.0}

    @app.agent(source)
    async def passthrough(stream: faust.StreamT) -> None:
        async for event in stream.events():
            if not seen["n"]:
                seen["first"] = time.perf_counter()
            await sink.send(key=event.key, value=orjson.dumps(orjson.loads(event.value)))
            seen["n"] += 1
            if seen["n"] == count:
                await app.producer.flush()
                # Past Faust's redirect of sys.stdout into its log.
                os.write(1, f"floor_s={time.perf_counter() - seen['first']:.3f}\n".encode())
                os._exit(0)

    faust.Worker(app, loglevel="warning", quiet=True).execute_from_commandline()


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4])
