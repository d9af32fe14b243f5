"""A local OCI for the calls this function makes, on 127.0.0.1: Core Services (Blockstorage and
Compute, `/20160918`), the Notifications data plane (`/20181201`) and Monitoring's telemetry
ingestion (`/20180401`), all on one port.

It behaves like OCI's where the function depends on it: every request's signature is verified
(RSA-SHA256 over the signed headers, keyId `ST$<token>`, the token issued by the trusted issuer
and not revoked, `x-content-sha256` and `content-length` against the body, `date` within five
minutes); `opc-retry-token` makes a create idempotent; a second backup of a volume while one is
in progress is a 409; backups move REQUEST_RECEIVED -> CREATING -> AVAILABLE over time; errors
are `{"code", "message"}` with an `opc-request-id` header, for every method and path. Backups can
be read, listed page by page (`opc-next-page`, sortBy/sortOrder), copied to another region (kept
apart from this region's, at most 10 copies in progress) and deleted. Published messages and
posted metrics are validated as OCI documents them and recorded. Its volumes, boot volumes,
instances, attachments, backups and topics come from a seed file, and faults can be injected to
try failures on purpose: a status, a delay, a dropped connection, an HTML or non-UTF-8 error
body, an answer whose body trickles in, and a latency on every request.

Run it alone: `python -m localoci.emulator --identity-dir /tmp/identity` prints the environment
that a function needs to call it."""

from __future__ import annotations

import argparse
import base64
import binascii
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
import oci.regions
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from jwt.algorithms import RSAAlgorithm

from .identity import TOKEN_LIFETIME_SECONDS, LocalIdentity, create_identity

API_PREFIX = "/20160918"
NOTIFICATIONS_PREFIX = "/20181201"
TELEMETRY_PREFIX = "/20180401"
MAX_COPIES_IN_PROGRESS = 10
MAX_PAGE_LIMIT = 1000
DEFAULT_PAGE_LIMIT = 100
MAX_MESSAGE_BYTES = 64 * 1024
MAX_TITLE_LENGTH = 255
MESSAGES_PER_MINUTE = 60
MAX_METRIC_STREAMS = 50
METRIC_NAMESPACE = re.compile(r"[A-Za-z][A-Za-z0-9_]{0,254}")
METRIC_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_.\-]{0,254}")
DIMENSION_KEY = re.compile(r"[A-Za-z][A-Za-z0-9_.\-]{0,255}")
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


@dataclass
class Reply:
    """What the emulator sends: a status, a JSON payload (None: no body), extra headers, or raw bytes."""

    status: int
    payload: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    raw: bytes | None = None
    content_type: str = "application/json"
    trickle_seconds: float = 0.0


# --- the service ---------------------------------------------------------------------------


@dataclass
class _Kind:
    """What differs between volumes and boot volumes."""

    collection: str
    id_field: str
    backup_ocid: str
    backups: str
    name: str
    source_backup_field: str


VOLUME = _Kind("volumes", "volumeId", "volumebackup", "volumeBackups", "Volume", "sourceVolumeBackupId")
BOOT_VOLUME = _Kind("bootVolumes", "bootVolumeId", "bootvolumebackup", "bootVolumeBackups", "BootVolume", "sourceBootVolumeBackupId")
KINDS = (VOLUME, BOOT_VOLUME)


@dataclass
class _Route:
    method: str
    pattern: re.Pattern[str]
    operation: str
    handle: Callable[..., Reply]


