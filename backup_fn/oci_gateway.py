"""The only module that touches the oci SDK.

It uses the SDK's public `BaseClient` with the SDK's own signers, retry machinery and
`ServiceError`, and not the generated `oci.core` clients: importing `oci.core` loads every
Core model and client (~700 modules, ~120 ms and ~20 MB of the cold start, measured in
`make bench`) for the five operations this function calls. Responses are parsed into our
own tolerant pydantic models instead of the SDK's model classes.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal, TypeVar

import oci.auth.signers
import oci.circuit_breaker
import oci.config
import oci.exceptions
import oci.retry
import oci.signer
from oci.base_client import BaseClient
from oci.retry import retry_checkers, retry_sleep_utils
from pydantic import BaseModel, TypeAdapter, ValidationError

from .deadline import Deadline
from .errors import (
    BackupError,
    BackupInProgress,
    DeadlineExceeded,
    InternalError,
    InvalidConfiguration,
    NotFound,
    OciRejected,
    ServiceUnavailable,
    Throttled,
)
from .models import OciBackup, OciBootVolumeAttachment, OciVolume, ResourceKind
from .settings import Settings

log = logging.getLogger(__name__)

API_VERSION_PATH = "/20160918"
CONNECT_TIMEOUT_SECONDS = 5.0
READ_TIMEOUT_SECONDS = 60.0
# An attempt needs time to be sent and answered; below this there is no point trying again.
MIN_ATTEMPT_SECONDS = 0.5
MAX_ATTEMPTS = 8
BACKOFF_BASE_SECONDS = 0.25
BACKOFF_MAX_SECONDS = 8.0

_PATHS: dict[ResourceKind, tuple[str, str, str]] = {
    # kind: (resource path, backups path, id field of a backup and of its create body)
    "volume": ("/volumes/{id}", "/volumeBackups", "volumeId"),
    "bootVolume": ("/bootVolumes/{id}", "/bootVolumeBackups", "bootVolumeId"),
}

Model = TypeVar("Model", bound=BaseModel)
_BACKUP_LIST = TypeAdapter(list[OciBackup])
_ATTACHMENT_LIST = TypeAdapter(list[OciBootVolumeAttachment])


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


def _make_signer(settings: Settings) -> Any:
    if settings.auth == "config_file":
        location = settings.config_file or oci.config.DEFAULT_LOCATION
        try:
            config = oci.config.from_file(location, settings.config_profile)
            if config.get("security_token_file"):
                token = Path(config["security_token_file"]).expanduser().read_text().strip()
                key = oci.signer.load_private_key_from_file(config["key_file"], config.get("pass_phrase"))
                return config, oci.auth.signers.SecurityTokenSigner(token, key)
            return config, oci.signer.Signer.from_config(config)
        except (oci.exceptions.ClientError, OSError, ValueError, KeyError) as exc:
            raise InvalidConfiguration(
                f"OCI_AUTH=config_file: profile {settings.config_profile!r} of {location} (OCI_CONFIG_FILE, OCI_CONFIG_PROFILE) "
                f"cannot be used: {type(exc).__name__}."
            ) from None
    try:
        return {}, oci.auth.signers.get_resource_principals_signer()
    except Exception as exc:  # the SDK raises bare ValueError/KeyError/OSError for a missing identity
        raise InvalidConfiguration(
            "No resource principal: OCI_RESOURCE_PRINCIPAL_VERSION, _RPST, _PRIVATE_PEM and _REGION "
            f"must be set by the Functions platform ({type(exc).__name__})."
        ) from None


class OciGateway:
    """Typed Core Services operations over one reusable SDK client (signer, session, pool)."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._client: BaseClient | None = None
        self._lock = threading.Lock()

    def _base_client(self) -> BaseClient:
        with self._lock:
            if self._client is None:
                config, signer = _make_signer(self.settings)
                self._client = BaseClient(
                    "blockstorage",
                    config,
                    signer,
                    {},
                    service_endpoint=self.settings.core_endpoint.rstrip("/") if self.settings.core_endpoint else None,
                    base_path=API_VERSION_PATH,
                    regional_client=True,
                    service_endpoint_template="https://iaas.{region}.{dualStack?ds.oci.:}{secondLevelDomain}",
                    endpoint_service_name="iaas",
                    skip_deserialization=True,
                    # One call at a time per container, each with its own deadline-bound retries:
                    # a breaker shared across calls would fail later triggers without trying.
                    circuit_breaker_strategy=oci.circuit_breaker.NoCircuitBreakerStrategy(),
                    timeout=(CONNECT_TIMEOUT_SECONDS, READ_TIMEOUT_SECONDS),
                )
                if not _environment_shapes_requests():
                    # requests re-reads the whole environment for proxies and CA bundles on every call
                    # (~0.3 ms); the container's environment is fixed, so with none of them set there is nothing to find.
                    self._client.session.trust_env = False
            return self._client

    def _call(
        self,
        deadline: Deadline,
        operation: str,
        method: Literal["GET", "POST"],
        path: str,
        *,
        query: dict[str, str] | None = None,
        body: dict[str, Any] | None = None,
        retry_token: str | None = None,
    ) -> tuple[Any, str | None]:
        client = self._base_client()
        headers = {"accept": "application/json", "content-type": "application/json"}
        if retry_token:
            headers["opc-retry-token"] = retry_token

        def attempt(**kwargs: Any) -> Any:
            remaining = deadline.remaining()
            if remaining <= 0:
                raise DeadlineExceeded(f"No time left before the call's deadline to {operation}.")
            # Calls run one at a time per container, so the client's timeout is ours to set per attempt.
            client.timeout = (min(CONNECT_TIMEOUT_SECONDS, remaining), min(READ_TIMEOUT_SECONDS, remaining))
            return client.call_api(**kwargs)

        try:
            response = _DeadlineBoundRetryStrategy(deadline).make_retrying_call(
                attempt,
                resource_path=path,
                method=method,
                query_params=query,
                header_params=headers,
                body=body,
                response_type="object",
                operation_name=operation,
            )
        except BackupError:
            raise
        except oci.exceptions.ServiceError as exc:
            raise _service_error(operation, exc) from None
        except (oci.exceptions.RequestException, oci.exceptions.ConnectTimeout) as exc:
            raise _transport_error(operation, exc, deadline) from None
        return response.data, response.headers.get("opc-request-id")

    def get_volume(self, kind: ResourceKind, resource_id: str, deadline: Deadline) -> OciVolume:
        data, request_id = self._call(
            deadline, "GetVolume" if kind == "volume" else "GetBootVolume", "GET", _PATHS[kind][0].format(id=resource_id)
        )
        return _parse(OciVolume, data, request_id)

    def create_backup(self, kind: ResourceKind, body: dict[str, Any], retry_token: str, deadline: Deadline) -> tuple[OciBackup, str | None]:
        operation = "CreateVolumeBackup" if kind == "volume" else "CreateBootVolumeBackup"
        data, request_id = self._call(deadline, operation, "POST", _PATHS[kind][1], body=body, retry_token=retry_token)
        return _parse(OciBackup, data, request_id), request_id

    def list_backups(self, kind: ResourceKind, resource_id: str, compartment_id: str, deadline: Deadline) -> list[OciBackup]:
        operation = "ListVolumeBackups" if kind == "volume" else "ListBootVolumeBackups"
        query = {"compartmentId": compartment_id, _PATHS[kind][2]: resource_id, "sortBy": "TIMECREATED", "sortOrder": "DESC"}
        data, request_id = self._call(deadline, operation, "GET", _PATHS[kind][1], query=query)
        return _parse_list(_BACKUP_LIST, data, request_id)

    def boot_volume_of(self, instance_id: str, compartment_id: str, availability_domain: str, deadline: Deadline) -> str:
        query = {"availabilityDomain": availability_domain, "compartmentId": compartment_id, "instanceId": instance_id}
        data, request_id = self._call(deadline, "ListBootVolumeAttachments", "GET", "/bootVolumeAttachments", query=query)
        attachments = _parse_list(_ATTACHMENT_LIST, data, request_id)
        attached = [a for a in attachments if a.lifecycle_state in (None, "ATTACHING", "ATTACHED")]
        if not attached:
            raise NotFound(f"Instance {instance_id} has no attached boot volume.", opc_request_id=request_id)
        return attached[0].boot_volume_id


def _parse(model: type[Model], data: Any, request_id: str | None) -> Model:
    try:
        return model.model_validate(data)
    except ValidationError:
        raise InternalError(f"Core Services answered with an unexpected {model.__name__} body.", opc_request_id=request_id) from None


def _parse_list(adapter: TypeAdapter[list[Model]], data: Any, request_id: str | None) -> list[Model]:
    try:
        return adapter.validate_python(data)
    except ValidationError:
        raise InternalError("Core Services answered with an unexpected list body.", opc_request_id=request_id) from None


def _service_error(operation: str, exc: Any) -> BackupError:
    status, code, request_id = exc.status, exc.code or "", exc.request_id
    message = f"{operation} failed: {status} {code}".rstrip() + (f": {exc.message}" if exc.message else "")
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
    return ServiceUnavailable(f"{operation} failed: Core Services could not be reached ({type(exc).__name__}).")
