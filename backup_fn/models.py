"""The request we act on, strict (unknown fields, wrong types and wrong OCID kinds are refused),
beside what OCI tells us back: the tolerant models of its answers live with the clients that read
them (`clients.oci_models`) and are named here too, for the layers above.

Modules that define models do without `from __future__ import annotations`: with it, pydantic
compiles and evaluates every field's annotation from a string while the first call waits."""

from typing import Annotated, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator
from pydantic.alias_generators import to_camel

from .clients.oci_models import KINDS, TOLERANT, Kind, OciBackup, OciBootVolumeAttachment, OciVolume, ResourceKind, parsed_time
from .ocids import BootVolumeId, KmsKeyId, VolumeId

__all__ = [
    "IN_PROGRESS_STATES",
    "KINDS",
    "STRICT",
    "TOLERANT",
    "BackupRequest",
    "BackupType",
    "Kind",
    "OciBackup",
    "OciBootVolumeAttachment",
    "OciVolume",
    "ResourceKind",
    "parsed_time",
]

# A backup OCI is still making: it cannot be deleted yet, and it already protects its volume.
IN_PROGRESS_STATES = frozenset({"REQUEST_RECEIVED", "CREATING"})
BackupType = Literal["FULL", "INCREMENTAL"]

# defer_build: a model's validator is built the first time a call needs it, not when the module loads.
STRICT = ConfigDict(extra="forbid", frozen=True, strict=True, alias_generator=to_camel, defer_build=True)


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
