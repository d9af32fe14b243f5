"""OCI Events (CloudEvents 0.1) as an Events rule delivers them, directly or through a
Notifications topic."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import AliasChoices, BaseModel, ConfigDict, Field, StringConstraints
from pydantic.alias_generators import to_camel

_TOLERANT = ConfigDict(extra="ignore", frozen=True, alias_generator=to_camel, populate_by_name=True)

CREATE_VOLUME_END = "com.oraclecloud.blockvolumes.createvolume.end"
CREATE_BOOT_VOLUME_END = "com.oraclecloud.blockvolumes.createbootvolume.end"
LAUNCH_INSTANCE_END = "com.oraclecloud.computeapi.launchinstance.end"
HANDLED_EVENT_TYPES = (CREATE_VOLUME_END, CREATE_BOOT_VOLUME_END, LAUNCH_INSTANCE_END)

NonEmpty = Annotated[str, StringConstraints(min_length=1, max_length=512)]


class EventData(BaseModel):
    model_config = _TOLERANT

    resource_id: NonEmpty | None = None
    resource_name: str | None = None
    compartment_id: str | None = None
    compartment_name: str | None = None
    availability_domain: str | None = None
    # Oracle's reference table spells it freeFormTags; real payloads say freeformTags.
    freeform_tags: dict[str, str] | None = Field(default=None, validation_alias=AliasChoices("freeformTags", "freeFormTags"))
    additional_details: dict[str, Any] | None = None


class OciEvent(BaseModel):
    model_config = _TOLERANT

    event_type: NonEmpty
    cloud_events_version: str
    event_id: Annotated[NonEmpty, Field(alias="eventID")]
    event_time: datetime | None = None
    source: str | None = None
    data: EventData = Field(default_factory=EventData)
