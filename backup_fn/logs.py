"""One JSON line per call on stderr (the function log), with the call id on every line.

Importing fdk sets the root logger to DEBUG with a stderr handler, which would let urllib3 and
the SDK log request details; the function keeps third-party loggers at WARNING."""

from __future__ import annotations

import contextvars
import logging
import sys

from pythonjsonlogger.json import JsonFormatter

LOGGER_NAME = "backup_fn"
QUIET_LOGGERS = ("oci", "urllib3", "fdk", "asyncio", "circuitbreaker")

call_id_var: contextvars.ContextVar[str | None] = contextvars.ContextVar("call_id", default=None)


class _CallIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.callId = call_id_var.get()
        return True


def configure(level: str = "INFO") -> logging.Logger:
    logging.getLogger().setLevel(logging.WARNING)
    for name in QUIET_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)
    logger = logging.getLogger(LOGGER_NAME)
    logger.setLevel(level)
    if not logger.handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(
            JsonFormatter(
                "{levelname}{name}{callId}{message}",
                style="{",
                rename_fields={"levelname": "level", "name": "logger"},
                timestamp="time",
            )
        )
        handler.addFilter(_CallIdFilter())
        logger.addHandler(handler)
        logger.propagate = False
    return logger