def _short_code(region: str) -> str:
    for code, name in oci.regions.REGIONS_SHORT_NAMES.items():
        if name == region:
            return str(code)
    raise ValueError(f"unknown region {region!r}")


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
    max_page_size: int = MAX_PAGE_LIMIT
    copies_running: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.region = str(self.seed.get("region", "us-ashburn-1"))
        self.region_key = _short_code(self.region)
        for kind in KINDS:
            for backup in self.seed.get(kind.backups, []):
                self._add({**backup, "_kind": kind.collection, "_region": self.region}, backup[kind.id_field])

    def _add(self, backup: Json, source_id: str) -> None:
        self.backups[backup["id"]] = backup
        self.backups_by_source.setdefault(source_id, []).append(backup["id"])

    def resource(self, collection: str, resource_id: str) -> Json:
        for item in self.seed.get(collection, []):
            if item["id"] == resource_id:
                return dict(item)
        raise _not_found(resource_id)

    def state_of(self, backup_id: str) -> str:
        backup = self.backups[backup_id]
        received = self.received_at.get(backup_id)
        if received is None or backup["lifecycleState"] in ("TERMINATED", "FAULTY"):
            return str(backup["lifecycleState"])
        age = time.monotonic() - received
        if age < self.creating_after:
            return "REQUEST_RECEIVED"
        return "CREATING" if age < self.available_after else "AVAILABLE"

    def view(self, backup_id: str) -> Json:
        backup = {key: value for key, value in self.backups[backup_id].items() if not key.startswith("_")}
        backup["lifecycleState"] = self.state_of(backup_id)
        return copy.deepcopy(backup)

    def _here(self, backup_id: str, kind: _Kind) -> Json:
        """A backup of this kind in this region, or 404 as OCI answers for anything it will not show."""
        backup = self.backups.get(backup_id)
        if backup is None or backup["_kind"] != kind.collection or backup["_region"] != self.region:
            raise _not_found(backup_id)
        return backup

    def add_backup(self, kind: _Kind, source_id: str, **fields: Any) -> str:
        """A backup put straight into the store (tests: many backups of one volume, at chosen ages)."""
        with self.lock:
            source = self.resource(kind.collection, source_id)
            backup_id = fields.pop("id", None) or f"ocid1.{kind.backup_ocid}.oc1.{self.region_key}.{secrets.token_hex(30)}"
            self._add(
                {
                    "id": backup_id,
                    kind.id_field: source_id,
                    "compartmentId": source["compartmentId"],
                    "displayName": f"{source.get('displayName', 'backup')} {len(self.backups)}",
                    "type": "INCREMENTAL",
                    "sourceType": "MANUAL",
                    "lifecycleState": "AVAILABLE",
                    "timeCreated": _now_text(),
                    "freeformTags": {},
                    "definedTags": {},
                    **fields,
                    "_kind": kind.collection,
                    "_region": self.region,
                },
                source_id,
            )
            return str(backup_id)

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
        with self.lock:
            earlier = self._earlier(f"Create{kind.name}Backup", retry_token, body)
            if earlier is not None:
                return earlier
            source = self.resource(kind.collection, source_id)
            running = self._running_backup(source_id)
            if running:
                raise ApiError(409, "Conflict", f"A backup of {source_id} is already in progress ({running}).")
            now = _now_text()
            backup_id = f"ocid1.{kind.backup_ocid}.oc1.{self.region_key}.{secrets.token_hex(30)}"
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
                "_region": self.region,
            }
            self._add(backup, source_id)
            self.received_at[backup_id] = time.monotonic()
            self._remember(f"Create{kind.name}Backup", retry_token, body, backup_id)
            return self.view(backup_id)

    def _earlier(self, operation: str, retry_token: str | None, body: Json) -> Json | None:
        """The answer a retry token already got: same body, same resource; another body, 409."""
        if not retry_token:
            return None
        earlier = self.retry_tokens.get((operation, retry_token))
        if earlier is None:
            return None
        if earlier[0] != _fingerprint(body):
            raise ApiError(409, "Conflict", "The retry token was already used for a request with other parameters.")
        return self.view(earlier[1])

    def _remember(self, operation: str, retry_token: str | None, body: Json, backup_id: str) -> None:
        if retry_token:
            self.retry_tokens[(operation, retry_token)] = (_fingerprint(body), backup_id)

    def _running_backup(self, source_id: str) -> str | None:
        """Newest first; backups made here age in order, so the first finished one ends the search."""
        for backup_id in reversed(self.backups_by_source.get(source_id, [])):
            if self.backups[backup_id]["_region"] != self.region:
                continue
            state = self.state_of(backup_id)
            if state in IN_PROGRESS:
                return backup_id
            if backup_id in self.received_at:
                break
        return None

    def backups_of(self, source_id: str) -> list[Json]:
        with self.lock:
            return [self.view(i) for i in self.backups_by_source.get(source_id, []) if self.backups[i]["_region"] == self.region]

    def backups_in_region(self, region: str) -> list[Json]:
        with self.lock:
            return [self.view(i) for i, b in self.backups.items() if b["_region"] == region]

    def get_backup(self, kind: _Kind, backup_id: str) -> Json:
        with self.lock:
            self._here(backup_id, kind)
            return self.view(backup_id)

    def copy_backup(self, kind: _Kind, backup_id: str, body: Any, retry_token: str | None) -> Json:
        if not isinstance(body, dict):
            raise ApiError(400, "InvalidParameter", "The request body must be a JSON object.")
        destination = body.get("destinationRegion")
        if not isinstance(destination, str) or not destination:
            raise ApiError(400, "MissingParameter", "destinationRegion is required.")
        if destination not in oci.regions.REGIONS or destination == self.region:
            raise ApiError(400, "InvalidParameter", f"destinationRegion {destination!r} is not a region this backup can be copied to.")
        key = body.get("kmsKeyId")
        if key is not None and (not isinstance(key, str) or not key.startswith("ocid1.key.")):
            raise ApiError(400, "InvalidParameter", "kmsKeyId must be the OCID of a key in the destination region.")
        name = body.get("displayName")
        if name is not None and (not isinstance(name, str) or not 1 <= len(name) <= 255):
            raise ApiError(400, "InvalidParameter", "displayName must be 1 to 255 characters.")
        operation = f"Copy{kind.name}Backup"
        with self.lock:
            source = self._here(backup_id, kind)
            earlier = self._earlier(operation, retry_token, {**body, "_source": backup_id})
            if earlier is not None:
                return earlier
            if self.state_of(backup_id) != "AVAILABLE":
                raise ApiError(
                    409, "IncorrectState", f"Backup {backup_id} is {self.state_of(backup_id)}; only an AVAILABLE backup can be copied."
                )
            self.copies_running = [i for i in self.copies_running if self.state_of(i) in IN_PROGRESS]
            if len(self.copies_running) >= MAX_COPIES_IN_PROGRESS:
                raise ApiError(429, "TooManyRequests", f"At most {MAX_COPIES_IN_PROGRESS} copies may be in progress from {self.region}.")
            now = _now_text()
            copy_id = f"ocid1.{kind.backup_ocid}.oc1.{_short_code(destination)}.{secrets.token_hex(30)}"
            copied = {
                **{k: v for k, v in source.items() if not k.startswith("_")},
                "id": copy_id,
                "displayName": name or source.get("displayName"),
                "kmsKeyId": key,
                "lifecycleState": "CREATING",
                "timeCreated": now,
                "timeRequestReceived": now,
                kind.source_backup_field: backup_id,
                "_kind": kind.collection,
                "_region": destination,
                "_copied_from_region": self.region,
            }
            self._add(copied, str(source[kind.id_field]))
            self.received_at[copy_id] = time.monotonic() - self.creating_after
            self.copies_running.append(copy_id)
            self._remember(operation, retry_token, {**body, "_source": backup_id}, copy_id)
            return self.view(copy_id)

    def delete_backup(self, kind: _Kind, backup_id: str, if_match: str | None) -> None:
        with self.lock:
            backup = self._here(backup_id, kind)
            state = self.state_of(backup_id)
            if state == "TERMINATED":
                raise _not_found(backup_id)
            if state in IN_PROGRESS:
                raise ApiError(409, "IncorrectState", f"Backup {backup_id} is {state}; it cannot be deleted until it is AVAILABLE.")
            if if_match is not None and if_match != _etag(self.view(backup_id)):
                raise ApiError(412, "NoEtagMatch", "The if-match value does not match the backup's current etag.")
            backup["lifecycleState"] = "TERMINATED"
            self.received_at.pop(backup_id, None)

    def list_backups(self, kind: _Kind, query: dict[str, str]) -> tuple[list[Json], dict[str, str]]:
        compartment = _required(query, "compartmentId")
        with self.lock:
            # The volume's own index when the query names one: a store grown by thousands of creates stays fast.
            source = query.get(kind.id_field)
            candidates = self.backups_by_source.get(source, []) if source else list(self.backups)
            found = [
                self.view(i)
                for i in candidates
                if (b := self.backups[i])["_kind"] == kind.collection and b["_region"] == self.region and b["compartmentId"] == compartment
            ]
        for name in (kind.id_field, "displayName", "lifecycleState", kind.source_backup_field):
            if name in query:
                found = [b for b in found if b.get(name) == query[name]]
        return self.page(_sorted(found, query), query)

    def list_volumes(self, kind: _Kind, query: dict[str, str]) -> tuple[list[Json], dict[str, str]]:
        compartment = _required(query, "compartmentId")
        found = [dict(v) for v in self.seed.get(kind.collection, []) if v["compartmentId"] == compartment]
        for name in ("availabilityDomain", "displayName", "lifecycleState"):
            if name in query:
                found = [v for v in found if v.get(name) == query[name]]
        return self.page(_sorted([{**v, "timeCreated": v.get("timeCreated", "2026-01-01T00:00:00.000Z")} for v in found], query), query)

    def page(self, items: list[Json], query: dict[str, str]) -> tuple[list[Json], dict[str, str]]:
        """One page of `items` and, when more follow, the `opc-next-page` token."""
        try:
            limit = int(query.get("limit", DEFAULT_PAGE_LIMIT))
        except ValueError:
            raise ApiError(400, "InvalidParameter", "limit must be an integer.") from None
        if not 1 <= limit <= MAX_PAGE_LIMIT:
            raise ApiError(400, "InvalidParameter", f"limit must be between 1 and {MAX_PAGE_LIMIT}.")
        start = _page_offset(query.get("page"))
        size = min(limit, self.max_page_size)
        headers = {"opc-next-page": _page_token(start + size)} if start + size < len(items) else {}
        return items[start : start + size], headers

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


