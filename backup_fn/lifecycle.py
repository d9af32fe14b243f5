"""After a backup finished: copy it to other regions and apply retention to its volume, only for
backups this function made, read from OCI and never from the event's payload."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING

from . import retention
from .answers import BackupAnswer, CopyAnswer, Failure, LifecycleAnswer
from .deadline import Deadline
from .domain import LifecycleJob, Trigger, made_by_us, retry_token
from .errors import BackupError, BackupFaulty, BackupNotReady, DeadlineExceeded, NotFound
from .models import OciBackup
from .outcome import JobResult, first_deciding
from .settings import Settings

if TYPE_CHECKING:
    from .clients.core import CoreClient

# A deletion is one short call; below this much time left, the rest waits for the volume's next event.
MIN_SECONDS_PER_DELETE = 1.0


class Lifecycle:
    def __init__(self, core: CoreClient, settings: Settings) -> None:
        self.core = core
        self.settings = settings

    def run(self, job: LifecycleJob, trigger: Trigger, deadline: Deadline) -> JobResult:
        read = self.core.get_backup(job.kind, job.backup_id, deadline)
        backup = read.backup
        summary = BackupAnswer.from_backup(backup, opc_request_id=read.request_id, outcome=None)
        if not made_by_us(backup):
            return JobResult(
                job.backup_id, skipped=f"{job.backup_id} was not made by this function (no backup-trigger tag, or a policy backup)."
            )
        if backup.lifecycle_state == "FAULTY":
            error = BackupFaulty(f"Backup {backup.id} of {backup.source_id} ended FAULTY.", opc_request_id=read.request_id)
            failure = Failure(resource_id=backup.id, code=error.code, message=error.message, opc_request_id=error.opc_request_id)
            return JobResult(job.backup_id, lifecycle=LifecycleAnswer(backup=summary, failures=[failure]), error=error)
        if backup.lifecycle_state in ("TERMINATING", "TERMINATED"):
            return JobResult(job.backup_id, skipped=f"{job.backup_id} is {backup.lifecycle_state}: nothing to copy.")
        if backup.lifecycle_state != "AVAILABLE":
            raise BackupNotReady(f"Backup {backup.id} is {backup.lifecycle_state}, not yet AVAILABLE.", opc_request_id=read.request_id)
        if not self.settings.lifecycle_enabled:
            return JobResult(job.backup_id, skipped="COPY_TO_REGIONS, KEEP_LAST and KEEP_DAYS are unset: nothing to do after a backup.")

        errors: list[BackupError] = []
        copies = [self._copy(job, backup, region, trigger, deadline, errors) for region in self.settings.copy_to_regions]
        pruned: list[str] = []
        failures: list[Failure] = []
        kept: int | None = None
        if self.settings.retention_enabled:
            kept = self._prune(job, backup, deadline, pruned, failures, errors)
        answer = LifecycleAnswer(
            backup=summary,
            copies=copies or None,
            pruned=pruned if self.settings.retention_enabled else None,
            kept=kept,
            dry_run=self.settings.prune_dry_run if self.settings.retention_enabled else None,
            failures=failures or None,
        )
        return JobResult(job.backup_id, lifecycle=answer, error=first_deciding(errors))

    def _copy(
        self, job: LifecycleJob, backup: OciBackup, region: str, trigger: Trigger, deadline: Deadline, errors: list[BackupError]
    ) -> CopyAnswer:
        try:
            made = self.core.copy_backup(
                job.kind,
                backup.id,
                region=region,
                display_name=backup.display_name,
                kms_key_id=self.settings.kms_key_for(region),
                retry_token=retry_token("backup-completed", trigger.trigger_id, backup.id, region),
                deadline=deadline,
            )
        except BackupError as error:
            errors.append(error)
            return CopyAnswer(region=region, outcome="failed", code=error.code, message=error.message)
        return CopyAnswer(region=region, outcome="created", id=made.backup.id, lifecycle_state=made.backup.lifecycle_state)

    def _prune(
        self,
        job: LifecycleJob,
        backup: OciBackup,
        deadline: Deadline,
        pruned: list[str],
        failures: list[Failure],
        errors: list[BackupError],
    ) -> int | None:
        volume_id, compartment_id = backup.source_id, backup.compartment_id
        if not volume_id or not compartment_id:
            return None
        try:
            listed = list(self.core.backups_of(job.kind, volume_id, compartment_id, deadline))
        except BackupError as error:
            errors.append(error)
            failures.append(Failure(resource_id=volume_id, code=error.code, message=error.message, opc_request_id=error.opc_request_id))
            return None
        decision = retention.decide(listed, keep_last=self.settings.keep_last, keep_days=self.settings.keep_days, now=datetime.now(UTC))
        left = len(decision.delete)
        for old in decision.delete:
            if self.settings.prune_dry_run:
                pruned.append(old.id)
                continue
            if deadline.remaining() < MIN_SECONDS_PER_DELETE:
                break  # what is left goes with the volume's next backup-completed event
            try:
                self.core.delete_backup(job.kind, old.id, deadline)
            except NotFound:
                pass  # already gone: deleted is what we wanted
            except DeadlineExceeded:
                break
            except BackupError as error:
                errors.append(error)
                failures.append(Failure(resource_id=old.id, code=error.code, message=error.message, opc_request_id=error.opc_request_id))
                continue
            pruned.append(old.id)
            left -= 1
        return decision.kept + (left if not self.settings.prune_dry_run else 0)
