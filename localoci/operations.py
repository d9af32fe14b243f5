"""What every emulated service declares and the server serves: a Route per operation (method, path
pattern, OCI's operation name, handler), the Response a handler gives, and ApiError for what OCI
answers as an error, `{"code", "message"}` with a status."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

CORE_SERVICES = "/20160918"  # Blockstorage's and Compute's API version: they share one API
OCID = r"(?P<id>[A-Za-z0-9._:-]+)"

Json = dict[str, Any]


class ApiError(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


def not_found(resource_id: str) -> ApiError:
    return ApiError(404, "NotAuthorizedOrNotFound", f"Authorization failed or requested resource not found: {resource_id}")


def required(query: dict[str, str], name: str) -> str:
    value = query.get(name)
    if not value:
        raise ApiError(400, "MissingParameter", f"Missing query parameter {name}.")
    return value


def now_text() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def etag(payload: Any) -> str:
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()[:32]


@dataclass
class Response:
    """What the emulator sends: a status, a JSON payload (None: no body), extra headers, or raw bytes."""

    status: int
    payload: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    raw: bytes | None = None
    content_type: str = "application/json"
    trickle_seconds: float = 0.0
    trickle_tail: tuple[int, float] = (0, 0.0)


@dataclass
class Route:
    """One operation: `handle(recorded, body, **path_params)` gives its Response or raises ApiError."""

    method: str
    pattern: re.Pattern[str]
    operation: str
    handle: Callable[..., Response]


def route(method: str, path: str, operation: str, handle: Callable[..., Response]) -> Route:
    """A Route for `path` (the API version first; OCID where the path names a resource)."""
    return Route(method, re.compile(f"^{path}$"), operation, handle)