def _not_found(resource_id: str) -> ApiError:
    return ApiError(404, "NotAuthorizedOrNotFound", f"Authorization failed or requested resource not found: {resource_id}")


def _fingerprint(body: Json) -> str:
    return hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()


def _etag(payload: Any) -> str:
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()[:32]


def _sorted(items: list[Json], query: dict[str, str]) -> list[Json]:
    sort_by = query.get("sortBy", "TIMECREATED")
    order = query.get("sortOrder", "DESC" if sort_by == "TIMECREATED" else "ASC")
    if sort_by not in ("TIMECREATED", "DISPLAYNAME"):
        raise ApiError(400, "InvalidParameter", "sortBy must be TIMECREATED or DISPLAYNAME.")
    if order not in ("ASC", "DESC"):
        raise ApiError(400, "InvalidParameter", "sortOrder must be ASC or DESC.")
    field_name = "timeCreated" if sort_by == "TIMECREATED" else "displayName"
    return sorted(items, key=lambda item: str(item.get(field_name) or ""), reverse=order == "DESC")


def _page_token(offset: int) -> str:
    return base64.urlsafe_b64encode(f"offset:{offset}".encode()).decode()


def _page_offset(token: str | None) -> int:
    if not token:
        return 0
    try:
        text = base64.urlsafe_b64decode(token.encode()).decode()
        if text.startswith("offset:"):
            return max(0, int(text[len("offset:") :]))
    except (ValueError, binascii.Error, UnicodeDecodeError):
        pass
    raise ApiError(400, "InvalidParameter", "The page token is not one this service issued.")


