"""A restore test asked for by a caller: `{"restoreTest": {"backupId": "ocid1.volumebackup…"}}`
(or a boot volume backup), sent directly, through API Gateway or as a Notifications message.
Its identity is the delivery's (a message id, the client's retry token), else the call's: the same
delivery restores once, a new request is a new test."""

from datetime import datetime
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ValidationError

from ..domain import Arrival, RestoreTestJob, Trigger, retry_token
from ..models import KINDS, STRICT
from ..ocids import OcidKind
from .invalid import invalid

ANY_BACKUP = OcidKind(("volumebackup", "bootvolumebackup"))


class RestoreTestDetails(BaseModel):
    model_config = STRICT

    backup_id: Annotated[str, AfterValidator(ANY_BACKUP.check)]


class RestoreTestRequest(BaseModel):
    model_config = STRICT

    restore_test: RestoreTestDetails


def trigger(body: dict[str, Any], arrival: Arrival, now: datetime) -> Trigger:
    try:
        request = RestoreTestRequest.model_validate(body)
    except ValidationError as exc:
        raise invalid("restore-test request", exc) from None
    backup_id = request.restore_test.backup_id
    kind = next(kind for kind in KINDS.values() if kind.backup_ocid.matches(backup_id))
    trigger_id = arrival.identity or arrival.call_id
    token = retry_token("restore-test", f"{arrival.delivery}\n{trigger_id}", backup_id)
    job = RestoreTestJob(kind, backup_id, token)
    return Trigger(source="restore-test", delivery=arrival.delivery, trigger_id=trigger_id, time=now, jobs=(job,))
