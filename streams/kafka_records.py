"""aiokafka's record reader, made to read a record whose header key is not UTF-8: aiokafka raises on
it at every fetch, so one such record, which Apache Kafka accepts, stops its partition for every
consumer in the process, Faust's included. Such a key is read with replacement characters, as the
Java client reads it; no code of ours reads headers. `install` is called as `streams` is imported."""

from collections.abc import Iterator
from typing import Any

from aiokafka.consumer import fetcher
from aiokafka.errors import CorruptRecordException
from aiokafka.record import default_records, memory_records

from streams import metrics
from streams.logs import log

_MAGIC_OFFSET = memory_records._MemoryRecordsPy.MAGIC_OFFSET
# What either reader raises on bytes it cannot read.
_UNREADABLE = (UnicodeDecodeError, CorruptRecordException, ValueError, IndexError)


class _Replacing(bytearray):
    """Bytes whose slices decode with replacement characters: what aiokafka's Python reader is given."""

    def __getitem__(self, index: Any) -> Any:
        got = super().__getitem__(index)
        return _Replacing(got) if isinstance(index, slice) else got

    def decode(self, encoding: str = "utf-8", errors: str = "strict") -> str:
        return bytearray.decode(self, encoding, "replace")


class _ReplacingBatch(default_records._DefaultRecordBatchPy):
    def __init__(self, buffer: Any) -> None:
        super().__init__(buffer)
        self._buffer = _Replacing(self._buffer)

    def _maybe_uncompress(self) -> None:
        super()._maybe_uncompress()
        if not isinstance(self._buffer, _Replacing):
            self._buffer = _Replacing(self._buffer)


class _TolerantBatch:
    """A batch read by aiokafka's fast reader; from a record it fails on, read again by its Python
    reader with keys replaced; a batch neither can read is skipped from there, logged and counted."""

    def __init__(self, batch: Any, raw: memoryview) -> None:
        self._batch = batch
        self._raw = raw
        self._records: Iterator[Any] | None = None

    def __getattr__(self, name: str) -> Any:
        return getattr(self._batch, name)

    def __iter__(self) -> Iterator[Any]:
        if self._records is None:
            self._records = self._read()
        return self._records

    def __next__(self) -> Any:  # aiokafka reads a control batch's first record so
        return next(iter(self))

    def _read(self) -> Iterator[Any]:
        last = None
        try:
            for record in self._batch:
                last = record.offset
                yield record
            return
        except _UNREADABLE:
            pass
        try:
            for record in _ReplacingBatch(self._raw):
                if last is None or record.offset > last:
                    last = record.offset
                    yield record
        except _UNREADABLE as exc:
            # Only a broker that does not check what it is sent keeps such a batch: Apache Kafka
            # refuses it. The fetcher goes on after the batch's last offset.
            metrics.UNREADABLE.labels("unknown").inc()  # the reader is not told its topic
            log.warning("unreadable_batch", base_offset=self._batch.base_offset,
                        next_offset=self._batch.next_offset, error=type(exc).__name__)  # fmt: skip


class TolerantRecords(memory_records._MemoryRecordsPy):
    """The fetched bytes cut into batches in Python (a few per fetch), each record read in C."""

    def next_batch(self, *args: Any, **kwargs: Any) -> Any:
        raw = self._next_slice
        batch = super().next_batch()
        if batch is None or raw is None or raw[_MAGIC_OFFSET] < 2:  # the old formats carry no headers
            return batch
        return _TolerantBatch(batch, raw)


def install() -> None:
    fetcher.MemoryRecords = TolerantRecords  # type: ignore[misc]
