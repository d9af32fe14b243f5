"""OCI Events that a volume or boot volume backup finished. The backup itself is read from OCI
(the payload is never trusted); what happens next (copies, retention) is the service's."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from ..domain import Arrival, LifecycleJob, Trigger
from ..models import KINDS, Kind
from .cloud_event import event_time, parse_event, resource_id_of
from .event_types import CREATE_BOOT_VOLUME_BACKUP_END, CREATE_VOLUME_BACKUP_END

BACKUP_EVENTS: dict[str, Kind] = {CREATE_VOLUME_BACKUP_END: KINDS["volume"], CREATE_BOOT_VOLUME_BACKUP_END: KINDS["bootVolume"]}


def trigger(body: dict[str, Any], arrival: Arrival, now: datetime) -> Trigger:
    event = parse_event(body)
    base = Trigger(source="backup-completed", delivery=arrival.delivery, trigger_id=event.event_id, time=event_time(event, now))
    kind = BACKUP_EVENTS.get(event.event_type)
    if kind is None:
        return base._replace(ignored=f"Event type {event.event_type[:200]} is not one this function acts on.")
    return base._replace(jobs=(LifecycleJob(kind, resource_id_of(event, kind.backup_ocid)),))
