"""The SDK's HTTPS adapter with the two things its per-read timeouts cannot give: every byte of an
answer before the call's deadline, and error answers that are not OCI's JSON made OCI-shaped."""

from __future__ import annotations

import contextlib
import heapq
import itertools
import json
import socket
import threading
import time
from typing import Any

from oci._vendor import requests
from oci.base_client import OCIHTTPAdapter

from ..deadline import Deadline

DEFAULT_ERROR_CODES = {
    400: "InvalidParameter",
    401: "NotAuthenticated",
    404: "NotAuthorizedOrNotFound",
    409: "Conflict",
    429: "TooManyRequests",
}


class DeadlineAdapter(OCIHTTPAdapter):  # type: ignore[misc]
    """The SDK's own HTTPS adapter, plus two things its per-read timeouts cannot give.

    Every byte of an answer arrives before the call's deadline, or the connection is cut: a server that
    sends its headers and then trickles the body would otherwise hold the call long past `Fn-Deadline`.

    An error answer that is not OCI's JSON (a proxy's HTML page, bytes that are not UTF-8) becomes a
    short OCI-shaped error with its status, so the SDK maps and retries it like any other; an answer
    that cannot be decoded at all is the transient 5xx it is."""

    def __init__(self, service: str) -> None:
        super().__init__()
        self.service = service
        self.deadline: Deadline | None = None

    def send(self, request: Any, stream: bool = False, timeout: Any = None, **kwargs: Any) -> Any:
        response = super().send(request, stream=stream, timeout=timeout, **kwargs)
        deadline = self.deadline
        if stream or deadline is None:
            return response
        watch = _WATCHDOG.watch(deadline.at, response)
        try:
            _ = response.content
        except requests.exceptions.RequestException:
            if watch.cut:
                raise requests.exceptions.ReadTimeout("The answer did not arrive in full before the call's deadline.") from None
            raise
        finally:
            _WATCHDOG.finish(watch)
        if watch.cut:
            raise requests.exceptions.ReadTimeout("The answer did not arrive in full before the call's deadline.")
        _normalise(response, self.service)
        return response


class _Watch:
    def __init__(self, response: Any) -> None:
        self.response: Any = response
        self.cut = False
        self.finished = False


class _Watchdog:
    """One thread per container that cuts the connection of any answer still arriving at its deadline
    (a thread per request would cost ~0.1 ms on every call)."""

    def __init__(self) -> None:
        self._condition = threading.Condition()
        self._due: list[tuple[float, int, _Watch]] = []
        self._order = itertools.count()
        self._thread: threading.Thread | None = None

    def watch(self, at: float, response: Any) -> _Watch:
        watch = _Watch(response)
        with self._condition:
            heapq.heappush(self._due, (at, next(self._order), watch))
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="oci-answer-watchdog", daemon=True)
                self._thread.start()
            self._condition.notify()
        return watch

    def finish(self, watch: _Watch) -> None:
        with self._condition:
            watch.finished = True
            watch.response = None  # a finished entry waits in the heap until its deadline: keep it small

    def _run(self) -> None:
        with self._condition:
            while True:
                while self._due and self._due[0][2].finished:
                    heapq.heappop(self._due)
                if not self._due:
                    self._condition.wait()
                    continue
                wait = self._due[0][0] - time.monotonic()
                if wait > 0:
                    self._condition.wait(wait)
                    continue
                _, _, watch = heapq.heappop(self._due)
                watch.cut = True
                _shut(watch.response)


_WATCHDOG = _Watchdog()


def _shut(response: Any) -> None:
    connection = getattr(response.raw, "connection", None) or getattr(response.raw, "_connection", None)
    sock = getattr(connection, "sock", None)
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)


def _normalise(response: Any, service: str) -> None:
    content: bytes = response.content or b""
    try:
        text = content.decode("utf-8")
    except UnicodeDecodeError:
        response.status_code = 502
        response._content = _error_json("BadGateway", f"{service} answered HTTP {response.status_code} with a body that is not UTF-8.")
        return
    if response.status_code < 400:
        return
    try:
        parsed = json.loads(text)
    except ValueError:
        parsed = None
    if isinstance(parsed, dict) and isinstance(parsed.get("code"), str) and isinstance(parsed.get("message"), str):
        return
    kind = (response.headers.get("content-type") or "unknown type").split(";")[0].strip()[:60]
    code = DEFAULT_ERROR_CODES.get(response.status_code, "ServiceUnavailable" if response.status_code >= 500 else "InvalidParameter")
    response._content = _error_json(code, f"{service} answered HTTP {response.status_code} with a {kind} body, not an OCI error.")


def _error_json(code: str, message: str) -> bytes:
    return json.dumps({"code": code, "message": message}).encode()
