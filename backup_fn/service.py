"""Trigger → backups: checks the real volume, then creates its backup exactly once."""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from .deadline import Deadline
from .errors import BackupError, BackupInProgress, CompartmentNotAllowed, DeadlineExceeded
from .models import BackupAnswer, BackupRequest, OciBackup, OciVolume, Outcome, ResourceKind
from .settings import Settings
from .triggers import TRIGGER_ID_TAG, TRIGGER_TAG, InstanceRef, Job, Trigger

if TYPE_CHECKING:
    from .oci_gateway import OciGateway

IN_PROGRESS_STATES = frozenset({"REQUEST_RECEIVED", "CREATING"})
OPT_OUT_VALUES = frozenset({"true", "yes", "1"})
VOLUME_CACHE_ENTRIES = 256


@dataclass(frozen=True)
class JobResult:
    resource_id: str
    answer: BackupAnswer | None = None
    skipped: str | None = None
    error: BackupError | None = None


class BackupService:
    def __init__(self, gateway: OciGateway, settings: Settings) -> None:
        self.gateway = gateway
        self.settings = settings
        self._volumes: dict[tuple[ResourceKind, str], tuple[float, OciVolume]] = {}

    def run(self, trigger: Trigger, deadline: Deadline) -> list[JobResult]:
        results = []
        for job in trigger.jobs:
            try:
                if deadline.remaining() <= 0:
                    raise DeadlineExceeded("The call's deadline came before this backup could be requested.")
                results.append(self._run_job(job, trigger, deadline))
            except BackupError as error:
                results.append(JobResult(job.resource_id, error=error))
        return results

    def _run_job(self, job: Job, trigger: Trigger, deadline: Deadline) -> JobResult:
        request = self._resolve(job.target, deadline)
        volume = self._volume(request.kind, request.resource_id, deadline)
        allowed = self.settings.allowed_compartment_ids
        if allowed is not None and volume.compartment_id not in allowed:
            raise CompartmentNotAllowed(
                f"{request.resource_id} is in compartment {volume.compartment_id}, which ALLOWED_COMPARTMENT_IDS does not list."
            )
        opt_out = volume.freeform_tags.get(self.settings.opt_out_tag, "")
        if opt_out.strip().lower() in OPT_OUT_VALUES:
            return JobResult(
                request.resource_id, skipped=f"{request.resource_id} carries the freeform tag {self.settings.opt_out_tag}={opt_out}."
            )

        body = request.api_body()
        body.setdefault("type", self.settings.backup_type)
        body.setdefault("displayName", default_display_name(volume, trigger.time))
        body["freeformTags"] = {**trigger.tags(), **(request.freeform_tags or {})}
        try:
            backup, request_id = self.gateway.create_backup(request.kind, body, job.retry_token, deadline)
        except BackupInProgress as conflict:
            existing = self._existing_backup(request.kind, volume, trigger, deadline)
            if existing is None:
                raise
            outcome: Outcome = "existing" if existing.freeform_tags.get(TRIGGER_ID_TAG) == trigger.trigger_id[:256] else "in-progress"
            answer = BackupAnswer.from_backup(existing, opc_request_id=conflict.opc_request_id, outcome=outcome)
            return JobResult(request.resource_id, answer=answer)
        return JobResult(request.resource_id, answer=BackupAnswer.from_backup(backup, opc_request_id=request_id, outcome="created"))

    def _resolve(self, target: BackupRequest | InstanceRef, deadline: Deadline) -> BackupRequest:
        if isinstance(target, BackupRequest):
            return target
        boot_volume_id = self.gateway.boot_volume_of(target.instance_id, target.compartment_id, target.availability_domain, deadline)
        return BackupRequest.model_validate({"bootVolumeId": boot_volume_id})

    def _volume(self, kind: ResourceKind, resource_id: str, deadline: Deadline) -> OciVolume:
        """The volume as OCI knows it (never as the payload claims), cached briefly per container."""
        key = (kind, resource_id)
        now = time.monotonic()
        cached = self._volumes.get(key)
        if cached and cached[0] > now:
            return cached[1]
        volume = self.gateway.get_volume(kind, resource_id, deadline)
        if self.settings.volume_cache_seconds > 0:
            if len(self._volumes) >= VOLUME_CACHE_ENTRIES:
                self._volumes.clear()
            self._volumes[key] = (now + self.settings.volume_cache_seconds, volume)
        return volume

    def _existing_backup(self, kind: ResourceKind, volume: OciVolume, trigger: Trigger, deadline: Deadline) -> OciBackup | None:
        """After a 409: the backup this very trigger made before (a redelivery), else the one in progress."""
        try:
            backups = self.gateway.list_backups(kind, volume.id, volume.compartment_id, deadline)
        except BackupError:
            return None
        ours = [
            b
            for b in backups
            if b.freeform_tags.get(TRIGGER_ID_TAG) == trigger.trigger_id[:256]
            and b.freeform_tags.get(TRIGGER_TAG) == trigger.tags()[TRIGGER_TAG]
        ]
        running = [b for b in backups if b.lifecycle_state in IN_PROGRESS_STATES]
        candidates = ours or running
        return candidates[0] if candidates else None


def default_display_name(volume: OciVolume, when: datetime) -> str:
    stamp = when.strftime("%Y-%m-%d %H:%M:%S UTC")
    name = volume.display_name or volume.id
    return f"{name[: 255 - len(stamp) - 1]} {stamp}"
