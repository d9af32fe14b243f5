"""Core Services (Blockstorage and Compute, API 20160918): the operations this function calls."""

from __future__ import annotations

import functools
from collections.abc import Iterator
from datetime import datetime
from typing import Any, NamedTuple, TypeVar

from pydantic import TypeAdapter

from ..deadline import Deadline
from ..errors import NotFound
from .base import OciClient, Operation, Service, parse, parse_list
from .oci_models import Kind, OciBackup, OciBootVolumeAttachment, OciVolume, ResourceKind, parsed_time
from .signer import Credentials

Listed = TypeVar("Listed", OciBackup, OciVolume)
CORE = Service("blockstorage", "/20160918", "https://iaas.{region}.{dualStack?ds.oci.:}{secondLevelDomain}", "iaas")
# OCI's largest page: a volume with thousands of backups, or a sweep's whole compartment, is read in a
# few round trips, so the calls grow with pages, not with backups or volumes.
LIST_PAGE_SIZE = 1000


class KindOperations(NamedTuple):
    """The operations on one kind of volume and its backups."""

    get_volume: Operation
    create_backup: Operation
    get_backup: Operation
    list_backups: Operation
    copy_backup: Operation
    delete_backup: Operation
    update_backup: Operation


KIND_OPERATIONS: dict[ResourceKind, KindOperations] = {
    "volume": KindOperations(
        Operation("GetVolume", "GET", "/volumes/{id}"),
        Operation("CreateVolumeBackup", "POST", "/volumeBackups"),
        Operation("GetVolumeBackup", "GET", "/volumeBackups/{id}"),
        Operation("ListVolumeBackups", "GET", "/volumeBackups"),
        Operation("CopyVolumeBackup", "POST", "/volumeBackups/{id}/actions/copy"),
        Operation("DeleteVolumeBackup", "DELETE", "/volumeBackups/{id}"),
        Operation("UpdateVolumeBackup", "PUT", "/volumeBackups/{id}"),
    ),
    "bootVolume": KindOperations(
        Operation("GetBootVolume", "GET", "/bootVolumes/{id}"),
        Operation("CreateBootVolumeBackup", "POST", "/bootVolumeBackups"),
        Operation("GetBootVolumeBackup", "GET", "/bootVolumeBackups/{id}"),
        Operation("ListBootVolumeBackups", "GET", "/bootVolumeBackups"),
        Operation("CopyBootVolumeBackup", "POST", "/bootVolumeBackups/{id}/actions/copy"),
        Operation("DeleteBootVolumeBackup", "DELETE", "/bootVolumeBackups/{id}"),
        Operation("UpdateBootVolumeBackup", "PUT", "/bootVolumeBackups/{id}"),
    ),
}
LIST_BOOT_VOLUME_ATTACHMENTS = Operation("ListBootVolumeAttachments", "GET", "/bootVolumeAttachments")


class RestoreOperations(NamedTuple):
    """What a restore test does to the volumes it makes (in the restore-test compartment only)."""

    create_volume: Operation
    update_volume: Operation
    delete_volume: Operation


RESTORE_OPERATIONS: dict[ResourceKind, RestoreOperations] = {
    "volume": RestoreOperations(
        Operation("CreateVolume", "POST", "/volumes"),
        Operation("UpdateVolume", "PUT", "/volumes/{id}"),
        Operation("DeleteVolume", "DELETE", "/volumes/{id}"),
    ),
    "bootVolume": RestoreOperations(
        Operation("CreateBootVolume", "POST", "/bootVolumes"),
        Operation("UpdateBootVolume", "PUT", "/bootVolumes/{id}"),
        Operation("DeleteBootVolume", "DELETE", "/bootVolumes/{id}"),
    ),
}
LIST_VOLUMES: dict[ResourceKind, Operation] = {
    "volume": Operation("ListVolumes", "GET", "/volumes"),
    "bootVolume": Operation("ListBootVolumes", "GET", "/bootVolumes"),
}
OPERATIONS: tuple[Operation, ...] = (
    LIST_BOOT_VOLUME_ATTACHMENTS,
    *LIST_VOLUMES.values(),
    *(operation for operations in KIND_OPERATIONS.values() for operation in operations),
    *(operation for operations in RESTORE_OPERATIONS.values() for operation in operations),
)


