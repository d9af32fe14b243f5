"""Raw body → trigger. Each source is one module that owns its payload model and its mapping to
jobs; this module only reads the JSON and picks the source by the body's shape. A source's
module (and so its models) is imported the first time a body of that shape arrives."""

from __future__ import annotations

import importlib
import json
import math
from datetime import UTC, datetime
from typing import Any, Protocol, cast

from ..domain import Arrival, Trigger
from ..errors import InvalidRequest, PayloadTooLarge
from .event_types import BACKUP_EVENT_PREFIXES

MAX_BODY_BYTES = 64 * 1024


class SourceModule(Protocol):
    def trigger(self, body: dict[str, Any], arrival: Arrival, now: datetime) -> Trigger: ...


def parse_trigger(raw: bytes, arrival: Arrival, now: datetime | None = None) -> Trigger:
    body = parse_json(raw)
    return source_for(body).trigger(body, arrival, now or datetime.now(UTC))


def source_for(body: dict[str, Any]) -> SourceModule:
    if "eventType" in body or "cloudEventsVersion" in body:
        event_type = body.get("eventType")
        if isinstance(event_type, str) and event_type.startswith(BACKUP_EVENT_PREFIXES):
            return _module("backup_completed")
        return _module("events")
    if "dedupeKey" in body or "alarmMetaData" in body:
        return _module("alarm")
    if "restoreTest" in body:
        return _module("restore_test")
    if "sweep" in body:
        return _module("sweep")
    return _module("request")


def _module(name: str) -> SourceModule:
    return cast(SourceModule, importlib.import_module(f"{__name__}.{name}"))


def parse_json(raw: bytes) -> dict[str, Any]:
    """The body as a JSON object; anything a strict reader would not take is the sender's error."""
    if len(raw) > MAX_BODY_BYTES:
        raise PayloadTooLarge(f"The body is {len(raw)} bytes; at most {MAX_BODY_BYTES} are accepted.")
    try:
        body = json.loads(raw, parse_constant=_refuse_constant, parse_float=_finite_float, object_pairs_hook=_unique_keys)
    except InvalidRequest:
        raise
    except (ValueError, RecursionError):
        raise InvalidRequest("The body is not valid JSON.") from None
    if not isinstance(body, dict):
        raise InvalidRequest("The body must be a JSON object: a backup request, an OCI event or an alarm message.")
    return body


def _refuse_constant(name: str) -> Any:
    raise InvalidRequest(f"The body is not valid JSON: {name} is not a JSON number.")


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise InvalidRequest(f"The body holds a number out of range: {text[:40]}.")
    return value


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    body = dict(pairs)
    if len(body) != len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise InvalidRequest(f"The body names the key {key[:80]!r} more than once.")
            seen.add(key)
    return body
