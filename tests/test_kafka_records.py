"""aiokafka's reader as the worker installs it (streams/kafka_records.py), on batches built here: a
header key that is not UTF-8 is read with replacement characters, the records around it as they are,
compressed or not; a batch neither reader can read ends there, counted."""

import pytest
from aiokafka.record.default_records import _DefaultRecordBatchBuilderPy

from streams import metrics
from streams.kafka_records import TolerantRecords
from tests.bad_headers import BAD_KEY, _BadKey

GZIP = 1


def batch(headers_of_second: list, compression: int = 0) -> bytes:
    builder = _DefaultRecordBatchBuilderPy(2, compression, 0, -1, -1, -1, 1 << 20)
    for offset in range(3):
        headers = headers_of_second if offset == 1 else [("ok", b"v")]
        builder.append(offset, 1_700_000_000_000, b"k", f"value {offset}".encode(), headers)
    return bytes(builder.build())


def read(data: bytes) -> list:
    records = TolerantRecords(data)
    got = []
    while records.has_next():
        got += [(r.offset, r.value, list(r.headers)) for r in records.next_batch()]
    return got


@pytest.mark.parametrize("compression", [0, GZIP])
def test_a_header_key_that_is_not_utf8_is_read_with_replacement(compression: int) -> None:
    got = read(batch([(_BadKey("x"), b"y")], compression))
    assert [(o, v) for o, v, _ in got] == [(0, b"value 0"), (1, b"value 1"), (2, b"value 2")]
    assert got[1][2] == [(BAD_KEY.decode("utf-8", "replace"), b"y")]
    assert got[0][2] == got[2][2] == [("ok", b"v")]


def test_good_batches_are_read_as_aiokafka_reads_them() -> None:
    assert read(batch([("fine", None)])) == [
        (0, b"value 0", [("ok", b"v")]), (1, b"value 1", [("fine", None)]), (2, b"value 2", [("ok", b"v")])
    ]  # fmt: skip


def test_a_batch_neither_reader_can_read_ends_where_it_breaks_and_is_counted() -> None:
    data = bytearray(batch([("broken-here", b"y")]))
    at = data.index(b"broken-here")
    data[at - 1] = 0x7F  # the key's length, now past the record's end (the CRC is not checked here)
    before = metrics.UNREADABLE.labels("unknown")._value.get()
    assert [o for o, _, _ in read(bytes(data))] == [0]
    assert metrics.UNREADABLE.labels("unknown")._value.get() == before + 1
