"""A sweep: `{"sweep": {}}` or `{"sweep": {"dryRun": true}}` (a schedule, a person, the trigger
topic, API Gateway), and the batches a sweep publishes to its topic,
`{"sweep": {"batch": {"sweepId": …, "volumeIds": [ … ]}}}`. The body names no scope: what a
sweep or a batch protects is read from OCI, so a forged batch can do no more than a sweep."""

from datetime import datetime
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, Field, StringConstraints, ValidationError

from ..domain import Arrival, SweepJob, Trigger
from ..models import STRICT
from ..ocids import BOOT_VOLUME, VOLUME
from .invalid import invalid

MAX_BATCH_VOLUMES = 100
SweepId = Annotated[str, StringConstraints(pattern=r"^[\x21-\x7e]{1,128}$")]


def _volume_or_boot_volume(value: str) -> str:
    if VOLUME.matches(value) or BOOT_VOLUME.matches(value):
        return value
    raise ValueError("must be an ocid1.volume. or ocid1.bootvolume. OCID")


SweptVolumeId = Annotated[str, AfterValidator(_volume_or_boot_volume)]


class SweepBatch(BaseModel):
    model_config = STRICT

    sweep_id: SweepId
    volume_ids: Annotated[list[SweptVolumeId], Field(min_length=1, max_length=MAX_BATCH_VOLUMES)]


class SweepRequest(BaseModel):
    model_config = STRICT

    dry_run: bool = False
    batch: SweepBatch | None = None


class SweepBody(BaseModel):
    model_config = STRICT

    sweep: SweepRequest


def trigger(body: dict[str, Any], arrival: Arrival, now: datetime) -> Trigger:
    try:
        request = SweepBody.model_validate(body).sweep
    except ValidationError as exc:
        raise invalid("sweep", exc) from None
    if request.batch is None:
        job = SweepJob(arrival.identity or arrival.call_id, request.dry_run)
    else:
        job = SweepJob(request.batch.sweep_id, request.dry_run, tuple(dict.fromkeys(request.batch.volume_ids)))
    return Trigger(source="sweep", delivery=arrival.delivery, trigger_id=job.sweep_id, time=now, jobs=(job,))
