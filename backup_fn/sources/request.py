"""A backup request: the Core API's own CreateVolumeBackup / CreateBootVolumeBackup body, sent
directly, through API Gateway or as a Notifications message. Its identity is the delivery's
(a message id, the client's retry token), else the call's."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import ValidationError

from ..domain import Arrival, BackupJob, Trigger, retry_token
from ..models import BackupRequest
from .invalid import invalid


def trigger(body: dict[str, Any], arrival: Arrival, now: datetime) -> Trigger:
    try:
        request = BackupRequest.model_validate(body)
    except ValidationError as exc:
        raise invalid("backup request", exc) from None
    trigger_id = arrival.identity or arrival.call_id
    token = retry_token("request", f"{arrival.delivery}\n{trigger_id}", request.resource_id)
    return Trigger(source="request", delivery=arrival.delivery, trigger_id=trigger_id, time=now, jobs=(BackupJob(request, token),))
