"""What every OCI client here shares: the function's signer (`signer.py`), one SDK `BaseClient` per service and
thread, retries bounded by the call's deadline, every answer read in full by that deadline, and
OCI's errors turned into ours.

The generated `oci.core` / `oci.ons` / `oci.monitoring` clients are not used: importing `oci.core`
alone loads every Core model and client (~700 modules, ~120 ms and ~20 MB of the cold start,
measured by `make bench`) for the handful of operations this function calls. Responses are
parsed into our own tolerant pydantic models instead of the SDK's model classes."""

from __future__ import annotations

import contextlib
import heapq
import itertools
import json
import logging
import os
import socket
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any, Literal, NamedTuple, TypeVar
from urllib.parse import quote

import oci.circuit_breaker
import oci.exceptions
import oci.retry
from oci._vendor import requests
from oci.base_client import BaseClient, OCIHTTPAdapter
from oci.retry import retry_checkers, retry_sleep_utils
from pydantic import BaseModel, TypeAdapter, ValidationError

from ..deadline import Deadline
from ..errors import (
    BackupError,
    BackupInProgress,
    DeadlineExceeded,
    InternalError,
    NotFound,
    OciRejected,
    ServiceUnavailable,
    Throttled,
)
from .signer import Credentials as Credentials  # re-exported: the clients, handler and alerts import it from here

log = logging.getLogger(__name__)

CONNECT_TIMEOUT_SECONDS = 5.0
READ_TIMEOUT_SECONDS = 60.0
# An attempt needs time to be sent and answered; below this there is no point trying again.
MIN_ATTEMPT_SECONDS = 0.5
MAX_ATTEMPTS = 8
BACKOFF_BASE_SECONDS = 0.25
BACKOFF_MAX_SECONDS = 8.0
DEFAULT_ERROR_CODES = {
    400: "InvalidParameter",
    401: "NotAuthenticated",
    404: "NotAuthorizedOrNotFound",
    409: "Conflict",
    429: "TooManyRequests",
}

Method = Literal["GET", "POST", "DELETE"]
Model = TypeVar("Model", bound=BaseModel)


class Operation(NamedTuple):
    """One OCI API operation, by the name OCI's docs and IAM give it."""

    name: str
    method: Method
    path: str


class Reply(NamedTuple):
    data: Any
    request_id: str | None
    headers: Mapping[str, str]


class Service(NamedTuple):
    """Where one OCI service lives: the SDK's names for it and its endpoint template for every realm."""

    name: str
    base_path: str
    endpoint_template: str
    endpoint_service_name: str


class OciClient:
    """Typed access to one service: a `BaseClient` per thread (its session and timeout are per call
    state), each call bounded by the deadline from its first byte sent to the last byte read."""

    def __init__(self, credentials: Credentials, service: Service, endpoint: str | None) -> None:
        self.credentials = credentials
        self.service = service
        self.endpoint = endpoint.rstrip("/") if endpoint else None
        self._local = threading.local()

    def _client(self) -> tuple[BaseClient, _DeadlineAdapter, Any]:
        """This thread's client, made again when the credentials hold a new signer (a renewed token)."""
        config, signer = self.credentials.get()
        made: tuple[BaseClient, _DeadlineAdapter, Any] | None = getattr(self._local, "client", None)
        if made is None or made[2] is not signer:
            if made is not None:
                made[0].session.close()
            client = BaseClient(
                self.service.name,
                config,
                signer,
                {},
                service_endpoint=self.endpoint,
                base_path=self.service.base_path,
                regional_client=True,
                service_endpoint_template=self.service.endpoint_template,
                endpoint_service_name=self.service.endpoint_service_name,
                skip_deserialization=True,
                # Each call has its own deadline-bound retries: a breaker shared across calls would
                # fail later triggers without trying.
                circuit_breaker_strategy=oci.circuit_breaker.NoCircuitBreakerStrategy(),
                timeout=(CONNECT_TIMEOUT_SECONDS, READ_TIMEOUT_SECONDS),
            )
            adapter = _DeadlineAdapter(self.service.name)
            client.session.mount("https://", adapter)
            client.session.mount("http://", adapter)
            if not _environment_shapes_requests():
                # requests re-reads the whole environment for proxies and CA bundles on every call
                # (~0.3 ms); the container's environment is fixed, so with none of them set there is nothing to find.
                client.session.trust_env = False
            made = self._local.client = (client, adapter, signer)
        return made

    def call(
        self,
        deadline: Deadline,
        operation: Operation,
        *,
        path_params: Mapping[str, str] | None = None,
        query: Mapping[str, str | int] | None = None,
        body: Mapping[str, Any] | None = None,
        retry_token: str | None = None,
    ) -> Reply:
        headers = {"accept": "application/json", "content-type": "application/json"}
        if retry_token:
            headers["opc-retry-token"] = retry_token
        path = operation.path.format(**{name: quote(value, safe="") for name, value in (path_params or {}).items()})
        renewed = False

        def attempt(**kwargs: Any) -> Any:
            nonlocal renewed
            while True:
                remaining = deadline.remaining()
                if remaining <= 0:
                    raise DeadlineExceeded(f"No time left before the call's deadline to {operation.name}.")
                # This thread's client: its timeout and its adapter's deadline are this call's alone.
                client, adapter, signer = self._client()
                client.timeout = (min(CONNECT_TIMEOUT_SECONDS, remaining), min(READ_TIMEOUT_SECONDS, remaining))
                adapter.deadline = deadline
                try:
                    return client.call_api(**kwargs)
                except oci.exceptions.ServiceError as exc:
                    # The SDK's BaseClient renews only its own resource-principal signers on a 401: once per
                    # call, the token and key are read again (the platform may have rotated them) and tried.
                    if exc.status != 401 or renewed:
                        raise
                    renewed = True
                    if not self.credentials.renew(signer):
                        raise

        try:
            response = _DeadlineBoundRetryStrategy(deadline).make_retrying_call(
                attempt,
                resource_path=path,
                method=operation.method,
                query_params=dict(query) if query else None,
                header_params=headers,
                body=dict(body) if body is not None else None,
                response_type="object" if operation.method != "DELETE" else None,
                operation_name=operation.name,
            )
        except BackupError:
            raise
        except oci.exceptions.ServiceError as exc:
            raise service_error(operation.name, exc) from None
        except (oci.exceptions.RequestException, oci.exceptions.ConnectTimeout) as exc:
            raise _transport_error(operation.name, exc, deadline) from None
        headers_out = {name.lower(): value for name, value in response.headers.items()}
        return Reply(response.data, headers_out.get("opc-request-id"), headers_out)


