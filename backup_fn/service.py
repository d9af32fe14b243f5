"""Trigger → results: each job checked against the real volume and its backup created exactly once,
or, for a finished backup, its lifecycle applied. Many jobs are worked on MAX_PARALLEL_CALLS at a time."""

from __future__ import annotations

import contextvars
import random
import threading
import time
from collections import OrderedDict
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from typing import TYPE_CHECKING

from .answers import BackupAnswer, Outcome
from .deadline import Deadline
from .domain import BackupJob, InstanceRef, Job, LifecycleJob, Trigger
from .errors import BackupError, BackupInProgress, CompartmentNotAllowed, DeadlineExceeded
from .lifecycle import Lifecycle
from .models import KINDS, BackupRequest, Kind, OciBackup, OciVolume
from .outcome import JobResult
from .settings import Settings

if TYPE_CHECKING:
    from .clients.core import CoreClient

IN_PROGRESS_STATES = frozenset({"REQUEST_RECEIVED", "CREATING"})
OPT_OUT_VALUES = frozenset({"true", "yes", "1"})
VOLUME_CACHE_ENTRIES = 256
DONE_ENTRIES = 4096


class BackupService:
    def __init__(self, core: CoreClient, settings: Settings) -> None:
        self.core = core
        self.settings = settings
        self.lifecycle = Lifecycle(core, settings)
        self._volumes: dict[tuple[str, str], tuple[float, OciVolume]] = {}
        self._pool: ThreadPoolExecutor | None = None
        self._pool_lock = threading.Lock()
        # Backups this container made for triggers naming several resources, by retry token: a redelivery
        # answers them at once and spends its time on the resources the earlier delivery did not reach.
        self._done: OrderedDict[str, BackupAnswer] = OrderedDict()
        self._done_lock = threading.Lock()

    def run(self, trigger: Trigger, deadline: Deadline) -> tuple[JobResult, ...]:
        """One result per job, in the trigger's order."""
        if len(trigger.jobs) <= 1:
            return tuple(self._guarded(job, trigger, deadline) for job in trigger.jobs)
        # A redelivery of a large alarm that ran out of time works first on what no delivery finished
        # in this container, in an order of its own (another container's delivery starts elsewhere in
        # the list too); what was done is found again by its retry token.
        order = list(range(len(trigger.jobs)))
        random.shuffle(order)
        order.sort(key=lambda index: self._finished(trigger.jobs[index]) is not None)
        pool = self._executor()
        futures = {
            index: pool.submit(contextvars.copy_context().run, self._guarded, trigger.jobs[index], trigger, deadline) for index in order
        }
        return tuple(futures[index].result() for index in range(len(trigger.jobs)))

    def _executor(self) -> ThreadPoolExecutor:
        with self._pool_lock:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(max_workers=self.settings.max_parallel_calls, thread_name_prefix="backup-job")
            return self._pool

    def _guarded(self, job: Job, trigger: Trigger, deadline: Deadline) -> JobResult:
        try:
            if deadline.remaining() <= 0:
                raise DeadlineExceeded("The call's deadline came before this resource could be worked on.")
            if isinstance(job, LifecycleJob):
                return self.lifecycle.run(job, trigger, deadline)
            return self._backup(job, trigger, deadline)
        except BackupError as error:
            return JobResult(job.resource_id, error=error)

    def _finished(self, job: Job) -> BackupAnswer | None:
        if not isinstance(job, BackupJob):
            return None
        with self._done_lock:
            return self._done.get(job.retry_token)

    def _remember(self, job: BackupJob, answer: BackupAnswer) -> None:
        with self._done_lock:
            self._done[job.retry_token] = answer
            while len(self._done) > DONE_ENTRIES:
                self._done.popitem(last=False)

    def _backup(self, job: BackupJob, trigger: Trigger, deadline: Deadline) -> JobResult:
        finished = self._finished(job)
        if finished is not None:
            return JobResult(
                finished.volume_id or finished.boot_volume_id or job.resource_id, backup=finished.model_copy(update={"outcome": "existing"})
            )
        request = self._resolve(job.target, deadline)
        kind = request.kind
        volume = self._volume(kind, request.resource_id, deadline)
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
            created = self.core.create_backup(kind, body, job.retry_token, deadline)
        except BackupInProgress as conflict:
            existing = self._existing_backup(kind, volume, trigger, deadline)
            if existing is None:
                raise
            outcome: Outcome = "existing" if trigger.made(existing) else "in-progress"
            return JobResult(
                request.resource_id, backup=BackupAnswer.from_backup(existing, opc_request_id=conflict.opc_request_id, outcome=outcome)
            )
        answer = BackupAnswer.from_backup(created.backup, opc_request_id=created.request_id, outcome="created")
        if len(trigger.jobs) > 1:  # only a trigger naming many resources can run out of time and come again part-done
            self._remember(job, answer)
        return JobResult(request.resource_id, backup=answer)

    def _resolve(self, target: BackupRequest | InstanceRef, deadline: Deadline) -> BackupRequest:
        if isinstance(target, BackupRequest):
            return target
        boot_volume_id = self.core.boot_volume_of(target.instance_id, target.compartment_id, target.availability_domain, deadline)
        return BackupRequest.model_validate({KINDS["bootVolume"].id_field: boot_volume_id})

    def _volume(self, kind: Kind, resource_id: str, deadline: Deadline) -> OciVolume:
        """The volume as OCI knows it (never as the payload claims), cached briefly per container."""
        key = (kind.name, resource_id)
        now = time.monotonic()
        cached = self._volumes.get(key)
        if cached and cached[0] > now:
            return cached[1]
        volume = self.core.get_volume(kind, resource_id, deadline)
        if self.settings.volume_cache_seconds > 0:
            if len(self._volumes) >= VOLUME_CACHE_ENTRIES:
                self._volumes.clear()
            self._volumes[key] = (now + self.settings.volume_cache_seconds, volume)
        return volume

    def _existing_backup(self, kind: Kind, volume: OciVolume, trigger: Trigger, deadline: Deadline) -> OciBackup | None:
        """After a 409: the backup this very trigger made before (a redelivery), else the one in progress."""
        running: OciBackup | None = None
        try:
            for backup in self.core.backups_of(kind, volume.id, volume.compartment_id, deadline):
                if trigger.made(backup):
                    return backup
                if running is None and backup.lifecycle_state in IN_PROGRESS_STATES:
                    running = backup
        except BackupError:
            pass
        return running


def default_display_name(volume: OciVolume, when: datetime) -> str:
    stamp = when.strftime("%Y-%m-%d %H:%M:%S UTC")
    name = volume.display_name or volume.id
    return f"{name[: 255 - len(stamp) - 1]} {stamp}"
