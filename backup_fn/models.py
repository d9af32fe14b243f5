"""The request we act on, what OCI tells us back, and the answers we give.

Our own request is strict (unknown fields, wrong types and wrong OCID kinds are refused);
the models of OCI's responses are tolerant, because OCI adds fields over time."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator
from pydantic.alias_generators import to_camel

from .ocids import BootVolumeId, KmsKeyId, VolumeId

BackupType = Literal["FULL", "INCREMENTAL"]
ResourceKind = Literal["volume", "bootVolume"]

TagKey = Annotated[str, StringConstraints(min_length=1, max_length=100)]
TagValue = Annotated[str, StringConstraints(max_length=256)]
FreeformTags = dict[TagKey, TagValue]
DefinedTags = dict[TagKey, dict[TagKey, Any]]

_STRICT = ConfigDict(extra="forbid", frozen=True, strict=True, alias_generator=to_camel)
_TOLERANT = ConfigDict(extra="ignore", frozen=True, alias_generator=to_camel, populate_by_name=True)


class RetentionPeriod(BaseModel):
    model_config = _STRICT

    retention_time_unit: Literal["DAYS", "YEARS"]
    retention_time_amount: Annotated[int, Field(ge=1)]


class BackupRequest(BaseModel):
    """CreateVolumeBackupDetails or CreateBootVolumeBackupDetails, with the API's field names."""

    model_config = _STRICT

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
    def _exactly_one_volume(self) -> BackupRequest:
        if (self.volume_id is None) == (self.boot_volume_id is None):
            raise ValueError("exactly one of volumeId or bootVolumeId is required")
        return self

    @property
    def resource_id(self) -> str:
        return self.volume_id or self.boot_volume_id or ""

    @property
    def kind(self) -> ResourceKind:
        return "volume" if self.volume_id else "bootVolume"

    def api_body(self) -> dict[str, Any]:
        return self.model_dump(by_alias=True, exclude_none=True, mode="json")


class OciVolume(BaseModel):
    """A Volume or BootVolume as GetVolume/GetBootVolume return it (the fields we use)."""

    model_config = _TOLERANT

    id: str
    compartment_id: str
    display_name: str = ""
    availability_domain: str | None = None
    lifecycle_state: str | None = None
    freeform_tags: dict[str, str] = Field(default_factory=dict)


class OciBackup(BaseModel):
    """A VolumeBackup or BootVolumeBackup as the Core API returns it."""

    model_config = _TOLERANT

    id: str
    lifecycle_state: str
    type: str | None = None
    display_name: str | None = None
    volume_id: str | None = None
    boot_volume_id: str | None = None
    compartment_id: str | None = None
    time_created: str | None = None
    freeform_tags: dict[str, str] = Field(default_factory=dict)


class OciBootVolumeAttachment(BaseModel):
    model_config = _TOLERANT

    boot_volume_id: str
    instance_id: str | None = None
    lifecycle_state: str | None = None


Outcome = Literal["created", "existing", "in-progress"]


class BackupAnswer(BaseModel):
    """One backup in the answer, with the Core API's field names."""

    model_config = ConfigDict(frozen=True, alias_generator=to_camel, populate_by_name=True)

    id: str
    lifecycle_state: str
    type: str | None
    display_name: str | None
    volume_id: str | None = None
    boot_volume_id: str | None = None
    compartment_id: str | None = None
    time_created: str | None = None
    opc_request_id: str | None = None
    outcome: Outcome = "created"

    @classmethod
    def from_backup(cls, backup: OciBackup, *, opc_request_id: str | None, outcome: Outcome) -> BackupAnswer:
        return cls(
            id=backup.id,
            lifecycle_state=backup.lifecycle_state,
            type=backup.type,
            display_name=backup.display_name,
            volume_id=backup.volume_id,
            boot_volume_id=backup.boot_volume_id,
            compartment_id=backup.compartment_id,
            time_created=backup.time_created,
            opc_request_id=opc_request_id,
            outcome=outcome,
        )

    def body(self) -> dict[str, Any]:
        return self.model_dump(by_alias=True, exclude_none=True)
