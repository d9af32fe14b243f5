"""Restoring backups (`/20160918`): CreateVolume / CreateBootVolume from a backup, UpdateVolume /
UpdateBootVolume (tags), DeleteVolume / DeleteBootVolume, as Blockstorage answers them.

A restored volume reads `PROVISIONING` for `delay` seconds, then `AVAILABLE` with the backup's
size (a backup spoiled on purpose restores `FAULTY`, or smaller). `opc-retry-token` makes a create
idempotent. A delete while the volume provisions is a 409; a volume already deleted reads
`TERMINATED` and a second delete is a 404. Each restore emits the `createvolume.end` /
`createbootvolume.end` event OCI Events would, once the volume has finished: `due_events()` gives
them, for a test or the harness to deliver to the function as an Events rule does."""

from __future__ import annotations

import secrets
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from .operations import CORE_SERVICES, OCID, ApiError, Json, Response, Route, not_found, now_text, route

if TYPE_CHECKING:
    from .blockstorage import BlockStorage, VolumeKind

SOURCE_TYPES = {"volumes": "volumeBackup", "bootVolumes": "bootVolumeBackup"}
MIN_VPUS = {"volumes": 0, "bootVolumes": 10}
MAX_VPUS = 120
EVENT_TYPES = {"volumes": "createvolume.end", "bootVolumes": "createbootvolume.end"}
OCID_TYPES = {"volumes": "volume", "bootVolumes": "bootvolume"}
UPDATABLE = frozenset({"displayName", "freeformTags", "definedTags"})


