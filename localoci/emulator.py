"""A local Core Services API (Blockstorage and Compute, `/20160918`) for the calls this function
makes, on 127.0.0.1.

It behaves like OCI's where the function depends on it: every request's signature is verified
(RSA-SHA256 over the signed headers, keyId `ST$<token>`, the token issued by the trusted issuer
and not revoked, `x-content-sha256` and `content-length` against the body, `date` within five
minutes); `opc-retry-token` makes a create idempotent; a second backup of a volume while one is
in progress is a 409; backups move REQUEST_RECEIVED -> CREATING -> AVAILABLE over time; errors
are `{"code", "message"}` with an `opc-request-id` header. Its volumes, boot volumes, instances
and attachments come from a seed file, and faults can be injected to try failures on purpose.

Run it alone: `python -m localoci.emulator --identity-dir /tmp/identity` prints the environment
that a function needs to call it."""

from __future__ import annotations

import argparse
import base64
import contextlib
import copy
import hashlib
import json
import re
import secrets
import socket
import struct
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import jwt
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from jwt.algorithms import RSAAlgorithm

from .identity import create_identity

API_PREFIX = "/20160918"
MAX_CLOCK_SKEW_SECONDS = 300
IN_PROGRESS = ("REQUEST_RECEIVED", "CREATING")
BODY_HEADERS = ("content-length", "content-type", "x-content-sha256")
REQUIRED_SIGNED = ("date", "(request-target)", "host")
BACKUP_TYPES = ("FULL", "INCREMENTAL")

Json = dict[str, Any]


