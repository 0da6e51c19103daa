"""The commands: the CLI and what it runs (replay, report, demo, simulate, broker, feed, supervise).
May import any room of `streams`; nothing outside `streams.commands` imports it back."""
