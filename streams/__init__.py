"""The imperative shell, in three rooms: `worker/` (the Faust app and the deciding agent), `web/` (the
pages and their read models) and `commands/` (the CLI and what it runs); the modules here are shared.

The shared modules (codec, logs, metrics, reading, settings) import no room; tests/test_import_rooms.py
keeps these directions.
"""
