"""What OCI tells us back, and what differs between the two kinds of volume: the models of OCI's
answers are tolerant, because OCI adds fields over time.

Modules that define models do without `from __future__ import annotations`: with it, pydantic
compiles and evaluates every field's annotation from a string while the first call waits."""

from datetime import UTC, datetime
from typing import Annotated, Literal, NamedTuple

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

from ..ocids import BOOT_VOLUME, BOOT_VOLUME_BACKUP, VOLUME, VOLUME_BACKUP, OcidKind

ResourceKind = Literal["volume", "bootVolume"]
# defer_build: a model's validator is built the first time a call needs it, not when the module loads.
TOLERANT = ConfigDict(extra="ignore", frozen=True, alias_generator=to_camel, populate_by_name=True, defer_build=True)


class Kind(NamedTuple):
    """What differs between a block volume and a boot volume, and between their backups."""

    name: ResourceKind
    id_field: str
    ocid: OcidKind
    backup_ocid: OcidKind


KINDS: dict[ResourceKind, Kind] = {
    "volume": Kind("volume", "volumeId", VOLUME, VOLUME_BACKUP),
    "bootVolume": Kind("bootVolume", "bootVolumeId", BOOT_VOLUME, BOOT_VOLUME_BACKUP),
}


def parsed_time(text: str | None) -> datetime | None:
    """An OCI timestamp (`2026-12-02T13:00:00.000Z`) as an aware datetime, a naive one read as UTC;
    None when it is absent or unreadable."""
    if not text:
        return None
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        return None
    return when if when.tzinfo else when.replace(tzinfo=UTC)


class OciVolume(BaseModel):
    """A Volume or BootVolume as GetVolume/GetBootVolume return it (the fields we use)."""

    model_config = TOLERANT

    id: str
    compartment_id: str
    display_name: str = ""
    availability_domain: str | None = None
    lifecycle_state: str | None = None
    size_in_gbs: Annotated[int | None, Field(alias="sizeInGBs")] = None
    time_created: str | None = None
    freeform_tags: dict[str, str] = Field(default_factory=dict)
    defined_tags: dict[str, dict[str, object]] = Field(default_factory=dict)


class OciBackup(BaseModel):
    """A VolumeBackup or BootVolumeBackup as the Core API returns it."""

    model_config = TOLERANT

    id: str
    lifecycle_state: str
    type: str | None = None
    display_name: str | None = None
    volume_id: str | None = None
    boot_volume_id: str | None = None
    compartment_id: str | None = None
    time_created: str | None = None
    source_type: str | None = None
    kms_key_id: str | None = None
    size_in_gbs: Annotated[int | None, Field(alias="sizeInGBs")] = None
    freeform_tags: dict[str, str] = Field(default_factory=dict)
    defined_tags: dict[str, dict[str, object]] = Field(default_factory=dict)
    is_retention_lock_enabled: bool | None = None
    is_prevent_deletion_enabled: bool | None = None
    is_indefinite_retention_enabled: bool | None = None
    time_retention_expires_at: str | None = None
    source_volume_backup_id: str | None = None
    source_boot_volume_backup_id: str | None = None

    @property
    def source_id(self) -> str | None:
        return self.volume_id or self.boot_volume_id

    @property
    def copied_from(self) -> str | None:
        """On a copy in another region: the backup it was copied from."""
        return self.source_volume_backup_id or self.source_boot_volume_backup_id


class OciBootVolumeAttachment(BaseModel):
    model_config = TOLERANT

    boot_volume_id: str
    instance_id: str | None = None
    lifecycle_state: str | None = None
