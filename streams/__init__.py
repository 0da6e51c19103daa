"""The imperative shell, in three rooms: `worker/` (the Faust app and the deciding agent), `web/` (the
pages and their read models) and `commands/` (the CLI and what it runs); the modules here are shared.

The shared modules (codec, kafka_records, logs, metrics, reading, settings) import no room;
tests/test_import_rooms.py keeps these directions. Importing `streams` makes aiokafka read any header
key (streams/kafka_records.py), before any consumer here starts.
"""

from streams import kafka_records

kafka_records.install()