def _required(query: dict[str, str], name: str) -> str:
    value = query.get(name)
    if not value:
        raise ApiError(400, "MissingParameter", f"Missing query parameter {name}.")
    return value


# --- Notifications and Monitoring -----------------------------------------------------------


@dataclass
class Telemetry:
    """What the Notifications data plane and telemetry ingestion accepted, in order."""

    topics: set[str]
    messages: list[Json] = field(default_factory=list)
    metrics: list[Json] = field(default_factory=list)
    published_at: dict[str, list[float]] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def publish(self, topic_id: str, body: Any) -> Json:
        if topic_id not in self.topics:
            raise _not_found(topic_id)
        now = time.monotonic()
        with self.lock:
            recent = self.published_at.setdefault(topic_id, [])
            recent[:] = [t for t in recent if now - t < 60]
            if len(recent) >= MESSAGES_PER_MINUTE:
                raise ApiError(429, "TooManyRequests", f"At most {MESSAGES_PER_MINUTE} messages a minute may be published to a topic.")
            recent.append(now)
        if not isinstance(body, dict) or not isinstance(body.get("body"), str):
            raise ApiError(400, "InvalidParameter", "A message needs a body (a string) and may have a title.")
        title = body.get("title")
        if title is not None and (not isinstance(title, str) or len(title) > MAX_TITLE_LENGTH):
            raise ApiError(400, "InvalidParameter", f"title must be a string of at most {MAX_TITLE_LENGTH} characters.")
        if len(json.dumps(body).encode()) > MAX_MESSAGE_BYTES:
            raise ApiError(400, "InvalidParameter", f"The message is over {MAX_MESSAGE_BYTES} bytes.")
        message = {"topicId": topic_id, "title": title, "body": body["body"], "messageId": f"ocid1.onsmessage.oc1..{secrets.token_hex(20)}"}
        with self.lock:
            self.messages.append(message)
        return {"messageId": message["messageId"], "timeStamp": _now_text()}

    def post_metrics(self, body: Any) -> Json:
        if not isinstance(body, dict) or not isinstance(body.get("metricData"), list):
            raise ApiError(400, "InvalidParameter", "metricData (a list) is required.")
        items = body["metricData"]
        if not 1 <= len(items) <= MAX_METRIC_STREAMS:
            raise ApiError(400, "InvalidParameter", f"metricData must hold 1 to {MAX_METRIC_STREAMS} items.")
        problems = [(index, problem) for index, item in enumerate(items) if (problem := _metric_problem(item))]
        # NON_ATOMIC (the default): the good items are taken and the bad ones answered; ATOMIC: all or nothing.
        if problems and (body.get("batchAtomicity") == "ATOMIC" or len(problems) == len(items)):
            index, problem = problems[0]
            raise ApiError(400, "InvalidParameter", f"metricData[{index}]: {problem}")
        refused = {index for index, _ in problems}
        with self.lock:
            self.metrics.extend(copy.deepcopy(item) for index, item in enumerate(items) if index not in refused)
        failed = [{"metricData": items[index], "message": problem} for index, problem in problems]
        return {"failedMetricsCount": len(failed), "failedMetrics": failed}


