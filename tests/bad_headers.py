"""Produces records whose header key is not UTF-8, which aiokafka's own producer never writes: run as
`python -m tests.bad_headers ADDRESS` with AIOKAFKA_NO_EXTENSIONS=1 (its Python record writer, whose
key encoding a str can override). Reads [[topic, key, value], ...] (hex or null) as JSON on stdin and
prints [[topic, partition, offset], ...]."""

import asyncio
import json
import os
import subprocess
import sys

BAD_KEY = b"\xff\xfe\xfd"
Raw = tuple[str, bytes | None, bytes | None]


class _BadKey(str):
    def encode(self, encoding: str = "utf-8", errors: str = "strict") -> bytes:
        return BAD_KEY


async def _produce(address: str, records: list[list[str | None]]) -> list[tuple[str, int, int]]:
    from aiokafka import AIOKafkaProducer

    producer = AIOKafkaProducer(bootstrap_servers=address, max_request_size=4 * 1024 * 1024)
    await producer.start()
    try:
        placed = []
        for topic, key, value in records:
            meta = await producer.send_and_wait(
                topic, None if value is None else bytes.fromhex(value),
                key=None if key is None else bytes.fromhex(key), headers=[(_BadKey("x"), b"y")],
            )  # fmt: skip
            placed.append((topic, meta.partition, meta.offset))
        return placed
    finally:
        await producer.stop()


def produce(
    address: str, records: list[tuple[str, bytes | None, bytes | None]]
) -> list[tuple[str, int, int]]:
    """From any process: each record with a header key that is not UTF-8; where the broker put it."""
    lines = [[t, None if k is None else k.hex(), None if v is None else v.hex()] for t, k, v in records]
    done = subprocess.run(
        [sys.executable, "-m", "tests.bad_headers", address], input=json.dumps(lines), capture_output=True,
        text=True, check=True, timeout=120, env={**os.environ, "AIOKAFKA_NO_EXTENSIONS": "1"},
    )  # fmt: skip
    return [tuple(c) for c in json.loads(done.stdout)]  # type: ignore[misc]


if __name__ == "__main__":
    print(json.dumps(asyncio.run(_produce(sys.argv[1], json.load(sys.stdin)))))
