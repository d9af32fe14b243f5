"""What a call's jobs came to: one result per job, and the call as a whole (its trigger, its
results, or the error that ended it before any job)."""

from __future__ import annotations

from typing import NamedTuple

from .answers import BackupAnswer, LifecycleAnswer, RestoreTestAnswer, SweepAnswer
from .domain import Trigger
from .errors import BackupError, ClientError, RestoreTestFailed


class SweepOutcome(NamedTuple):
    """A sweep's answer and every volume it could not back up (the answer lists a bounded number)."""

    answer: SweepAnswer
    errors: tuple[tuple[str, BackupError], ...] = ()
    created: int = 0

    @property
    def summary(self) -> str:
        report = self.answer.sweep
        # A failed restore test is reported as one (its metric, its message); the volumes may all be protected.
        if any(not isinstance(error, RestoreTestFailed) for _, error in self.errors):
            return "partial" if report.counts.backups else "failed"
        if report.dry_run:
            return "dry-run"
        if report.batches:
            return "fanned-out"
        return "created" if report.counts.backups else "protected"


class JobResult(NamedTuple):
    resource_id: str
    backup: BackupAnswer | None = None
    lifecycle: LifecycleAnswer | None = None
    skip_reason: str | None = None
    error: BackupError | None = None
    restore_test: RestoreTestAnswer | None = None
    sweep: SweepOutcome | None = None


def first_deciding(errors: list[BackupError]) -> BackupError | None:
    """Of several errors, the one that sets the status: a transient one first (a redelivery can still mend it)."""
    transient = [e for e in errors if e.transient]
    return (transient or errors)[0] if errors else None


class CallResults(NamedTuple):
    """A whole call: the trigger it was (None when the input could not be read), its jobs' results,
    or the error that ended it before any job."""

    trigger: Trigger | None = None
    results: tuple[JobResult, ...] = ()
    error: BackupError | None = None

    @property
    def errors(self) -> list[BackupError]:
        if self.error is not None:
            return [self.error]
        return [r.error for r in self.results if r.error is not None] + [e for r in self.results if r.sweep for _, e in r.sweep.errors]

    @property
    def deciding_error(self) -> BackupError | None:
        return first_deciding(self.errors)

    @property
    def rejected(self) -> bool:
        """The input itself was refused before any work (not JSON, an unknown field, a malformed OCID,
        a method other than POST): the caller is told, and nobody is paged for a typo. A well-formed
        request that OCI then refuses (a volume not found) is still a failure someone may need to see."""
        return self.trigger is None and isinstance(self.error, ClientError)

    @property
    def summary(self) -> str:
        """One word (or a few, joined) for the log line and the metrics' `outcome` dimension."""
        if self.rejected:
            return "rejected"
        if self.error is not None:
            return "failed"
        if self.trigger is not None and self.trigger.ignored:
            return "ignored"
        sweeps = [r.sweep for r in self.results if r.sweep]
        if sweeps:
            return sweeps[0].summary
        failed = sum(1 for r in self.results if r.error)
        if failed:
            return "failed" if failed == len(self.results) else "partial"
        kinds: set[str] = {r.backup.outcome or "created" for r in self.results if r.backup}
        kinds |= {"lifecycle" for r in self.results if r.lifecycle}
        kinds |= {"skipped" for r in self.results if r.skip_reason}
        kinds |= {f"restore-test-{r.restore_test.verdict}" for r in self.results if r.restore_test}
        return ",".join(sorted(kinds)) or "ignored"
