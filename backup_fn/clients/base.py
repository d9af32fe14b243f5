"""What every OCI client here shares: one SDK `BaseClient` per service and thread, each call bounded
by the call's deadline (retries in `retry`, every byte of the answer in `transport`), and OCI's
errors turned into ours (`oci_errors`).

The generated `oci.core` / `oci.ons` / `oci.monitoring` clients are not used: importing `oci.core`
alone loads every Core model and client (~700 modules, ~120 ms and ~20 MB of the cold start,
measured by `make bench`) for the handful of operations this function calls. Responses are
parsed into our own tolerant pydantic models instead of the SDK's model classes."""

from __future__ import annotations

import os
import threading
from collections.abc import Mapping
from typing import Any, Literal, NamedTuple, TypeVar
from urllib.parse import quote

import oci.circuit_breaker
import oci.exceptions
from oci.base_client import BaseClient
from pydantic import BaseModel, TypeAdapter, ValidationError

from ..deadline import Deadline
from ..errors import BackupError, DeadlineExceeded, InternalError
from .oci_errors import service_error, transport_error
from .retry import DeadlineBoundRetryStrategy
from .signer import Credentials as Credentials  # re-exported: tests import it from here
from .transport import DeadlineAdapter

CONNECT_TIMEOUT_SECONDS = 5.0
READ_TIMEOUT_SECONDS = 60.0

Method = Literal["GET", "POST", "PUT", "DELETE"]
Model = TypeVar("Model", bound=BaseModel)


class Operation(NamedTuple):
    """One OCI API operation, by the name OCI's docs and IAM give it."""

    name: str
    method: Method
    path: str


class OciReply(NamedTuple):
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

    def __init__(self, credentials: Credentials, service: Service, endpoint: str | None, region: str | None = None) -> None:
        self.credentials = credentials
        self.service = service
        self.endpoint = endpoint.rstrip("/") if endpoint else None
        self.region = region  # another region than the signer's: its endpoint derived from the template
        self._local = threading.local()

    def _client(self) -> tuple[BaseClient, DeadlineAdapter, Any]:
        """This thread's client, made again when the credentials hold a new signer (a renewed token)."""
        config, signer = self.credentials.get()
        made: tuple[BaseClient, DeadlineAdapter, Any] | None = getattr(self._local, "client", None)
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
            if self.endpoint is None and self.region is not None:
                client.set_region(self.region)
            adapter = DeadlineAdapter(self.service.name)
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
    ) -> OciReply:
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
            response = DeadlineBoundRetryStrategy(deadline, operation.name).make_retrying_call(
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
            raise transport_error(operation.name, exc, deadline) from None
        headers_out = {name.lower(): value for name, value in response.headers.items()}
        return OciReply(response.data, headers_out.get("opc-request-id"), headers_out)


def parse(model: type[Model], reply: OciReply) -> Model:
    try:
        return model.model_validate(reply.data)
    except ValidationError:
        raise InternalError(f"OCI answered with an unexpected {model.__name__} body.", opc_request_id=reply.request_id) from None


def parse_list(adapter: TypeAdapter[list[Model]], reply: OciReply) -> list[Model]:
    try:
        return adapter.validate_python(reply.data)
    except ValidationError:
        raise InternalError("OCI answered with an unexpected list body.", opc_request_id=reply.request_id) from None


def _environment_shapes_requests() -> bool:
    """Whether any variable that requests honours (proxies, CA bundles, netrc) is set."""
    names = (name.lower() for name in os.environ)
    return any(name.endswith("_proxy") or name in ("requests_ca_bundle", "curl_ca_bundle", "netrc") for name in names)
