"""The emulator's HTTP side: one threaded server on 127.0.0.1 for every service. Each request is
recorded, its signature verified, then routed to the operation a service declared, with any
latency and injected fault applied. Errors are `{"code", "message"}` with an `opc-request-id`
header, for every method and path, http.server's own refusals included; an unknown path is a 404
and a known path with another method a 405 that names the allowed ones."""

from __future__ import annotations

import copy
import json
import secrets
import socket
import struct
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from .blockstorage import BOOT_VOLUME, VOLUME, BlockStorage
from .compute import Compute
from .faults import DEFAULT_CODES, Fault, Recorded, resources_named, take_matching, trickle, trickle_tail
from .notifications import Notifications
from .operations import ApiError, Json, Response, Route, etag
from .rate_limit import CREATE_OPERATIONS, TokenBucket
from .regions import RegionalBackups, split_region
from .restores import Restores
from .signatures import SignatureVerifier
from .telemetry import Telemetry


def _request_id() -> str:
    return "/".join(secrets.token_hex(16).upper() for _ in range(3))


class CoreEmulator:
    """The emulator as a context manager: a threaded HTTP server on 127.0.0.1 and an ephemeral port."""

    def __init__(
        self,
        seed: Path | Json,
        issuer_public_key_pem: bytes | str,
        *,
        creating_after: float = 2.0,
        available_after: float = 10.0,
        port: int = 0,
        latency: float = 0.0,
    ) -> None:
        data = json.loads(Path(seed).read_text()) if isinstance(seed, (str, Path)) else copy.deepcopy(seed)
        self.state = BlockStorage(data, creating_after, available_after)
        self.compute = Compute(data)
        self.notifications = Notifications(topics={topic["id"] for topic in data.get("topics", [])})
        self.telemetry = Telemetry()
        self.restores = Restores(self.state)
        self.routes: list[Route] = [
            *self.state.routes(),
            *self.restores.routes(),
            *self.compute.routes(),
            *self.notifications.routes(),
            *self.telemetry.routes(),
        ]
        self.regional_routes: list[Route] = RegionalBackups(self.state).routes()
        self.verifier = SignatureVerifier(issuer_public_key_pem)
        self.latency = latency
        self.requests: list[Recorded] = []
        self.faults: list[Fault] = [Fault(**fault) for fault in data.get("faults", [])]
        self.create_limit: TokenBucket | None = None
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._server = ThreadingHTTPServer(("127.0.0.1", port), _handler_for(self))
        self._server.daemon_threads = True
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    @property
    def backups(self) -> dict[str, Json]:
        with self.state.lock:
            return {backup_id: self.state.view(backup_id) for backup_id in self.state.backups}

    def backups_for(self, resource_id: str) -> list[Json]:
        """This region's backups of a volume or boot volume."""
        return self.state.backups_of(resource_id)

    def backups_in_region(self, region: str) -> list[Json]:
        return self.state.backups_in_region(region)

    def add_backup(self, kind: str = "volume", *, source_id: str, **fields: Any) -> str:
        """Inserts a backup of `source_id` (fields: timeCreated, lifecycleState, sourceType, freeformTags, …); its id."""
        return self.state.add_backup(VOLUME if kind == "volume" else BOOT_VOLUME, source_id, **fields)

    def add_volume(self, kind: str = "volume", **fields: Any) -> str:
        """Stores a volume or boot volume (fields: id, compartmentId, availabilityDomain, freeformTags, …); its id."""
        return self.state.volumes.add("volumes" if kind == "volume" else "bootVolumes", fields)

    def volume(self, volume_id: str) -> Json | None:
        """A volume or boot volume as OCI shows it, or None."""
        collection = "bootVolumes" if volume_id.startswith("ocid1.bootvolume.") else "volumes"
        stored = self.state.volumes.raw(collection, volume_id)
        return None if stored is None else self.state.volumes.view(collection, volume_id)

    @property
    def messages(self) -> list[Json]:
        """Every message published, in order: topicId, title, body, messageId."""
        with self.notifications.lock:
            return list(self.notifications.messages)

    @property
    def metrics(self) -> list[Json]:
        """Every metricData item posted, in order, as received."""
        with self.telemetry.lock:
            return list(self.telemetry.metrics)

    def add_fault(self, **fault: Any) -> Fault:
        added = Fault(**fault)
        with self._lock:
            self.faults.append(added)
        return added

    def limit_creates(self, per_second: float | None, burst: float | None = None) -> TokenBucket | None:
        """At most `per_second` creates a second (bursts of `burst`), then 429; None turns the limit off."""
        self.create_limit = TokenBucket(per_second, burst) if per_second else None
        return self.create_limit

    def clear_faults(self) -> None:
        with self._lock:
            self.faults.clear()

    def revoke_token(self, jti: str) -> None:
        self.verifier.revoked.add(jti)

    def take_fault(self, operation: str, resources: set[str]) -> Fault | None:
        with self._lock:
            return take_matching(self.faults, operation, resources)

    def record(self, recorded: Recorded) -> None:
        with self._lock:
            self.requests.append(recorded)

    def start(self) -> CoreEmulator:
        self._thread = threading.Thread(target=self._server.serve_forever, name="core-emulator", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> CoreEmulator:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def answer(self, recorded: Recorded) -> Response | None:
        """The response to a request, or None to drop the connection."""
        problem = self.verifier.verify(recorded.method, recorded.target, recorded.headers, recorded.body)
        recorded.signature_ok, recorded.signature_problem = problem is None, problem
        route, params, path_known = self._route(recorded)
        recorded.operation = route.operation if route else "Unknown"
        if self.latency:
            self._stopping.wait(self.latency)
        if problem is not None:
            return Response(
                401, {"code": "NotAuthenticated", "message": "The required information to complete authentication was not provided."}
            )
        if route is None:
            if path_known:
                routes = self.regional_routes if recorded.region not in (None, self.state.region) else self.routes
                allowed = ", ".join(sorted({r.method for r in routes if r.pattern.match(recorded.path)}))
                message = f"{recorded.method} is not allowed on {recorded.path}."
                return Response(405, {"code": "MethodNotAllowed", "message": message}, {"allow": allowed})
            return Response(404, {"code": "NotFound", "message": f"No operation at {recorded.method} {recorded.path}."})
        fault = self.take_fault(route.operation, resources_named(recorded, params))
        recorded.fault = fault
        trickle = 0.0
        if fault is not None:
            if fault.delay:
                self._stopping.wait(fault.delay)
            if fault.reset_connection:
                return None
            if fault.status is not None:
                code = fault.code or DEFAULT_CODES.get(fault.status, "InternalServerError")
                if fault.body is not None:
                    return Response(fault.status, raw=fault.body.encode(fault.body_encoding), content_type=fault.content_type)
                return Response(fault.status, {"code": code, "message": fault.message or f"Injected fault: {fault.status} {code}."})
            trickle = fault.trickle_seconds
        limit = self.create_limit
        if limit is not None and route.operation in CREATE_OPERATIONS and not limit.take():
            return Response(429, {"code": "TooManyRequests", "message": "Too many requests for the tenancy: slow down creates."})
        try:
            body = json.loads(recorded.body) if recorded.body else None
        except ValueError:
            return Response(400, {"code": "InvalidParameter", "message": "The request body is not valid JSON."})
        try:
            response = route.handle(recorded, body, **params)
        except ApiError as error:
            return Response(error.status, {"code": error.code, "message": error.message})
        response.trickle_seconds = trickle
        if fault is not None and fault.trickle_tail_bytes:
            response.trickle_tail = (fault.trickle_tail_bytes, fault.trickle_tail_pause)
        return response

    def _route(self, recorded: Recorded) -> tuple[Route | None, dict[str, str], bool]:
        """The route for the method and path; whether the path exists for some other method."""
        path_known = False
        elsewhere = recorded.region is not None and recorded.region != self.state.region
        for route in self.regional_routes if elsewhere else self.routes:
            match = route.pattern.match(recorded.path)
            if match:
                if route.method == recorded.method:
                    return route, match.groupdict(), True
                path_known = True
        return None, {}, path_known


def _handler_for(emulator: CoreEmulator) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        server_version = "LocalOCI/1.0"

        def setup(self) -> None:
            super().setup()
            # Headers and body go out in two writes; with Nagle on, the body waits for the
            # client's delayed ACK (40 ms), which OCI's own front ends do not add.
            self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

        def do_GET(self) -> None:
            self._serve()

        def do_POST(self) -> None:
            self._serve()

        def do_DELETE(self) -> None:
            self._serve()

        def do_PUT(self) -> None:
            self._serve()

        def do_PATCH(self) -> None:
            self._serve()

        def do_HEAD(self) -> None:
            self._serve()

        def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
            """http.server's own errors (a malformed request line, an unknown method) as OCI-shaped JSON."""
            self._send(
                Response(code, {"code": DEFAULT_CODES.get(code, "InvalidParameter"), "message": message or "The request was refused."}),
                _request_id(),
            )

        def _serve(self) -> None:
            length = int(self.headers.get("content-length") or 0)
            body = self.rfile.read(length) if length else b""
            split = urlsplit(self.path)
            region, path = split_region(split.path)
            headers = {name.lower(): value for name, value in self.headers.items()}
            recorded = Recorded(
                method=self.command,
                target=self.path,
                path=path,
                region=region,
                query={name: values[0] for name, values in parse_qs(split.query).items()},
                headers=headers,
                body=body,
                opc_request_id=_request_id(),
            )
            emulator.record(recorded)
            response = emulator.answer(recorded)
            if response is None:
                self._reset()
                return
            recorded.status = response.status
            recorded.cut = not self._send(response, recorded.opc_request_id)

        def _send(self, response: Response, request_id: str) -> bool:
            if response.raw is not None:
                data = response.raw
            elif response.payload is None:
                data = b""
            else:
                data = json.dumps(response.payload).encode()
            try:
                self.send_response(response.status)
                self.send_header("content-type", response.content_type)
                self.send_header("content-length", str(len(data)))
                self.send_header("opc-request-id", request_id)
                for name, value in response.headers.items():
                    self.send_header(name, value)
                if isinstance(response.payload, dict) and response.status == 200 and "id" in response.payload:
                    self.send_header("etag", etag(response.payload))
                self.end_headers()
                if self.command == "HEAD" or not data:
                    return True
                if response.trickle_tail[0] > 0:
                    trickle_tail(self.wfile, data, *response.trickle_tail, stopping=emulator._stopping)
                elif response.trickle_seconds > 0:
                    trickle(self.wfile, data, response.trickle_seconds, stopping=emulator._stopping)
                else:
                    self.wfile.write(data)
            except OSError:
                self.close_connection = True  # the client gave up (a delayed answer outlived its timeout)
                return False
            return True

        def _reset(self) -> None:
            """Close with RST, no answer: what a dropped connection looks like to the client."""
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.close_connection = True
            self.connection.close()

        def log_message(self, format: str, *args: Any) -> None:
            pass

    return Handler
