"""Blockstorage (`/20160918`) as the function uses it: volumes and boot volumes (get, list) and
their backups (create, get, list, copy, delete).

Volumes, boot volumes and the first backups come from the seed file. `opc-retry-token` makes a
create or a copy idempotent; a second backup of a volume while one is in progress is a 409;
backups move REQUEST_RECEIVED -> CREATING -> AVAILABLE over time. Lists come page by page
(`opc-next-page`, sortBy/sortOrder). A copy to another region is kept apart from this region's
backups (this region's reads answer 404 for it), and at most 10 copies may be in progress."""

from __future__ import annotations

import copy
import secrets
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import oci.regions

from .faults import Recorded
from .locks import refuse_if_locked
from .operations import CORE_SERVICES, OCID, ApiError, Json, Response, Route, etag, not_found, now_text, required, route
from .paging import MAX_PAGE_LIMIT, page, sorted_as_asked
from .retry_tokens import RetryTokens
from .tags import TagNamespaces, inherited
from .volumes import Volumes

MAX_COPIES_IN_PROGRESS = 10
IN_PROGRESS = ("REQUEST_RECEIVED", "CREATING")
BACKUP_TYPES = ("FULL", "INCREMENTAL")


@dataclass
class VolumeKind:
    """What differs between volumes and boot volumes."""

    collection: str
    id_field: str
    backup_ocid: str
    backups: str
    name: str
    source_backup_field: str


VOLUME = VolumeKind("volumes", "volumeId", "volumebackup", "volumeBackups", "Volume", "sourceVolumeBackupId")
BOOT_VOLUME = VolumeKind("bootVolumes", "bootVolumeId", "bootvolumebackup", "bootVolumeBackups", "BootVolume", "sourceBootVolumeBackupId")
KINDS = (VOLUME, BOOT_VOLUME)


def _short_code(region: str) -> str:
    for code, name in oci.regions.REGIONS_SHORT_NAMES.items():
        if name == region:
            return str(code)
    raise ValueError(f"unknown region {region!r}")


