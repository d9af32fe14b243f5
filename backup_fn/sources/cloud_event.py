"""The OCI Events envelope (CloudEvents 0.1) as an Events rule delivers it, directly or through a
Notifications topic. Tolerant: OCI adds fields over time."""

from datetime import UTC, datetime
from typing import Annotated, Any

from pydantic import AliasChoices, BaseModel, Field, StringConstraints, ValidationError, field_validator

from ..errors import InvalidRequest
from ..models import TOLERANT, FreeformTags
from ..ocids import OcidKind
from .invalid import invalid

NonEmpty = Annotated[str, StringConstraints(min_length=1, max_length=512)]


class EventData(BaseModel):
    model_config = TOLERANT

    resource_id: NonEmpty | None = None
    resource_name: str | None = None
    compartment_id: NonEmpty | None = None
    compartment_name: str | None = None
    availability_domain: NonEmpty | None = None
    # Oracle's reference table spells it freeFormTags; real payloads say freeformTags.
    freeform_tags: FreeformTags | None = Field(default=None, validation_alias=AliasChoices("freeformTags", "freeFormTags"))
    additional_details: dict[str, Any] | None = None


class OciEvent(BaseModel):
    model_config = TOLERANT

    event_type: NonEmpty
    cloud_events_version: NonEmpty
    event_id: Annotated[NonEmpty, Field(alias="eventID")]
    event_time: datetime | None = None
    source: str | None = None
    data: EventData = Field(default_factory=EventData)

    @field_validator("event_time")
    @classmethod
    def _in_utc(cls, value: datetime | None) -> datetime | None:
        """Compared and stored in UTC; a time whose offset moves it off the calendar (year 1 at +01:00) is refused here."""
        if value is None or value.tzinfo is None:
            return value
        try:
            return value.astimezone(UTC)
        except (OverflowError, ValueError):
            raise ValueError("is out of range once converted to UTC") from None


def parse_event(body: dict[str, Any]) -> OciEvent:
    try:
        return OciEvent.model_validate(body)
    except ValidationError as exc:
        raise invalid("OCI event", exc) from None


def event_time(event: OciEvent, now: datetime) -> datetime:
    return event.event_time if event.event_time and event.event_time.tzinfo else now


def resource_id_of(event: OciEvent, kind: OcidKind) -> str:
    """`data.resourceId`, which must be an OCID of `kind` for this event type."""
    resource_id = event.data.resource_id
    problem = kind.problem(resource_id) if resource_id else "is required"
    if problem or not resource_id:
        raise InvalidRequest(f"Invalid OCI event: data.resourceId {problem} for {event.event_type[:200]}.")
    return resource_id
