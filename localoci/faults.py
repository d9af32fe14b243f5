"""Faults to try failures on purpose, and the record of every request the emulator received.

A fault answers instead of the operation: a status, a delay, a dropped connection, an HTML or
non-UTF-8 error body, or an answer whose body trickles in. It matches by operation name and by
the resources a request names (its path, its query, the ids in its body)."""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from io import BufferedIOBase


@dataclass
class Fault:
    """An answer to give instead of the real one. `times=None` means every time; `delay` holds the
    answer back (then answers normally unless a status is set); `reset_connection` drops the
    connection without an answer; `body` replaces an error's OCI JSON with this text (say an HTML
    page), encoded with `body_encoding` (`latin-1` makes bytes that are not UTF-8); `trickle_seconds`
    sends the headers at once and spreads the body over that many seconds."""

    operation: str | None = None
    resource_id: str | None = None
    status: int | None = None
    code: str | None = None
    message: str | None = None
    times: int | None = 1
    delay: float = 0.0
    reset_connection: bool = False
    body: str | None = None
    body_encoding: str = "utf-8"
    content_type: str = "text/html"
    trickle_seconds: float = 0.0
    # Sends headers and all but the last `trickle_tail_bytes` of the body at once, then one byte every
    # `trickle_tail_pause` seconds: a read that always sees progress and never ends.
    trickle_tail_bytes: int = 0
    trickle_tail_pause: float = 0.5

    def matches(self, operation: str, resources: set[str]) -> bool:
        return (self.operation in (None, operation)) and (self.resource_id is None or self.resource_id in resources)


DEFAULT_CODES = {
    400: "InvalidParameter",
    404: "NotAuthorizedOrNotFound",
    409: "Conflict",
    429: "TooManyRequests",
    500: "InternalServerError",
    502: "BadGateway",
    503: "ServiceUnavailable",
}


@dataclass
class Recorded:
    """One request as the emulator received and answered it; `cut` when the client closed the
    connection before the whole answer was sent."""

    method: str
    target: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes
    operation: str = "Unknown"
    signature_ok: bool = False
    signature_problem: str | None = None
    status: int = 0
    opc_request_id: str = ""
    fault: Fault | None = None
    cut: bool = False
    # The region whose endpoint was called (`/regions/<region>/…`); None: the emulator's own.
    region: str | None = None

    @property
    def retry_token(self) -> str | None:
        return self.headers.get("opc-retry-token")


def take_matching(faults: list[Fault], operation: str, resources: set[str]) -> Fault | None:
    """The first fault that matches, one of its `times` spent (used up, it leaves `faults`); the caller holds their lock."""
    for fault in faults:
        if fault.matches(operation, resources):
            if fault.times is not None:
                fault.times -= 1
                if fault.times <= 0:
                    faults.remove(fault)
            return fault
    return None


def resources_named(recorded: Recorded, params: dict[str, str]) -> set[str]:
    """What a fault's `resource_id` can match: the ids in the path and query, and those a body names."""
    named = set(params.values()) | set(recorded.query.values())
    try:
        body = json.loads(recorded.body) if recorded.body else {}
    except ValueError:
        body = {}
    if isinstance(body, dict):
        named |= {str(body[key]) for key in ("volumeId", "bootVolumeId", "destinationRegion") if key in body}
    return named


def trickle(out: BufferedIOBase, data: bytes, seconds: float, *, stopping: threading.Event) -> None:
    """The body a few bytes at a time, spread over `seconds`: every read sees progress, the whole takes long."""
    chunks = max(1, min(len(data), int(seconds / 0.05)))
    size = -(-len(data) // chunks)
    pause = seconds / chunks
    for start in range(0, len(data), size):
        out.write(data[start : start + size])
        out.flush()
        if stopping.wait(pause):
            return


def trickle_tail(out: BufferedIOBase, data: bytes, tail: int, pause: float, *, stopping: threading.Event) -> None:
    """All but the last `tail` bytes at once, then one byte every `pause` seconds."""
    head = max(0, len(data) - tail)
    out.write(data[:head])
    out.flush()
    for index in range(head, len(data)):
        if stopping.wait(pause):
            return
        out.write(data[index : index + 1])
        out.flush()