@functools.cache
def _backup_list() -> TypeAdapter[list[OciBackup]]:
    return TypeAdapter(list[OciBackup])


@functools.cache
def _volume_list() -> TypeAdapter[list[OciVolume]]:
    return TypeAdapter(list[OciVolume])


@functools.cache
def _attachment_list() -> TypeAdapter[list[OciBootVolumeAttachment]]:
    return TypeAdapter(list[OciBootVolumeAttachment])


class BackupReply(NamedTuple):
    """A backup as OCI answered it, and the opc-request-id of that answer."""

    backup: OciBackup
    request_id: str | None


class CoreClient:
    def __init__(self, credentials: Credentials, endpoint: str | None, region: str | None = None) -> None:
        self._oci = OciClient(credentials, CORE, endpoint, region)
        self._regions: dict[str, CoreClient] = {}

    def in_region(self, region: str, endpoint: str | None) -> CoreClient:
        """Core Services in another region (a copy is read, tagged and deleted there), made once."""
        made = self._regions.get(region)
        if made is None:
            made = self._regions[region] = CoreClient(self._oci.credentials, endpoint, region)
        return made

    def get_volume(self, kind: Kind, volume_id: str, deadline: Deadline) -> OciVolume:
        reply = self._oci.call(deadline, KIND_OPERATIONS[kind.name].get_volume, path_params={"id": volume_id})
        return parse(OciVolume, reply)

    def create_backup(self, kind: Kind, body: dict[str, Any], retry_token: str, deadline: Deadline) -> BackupReply:
        reply = self._oci.call(deadline, KIND_OPERATIONS[kind.name].create_backup, body=body, retry_token=retry_token)
        return BackupReply(parse(OciBackup, reply), reply.request_id)

    def get_backup(self, kind: Kind, backup_id: str, deadline: Deadline) -> BackupReply:
        reply = self._oci.call(deadline, KIND_OPERATIONS[kind.name].get_backup, path_params={"id": backup_id})
        return BackupReply(parse(OciBackup, reply), reply.request_id)

    def backups_of(self, kind: Kind, volume_id: str, compartment_id: str, deadline: Deadline) -> Iterator[OciBackup]:
        """Every backup of the volume, newest first, page after page (`opc-next-page`)."""
        query: dict[str, str | int] = {
            "compartmentId": compartment_id,
            kind.id_field: volume_id,
            "sortBy": "TIMECREATED",
            "sortOrder": "DESC",
            "limit": LIST_PAGE_SIZE,
        }
        for page in self._pages(deadline, KIND_OPERATIONS[kind.name].list_backups, query, _backup_list()):
            yield from page

    def volumes_in(self, kind: Kind, compartment_id: str, deadline: Deadline) -> Iterator[OciVolume]:
        """Every volume (or boot volume) of the compartment, whatever its state, page after page."""
        query: dict[str, str | int] = {"compartmentId": compartment_id, "limit": LIST_PAGE_SIZE}
        for page in self._pages(deadline, LIST_VOLUMES[kind.name], query, _volume_list()):
            yield from page

    def recent_backups_in(self, kind: Kind, compartment_id: str, since: datetime, deadline: Deadline) -> Iterator[OciBackup]:
        """The compartment's backups of every volume, newest first, until a page reaches back past `since`."""
        query: dict[str, str | int] = {
            "compartmentId": compartment_id,
            "sortBy": "TIMECREATED",
            "sortOrder": "DESC",
            "limit": LIST_PAGE_SIZE,
        }
        for page in self._pages(deadline, KIND_OPERATIONS[kind.name].list_backups, query, _backup_list()):
            yield from page
            oldest = parsed_time(page[-1].time_created) if page else None
            if oldest is not None and oldest < since:
                return

    def _pages(
        self, deadline: Deadline, operation: Operation, query: dict[str, str | int], adapter: TypeAdapter[list[Listed]]
    ) -> Iterator[list[Listed]]:
        """Each page of a list operation, parsed, following `opc-next-page` to the last; the next page is
        asked for only when the caller comes back for it."""
        while True:
            reply = self._oci.call(deadline, operation, query=query)
            yield parse_list(adapter, reply)
            next_page = reply.headers.get("opc-next-page")
            if not next_page:
                return
            query = {**query, "page": next_page}

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
        body = {"destinationRegion": region, "displayName": display_name, "kmsKeyId": kms_key_id}
        reply = self._oci.call(
            deadline,
            KIND_OPERATIONS[kind.name].copy_backup,
            path_params={"id": backup_id},
            body={key: value for key, value in body.items() if value is not None},
            retry_token=retry_token,
        )
        return BackupReply(parse(OciBackup, reply), reply.request_id)

    def delete_backup(self, kind: Kind, backup_id: str, deadline: Deadline) -> str | None:
        """The opc-request-id; a backup already gone raises NotFound, which callers take as done."""
        return self._oci.call(deadline, KIND_OPERATIONS[kind.name].delete_backup, path_params={"id": backup_id}).request_id

    def update_backup_tags(
        self,
        kind: Kind,
        backup_id: str,
        *,
        freeform_tags: dict[str, str] | None = None,
        defined_tags: dict[str, dict[str, object]] | None = None,
        deadline: Deadline,
    ) -> BackupReply:
        """UpdateVolumeBackup: each kind of tags given replaces that kind whole, so pass the backup's
        own tags with the change merged in."""
        body: dict[str, Any] = {"freeformTags": freeform_tags, "definedTags": defined_tags}
        reply = self._oci.call(
            deadline,
            KIND_OPERATIONS[kind.name].update_backup,
            path_params={"id": backup_id},
            body={key: value for key, value in body.items() if value is not None},
        )
        return BackupReply(parse(OciBackup, reply), reply.request_id)

    def boot_volume_of(self, instance_id: str, compartment_id: str, availability_domain: str, deadline: Deadline) -> str:
        query = {"availabilityDomain": availability_domain, "compartmentId": compartment_id, "instanceId": instance_id}
        reply = self._oci.call(deadline, LIST_BOOT_VOLUME_ATTACHMENTS, query=query)
        attached = [a for a in parse_list(_attachment_list(), reply) if a.lifecycle_state in (None, "ATTACHING", "ATTACHED")]
        if not attached:
            raise NotFound(f"Instance {instance_id} has no attached boot volume.", opc_request_id=reply.request_id)
        return attached[0].boot_volume_id

    def create_volume(self, kind: Kind, body: dict[str, Any], retry_token: str, deadline: Deadline) -> OciVolume:
        """CreateVolume / CreateBootVolume (a restore: `sourceDetails` names the backup)."""
        reply = self._oci.call(deadline, RESTORE_OPERATIONS[kind.name].create_volume, body=body, retry_token=retry_token)
        return parse(OciVolume, reply)

    def update_volume_tags(
        self,
        kind: Kind,
        volume_id: str,
        *,
        freeform_tags: dict[str, str] | None = None,
        defined_tags: dict[str, dict[str, object]] | None = None,
        deadline: Deadline,
    ) -> OciVolume:
        """UpdateVolume: like UpdateVolumeBackup, each kind of tags given replaces that kind whole."""
        body: dict[str, Any] = {"freeformTags": freeform_tags, "definedTags": defined_tags}
        reply = self._oci.call(
            deadline,
            RESTORE_OPERATIONS[kind.name].update_volume,
            path_params={"id": volume_id},
            body={key: value for key, value in body.items() if value is not None},
        )
        return parse(OciVolume, reply)

    def delete_volume(self, kind: Kind, volume_id: str, deadline: Deadline) -> str | None:
        """The opc-request-id; a volume already gone raises NotFound, which callers take as done."""
        return self._oci.call(deadline, RESTORE_OPERATIONS[kind.name].delete_volume, path_params={"id": volume_id}).request_id
