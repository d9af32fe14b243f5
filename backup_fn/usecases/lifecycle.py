"""After a backup finished: apply retention to its volume, then copy it to other regions and apply
the same retention to its copies there, only for backups carrying this function's valid mark, read
from OCI and never from the event's payload.

Order matters. Each destination region's copies of the volume are read first, so a backup whose
copy is still being made is never deleted; retention here decides next, so a backup it deletes is
never copied; each region's copy is made once per (backup, region), whatever event announced it."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, NamedTuple

from ..answers import BackupAnswer, CopyAnswer, Failure, LifecycleAnswer, LifecycleCounts, RegionPruning
from ..deadline import Deadline
from ..domain import LifecycleJob, Trigger, adoptable, copy_retry_token, made_by_us
from ..errors import BackupError, BackupFaulty, BackupNotReady, DeadlineExceeded
from ..models import IN_PROGRESS_STATES, Kind, OciBackup
from ..results import JobResult, first_deciding
from ..retention import Retention
from ..settings import Settings
from .backup import set_mark
from .pruning import MAX_PRUNED_LISTED, Pruning, RefusedDeletes, prune

if TYPE_CHECKING:
    from ..clients.core import CoreClient

# What one copy (and marking it) needs; retention here leaves this much per region for the copies.
MIN_SECONDS_PER_COPY = 1.5


class RegionCopies(NamedTuple):
    """A destination region: its Core client, the copies of the volume found there, or why they could not be read."""

    region: str
    core: CoreClient
    copies: tuple[OciBackup, ...]
    error: BackupError | None


class Lifecycle:
    def __init__(self, core: CoreClient, settings: Settings) -> None:
        self.core = core
        self.settings = settings
        self.refused = RefusedDeletes()

    def run(self, job: LifecycleJob, trigger: Trigger, deadline: Deadline) -> JobResult:
        read = self.core.get_backup(job.kind, job.backup_id, deadline)
        backup = read.backup
        summary = BackupAnswer.from_backup(backup, opc_request_id=read.request_id, outcome=None)
        settings, mark = self.settings, self.settings.mark
        if not made_by_us(backup, mark, settings.adopt_unmarked_before):
            return JobResult(
                job.backup_id,
                skip_reason=f"{job.backup_id} was not made by this function (no valid mark of this deployment, or a policy backup).",
            )
        assert mark is not None  # made_by_us holds only with a mark
        if backup.lifecycle_state == "FAULTY":
            error = BackupFaulty(f"Backup {backup.id} of {backup.source_id} ended FAULTY.", opc_request_id=read.request_id)
            return JobResult(job.backup_id, lifecycle=LifecycleAnswer(backup=summary, failures=[Failure.of(backup.id, error)]), error=error)
        if backup.lifecycle_state in ("TERMINATING", "TERMINATED"):
            return JobResult(job.backup_id, skip_reason=f"{job.backup_id} is {backup.lifecycle_state}: nothing to copy.")
        if backup.lifecycle_state != "AVAILABLE":
            raise BackupNotReady(f"Backup {backup.id} is {backup.lifecycle_state}, not yet AVAILABLE.", opc_request_id=read.request_id)
        if not settings.lifecycle_enabled:
            return JobResult(job.backup_id, skip_reason="COPY_TO_REGIONS, KEEP_LAST and KEEP_DAYS are unset: nothing to do after a backup.")
        if not settings.allows(backup.compartment_id):
            return JobResult(
                job.backup_id,
                skip_reason=f"{job.backup_id} is in compartment {backup.compartment_id}, which ALLOWED_COMPARTMENT_IDS does not list: "
                "nothing copied or pruned.",
            )
        if adoptable(backup, mark, settings.adopt_unmarked_before):
            set_mark(self.core, mark, job.kind, backup, deadline)

        now = datetime.now(UTC)
        regions = [self._region(job.kind, backup, region, deadline) for region in settings.copy_to_regions]
        errors: list[tuple[str, BackupError]] = [(f"{r.region}:{backup.source_id}", r.error) for r in regions if r.error]
        pruning = self._prune_here(job.kind, backup, regions, now, deadline) if settings.retention_enabled else None
        if pruning is not None:
            errors += pruning.errors
        doomed = pruning is not None and pruning.watched_doomed
        copies: list[CopyAnswer] = []
        regional: list[RegionPruning] = []
        for region in regions:
            if doomed:
                break  # retention deletes it (or, in a dry run, would): a copy would only outlive its reason
            copy, copy_error, made = self._copy(job.kind, backup, region, deadline)
            copies.append(copy)
            if copy_error is not None:
                errors.append((f"{region.region}:{backup.id}", copy_error))
            if settings.retention_enabled and region.error is None:
                done = self._prune_copies(job.kind, backup, region, made, now, deadline)
                errors += done.errors
                pruned = RegionPruning(region=region.region, pruned=list(done.pruned), pruned_count=done.pruned_count, kept=done.kept)
                regional.append(pruned)
        failures = [Failure.of(resource_id, error) for resource_id, error in errors]
        answer = LifecycleAnswer(
            backup=summary,
            copies=copies or None,
            pruned=list(pruning.pruned) if pruning else None,
            kept=pruning.kept if pruning else None,
            dry_run=settings.prune_dry_run if pruning else None,
            failures=failures[:MAX_PRUNED_LISTED] or None,
            copy_retention=regional or None,
            counts=LifecycleCounts(pruned=pruning.pruned_count, failures=len(failures), copies_pruned=sum(r.pruned_count for r in regional))
            if pruning
            else None,
        )
        return JobResult(job.backup_id, lifecycle=answer, error=first_deciding([error for _, error in errors]))

    def _region(self, kind: Kind, backup: OciBackup, region: str, deadline: Deadline) -> RegionCopies:
        """The volume's backups in `region`, read on that region's endpoint: the copies made there."""
        core = self.core.in_region(region, self.settings.core_endpoint_for(region))
        if not backup.source_id or not backup.compartment_id:
            return RegionCopies(region, core, (), None)
        try:
            return RegionCopies(region, core, tuple(core.backups_of(kind, backup.source_id, backup.compartment_id, deadline)), None)
        except BackupError as error:
            return RegionCopies(region, core, (), error)

    def _retention(self, now: datetime, protected: frozenset[str] = frozenset()) -> Retention:
        settings = self.settings
        return Retention(
            keep_last=settings.keep_last,
            keep_days=settings.keep_days,
            now=now,
            mark=settings.mark,
            adopt_before=settings.adopt_unmarked_before,
            protected=protected,
        )

    def _prune_here(self, kind: Kind, backup: OciBackup, regions: list[RegionCopies], now: datetime, deadline: Deadline) -> Pruning:
        volume_id, compartment_id = backup.source_id, backup.compartment_id
        if not volume_id or not compartment_id:
            return Pruning((), 0, None, ())
        unread = [r for r in regions if r.error is not None]
        if unread:
            # A copy there may still be in progress from any of these backups: delete none of them this time.
            return Pruning((), 0, None, ())
        protected = frozenset(c.copied_from for r in regions for c in r.copies if c.lifecycle_state in IN_PROGRESS_STATES and c.copied_from)
        return prune(
            self.core,
            kind,
            volume_id,
            self.core.backups_of(kind, volume_id, compartment_id, deadline),
            self._retention(now, protected),
            dry_run=self.settings.prune_dry_run,
            deadline=deadline,
            refused=self.refused,
            watched=backup.id,
            reserve_seconds=MIN_SECONDS_PER_COPY * len(regions),
        )

    def _copy(
        self, kind: Kind, backup: OciBackup, region: RegionCopies, deadline: Deadline
    ) -> tuple[CopyAnswer, BackupError | None, OciBackup | None]:
        mark = self.settings.mark
        # Once per region: a copy retention pruned since still counts (only a FAULTY one is made again). A copy
        # found by listing is not marked here: anyone may copy a backup, and only the copy call's own answer is ours.
        existing = next((c for c in region.copies if c.copied_from == backup.id and c.lifecycle_state != "FAULTY"), None)
        if existing is not None:
            answer = CopyAnswer(
                region=region.region,
                outcome="existing",
                id=existing.id,
                lifecycle_state=existing.lifecycle_state,
                marked=mark.is_on_backup(existing) if mark else None,
            )
            return answer, None, None
        if deadline.remaining() <= 0:
            error: BackupError = DeadlineExceeded(f"No time left to copy {backup.id} to {region.region}.")
            return CopyAnswer(region=region.region, outcome="failed", code=error.code, message=error.message), error, None
        try:
            made = self.core.copy_backup(
                kind,
                backup.id,
                region=region.region,
                display_name=backup.display_name,
                kms_key_id=self.settings.kms_key_for(region.region),
                retry_token=copy_retry_token(backup.id, region.region),
                deadline=deadline,
            ).backup
        except BackupError as failed:
            return CopyAnswer(region=region.region, outcome="failed", code=failed.code, message=failed.message), failed, None
        # The copy lives in the destination region: it is tagged there, on that region's endpoint.
        marked = set_mark(region.core, mark, kind, made, deadline, copy=True)
        answer = CopyAnswer(region=region.region, outcome="created", id=made.id, lifecycle_state=made.lifecycle_state, marked=marked)
        return answer, None, made

    def _prune_copies(
        self, kind: Kind, backup: OciBackup, region: RegionCopies, made: OciBackup | None, now: datetime, deadline: Deadline
    ) -> Pruning:
        # The copy just made is still being made (never deleted); the rest as listed, newest first.
        listed = [c for c in region.copies if c.id != (made.id if made else None)]
        return prune(
            region.core,
            kind,
            f"{region.region}:{backup.source_id}",
            listed,
            self._retention(now),
            dry_run=self.settings.prune_dry_run,
            deadline=deadline,
            refused=self.refused,
        )