class ApiError(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


def _now_text() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _request_id() -> str:
    return "/".join(secrets.token_hex(16).upper() for _ in range(3))


# --- signatures ----------------------------------------------------------------------------


class SignatureVerifier:
    """Checks an OCI HTTP signature the way the API does for resource-principal callers."""

    def __init__(self, issuer_public_key_pem: bytes | str) -> None:
        pem = issuer_public_key_pem.encode() if isinstance(issuer_public_key_pem, str) else issuer_public_key_pem
        self.issuer_key = serialization.load_pem_public_key(pem)
        self.revoked: set[str] = set()
        self._tokens: dict[str, tuple[str, rsa.RSAPublicKey, float]] = {}

    def _token(self, token: str) -> tuple[str, rsa.RSAPublicKey] | str:
        """The token's id and session key, or why it is refused; a verified token is remembered until it expires."""
        known = self._tokens.get(token)
        if known is not None and known[2] > time.time():
            return known[0], known[1]
        try:
            claims = jwt.decode(token, self.issuer_key, algorithms=["RS256"], options={"verify_aud": False})  # type: ignore[arg-type]
        except jwt.PyJWTError as exc:
            return f"security token refused: {type(exc).__name__}"
        try:
            session_key = RSAAlgorithm.from_jwk(claims["jwk"])
        except (KeyError, ValueError, TypeError):
            return "security token names no session key"
        if not isinstance(session_key, rsa.RSAPublicKey):
            return "session key is not an RSA public key"
        jti = str(claims.get("jti"))
        if len(self._tokens) > 64:
            self._tokens.clear()
        self._tokens[token] = (jti, session_key, float(claims["exp"]))
        return jti, session_key

    def verify(self, method: str, target: str, headers: dict[str, str], body: bytes) -> str | None:
        """None when the request is authentic, else why not (for the emulator's record, never the caller)."""
        params = _authorization_params(headers.get("authorization", ""))
        if params is None:
            return "no Signature authorization header"
        if params.get("algorithm") != "rsa-sha256" or params.get("version", "1") != "1":
            return "unsupported signature algorithm or version"
        key_id = params.get("keyId", "")
        if not key_id.startswith("ST$"):
            return "keyId is not a security token (ST$...)"
        token = self._token(key_id[3:])
        if isinstance(token, str):
            return token
        jti, session_key = token
        if jti in self.revoked:
            return "security token revoked"

        signed = params.get("headers", "date").split()
        required = REQUIRED_SIGNED + (BODY_HEADERS if method in ("POST", "PUT", "PATCH") else ())
        missing = [name for name in required if name not in signed and not (name == "date" and "x-date" in signed)]
        if missing:
            return f"headers not signed: {', '.join(missing)}"
        lines = []
        for name in signed:
            if name == "(request-target)":
                lines.append(f"(request-target): {method.lower()} {target}")
            elif name in headers:
                lines.append(f"{name}: {headers[name]}")
            else:
                return f"signed header {name} is absent"
        try:
            signature = base64.b64decode(params.get("signature", ""), validate=True)
            session_key.verify(signature, "\n".join(lines).encode(), padding.PKCS1v15(), hashes.SHA256())
        except (InvalidSignature, ValueError):
            return "signature does not match"

        if "x-content-sha256" in signed and headers["x-content-sha256"] != base64.b64encode(hashlib.sha256(body).digest()).decode():
            return "x-content-sha256 does not match the body"
        if "content-length" in signed and headers["content-length"] != str(len(body)):
            return "content-length does not match the body"
        try:
            sent = parsedate_to_datetime(headers.get("x-date") or headers["date"])
        except (KeyError, TypeError, ValueError):
            return "date header unreadable"
        if abs((datetime.now(UTC) - sent).total_seconds()) > MAX_CLOCK_SKEW_SECONDS:
            return "date is more than 5 minutes from now"
        return None


_PARAM = re.compile(r'(\w+)="([^"]*)"')


def _authorization_params(value: str) -> dict[str, str] | None:
    scheme, _, rest = value.partition(" ")
    if scheme != "Signature":
        return None
    return dict(_PARAM.findall(rest))


# --- faults and records --------------------------------------------------------------------


@dataclass
class Fault:
    """An answer to give instead of the real one. `times=None` means every time; `delay` holds the
    answer back (then answers normally unless a status is set); `reset_connection` drops the
    connection without an answer."""

    operation: str | None = None
    resource_id: str | None = None
    status: int | None = None
    code: str | None = None
    message: str | None = None
    times: int | None = 1
    delay: float = 0.0
    reset_connection: bool = False

    def matches(self, operation: str, resources: set[str]) -> bool:
        return (self.operation in (None, operation)) and (self.resource_id is None or self.resource_id in resources)


DEFAULT_CODES = {
    404: "NotAuthorizedOrNotFound",
    409: "Conflict",
    429: "TooManyRequests",
    500: "InternalServerError",
    503: "ServiceUnavailable",
}


@dataclass
class Recorded:
    """One request as the emulator received and answered it."""

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

    @property
    def retry_token(self) -> str | None:
        return self.headers.get("opc-retry-token")


# --- the service ---------------------------------------------------------------------------


@dataclass
class _Kind:
    """What differs between volumes and boot volumes."""

    collection: str
    id_field: str
    backup_ocid: str
    create_operation: str
    list_operation: str


VOLUME = _Kind("volumes", "volumeId", "volumebackup", "CreateVolumeBackup", "ListVolumeBackups")
BOOT_VOLUME = _Kind("bootVolumes", "bootVolumeId", "bootvolumebackup", "CreateBootVolumeBackup", "ListBootVolumeBackups")


@dataclass
class _Route:
    method: str
    pattern: re.Pattern[str]
    operation: str
    handle: Callable[..., tuple[int, Any]]


@dataclass
class CoreState:
    seed: Json
    creating_after: float
    available_after: float
    lock: threading.RLock = field(default_factory=threading.RLock)
    backups: dict[str, Json] = field(default_factory=dict)
    backups_by_source: dict[str, list[str]] = field(default_factory=dict)
    received_at: dict[str, float] = field(default_factory=dict)
    retry_tokens: dict[tuple[str, str], tuple[str, str]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for kind, key in ((VOLUME, "volumeBackups"), (BOOT_VOLUME, "bootVolumeBackups")):
            for backup in self.seed.get(key, []):
                self._add({**backup, "_kind": kind.collection}, backup[kind.id_field])

    def _add(self, backup: Json, source_id: str) -> None:
        self.backups[backup["id"]] = backup
        self.backups_by_source.setdefault(source_id, []).append(backup["id"])

    def region_key(self) -> str:
        return str(self.seed.get("regionKey", "iad"))

    def resource(self, collection: str, resource_id: str) -> Json:
        for item in self.seed.get(collection, []):
            if item["id"] == resource_id:
                return dict(item)
        raise ApiError(404, "NotAuthorizedOrNotFound", f"Authorization failed or requested resource not found: {resource_id}")

    def state_of(self, backup_id: str) -> str:
        backup = self.backups[backup_id]
        received = self.received_at.get(backup_id)
        if received is None:
            return str(backup["lifecycleState"])
        age = time.monotonic() - received
        if age < self.creating_after:
            return "REQUEST_RECEIVED"
        return "CREATING" if age < self.available_after else "AVAILABLE"

    def view(self, backup_id: str) -> Json:
        backup = {key: value for key, value in self.backups[backup_id].items() if not key.startswith("_")}
        backup["lifecycleState"] = self.state_of(backup_id)
        return copy.deepcopy(backup)

    def create_backup(self, kind: _Kind, body: Any, retry_token: str | None) -> Json:
        if not isinstance(body, dict):
            raise ApiError(400, "InvalidParameter", "The request body must be a JSON object.")
        source_id = body.get(kind.id_field)
        if not isinstance(source_id, str) or not source_id:
            raise ApiError(400, "InvalidParameter", f"{kind.id_field} is required.")
        backup_type = body.get("type", "INCREMENTAL")
        if backup_type not in BACKUP_TYPES:
            raise ApiError(400, "InvalidParameter", f"type must be one of {', '.join(BACKUP_TYPES)}.")
        display_name = body.get("displayName")
        if display_name is not None and (not isinstance(display_name, str) or not 1 <= len(display_name) <= 255):
            raise ApiError(400, "InvalidParameter", "displayName must be 1 to 255 characters.")
        fingerprint = hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()
        with self.lock:
            if retry_token:
                earlier = self.retry_tokens.get((kind.create_operation, retry_token))
                if earlier is not None:
                    if earlier[0] != fingerprint:
                        raise ApiError(409, "Conflict", "The retry token was already used for a request with other parameters.")
                    return self.view(earlier[1])
            source = self.resource(kind.collection, source_id)
            running = self._running_backup(source_id)
            if running:
                raise ApiError(409, "Conflict", f"A backup of {source_id} is already in progress ({running}).")
            now = _now_text()
            backup_id = f"ocid1.{kind.backup_ocid}.oc1.{self.region_key()}.{secrets.token_hex(30)}"
            backup = {
                "id": backup_id,
                kind.id_field: source_id,
                "compartmentId": source["compartmentId"],
                "displayName": display_name or f"{kind.backup_ocid}{now.replace('-', '').replace(':', '')[:15]}",
                "type": backup_type,
                "sourceType": "MANUAL",
                "lifecycleState": "REQUEST_RECEIVED",
                "timeCreated": now,
                "timeRequestReceived": now,
                "sizeInGBs": source.get("sizeInGBs"),
                "kmsKeyId": body.get("kmsKeyId"),
                "freeformTags": body.get("freeformTags") or {},
                "definedTags": body.get("definedTags") or {},
                "systemTags": {},
                "expirationTime": None,
                "_kind": kind.collection,
            }
            self._add(backup, source_id)
            self.received_at[backup_id] = time.monotonic()
            if retry_token:
                self.retry_tokens[(kind.create_operation, retry_token)] = (fingerprint, backup_id)
            return self.view(backup_id)

    def _running_backup(self, source_id: str) -> str | None:
        """Newest first; backups made here age in order, so the first finished one ends the search."""
        for backup_id in reversed(self.backups_by_source.get(source_id, [])):
            state = self.state_of(backup_id)
            if state in IN_PROGRESS:
                return backup_id
            if backup_id in self.received_at:
                break
        return None

    def backups_of(self, source_id: str) -> list[Json]:
        with self.lock:
            return [self.view(i) for i in self.backups_by_source.get(source_id, [])]

    def get_backup(self, kind: _Kind, backup_id: str) -> Json:
        with self.lock:
            backup = self.backups.get(backup_id)
            if backup is None or backup["_kind"] != kind.collection:
                raise ApiError(404, "NotAuthorizedOrNotFound", f"Authorization failed or requested resource not found: {backup_id}")
            return self.view(backup_id)

    def list_backups(self, kind: _Kind, query: dict[str, str]) -> list[Json]:
        compartment = _required(query, "compartmentId")
        with self.lock:
            found = [self.view(i) for i, b in self.backups.items() if b["_kind"] == kind.collection and b["compartmentId"] == compartment]
        for name in (kind.id_field, "displayName", "lifecycleState"):
            if name in query:
                found = [b for b in found if b.get(name) == query[name]]
        found.sort(key=lambda b: str(b.get("timeCreated", "")), reverse=query.get("sortOrder", "DESC") == "DESC")
        return found

    def list_boot_volume_attachments(self, query: dict[str, str]) -> list[Json]:
        domain, compartment = _required(query, "availabilityDomain"), _required(query, "compartmentId")
        found = [
            dict(a)
            for a in self.seed.get("bootVolumeAttachments", [])
            if a["availabilityDomain"] == domain and a["compartmentId"] == compartment
        ]
        for name in ("instanceId", "bootVolumeId"):
            if name in query:
                found = [a for a in found if a.get(name) == query[name]]
        return found


def _required(query: dict[str, str], name: str) -> str:
    value = query.get(name)
    if not value:
        raise ApiError(400, "MissingParameter", f"Missing query parameter {name}.")
    return value


def _routes(state: CoreState) -> list[_Route]:
    ocid = r"(?P<id>[A-Za-z0-9._:-]+)"

    def route(method: str, path: str, operation: str, handle: Callable[..., tuple[int, Any]]) -> _Route:
        return _Route(method, re.compile(f"^{API_PREFIX}{path}$"), operation, handle)

    routes = [
        route(
            "GET", "/bootVolumeAttachments", "ListBootVolumeAttachments", lambda r, b: (200, state.list_boot_volume_attachments(r.query))
        ),
        route("GET", f"/instances/{ocid}", "GetInstance", lambda r, b, id: (200, state.resource("instances", id))),
    ]
    for kind in (VOLUME, BOOT_VOLUME):
        backups = f"/{kind.collection[:-1]}Backups"
        name = "Volume" if kind is VOLUME else "BootVolume"
        routes += [
            route("GET", f"/{kind.collection}/{ocid}", f"Get{name}", lambda r, b, id, k=kind: (200, state.resource(k.collection, id))),
            route("POST", backups, kind.create_operation, lambda r, b, k=kind: (200, state.create_backup(k, b, r.retry_token))),
            route("GET", backups, kind.list_operation, lambda r, b, k=kind: (200, state.list_backups(k, r.query))),
            route("GET", f"{backups}/{ocid}", f"Get{name}Backup", lambda r, b, id, k=kind: (200, state.get_backup(k, id))),
        ]
    return routes


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
    ) -> None:
        data = json.loads(Path(seed).read_text()) if isinstance(seed, (str, Path)) else copy.deepcopy(seed)
        self.state = CoreState(data, creating_after, available_after)
        self.verifier = SignatureVerifier(issuer_public_key_pem)
        self.routes = _routes(self.state)
        self.requests: list[Recorded] = []
        self.faults: list[Fault] = [Fault(**fault) for fault in data.get("faults", [])]
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
        return self.state.backups_of(resource_id)

    def add_fault(self, **fault: Any) -> Fault:
        added = Fault(**fault)
        with self._lock:
            self.faults.append(added)
        return added

    def clear_faults(self) -> None:
        with self._lock:
            self.faults.clear()

    def revoke_token(self, jti: str) -> None:
        self.verifier.revoked.add(jti)

    def take_fault(self, operation: str, resources: set[str]) -> Fault | None:
        with self._lock:
            for fault in self.faults:
                if fault.matches(operation, resources):
                    if fault.times is not None:
                        fault.times -= 1
                        if fault.times <= 0:
                            self.faults.remove(fault)
                    return fault
        return None

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

    def answer(self, recorded: Recorded) -> tuple[int, Any] | None:
        """The status and body for a request, or None to drop the connection."""
        problem = self.verifier.verify(recorded.method, recorded.target, recorded.headers, recorded.body)
        recorded.signature_ok, recorded.signature_problem = problem is None, problem
        route, params = self._route(recorded)
        recorded.operation = route.operation if route else "Unknown"
        if problem is not None:
            return 401, {"code": "NotAuthenticated", "message": "The required information to complete authentication was not provided."}
        if route is None:
            return 404, {"code": "NotFound", "message": f"No operation at {recorded.method} {recorded.path}."}
        fault = self.take_fault(route.operation, _resources_named(recorded, params))
        recorded.fault = fault
        if fault is not None:
            if fault.delay:
                self._stopping.wait(fault.delay)
            if fault.reset_connection:
                return None
            if fault.status is not None:
                code = fault.code or DEFAULT_CODES.get(fault.status, "InternalServerError")
                return fault.status, {"code": code, "message": fault.message or f"Injected fault: {fault.status} {code}."}
        try:
            body = json.loads(recorded.body) if recorded.body else None
        except ValueError:
            return 400, {"code": "InvalidParameter", "message": "The request body is not valid JSON."}
        try:
            return route.handle(recorded, body, **params)
        except ApiError as error:
            return error.status, {"code": error.code, "message": error.message}

    def _route(self, recorded: Recorded) -> tuple[_Route | None, dict[str, str]]:
        for route in self.routes:
            if route.method == recorded.method:
                match = route.pattern.match(recorded.path)
                if match:
                    return route, match.groupdict()
        return None, {}


def _resources_named(recorded: Recorded, params: dict[str, str]) -> set[str]:
    named = set(params.values()) | set(recorded.query.values())
    try:
        body = json.loads(recorded.body) if recorded.body else {}
    except ValueError:
        body = {}
    if isinstance(body, dict):
        named |= {str(body[key]) for key in ("volumeId", "bootVolumeId") if key in body}
    return named


def _handler_for(emulator: CoreEmulator) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        server_version = "LocalCoreServices/1.0"

        def setup(self) -> None:
            super().setup()
            # Headers and body go out in two writes; with Nagle on, the body waits for the
            # client's delayed ACK (40 ms), which OCI's own front ends do not add.
            self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

        def do_GET(self) -> None:
            self._serve()

        def do_POST(self) -> None:
            self._serve()

        def _serve(self) -> None:
            length = int(self.headers.get("content-length") or 0)
            body = self.rfile.read(length) if length else b""
            split = urlsplit(self.path)
            headers = {name.lower(): value for name, value in self.headers.items()}
            recorded = Recorded(
                method=self.command,
                target=self.path,
                path=split.path,
                query={name: values[0] for name, values in parse_qs(split.query).items()},
                headers=headers,
                body=body,
                opc_request_id=_request_id(),
            )
            emulator.record(recorded)
            answer = emulator.answer(recorded)
            if answer is None:
                self._reset()
                return
            recorded.status, payload = answer
            data = json.dumps(payload).encode()
            try:
                self.send_response(recorded.status)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(data)))
                self.send_header("opc-request-id", recorded.opc_request_id)
                if isinstance(payload, dict) and recorded.status == 200 and "id" in payload:
                    self.send_header("etag", hashlib.sha256(data).hexdigest()[:32])
                self.end_headers()
                self.wfile.write(data)
            except OSError:
                self.close_connection = True  # the client gave up (a delayed answer outlived its timeout)

        def _reset(self) -> None:
            """Close with RST, no answer: what a dropped connection looks like to the client."""
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.close_connection = True
            self.connection.close()

        def log_message(self, format: str, *args: Any) -> None:
            pass

    return Handler


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seed", type=Path, default=Path(__file__).with_name("seed.json"))
    trust = parser.add_mutually_exclusive_group(required=True)
    trust.add_argument("--identity-dir", type=Path, help="make a resource-principal identity here and print the function's environment")
    trust.add_argument("--issuer-key", type=Path, help="PEM public key of a token issuer to trust")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--creating-after", type=float, default=2.0)
    parser.add_argument("--available-after", type=float, default=10.0)
    args = parser.parse_args(argv)
    identity = create_identity(args.identity_dir) if args.identity_dir else None
    issuer_key = identity.issuer_public_key_pem if identity else args.issuer_key.read_bytes()
    emulator = CoreEmulator(args.seed, issuer_key, creating_after=args.creating_after, available_after=args.available_after, port=args.port)
    with emulator:
        print(f"Core Services emulator on {emulator.url} (Ctrl-C to stop)")
        if identity:
            print("Environment for the function:")
            for name, value in {**identity.env(), "OCI_CORE_ENDPOINT": emulator.url}.items():
                print(f"export {name}={value}")
        sys.stdout.flush()
        with contextlib.suppress(KeyboardInterrupt):
            threading.Event().wait()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
