"""Structured logs: JSON lines on stdout in the worker, console rendering in the demo.

Only pseudonymous ids and codes are logged: never a review reason, a claim's free text or any
field of a dead letter's raw record."""

import logging
import os
import sys

import structlog


def configure(json: bool = True) -> None:
    level = logging.getLevelNamesMapping().get(
        os.environ.get("KOMPENSASI_LOG_LEVEL", "info").upper(), logging.INFO
    )
    renderer = structlog.processors.JSONRenderer() if json else structlog.dev.ConsoleRenderer(colors=False)
    structlog.configure(
        processors=[
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(level),
        logger_factory=structlog.PrintLoggerFactory(sys.stdout),
        cache_logger_on_first_use=True,
    )


log = structlog.get_logger("kompensasi")