def _metric_problem(item: Any) -> str | None:
    if not isinstance(item, dict):
        return "must be an object"
    namespace, name, compartment = item.get("namespace"), item.get("name"), item.get("compartmentId")
    if not isinstance(namespace, str) or not METRIC_NAMESPACE.fullmatch(namespace) or namespace.lower().startswith(("oci_", "oracle_")):
        return "namespace must be letters, digits and _, starting with a letter, not oci_ or oracle_"
    if not isinstance(name, str) or not METRIC_NAME.fullmatch(name):
        return "name is not a valid metric name"
    if not isinstance(compartment, str) or not compartment.startswith(("ocid1.compartment.", "ocid1.tenancy.")):
        return "compartmentId must be a compartment OCID"
    dimensions = item.get("dimensions")
    if not isinstance(dimensions, dict) or not 1 <= len(dimensions) <= 20:
        return "dimensions must hold 1 to 20 key-value pairs"
    for key, value in dimensions.items():
        if not DIMENSION_KEY.fullmatch(key) or not isinstance(value, str) or not 1 <= len(value) <= 512:
            return f"dimension {key!r} is not a valid key with a 1 to 512 character string value"
    datapoints = item.get("datapoints")
    if not isinstance(datapoints, list) or not datapoints:
        return "datapoints must be a non-empty list"
    now = datetime.now(UTC)
    for point in datapoints:
        if not isinstance(point, dict) or not isinstance(point.get("value"), int | float) or isinstance(point.get("value"), bool):
            return "each datapoint needs a numeric value"
        try:
            when = datetime.fromisoformat(str(point.get("timestamp")).replace("Z", "+00:00"))
        except ValueError:
            return "each datapoint needs an RFC 3339 timestamp"
        if when.tzinfo is None:
            return "timestamps need a time zone"
        age = (now - when).total_seconds()
        if age > 2 * 3600 or age < -600:
            return "timestamps may be at most 2 hours old and 10 minutes ahead"
    return None


