"""The request we act on and what OCI tells us back.

Our own request is strict (unknown fields, wrong types and wrong OCID kinds are refused);
the models of OCI's responses are tolerant, because OCI adds fields over time.

Modules that define models do without `from __future__ import annotations`: with it, pydantic
compiles and evaluates every field's annotation from a string while the first call waits."""

from datetime import UTC, datetime
from typing import Annotated, Literal, NamedTuple, Self

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator
from pydantic.alias_generators import to_camel

from .ocids import BOOT_VOLUME, BOOT_VOLUME_BACKUP, VOLUME, VOLUME_BACKUP, BootVolumeId, KmsKeyId, OcidKind, VolumeId

# A backup OCI is still making: it cannot be deleted yet, and it already protects its volume.
IN_PROGRESS_STATES = frozenset({"REQUEST_RECEIVED", "CREATING"})
BackupType = Literal["FULL", "INCREMENTAL"]
ResourceKind = Literal["volume", "bootVolume"]

# defer_build: a model's validator is built the first time a call needs it, not when the module loads.
STRICT = ConfigDict(extra="forbid", frozen=True, strict=True, alias_generator=to_camel, defer_build=True)
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


TagKey = Annotated[str, StringConstraints(min_length=1, max_length=100)]
TagValue = Annotated[str, StringConstraints(max_length=256)]
# OCI's shape: a defined tag's value is a scalar (string in practice; numbers and booleans pass through).
DefinedTagValue = TagValue | int | float | bool
FreeformTags = dict[TagKey, TagValue]
DefinedTags = dict[TagKey, dict[TagKey, DefinedTagValue]]


class RetentionPeriod(BaseModel):
    model_config = STRICT

    retention_time_unit: Literal["DAYS", "YEARS"]
    retention_time_amount: Annotated[int, Field(ge=1, le=36500)]


class BackupRequest(BaseModel):
    """CreateVolumeBackupDetails or CreateBootVolumeBackupDetails, with the API's field names."""

    model_config = STRICT

    volume_id: VolumeId | None = None
    boot_volume_id: BootVolumeId | None = None
    type: BackupType | None = None
    display_name: Annotated[str, StringConstraints(min_length=1, max_length=255)] | None = None
    freeform_tags: FreeformTags | None = None
    defined_tags: DefinedTags | None = None
    kms_key_id: KmsKeyId | None = None
    retention_period: RetentionPeriod | None = None
    is_prevent_deletion_enabled: bool | None = None
    is_retention_lock_enabled: bool | None = None
    is_indefinite_retention_enabled: bool | None = None

    @model_validator(mode="after")
    def _exactly_one_volume(self) -> Self:
        if (self.volume_id is None) == (self.boot_volume_id is None):
            raise ValueError("exactly one of volumeId or bootVolumeId is required")
        return self

    @property
    def resource_id(self) -> str:
        return self.volume_id or self.boot_volume_id or ""

    @property
    def kind(self) -> Kind:
        return KINDS["volume" if self.volume_id else "bootVolume"]

    def api_body(self) -> dict[str, object]:
        return self.model_dump(by_alias=True, exclude_none=True, mode="json")


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
