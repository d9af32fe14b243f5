"""A pydantic validation failure as one sentence that names each offending field."""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from ..errors import InvalidRequest

MAX_ERRORS_SHOWN = 5
MAX_FIELD_SHOWN = 80


def invalid(what: str, exc: ValidationError, *, prefix: str = "") -> InvalidRequest:
    """`what` names the body ("backup request", "OCI event"); `prefix` the path its fields are under."""
    errors = exc.errors(include_url=False, include_input=False)
    parts = []
    for error in errors[:MAX_ERRORS_SHOWN]:
        where = ".".join(str(part) for part in (*([prefix] if prefix else []), *error["loc"]))[:MAX_FIELD_SHOWN]
        parts.append(f"{where}: {_explain(error, what)}" if where else _explain(error, what))
    more = f" (and {len(errors) - MAX_ERRORS_SHOWN} more)" if len(errors) > MAX_ERRORS_SHOWN else ""
    return InvalidRequest(f"Invalid {what}: " + "; ".join(parts) + more)


def _explain(error: Any, what: str) -> str:
    kind = error["type"]
    if kind == "extra_forbidden":
        return f"is not a field of a {what}"
    if kind == "missing":
        return "is required"
    message = str(error["msg"])
    return message[len("Value error, ") :] if message.startswith("Value error, ") else message