def _deleted(state: CoreState, kind: _Kind, backup_id: str, recorded: Recorded) -> Reply:
    state.delete_backup(kind, backup_id, recorded.headers.get("if-match"))
    return Reply(204)


def _routes(state: CoreState, telemetry: Telemetry) -> list[_Route]:
    ocid = r"(?P<id>[A-Za-z0-9._:-]+)"

    def route(method: str, path: str, operation: str, handle: Callable[..., Reply], prefix: str = API_PREFIX) -> _Route:
        return _Route(method, re.compile(f"^{prefix}{path}$"), operation, handle)

    def listed(result: tuple[list[Json], dict[str, str]]) -> Reply:
        return Reply(200, result[0], result[1])

    routes = [
        route(
            "GET",
            "/bootVolumeAttachments",
            "ListBootVolumeAttachments",
            lambda r, b: Reply(200, state.list_boot_volume_attachments(r.query)),
        ),
        route("GET", f"/instances/{ocid}", "GetInstance", lambda r, b, id: Reply(200, state.resource("instances", id))),
        route(
            "POST",
            f"/topics/{ocid}/messages",
            "PublishMessage",
            lambda r, b, id: Reply(200, telemetry.publish(id, b)),
            prefix=NOTIFICATIONS_PREFIX,
        ),
        route("POST", "/metrics", "PostMetricData", lambda r, b: Reply(200, telemetry.post_metrics(b)), prefix=TELEMETRY_PREFIX),
    ]
    for kind in KINDS:
        backups = f"/{kind.backups}"
        name = kind.name
        routes += [
            route("GET", f"/{kind.collection}", f"List{name}s", lambda r, b, k=kind: listed(state.list_volumes(k, r.query))),
            route("GET", f"/{kind.collection}/{ocid}", f"Get{name}", lambda r, b, id, k=kind: Reply(200, state.resource(k.collection, id))),
            route("POST", backups, f"Create{name}Backup", lambda r, b, k=kind: Reply(200, state.create_backup(k, b, r.retry_token))),
            route("GET", backups, f"List{name}Backups", lambda r, b, k=kind: listed(state.list_backups(k, r.query))),
            route("GET", f"{backups}/{ocid}", f"Get{name}Backup", lambda r, b, id, k=kind: Reply(200, state.get_backup(k, id))),
            route(
                "POST",
                f"{backups}/{ocid}/actions/copy",
                f"Copy{name}Backup",
                lambda r, b, id, k=kind: Reply(200, state.copy_backup(k, id, b, r.retry_token)),
            ),
            route(
                "DELETE",
                f"{backups}/{ocid}",
                f"Delete{name}Backup",
                lambda r, b, id, k=kind: _deleted(state, k, id, r),
            ),
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
        latency: float = 0.0,
    ) -> None:
        data = json.loads(Path(seed).read_text()) if isinstance(seed, (str, Path)) else copy.deepcopy(seed)
        self.state = CoreState(data, creating_after, available_after)
        self.telemetry = Telemetry(topics={topic["id"] for topic in data.get("topics", [])})
        self.verifier = SignatureVerifier(issuer_public_key_pem)
        self.routes = _routes(self.state, self.telemetry)
        self.latency = latency
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
        """This region's backups of a volume or boot volume."""
        return self.state.backups_of(resource_id)

    def backups_in_region(self, region: str) -> list[Json]:
        return self.state.backups_in_region(region)

    def add_backup(self, kind: str = "volume", *, source_id: str, **fields: Any) -> str:
        """Inserts a backup of `source_id` (fields: timeCreated, lifecycleState, sourceType, freeformTags, …); its id."""
        return self.state.add_backup(VOLUME if kind == "volume" else BOOT_VOLUME, source_id, **fields)

    @property
    def messages(self) -> list[Json]:
        """Every message published, in order: topicId, title, body, messageId."""
        with self.telemetry.lock:
            return list(self.telemetry.messages)

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

    def answer(self, recorded: Recorded) -> Reply | None:
        """The reply to a request, or None to drop the connection."""
        problem = self.verifier.verify(recorded.method, recorded.target, recorded.headers, recorded.body)
        recorded.signature_ok, recorded.signature_problem = problem is None, problem
        route, params, path_known = self._route(recorded)
        recorded.operation = route.operation if route else "Unknown"
        if self.latency:
            self._stopping.wait(self.latency)
        if problem is not None:
            return Reply(
                401, {"code": "NotAuthenticated", "message": "The required information to complete authentication was not provided."}
            )
        if route is None:
            if path_known:
                allowed = ", ".join(sorted({r.method for r in self.routes if r.pattern.match(recorded.path)}))
                message = f"{recorded.method} is not allowed on {recorded.path}."
                return Reply(405, {"code": "MethodNotAllowed", "message": message}, {"allow": allowed})
            return Reply(404, {"code": "NotFound", "message": f"No operation at {recorded.method} {recorded.path}."})
        fault = self.take_fault(route.operation, _resources_named(recorded, params))
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
                    return Reply(fault.status, raw=fault.body.encode(fault.body_encoding), content_type=fault.content_type)
                return Reply(fault.status, {"code": code, "message": fault.message or f"Injected fault: {fault.status} {code}."})
            trickle = fault.trickle_seconds
        try:
            body = json.loads(recorded.body) if recorded.body else None
        except ValueError:
            return Reply(400, {"code": "InvalidParameter", "message": "The request body is not valid JSON."})
        try:
            reply = route.handle(recorded, body, **params)
        except ApiError as error:
            return Reply(error.status, {"code": error.code, "message": error.message})
        reply.trickle_seconds = trickle
        return reply

    def _route(self, recorded: Recorded) -> tuple[_Route | None, dict[str, str], bool]:
        """The route for the method and path; whether the path exists for some other method."""
        path_known = False
        for route in self.routes:
            match = route.pattern.match(recorded.path)
            if match:
                if route.method == recorded.method:
                    return route, match.groupdict(), True
                path_known = True
        return None, {}, path_known


