"""Raw call → trigger: which source sent it, who it is (for idempotency), and the backups it asks for.

The body's shape is told apart by a pydantic discriminator over the three payloads we accept;
how it was delivered (direct, API Gateway, Notifications) comes from the platform's headers."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from dataclasses import replace as _replace
from datetime import UTC, datetime
from typing import Annotated, Any, Literal, Union

from pydantic import Discriminator, Tag, TypeAdapter, ValidationError

from .envelopes import alarm as alarm_envelope
from .envelopes import events as events_envelope
from .envelopes import gateway as gateway_envelope
from .envelopes import notifications as notifications_envelope
from .envelopes.alarm import AlarmMessage
from .envelopes.events import OciEvent
from .errors import InvalidRequest, PayloadTooLarge
from .models import BackupRequest
from .ocids import BOOT_VOLUME_OCID, INSTANCE_OCID, KIND_OF_PATTERN, VOLUME_OCID

MAX_BODY_BYTES = 64 * 1024
MAX_ERRORS_SHOWN = 5
TRIGGER_TAG = "backup-trigger"
TRIGGER_ID_TAG = "backup-trigger-id"

Delivery = Literal["direct", "api-gateway", "notifications"]
Source = Literal["request", "oci-events", "monitoring-alarm"]


def _shape(body: Any) -> str | None:
    if not isinstance(body, dict):
        return None
    if "eventType" in body or "cloudEventsVersion" in body:
        return "event"
    if "dedupeKey" in body or "alarmMetaData" in body:
        return "alarm"
    return "request"


TriggerBody = Annotated[
    Union[
        Annotated[OciEvent, Tag("event")],
        Annotated[AlarmMessage, Tag("alarm")],
        Annotated[BackupRequest, Tag("request")],
    ],
    Discriminator(
        _shape,
        custom_error_type="invalid_trigger",
        custom_error_message="the body must be a JSON object: a backup request, an OCI event or an alarm message",
    ),
]
_BODY = TypeAdapter(TriggerBody)


@dataclass(frozen=True)
class InstanceRef:
    instance_id: str
    compartment_id: str
    availability_domain: str


@dataclass(frozen=True)
class Job:
    """One backup to make: a request, or an instance whose boot volume is to be found first."""

    target: BackupRequest | InstanceRef
    retry_token: str

    @property
    def resource_id(self) -> str:
        return self.target.resource_id if isinstance(self.target, BackupRequest) else self.target.instance_id


@dataclass(frozen=True)
class Trigger:
    source: Source
    delivery: Delivery
    trigger_id: str
    time: datetime
    jobs: tuple[Job, ...] = ()
    ignored: str | None = None
    ignored_resources: tuple[str, ...] = field(default=())

    def tags(self) -> dict[str, str]:
        return {TRIGGER_TAG: self.source if self.source != "request" else self.delivery, TRIGGER_ID_TAG: self.trigger_id[:256]}


def retry_token(source: Source, trigger_id: str, resource_id: str) -> str:
    """Same trigger and resource → same token (64 hex characters, OCI's maximum)."""
    return hashlib.sha256(f"{source}\n{trigger_id}\n{resource_id}".encode()).hexdigest()


def parse_body(raw: bytes) -> OciEvent | AlarmMessage | BackupRequest:
    if len(raw) > MAX_BODY_BYTES:
        raise PayloadTooLarge(f"The body is {len(raw)} bytes; at most {MAX_BODY_BYTES} are accepted.")
    try:
        body = json.loads(raw)
    except (ValueError, RecursionError):
        raise InvalidRequest("The body is not valid JSON.") from None
    try:
        return _BODY.validate_python(body)
    except ValidationError as exc:
        raise InvalidRequest(_describe(exc)) from None


def _describe(exc: ValidationError, kind: str | None = None) -> str:
    """A sentence naming each offending field; `kind` given means the errors are not tagged by shape."""
    errors = exc.errors(include_url=False, include_input=False)
    skip = 0 if kind else 1
    if kind is None:
        tag = str(errors[0]["loc"][0]) if errors and errors[0]["loc"] else ""
        kind = {"event": "OCI event", "alarm": "alarm message", "request": "backup request"}.get(tag, "body")
    parts = []
    for error in errors[:MAX_ERRORS_SHOWN]:
        where = ".".join(str(part) for part in error["loc"][skip:])
        parts.append(f"{where}: {_explain(error)}" if where else _explain(error))
    more = f" (and {len(errors) - MAX_ERRORS_SHOWN} more)" if len(errors) > MAX_ERRORS_SHOWN else ""
    return f"Invalid {kind}: " + "; ".join(parts) + more


def _explain(error: Any) -> str:
    kind = error["type"]
    if kind == "extra_forbidden":
        return "is not a field of a backup request"
    if kind == "missing":
        return "is required"
    if kind == "string_pattern_mismatch":
        ocid_kind = KIND_OF_PATTERN.get(str(error.get("ctx", {}).get("pattern", "")))
        return f"must be an ocid1.{ocid_kind}. OCID" if ocid_kind else "has the wrong format"
    message = str(error["msg"])
    return message[len("Value error, ") :] if message.startswith("Value error, ") else message


def delivery_of(
    headers: Mapping[str, object], *, gateway: bool, method: str | None, http_headers: Mapping[str, object]
) -> tuple[Delivery, str | None]:
    """How the call arrived, and the identity that delivery gives it (if any)."""
    if gateway:
        gateway_envelope.check_method(method)
        return "api-gateway", gateway_envelope.client_retry_token(http_headers)
    message_id = notifications_envelope.message_id(headers)
    if message_id:
        return "notifications", message_id
    return "direct", None


def build_trigger(
    body: OciEvent | AlarmMessage | BackupRequest,
    *,
    delivery: Delivery,
    delivery_identity: str | None,
    call_id: str,
    now: datetime | None = None,
) -> Trigger:
    now = now or datetime.now(UTC)
    if isinstance(body, OciEvent):
        return _from_event(body, delivery, now)
    if isinstance(body, AlarmMessage):
        return _from_alarm(body, delivery, now)
    trigger_id = delivery_identity or call_id
    return Trigger(
        source="request",
        delivery=delivery,
        trigger_id=trigger_id,
        time=now,
        jobs=(Job(body, retry_token("request", f"{delivery}\n{trigger_id}", body.resource_id)),),
    )


def _from_event(event: OciEvent, delivery: Delivery, now: datetime) -> Trigger:
    when = event.event_time.astimezone(UTC) if event.event_time and event.event_time.tzinfo else now
    base = Trigger(source="oci-events", delivery=delivery, trigger_id=event.event_id, time=when)
    if event.event_type not in events_envelope.HANDLED_EVENT_TYPES:
        return _replace(base, ignored=f"Event type {event.event_type} is not one this function backs up.")
    data = event.data
    resource_id = data.resource_id
    if not resource_id:
        raise InvalidRequest(f"Invalid OCI event: data.resourceId is required for {event.event_type}.")
    token = retry_token("oci-events", event.event_id, resource_id)
    tags = {"freeformTags": data.freeform_tags} if data.freeform_tags else {}
    if event.event_type == events_envelope.LAUNCH_INSTANCE_END:
        if not INSTANCE_OCID.match(resource_id):
            raise InvalidRequest("Invalid OCI event: data.resourceId must be an ocid1.instance. OCID.")
        if not data.compartment_id or not data.availability_domain:
            raise InvalidRequest("Invalid OCI event: data.compartmentId and data.availabilityDomain are required for launchinstance.end.")
        target: BackupRequest | InstanceRef = InstanceRef(resource_id, data.compartment_id, data.availability_domain)
    else:
        volume = event.event_type == events_envelope.CREATE_VOLUME_END
        pattern, field_name, kind = (VOLUME_OCID, "volumeId", "volume") if volume else (BOOT_VOLUME_OCID, "bootVolumeId", "bootvolume")
        if not pattern.match(resource_id):
            raise InvalidRequest(f"Invalid OCI event: data.resourceId must be an ocid1.{kind}. OCID for {event.event_type}.")
        try:
            target = BackupRequest.model_validate({field_name: resource_id, **tags})
        except ValidationError as exc:
            raise InvalidRequest(_describe(exc, kind="OCI event data")) from None
    return _replace(base, jobs=(Job(target, token),))


def _from_alarm(alarm: AlarmMessage, delivery: Delivery, now: datetime) -> Trigger:
    when = datetime.fromtimestamp(alarm.timestamp_epoch_millis / 1000, UTC) if alarm.timestamp_epoch_millis > 0 else now
    trigger_id = f"{alarm.dedupe_key}@{alarm.timestamp_epoch_millis}"
    base = Trigger(source="monitoring-alarm", delivery=delivery, trigger_id=trigger_id, time=when)
    if alarm.type in alarm_envelope.CLEARED_TYPES:
        return _replace(base, ignored=f"Alarm {alarm.type}: nothing to back up.")
    if alarm.type not in alarm_envelope.FIRING_TYPES:
        return _replace(base, ignored=f"Alarm type {alarm.type} is not one this function acts on.")
    jobs: list[Job] = []
    others: list[str] = []
    for resource_id in alarm.resource_ids():
        if VOLUME_OCID.match(resource_id):
            request = BackupRequest.model_validate({"volumeId": resource_id})
        elif BOOT_VOLUME_OCID.match(resource_id):
            request = BackupRequest.model_validate({"bootVolumeId": resource_id})
        else:
            others.append(resource_id)
            continue
        jobs.append(Job(request, retry_token("monitoring-alarm", trigger_id, resource_id)))
    if not jobs:
        return _replace(base, ignored="The alarm names no volume or boot volume (resourceId dimension).", ignored_resources=tuple(others))
    return _replace(base, jobs=tuple(jobs), ignored_resources=tuple(others))
