"""After a backup finished: copy it to other regions and apply retention to its volume, only for
backups this function made, read from OCI and never from the event's payload."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, NamedTuple

from .. import retention
from ..answers import BackupAnswer, CopyAnswer, Failure, LifecycleAnswer
from ..deadline import Deadline
from ..domain import LifecycleJob, Trigger, made_by_us, retry_token
from ..errors import BackupError, BackupFaulty, BackupNotReady, DeadlineExceeded, NotFound
from ..models import OciBackup
from ..results import JobResult, first_deciding
from ..settings import Settings

if TYPE_CHECKING:
    from ..clients.core import CoreClient

# A deletion is one short call; below this much time left, the rest waits for the volume's next event.
MIN_SECONDS_PER_DELETE = 1.0


class Pruning(NamedTuple):
    """What retention did to one volume: the ids it deleted (or, in a dry run, would), how many of
    the function's own backups remain, and the deletions that failed."""

    pruned: tuple[str, ...]
    kept: int | None
    errors: tuple[tuple[str, BackupError], ...]


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
                job.backup_id, skip_reason=f"{job.backup_id} was not made by this function (no backup-trigger tag, or a policy backup)."
            )
        if backup.lifecycle_state == "FAULTY":
            error = BackupFaulty(f"Backup {backup.id} of {backup.source_id} ended FAULTY.", opc_request_id=read.request_id)
            return JobResult(job.backup_id, lifecycle=LifecycleAnswer(backup=summary, failures=[Failure.of(backup.id, error)]), error=error)
        if backup.lifecycle_state in ("TERMINATING", "TERMINATED"):
            return JobResult(job.backup_id, skip_reason=f"{job.backup_id} is {backup.lifecycle_state}: nothing to copy.")
        if backup.lifecycle_state != "AVAILABLE":
            raise BackupNotReady(f"Backup {backup.id} is {backup.lifecycle_state}, not yet AVAILABLE.", opc_request_id=read.request_id)
        if not self.settings.lifecycle_enabled:
            return JobResult(job.backup_id, skip_reason="COPY_TO_REGIONS, KEEP_LAST and KEEP_DAYS are unset: nothing to do after a backup.")

        copies = [self._copy(job, backup, region, trigger, deadline) for region in self.settings.copy_to_regions]
        errors = [error for _, error in copies if error is not None]
        pruning = self._prune(job, backup, deadline) if self.settings.retention_enabled else None
        if pruning is not None:
            errors += [error for _, error in pruning.errors]
        answer = LifecycleAnswer(
            backup=summary,
            copies=[copy for copy, _ in copies] or None,
            pruned=list(pruning.pruned) if pruning else None,
            kept=pruning.kept if pruning else None,
            dry_run=self.settings.prune_dry_run if pruning else None,
            failures=([Failure.of(resource_id, error) for resource_id, error in pruning.errors] or None) if pruning else None,
        )
        return JobResult(job.backup_id, lifecycle=answer, error=first_deciding(errors))

    def _copy(
        self, job: LifecycleJob, backup: OciBackup, region: str, trigger: Trigger, deadline: Deadline
    ) -> tuple[CopyAnswer, BackupError | None]:
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
            return CopyAnswer(region=region, outcome="failed", code=error.code, message=error.message), error
        return CopyAnswer(region=region, outcome="created", id=made.backup.id, lifecycle_state=made.backup.lifecycle_state), None

    def _prune(self, job: LifecycleJob, backup: OciBackup, deadline: Deadline) -> Pruning:
        volume_id, compartment_id = backup.source_id, backup.compartment_id
        if not volume_id or not compartment_id:
            return Pruning((), None, ())
        try:
            listed = list(self.core.backups_of(job.kind, volume_id, compartment_id, deadline))
        except BackupError as error:
            return Pruning((), None, ((volume_id, error),))
        decision = retention.decide(listed, keep_last=self.settings.keep_last, keep_days=self.settings.keep_days, now=datetime.now(UTC))
        if self.settings.prune_dry_run:
            return Pruning(tuple(old.id for old in decision.delete), decision.kept, ())
        pruned: list[str] = []
        errors: list[tuple[str, BackupError]] = []
        left = len(decision.delete)
        for old in decision.delete:
            if deadline.remaining() < MIN_SECONDS_PER_DELETE:
                break  # what is left goes with the volume's next backup-completed event
            try:
                self.core.delete_backup(job.kind, old.id, deadline)
            except NotFound:
                pass  # already gone: deleted is what we wanted
            except DeadlineExceeded:
                break
            except BackupError as error:
                errors.append((old.id, error))
                continue
            pruned.append(old.id)
            left -= 1
        return Pruning(tuple(pruned), decision.kept + left, tuple(errors))