@dataclass
class BlockStorage:
    """The volumes and backups of one region, and the copies sent from it to others."""

    seed: Json
    creating_after: float
    available_after: float
    lock: threading.RLock = field(default_factory=threading.RLock)
    backups: dict[str, Json] = field(default_factory=dict)
    backups_by_source: dict[str, list[str]] = field(default_factory=dict)
    received_at: dict[str, float] = field(default_factory=dict)
    retry_tokens: RetryTokens = field(default_factory=RetryTokens)
    max_page_size: int = MAX_PAGE_LIMIT
    copies_running: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.volumes = Volumes(self.seed)
        self.tags = TagNamespaces.from_seed(self.seed)
        self.region = str(self.seed.get("region", "us-ashburn-1"))
        self.region_key = _short_code(self.region)
        for kind in KINDS:
            for backup in self.seed.get(kind.backups, []):
                self._add({**backup, "_kind": kind.collection, "_region": self.region}, backup[kind.id_field])

    def routes(self) -> list[Route]:
        def listed(result: tuple[list[Json], dict[str, str]]) -> Response:
            return Response(200, result[0], result[1])

        routes = []
        for kind in KINDS:
            volumes, backups, name = f"{CORE_SERVICES}/{kind.collection}", f"{CORE_SERVICES}/{kind.backups}", kind.name
            routes += [
                route("GET", volumes, f"List{name}s", lambda r, b, k=kind: listed(self.list_volumes(k, r.query))),
                route("GET", f"{volumes}/{OCID}", f"Get{name}", lambda r, b, id, k=kind: Response(200, self.resource(k.collection, id))),
                route("POST", backups, f"Create{name}Backup", lambda r, b, k=kind: Response(200, self.create_backup(k, b, r.retry_token))),
                route("GET", backups, f"List{name}Backups", lambda r, b, k=kind: listed(self.list_backups(k, r.query))),
                route("GET", f"{backups}/{OCID}", f"Get{name}Backup", lambda r, b, id, k=kind: Response(200, self.get_backup(k, id))),
                route(
                    "POST",
                    f"{backups}/{OCID}/actions/copy",
                    f"Copy{name}Backup",
                    lambda r, b, id, k=kind: Response(200, self.copy_backup(k, id, b, r.retry_token)),
                ),
                route("DELETE", f"{backups}/{OCID}", f"Delete{name}Backup", lambda r, b, id, k=kind: self._deleted(k, id, r)),
                route("PUT", f"{backups}/{OCID}", f"Update{name}Backup", lambda r, b, id, k=kind: self._updated(k, id, b)),
            ]
        return routes

    def _add(self, backup: Json, source_id: str) -> None:
        self.backups[backup["id"]] = backup
        self.backups_by_source.setdefault(source_id, []).append(backup["id"])

    def resource(self, collection: str, resource_id: str) -> Json:
        return self.volumes.view(collection, resource_id)

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

    def _here(self, backup_id: str, kind: VolumeKind) -> Json:
        """A backup of this kind in this region, or 404 as OCI answers for anything it will not show."""
        backup = self.backups.get(backup_id)
        if backup is None or backup["_kind"] != kind.collection or backup["_region"] != self.region:
            raise not_found(backup_id)
        return backup

    def add_backup(self, kind: VolumeKind, source_id: str, **fields: Any) -> str:
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
                    "timeCreated": now_text(),
                    "freeformTags": {},
                    "definedTags": {},
                    **fields,
                    "_kind": kind.collection,
                    "_region": self.region,
                },
                source_id,
            )
            return str(backup_id)

    def create_backup(self, kind: VolumeKind, body: Any, retry_token: str | None) -> Json:
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
        operation = f"Create{kind.name}Backup"
        self.tags.check(body.get("definedTags"))
        with self.lock:
            earlier = self.retry_tokens.earlier(operation, retry_token, body)
            if earlier is not None:
                return self.view(earlier)
            source = self.resource(kind.collection, source_id)
            freeform_tags, defined_tags = inherited(source, body)
            running = self._running_backup(source_id)
            if running:
                raise ApiError(409, "Conflict", f"A backup of {source_id} is already in progress ({running}).")
            now = now_text()
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
                "freeformTags": freeform_tags,
                "definedTags": defined_tags,
                "systemTags": {},
                "expirationTime": None,
                "_kind": kind.collection,
                "_region": self.region,
            }
            self._add(backup, source_id)
            self.received_at[backup_id] = time.monotonic()
            self.retry_tokens.remember(operation, retry_token, body, backup_id)
            return self.view(backup_id)

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

    def get_backup(self, kind: VolumeKind, backup_id: str) -> Json:
        with self.lock:
            self._here(backup_id, kind)
            return self.view(backup_id)

    def copy_backup(self, kind: VolumeKind, backup_id: str, body: Any, retry_token: str | None) -> Json:
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
            earlier = self.retry_tokens.earlier(operation, retry_token, {**body, "_source": backup_id})
            if earlier is not None:
                return self.view(earlier)
            if self.state_of(backup_id) != "AVAILABLE":
                raise ApiError(
                    409, "IncorrectState", f"Backup {backup_id} is {self.state_of(backup_id)}; only an AVAILABLE backup can be copied."
                )
            self.copies_running = [i for i in self.copies_running if self.state_of(i) in IN_PROGRESS]
            if len(self.copies_running) >= MAX_COPIES_IN_PROGRESS:
                raise ApiError(429, "TooManyRequests", f"At most {MAX_COPIES_IN_PROGRESS} copies may be in progress from {self.region}.")
            now = now_text()
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
            self.retry_tokens.remember(operation, retry_token, {**body, "_source": backup_id}, copy_id)
            return self.view(copy_id)

    def update_backup(self, kind: VolumeKind, backup_id: str, body: Any) -> Json:
        """UpdateVolumeBackup: the tags given replace that kind of tags whole, as OCI does."""
        if not isinstance(body, dict) or set(body) - {"displayName", "freeformTags", "definedTags"}:
            raise ApiError(400, "InvalidParameter", "The body may carry displayName, freeformTags and definedTags only.")
        for tags in ("freeformTags", "definedTags"):
            if tags in body and not isinstance(body[tags], dict):
                raise ApiError(400, "InvalidParameter", f"{tags} must be an object.")
        self.tags.check(body.get("definedTags"))
        with self.lock:
            backup = self._here(backup_id, kind)
            if self.state_of(backup_id) == "TERMINATED":
                raise not_found(backup_id)
            backup.update(body)
            return self.view(backup_id)

    def _updated(self, kind: VolumeKind, backup_id: str, body: Any) -> Response:
        return Response(200, self.update_backup(kind, backup_id, body))

    def delete_backup(self, kind: VolumeKind, backup_id: str, if_match: str | None) -> None:
        with self.lock:
            backup = self._here(backup_id, kind)
            state = self.state_of(backup_id)
            if state == "TERMINATED":
                raise not_found(backup_id)
            if state in IN_PROGRESS:
                raise ApiError(409, "IncorrectState", f"Backup {backup_id} is {state}; it cannot be deleted until it is AVAILABLE.")
            if if_match is not None and if_match != etag(self.view(backup_id)):
                raise ApiError(412, "NoEtagMatch", "The if-match value does not match the backup's current etag.")
            refuse_if_locked(backup)
            backup["lifecycleState"] = "TERMINATED"
            self.received_at.pop(backup_id, None)

    def _deleted(self, kind: VolumeKind, backup_id: str, recorded: Recorded) -> Response:
        self.delete_backup(kind, backup_id, recorded.headers.get("if-match"))
        return Response(204)

    def list_backups(self, kind: VolumeKind, query: dict[str, str]) -> tuple[list[Json], dict[str, str]]:
        compartment = required(query, "compartmentId")
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
        return page(sorted_as_asked(found, query), query, self.max_page_size)

    def list_volumes(self, kind: VolumeKind, query: dict[str, str]) -> tuple[list[Json], dict[str, str]]:
        return self.volumes.list(kind.collection, query)