@dataclass
class Restores:
    state: BlockStorage
    delay: float = 1.0
    spoiled: dict[str, Json] = field(default_factory=dict)
    emitted: list[tuple[float, Json]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def routes(self) -> list[Route]:
        from .blockstorage import KINDS

        routes = []
        for kind in KINDS:
            volumes, name = f"{CORE_SERVICES}/{kind.collection}", kind.name
            routes += [
                route("POST", volumes, f"Create{name}", lambda r, b, k=kind: Response(200, self.create(k, b, r.retry_token))),
                route("PUT", f"{volumes}/{OCID}", f"Update{name}", lambda r, b, id, k=kind: Response(200, self.update(k, id, b))),
                route("DELETE", f"{volumes}/{OCID}", f"Delete{name}", lambda r, b, id, k=kind: self._deleted(k, id)),
            ]
        return routes

    def spoil(self, backup_id: str, *, lifecycle_state: str | None = None, size_in_gbs: int | None = None) -> None:
        """Every later restore of `backup_id` ends `lifecycle_state` (FAULTY) and/or with `size_in_gbs`."""
        fields: Json = {}
        if lifecycle_state is not None:
            fields["lifecycleState"] = lifecycle_state
        if size_in_gbs is not None:
            fields["sizeInGBs"] = size_in_gbs
        self.spoiled[backup_id] = fields

    def due_events(self) -> list[Json]:
        """The events of every restore that has finished, in order (each as often as asked: a redelivery is the caller's)."""
        now = time.monotonic()
        with self.lock:
            return [dict(event) for at, event in self.emitted if at <= now]

    def create(self, kind: VolumeKind, body: Any, retry_token: str | None) -> Json:
        if not isinstance(body, dict):
            raise ApiError(400, "InvalidParameter", "The request body must be a JSON object.")
        for name in ("compartmentId", "availabilityDomain"):
            if not isinstance(body.get(name), str) or not body[name]:
                raise ApiError(400, "MissingParameter", f"{name} is required.")
        source = body.get("sourceDetails")
        if not isinstance(source, dict) or source.get("type") != SOURCE_TYPES[kind.collection] or not isinstance(source.get("id"), str):
            raise ApiError(400, "InvalidParameter", f"sourceDetails must be {{type: {SOURCE_TYPES[kind.collection]}, id}} here.")
        vpus = body.get("vpusPerGB", 10)
        if not isinstance(vpus, int) or not MIN_VPUS[kind.collection] <= vpus <= MAX_VPUS or vpus % 10:
            raise ApiError(400, "InvalidParameter", f"vpusPerGB must be a multiple of 10 from {MIN_VPUS[kind.collection]} to {MAX_VPUS}.")
        operation = f"Create{kind.name}"
        with self.state.lock:
            earlier = self.state.retry_tokens.earlier(operation, retry_token, body)
            if earlier is not None:
                return self.state.volumes.view(kind.collection, earlier)
            backup_id = source["id"]
            backup = self.state.backups.get(backup_id)
            if backup is None or backup["_kind"] != kind.collection or backup["_region"] != self.state.region:
                raise not_found(backup_id)
            if self.state.state_of(backup_id) != "AVAILABLE":
                raise ApiError(409, "IncorrectState", f"Backup {backup_id} is {self.state.state_of(backup_id)}; it cannot be restored.")
            size = backup.get("sizeInGBs") or self._source_size(kind, backup)
            asked = body.get("sizeInGBs")
            if asked is not None and (not isinstance(asked, int) or (size is not None and asked < size)):
                raise ApiError(400, "InvalidParameter", f"sizeInGBs must be at least the backup's {size} GB.")
            volume_id = f"ocid1.{OCID_TYPES[kind.collection]}.oc1.{self.state.region_key}.{secrets.token_hex(30)}"
            volume = {
                "id": volume_id,
                "compartmentId": body["compartmentId"],
                "availabilityDomain": body["availabilityDomain"],
                "displayName": body.get("displayName") or volume_id[-12:],
                "sizeInGBs": asked or size,
                "vpusPerGB": vpus,
                "sourceDetails": source,
                "lifecycleState": "AVAILABLE",
                "timeCreated": now_text(),
                "freeformTags": body.get("freeformTags") or {},
                "definedTags": body.get("definedTags") or {},
                **self.spoiled.get(backup_id, {}),
                "_available_at": time.monotonic() + self.delay,
            }
            self.state.volumes.add(kind.collection, volume)
            self.state.retry_tokens.remember(operation, retry_token, body, volume_id)
            self._emit(kind, volume)
            return self.state.volumes.view(kind.collection, volume_id)

    def _source_size(self, kind: VolumeKind, backup: Json) -> int | None:
        source = self.state.volumes.raw(kind.collection, str(backup.get(kind.id_field)))
        return source.get("sizeInGBs") if source else None

    def _emit(self, kind: VolumeKind, volume: Json) -> None:
        event = {
            "eventType": f"com.oraclecloud.blockvolumes.{EVENT_TYPES[kind.collection]}",
            "cloudEventsVersion": "0.1",
            "eventTypeVersion": "2.0",
            "source": "BlockVolumes",
            "eventTime": _iso(datetime.now(UTC) + timedelta(seconds=self.delay)),  # when the volume finishes
            "contentType": "application/json",
            "eventID": str(uuid.uuid4()),
            "extensions": {"compartmentId": volume["compartmentId"]},
            "data": {
                "compartmentId": volume["compartmentId"],
                "resourceName": volume["displayName"],
                "resourceId": volume["id"],
                "availabilityDomain": volume["availabilityDomain"],
                "freeformTags": volume["freeformTags"],
                "definedTags": volume["definedTags"],
                "additionalDetails": {},
            },
        }
        with self.lock:
            self.emitted.append((volume["_available_at"], event))

    def update(self, kind: VolumeKind, volume_id: str, body: Any) -> Json:
        """UpdateVolume: the tags given replace that kind of tags whole, as OCI does."""
        if not isinstance(body, dict) or set(body) - UPDATABLE:
            raise ApiError(400, "InvalidParameter", "The body may carry displayName, freeformTags and definedTags only.")
        for tags in ("freeformTags", "definedTags"):
            if tags in body and not isinstance(body[tags], dict):
                raise ApiError(400, "InvalidParameter", f"{tags} must be an object.")
        with self.state.lock:
            if self.state.volumes.view(kind.collection, volume_id)["lifecycleState"] == "TERMINATED":
                raise not_found(volume_id)
            return self.state.volumes.update(kind.collection, volume_id, **body)

    def delete(self, kind: VolumeKind, volume_id: str) -> None:
        with self.state.lock:
            state = self.state.volumes.view(kind.collection, volume_id)["lifecycleState"]
            if state == "TERMINATED":
                raise not_found(volume_id)
            if state == "PROVISIONING":
                raise ApiError(409, "IncorrectState", f"Volume {volume_id} is PROVISIONING; it cannot be deleted until it has finished.")
            self.state.volumes.update(kind.collection, volume_id, lifecycleState="TERMINATED")

    def _deleted(self, kind: VolumeKind, volume_id: str) -> Response:
        self.delete(kind, volume_id)
        return Response(204)


def _iso(moment: datetime) -> str:
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")
