"""An in-memory stand-in for `clients.core.CoreClient`, for the use cases' unit tests: the same
methods, our own models in and out (`OciVolume`, `OciBackup`, `BackupReply`), every call recorded,
and errors raised where a test asks for them. No SDK object is made or touched.

It subclasses CoreClient only so that mypy holds each method to the real one's signature; it never
calls the real constructor, so nothing here can reach the SDK."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any, NamedTuple

from backup_fn.clients.core import BackupReply, CoreClient
from backup_fn.deadline import Deadline
from backup_fn.errors import BackupError, NotFound
from backup_fn.models import Kind, OciBackup, OciVolume


class Called(NamedTuple):
    """One call the fake received: the method's name, the id it was about, and its other arguments."""

    method: str
    resource_id: str
    details: dict[str, Any]


class FakeCore(CoreClient):
    def __init__(
        self, volumes: tuple[OciVolume, ...] = (), backups: tuple[OciBackup, ...] = (), *, region: str = "us-ashburn-1"
    ) -> None:  # no super(): no SDK
        self.region = region
        self.volumes = {volume.id: volume for volume in volumes}
        self.backups = {backup.id: backup for backup in backups}
        self.boot_volumes: dict[str, str] = {}  # instance id → its boot volume's id
        self.calls: list[Called] = []
        self.tokens: dict[str, str] = {}  # retry token → the backup its create made
        self._errors: dict[tuple[str, str | None], list[BackupError]] = {}
        self._ids = itertools.count(1)
        self.volumes_made: dict[str, str] = {}  # retry token → the volume it restored
        self.regions: dict[str, FakeCore] = {}
        self.creates_drop_defined_tags = False  # a create that keeps none of the defined tags it was given
        self.copies_answer_without_source = False  # a copy's answer that does not (yet) name its source backup

    def in_region(self, region: str, endpoint: str | None) -> FakeCore:
        """Another region's Core: its own backups (the copies sent there), the same record of calls."""
        made = self.regions.get(region)
        if made is None:
            made = self.regions[region] = FakeCore(region=region)
            made.calls = self.calls
            made._errors = self._errors
            made._ids = self._ids
        return made

    def fail(self, method: str, error: BackupError, resource_id: str | None = None, times: int = 1) -> None:
        """The next `times` calls of `method` (about `resource_id`, or any) raise `error`."""
        self._errors.setdefault((method, resource_id), []).extend([error] * times)

    def called(self, method: str) -> list[Called]:
        return [call for call in self.calls if call.method == method]

    def _call(self, method: str, resource_id: str, **details: Any) -> None:
        self.calls.append(Called(method, resource_id, details))
        for key in ((method, resource_id), (method, None)):
            queued = self._errors.get(key)
            if queued:
                raise queued.pop(0)

    def get_volume(self, kind: Kind, volume_id: str, deadline: Deadline) -> OciVolume:
        self._call("get_volume", volume_id, kind=kind.name)
        if volume_id not in self.volumes:
            raise NotFound(f"{volume_id} not found.", opc_request_id="req-get-volume")
        return self.volumes[volume_id]

    def create_backup(self, kind: Kind, body: dict[str, Any], retry_token: str, deadline: Deadline) -> BackupReply:
        source_id = str(body[kind.id_field])
        self._call("create_backup", source_id, kind=kind.name, body=body, retry_token=retry_token)
        earlier = self.tokens.get(retry_token)
        if earlier is not None:  # as OCI answers a retry token it has seen: the same backup, as it is now
            return BackupReply(self.backups[earlier], "req-create")
        made = OciBackup.model_validate(
            {
                **{key: value for key, value in body.items() if key in ("type", "displayName", "freeformTags", "definedTags")},
                **({"definedTags": {}} if self.creates_drop_defined_tags else {}),
                "id": f"ocid1.{kind.backup_ocid.types[0]}.oc1.iad.made{next(self._ids):04d}",
                "lifecycleState": "REQUEST_RECEIVED",
                kind.id_field: source_id,
                "compartmentId": self.volumes[source_id].compartment_id if source_id in self.volumes else None,
                "sourceType": "MANUAL",
            }
        )
        self.backups[made.id] = made
        self.tokens[retry_token] = made.id
        return BackupReply(made, "req-create")

    def get_backup(self, kind: Kind, backup_id: str, deadline: Deadline) -> BackupReply:
        self._call("get_backup", backup_id, kind=kind.name)
        if backup_id not in self.backups:
            raise NotFound(f"{backup_id} not found.", opc_request_id="req-get-backup")
        return BackupReply(self.backups[backup_id], "req-get-backup")

    def backups_of(self, kind: Kind, volume_id: str, compartment_id: str, deadline: Deadline) -> Iterator[OciBackup]:
        self._call("backups_of", volume_id, kind=kind.name, compartment_id=compartment_id)
        mine = [b for b in self.backups.values() if b.source_id == volume_id and b.compartment_id == compartment_id]
        yield from sorted(mine, key=lambda b: b.time_created or "", reverse=True)  # newest first, as OCI is asked

    def volumes_in(self, kind: Kind, compartment_id: str, deadline: Deadline) -> Iterator[OciVolume]:
        self._call("volumes_in", compartment_id, kind=kind.name, compartment_id=compartment_id)
        boot = kind.name == "bootVolume"
        yield from (v for v in self.volumes.values() if v.compartment_id == compartment_id and v.id.startswith("ocid1.bootvolume.") == boot)

    def recent_backups_in(self, kind: Kind, compartment_id: str, since: datetime, deadline: Deadline) -> Iterator[OciBackup]:
        self._call("recent_backups_in", compartment_id, kind=kind.name, compartment_id=compartment_id, since=since)
        mine = [
            b
            for b in self.backups.values()
            if b.compartment_id == compartment_id and (b.boot_volume_id is not None) == (kind.name == "bootVolume")
        ]
        yield from sorted(mine, key=lambda b: b.time_created or "", reverse=True)

    def copy_backup(
        self,
        kind: Kind,
        backup_id: str,
        *,
        region: str,
        display_name: str | None,
        kms_key_id: str | None,
        retry_token: str,
        deadline: Deadline,
    ) -> BackupReply:
        self._call("copy_backup", backup_id, region=region, display_name=display_name, kms_key_id=kms_key_id, retry_token=retry_token)
        source = self.backups[backup_id]
        copied = source.model_copy(
            update={
                "id": f"ocid1.{kind.backup_ocid.types[0]}.oc1.{region}.copy{next(self._ids):04d}",
                "lifecycle_state": "CREATING",
                "source_volume_backup_id": backup_id if kind.name == "volume" else None,
                "source_boot_volume_backup_id": backup_id if kind.name == "bootVolume" else None,
            }
        )
        self.in_region(region, None).backups[copied.id] = copied
        if self.copies_answer_without_source:
            return BackupReply(
                copied.model_copy(update={"source_volume_backup_id": None, "source_boot_volume_backup_id": None}), "req-copy"
            )
        return BackupReply(copied, "req-copy")

    def update_backup_tags(
        self,
        kind: Kind,
        backup_id: str,
        *,
        freeform_tags: dict[str, str] | None = None,
        defined_tags: dict[str, dict[str, object]] | None = None,
        deadline: Deadline,
    ) -> BackupReply:
        self._call("update_backup_tags", backup_id, region=self.region, freeform_tags=freeform_tags, defined_tags=defined_tags)
        if backup_id not in self.backups:
            raise NotFound(f"{backup_id} not found.", opc_request_id="req-update")
        update: dict[str, Any] = {}
        if freeform_tags is not None:
            update["freeform_tags"] = freeform_tags
        if defined_tags is not None:
            update["defined_tags"] = defined_tags
        self.backups[backup_id] = self.backups[backup_id].model_copy(update=update)
        return BackupReply(self.backups[backup_id], "req-update")

    def delete_backup(self, kind: Kind, backup_id: str, deadline: Deadline) -> str | None:
        self._call("delete_backup", backup_id, kind=kind.name)
        if backup_id not in self.backups:
            raise NotFound(f"{backup_id} not found.", opc_request_id="req-delete")
        del self.backups[backup_id]
        return "req-delete"

    def boot_volume_of(self, instance_id: str, compartment_id: str, availability_domain: str, deadline: Deadline) -> str:
        self._call("boot_volume_of", instance_id, compartment_id=compartment_id, availability_domain=availability_domain)
        if instance_id not in self.boot_volumes:
            raise NotFound(f"Instance {instance_id} has no attached boot volume.")
        return self.boot_volumes[instance_id]

    def create_volume(self, kind: Kind, body: dict[str, Any], retry_token: str, deadline: Deadline) -> OciVolume:
        """A restore: the volume starts PROVISIONING (tests move it on); the same token gives the same volume."""
        self._call("create_volume", str(body["sourceDetails"]["id"]), kind=kind.name, body=body, retry_token=retry_token)
        if retry_token in self.volumes_made:
            return self.volumes[self.volumes_made[retry_token]]
        backup = self.backups.get(str(body["sourceDetails"]["id"]))
        made = OciVolume.model_validate(
            {
                "id": f"ocid1.{kind.ocid.types[0]}.oc1.iad.restored{next(self._ids):04d}",
                "compartmentId": body["compartmentId"],
                "availabilityDomain": body["availabilityDomain"],
                "displayName": body.get("displayName", ""),
                "lifecycleState": "PROVISIONING",
                "sizeInGBs": backup.size_in_gbs if backup else None,
                "timeCreated": datetime.now(UTC).isoformat(),
                "freeformTags": body.get("freeformTags") or {},
                "definedTags": body.get("definedTags") or {},
            }
        )
        self.volumes[made.id] = made
        self.volumes_made[retry_token] = made.id
        return made

    def update_volume_tags(
        self,
        kind: Kind,
        volume_id: str,
        *,
        freeform_tags: dict[str, str] | None = None,
        defined_tags: dict[str, dict[str, object]] | None = None,
        deadline: Deadline,
    ) -> OciVolume:
        self._call("update_volume_tags", volume_id, freeform_tags=freeform_tags, defined_tags=defined_tags)
        if volume_id not in self.volumes:
            raise NotFound(f"{volume_id} not found.")
        changes: dict[str, Any] = {"freeform_tags": freeform_tags, "defined_tags": defined_tags}
        updated = self.volumes[volume_id].model_copy(update={k: v for k, v in changes.items() if v is not None})
        self.volumes[volume_id] = updated
        return updated

    def delete_volume(self, kind: Kind, volume_id: str, deadline: Deadline) -> str | None:
        self._call("delete_volume", volume_id, kind=kind.name)
        volume = self.volumes.get(volume_id)
        if volume is None or volume.lifecycle_state == "TERMINATED":
            raise NotFound(f"{volume_id} not found.")
        self.volumes[volume_id] = volume.model_copy(update={"lifecycle_state": "TERMINATED"})
        return "req-delete-volume"
