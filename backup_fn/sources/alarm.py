"""Monitoring alarm messages as a Notifications subscription delivers them: a firing alarm backs
up every `resourceId` dimension that is a volume or boot volume; a bad dimension is skipped with
its reason and the good ones still go ahead."""

from datetime import UTC, datetime
from typing import Annotated, Any

from pydantic import BaseModel, Field, StringConstraints, ValidationError

from ..domain import Arrival, BackupJob, Skipped, Trigger, retry_token
from ..models import KINDS, TOLERANT, BackupRequest
from .invalid import invalid

FIRING_TYPES = frozenset({"OK_TO_FIRING", "REPEAT"})
CLEARED_TYPES = frozenset({"FIRING_TO_OK", "RESET"})
# The last millisecond of year 9999: datetime's range, and far beyond any alarm's.
MAX_EPOCH_MILLIS = 253_402_300_799_999
MAX_RESOURCE_SHOWN = 255


class AlarmMetaData(BaseModel):
    model_config = TOLERANT

    id: str | None = None
    status: str | None = None
    dimensions: list[dict[str, Any]] = Field(default_factory=list)


class AlarmMessage(BaseModel):
    model_config = TOLERANT

    dedupe_key: Annotated[str, StringConstraints(min_length=1, max_length=512)]
    type: Annotated[str, StringConstraints(min_length=1, max_length=64)]
    timestamp_epoch_millis: Annotated[int, Field(ge=0, le=MAX_EPOCH_MILLIS)]
    title: str | None = None
    alarm_meta_data: list[AlarmMetaData] = Field(default_factory=list)

    def resource_ids(self) -> list[object]:
        """Every `resourceId` dimension, in order, each once (as sent: not necessarily a string)."""
        seen: dict[str, object] = {}
        for meta in self.alarm_meta_data:
            for dimensions in meta.dimensions:
                if "resourceId" in dimensions:
                    value = dimensions["resourceId"]
                    seen.setdefault(value if isinstance(value, str) else repr(value), value)
        return list(seen.values())


def trigger(body: dict[str, Any], arrival: Arrival, now: datetime) -> Trigger:
    try:
        alarm = AlarmMessage.model_validate(body)
    except ValidationError as exc:
        raise invalid("alarm message", exc) from None
    when = datetime.fromtimestamp(alarm.timestamp_epoch_millis / 1000, UTC) if alarm.timestamp_epoch_millis > 0 else now
    trigger_id = f"{alarm.dedupe_key}@{alarm.timestamp_epoch_millis}"
    base = Trigger(source="monitoring-alarm", delivery=arrival.delivery, trigger_id=trigger_id, time=when)
    if alarm.type in CLEARED_TYPES:
        return base._replace(ignored=f"Alarm {alarm.type}: nothing to back up.")
    if alarm.type not in FIRING_TYPES:
        return base._replace(ignored=f"Alarm type {alarm.type} is not one this function acts on.")
    jobs: list[BackupJob] = []
    skipped: list[Skipped] = []
    for value in alarm.resource_ids():
        request, reason = _request_for(value)
        if request is None:
            shown = value if isinstance(value, str) else repr(value)
            skipped.append(Skipped(shown[:MAX_RESOURCE_SHOWN], reason))
            continue
        jobs.append(BackupJob(request, retry_token("monitoring-alarm", trigger_id, request.resource_id)))
    if not jobs:
        return base._replace(ignored="The alarm names no volume or boot volume (resourceId dimension).", skipped=tuple(skipped))
    return base._replace(jobs=tuple(jobs), skipped=tuple(skipped))


def _request_for(value: object) -> tuple[BackupRequest | None, str]:
    if not isinstance(value, str):
        return None, "resourceId is not a string."
    for kind in KINDS.values():
        if kind.ocid.matches(value):
            return BackupRequest.model_validate({kind.id_field: value}), ""
    for kind in KINDS.values():
        if value.strip().startswith(f"ocid1.{kind.ocid.types[0]}."):
            return None, f"resourceId {kind.ocid.problem(value)}."
    return None, "resourceId is not a volume or boot volume OCID."