def _resources_named(recorded: Recorded, params: dict[str, str]) -> set[str]:
    named = set(params.values()) | set(recorded.query.values())
    try:
        body = json.loads(recorded.body) if recorded.body else {}
    except ValueError:
        body = {}
    if isinstance(body, dict):
        named |= {str(body[key]) for key in ("volumeId", "bootVolumeId", "destinationRegion") if key in body}
    return named


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
                Reply(code, {"code": DEFAULT_CODES.get(code, "InvalidParameter"), "message": message or "The request was refused."}),
                _request_id(),
            )

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
            reply = emulator.answer(recorded)
            if reply is None:
                self._reset()
                return
            recorded.status = reply.status
            self._send(reply, recorded.opc_request_id)

        def _send(self, reply: Reply, request_id: str) -> None:
            if reply.raw is not None:
                data = reply.raw
            elif reply.payload is None:
                data = b""
            else:
                data = json.dumps(reply.payload).encode()
            try:
                self.send_response(reply.status)
                self.send_header("content-type", reply.content_type)
                self.send_header("content-length", str(len(data)))
                self.send_header("opc-request-id", request_id)
                for name, value in reply.headers.items():
                    self.send_header(name, value)
                if isinstance(reply.payload, dict) and reply.status == 200 and "id" in reply.payload:
                    self.send_header("etag", _etag(reply.payload))
                self.end_headers()
                if self.command == "HEAD" or not data:
                    return
                if reply.trickle_seconds > 0:
                    self._trickle(data, reply.trickle_seconds)
                else:
                    self.wfile.write(data)
            except OSError:
                self.close_connection = True  # the client gave up (a delayed answer outlived its timeout)

        def _trickle(self, data: bytes, seconds: float) -> None:
            """The body a few bytes at a time, spread over `seconds`: every read sees progress, the whole takes long."""
            chunks = max(1, min(len(data), int(seconds / 0.05)))
            size = -(-len(data) // chunks)
            pause = seconds / chunks
            for start in range(0, len(data), size):
                self.wfile.write(data[start : start + size])
                self.wfile.flush()
                if emulator._stopping.wait(pause):
                    return

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
    parser.add_argument(
        "--token-lifetime", type=float, default=TOKEN_LIFETIME_SECONDS, help="seconds each session token lives (renewed before then)"
    )
    args = parser.parse_args(argv)
    identity = create_identity(args.identity_dir, token_lifetime=args.token_lifetime) if args.identity_dir else None
    issuer_key = identity.issuer_public_key_pem if identity else args.issuer_key.read_bytes()
    emulator = CoreEmulator(args.seed, issuer_key, creating_after=args.creating_after, available_after=args.available_after, port=args.port)
    with emulator:
        print(f"Local OCI (Core Services, Notifications, telemetry ingestion) on {emulator.url} (Ctrl-C to stop)")
        if identity:
            print("Environment for the function (and for the OCI CLI with --auth resource_principal --endpoint):")
            endpoints = {name: emulator.url for name in ("OCI_CORE_ENDPOINT", "OCI_NOTIFICATIONS_ENDPOINT", "OCI_TELEMETRY_ENDPOINT")}
            for name, value in {**identity.env(), **endpoints}.items():
                print(f"export {name}={value}")
            renew_every = max(1.0, args.token_lifetime * 0.75)
            print(
                f"The session token in {identity.token_path} lives {args.token_lifetime:.0f} s and is renewed every {renew_every:.0f} s "
                "while this runs; the function reads the renewed file before the old token expires, the SDK's own signer "
                "(the OCI CLI's) when OCI (here, this emulator) answers 401."
            )
        sys.stdout.flush()
        stop = threading.Event()
        if identity:
            threading.Thread(target=_renew_tokens, args=(identity, args.token_lifetime, stop), name="token-renewal", daemon=True).start()
        with contextlib.suppress(KeyboardInterrupt):
            threading.Event().wait()
        stop.set()
    return 0


def _renew_tokens(identity: LocalIdentity, lifetime: float, stop: threading.Event) -> None:
    """Writes a new session token before the current one expires, as the Functions platform does."""
    while not stop.wait(max(1.0, lifetime * 0.75)):
        identity.issue_token(lifetime)


if __name__ == "__main__":
    raise SystemExit(main())
