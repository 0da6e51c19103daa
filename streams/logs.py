"""Structured logs: JSON lines on stdout in the worker, Faust's and aiokafka's records included.

Only pseudonymous ids and codes are logged: never a review reason, a claim's free text or any
field of a dead letter's raw record."""

import logging
import logging.config
import os
import sys
from typing import Any

import structlog

# Stamped on every record, ours (through structlog) and the libraries' (through logging) alike.
_SHARED: list[Any] = [
    structlog.stdlib.add_log_level,
    structlog.stdlib.add_logger_name,
    structlog.processors.TimeStamper(fmt="iso", utc=True),
]


def level() -> int:
    return logging.getLevelNamesMapping().get(
        os.environ.get("KOMPENSASI_LOG_LEVEL", "info").upper(), logging.INFO
    )


def configure(json: bool = True) -> None:
    """structlog hands its events to the `kompensasi` stdlib logger; `logging_config` renders them."""
    structlog.configure(
        processors=[*_SHARED, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        wrapper_class=structlog.make_filtering_bound_logger(level()),
        logger_factory=structlog.stdlib.LoggerFactory(),
        cache_logger_on_first_use=True,
    )
    logging.config.dictConfig(logging_config("info", json))


def logging_config(library_level: str, json: bool = True) -> dict[str, Any]:
    """The `logging.config.dictConfig` of the worker, given to Faust, which applies it itself: one
    handler on the root logger writing each record as one JSON object to the real stdout."""
    renderer = structlog.processors.JSONRenderer() if json else structlog.dev.ConsoleRenderer(colors=False)
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {
            "structlog": {
                "()": structlog.stdlib.ProcessorFormatter,
                "processors": [
                    structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                    structlog.processors.format_exc_info,
                    renderer,
                ],
                "foreign_pre_chain": [*_SHARED, structlog.stdlib.ExtraAdder()],
            }
        },
        "handlers": {
            # sys.__stdout__: Faust redirects sys.stdout into logging, which would come back here.
            "stdout": {"class": "logging.StreamHandler", "formatter": "structlog", "stream": sys.__stdout__}
        },
        # Faust and aiokafka at `library_level`; ours at KOMPENSASI_LOG_LEVEL, which may be lower.
        "root": {"level": library_level.upper(), "handlers": ["stdout"]},
        "loggers": {"kompensasi": {"level": logging.getLevelName(level())}},
    }


log = structlog.get_logger("kompensasi")
