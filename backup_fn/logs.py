"""One JSON line per call on stderr (the function log), with the call id on every line.

Importing fdk sets the root logger to DEBUG with a stderr handler, which would let urllib3 and
the SDK log request details; the function keeps third-party loggers at WARNING.

The formatter is a few lines over stdlib `logging` and `json`: one `json.dumps` per line, nothing
imported on the cold path that the function does not use."""

from __future__ import annotations

import contextvars
import json
import logging
import sys
import time

LOGGER_NAME = "backup_fn"
QUIET_LOGGERS = ("oci", "urllib3", "fdk", "asyncio", "circuitbreaker")

call_id_var: contextvars.ContextVar[str | None] = contextvars.ContextVar("call_id", default=None)

# Attributes every LogRecord has: anything else on a record came from `extra=` and goes into the line.
_RECORD_ATTRIBUTES = frozenset(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime", "taskName"}


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, object] = {
            "time": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created)) + f".{int(record.msecs):03d}Z",
            "level": record.levelname,
            "logger": record.name,
            "callId": call_id_var.get(),
            "message": record.getMessage(),
        }
        line.update((key, value) for key, value in vars(record).items() if key not in _RECORD_ATTRIBUTES)
        if record.exc_info:
            line["exc_info"] = self.formatException(record.exc_info)
        return json.dumps(line, default=str, separators=(",", ":"))


def configure(level: str = "INFO") -> logging.Logger:
    logging.getLogger().setLevel(logging.WARNING)
    for name in QUIET_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)
    logger = logging.getLogger(LOGGER_NAME)
    logger.setLevel(level)
    if not logger.handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(JsonFormatter())
        logger.addHandler(handler)
        logger.propagate = False
    return logger
