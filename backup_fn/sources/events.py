"""OCI Events that ask for a backup: a volume or boot volume created, an instance launched.
Any other event type is acknowledged and ignored."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import ValidationError

from ..domain import Arrival, BackupJob, InstanceRef, Trigger, retry_token
from ..errors import InvalidRequest
from ..models import KINDS, BackupRequest, Kind
from ..ocids import INSTANCE
from .cloud_event import event_time, parse_event, resource_id_of
from .event_types import CREATE_BOOT_VOLUME_END, CREATE_VOLUME_END, LAUNCH_INSTANCE_END
from .invalid import invalid

VOLUME_EVENTS: dict[str, Kind] = {CREATE_VOLUME_END: KINDS["volume"], CREATE_BOOT_VOLUME_END: KINDS["bootVolume"]}
HANDLED_EVENT_TYPES = (*VOLUME_EVENTS, LAUNCH_INSTANCE_END)


def trigger(body: dict[str, Any], arrival: Arrival, now: datetime) -> Trigger:
    event = parse_event(body)
    base = Trigger(source="oci-events", delivery=arrival.delivery, trigger_id=event.event_id, time=event_time(event, now))
    if event.event_type not in HANDLED_EVENT_TYPES:
        return base._replace(ignored=f"Event type {event.event_type[:200]} is not one this function acts on.")
    data = event.data
    target: BackupRequest | InstanceRef
    if event.event_type == LAUNCH_INSTANCE_END:
        resource_id = resource_id_of(event, INSTANCE)
        if not data.compartment_id or not data.availability_domain:
            raise InvalidRequest("Invalid OCI event: data.compartmentId and data.availabilityDomain are required for launchinstance.end.")
        target = InstanceRef(resource_id, data.compartment_id, data.availability_domain)
    else:
        kind = VOLUME_EVENTS[event.event_type]
        resource_id = resource_id_of(event, kind.ocid)
        tags = {"freeformTags": data.freeform_tags} if data.freeform_tags else {}
        try:
            target = BackupRequest.model_validate({kind.id_field: resource_id, **tags})
        except ValidationError as exc:
            raise invalid("OCI event", exc, prefix="data") from None
    job = BackupJob(target, retry_token("oci-events", event.event_id, resource_id))
    return base._replace(jobs=(job,))
