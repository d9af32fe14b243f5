"""OCI Events that a volume or boot volume backup finished. The backup itself is read from OCI
(the payload is never trusted); what happens next (copies, retention) is the service's."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from ..domain import Arrival, LifecycleJob, Trigger
from ..errors import InvalidRequest
from ..models import KINDS, Kind
from .cloud_event import event_time, parse_event

CREATE_VOLUME_BACKUP_END = "com.oraclecloud.blockvolumes.createvolumebackup.end"
CREATE_BOOT_VOLUME_BACKUP_END = "com.oraclecloud.blockvolumes.createbootvolumebackup.end"
BACKUP_EVENTS: dict[str, Kind] = {CREATE_VOLUME_BACKUP_END: KINDS["volume"], CREATE_BOOT_VOLUME_BACKUP_END: KINDS["bootVolume"]}


def trigger(body: dict[str, Any], arrival: Arrival, now: datetime) -> Trigger:
    event = parse_event(body)
    base = Trigger(source="backup-completed", delivery=arrival.delivery, trigger_id=event.event_id, time=event_time(event, now))
    kind = BACKUP_EVENTS.get(event.event_type)
    if kind is None:
        return base._replace(ignored=f"Event type {event.event_type[:200]} is not one this function acts on.")
    backup_id = event.data.resource_id
    if not backup_id:
        raise InvalidRequest(f"Invalid OCI event: data.resourceId is required for {event.event_type}.")
    problem = kind.backup_ocid.problem(backup_id)
    if problem:
        raise InvalidRequest(f"Invalid OCI event: data.resourceId {problem} for {event.event_type}.")
    return base._replace(jobs=(LifecycleJob(kind, backup_id),))