def parse(model: type[Model], reply: Reply) -> Model:
    try:
        return model.model_validate(reply.data)
    except ValidationError:
        raise InternalError(f"OCI answered with an unexpected {model.__name__} body.", opc_request_id=reply.request_id) from None


def parse_list(adapter: TypeAdapter[list[Model]], reply: Reply) -> list[Model]:
    try:
        return adapter.validate_python(reply.data)
    except ValidationError:
        raise InternalError("OCI answered with an unexpected list body.", opc_request_id=reply.request_id) from None


class _DeadlineAdapter(OCIHTTPAdapter):  # type: ignore[misc]
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


class _DeadlineChecker(retry_checkers.BaseRetryChecker):  # type: ignore[misc]
    def __init__(self, deadline: Deadline) -> None:
        super().__init__()
        self.deadline = deadline

    def should_retry(self, exception: Any = None, response: Any = None, **kwargs: Any) -> bool:
        return self.deadline.remaining() > MIN_ATTEMPT_SECONDS


class _DeadlineBoundRetryStrategy(oci.retry.ExponentialBackoffWithFullJitterEqualForThrottlesRetryStrategy):  # type: ignore[misc]
    """The SDK's exponential backoff (full jitter; equal jitter on 429 so throttles always
    back off), with no sleep reaching past the call's deadline."""

    def __init__(self, deadline: Deadline) -> None:
        checkers = retry_checkers.RetryCheckerContainer(
            checkers=[
                retry_checkers.LimitBasedRetryChecker(max_attempts=MAX_ATTEMPTS),
                retry_checkers.TimeoutConnectionAndServiceErrorRetryChecker(),
                _DeadlineChecker(deadline),
            ]
        )
        super().__init__(BACKOFF_BASE_SECONDS, 2, BACKOFF_MAX_SECONDS, checkers)
        self.deadline = deadline

    def do_sleep(self, attempt: int, exception: Any) -> None:
        args = (self.base_sleep_time_seconds, self.exponent_growth_factor, self.max_wait_between_calls_seconds, attempt)
        throttled = isinstance(exception, oci.exceptions.ServiceError) and exception.status == 429
        wanted = (
            retry_sleep_utils.get_exponential_backoff_with_equal_jitter_sleep_time(*args)
            if throttled
            else retry_sleep_utils.get_exponential_backoff_with_full_jitter_sleep_time(*args)
        )
        log.info(
            "retrying OCI call",
            extra={"attempt": attempt, "status": getattr(exception, "status", None), "errorCode": getattr(exception, "code", None)},
        )
        time.sleep(max(0.0, min(wanted, self.deadline.remaining() - MIN_ATTEMPT_SECONDS)))


def _environment_shapes_requests() -> bool:
    """Whether any variable that requests honours (proxies, CA bundles, netrc) is set."""
    names = (name.lower() for name in os.environ)
    return any(name.endswith("_proxy") or name in ("requests_ca_bundle", "curl_ca_bundle", "netrc") for name in names)


def service_error(operation: str, exc: Any) -> BackupError:
    """OCI's answer as one of our errors: its status decides whether a redelivery could help."""
    status, code, request_id = exc.status, exc.code or "", exc.request_id
    detail = str(exc.message)[:300] if exc.message else ""
    message = f"{operation} failed: {status} {code}".rstrip() + (f": {detail}" if detail else "")
    error_type: Callable[..., BackupError]
    if status == 404:
        error_type = NotFound
    elif status == 409 and code not in ("IncorrectState", "LockConflict"):
        error_type = BackupInProgress
    elif status == 429:
        error_type = Throttled
    elif status >= 500 or status == 409:
        error_type = ServiceUnavailable
    elif status == 401:
        error_type = InternalError
        message = f"{operation} failed: OCI did not accept the function's credentials (401 {code})."
    else:
        return OciRejected(message, code=code or "InvalidParameter", opc_request_id=request_id)
    return error_type(message, opc_request_id=request_id)


def _transport_error(operation: str, exc: Exception, deadline: Deadline) -> BackupError:
    text = str(exc).lower()
    if deadline.remaining() <= MIN_ATTEMPT_SECONDS or "timed out" in text or "timeout" in text:
        return DeadlineExceeded(f"{operation} did not complete before the call's deadline.")
    return ServiceUnavailable(f"{operation} failed: OCI could not be reached ({type(exc).__name__}).")
