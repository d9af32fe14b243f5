"""What a call's results mean: the answer and its status for each delivery, whether the answer
invites a redelivery, the counts behind the metrics, and the fields of the call's log line."""

from __future__ import annotations

from typing import Any, NamedTuple

from .answers import (
    Answer,
    BackupAnswer,
    BackupsAnswer,
    ErrorAnswer,
    Failure,
    IgnoredAnswer,
    LifecycleAnswer,
    SkippedResource,
)
from .domain import Trigger
from .errors import BackupError

# An alarm may name hundreds of volumes; the answer lists at most this many of each kind and counts the rest.
MAX_LISTED = 200


class JobResult(NamedTuple):
    resource_id: str
    backup: BackupAnswer | None = None
    lifecycle: LifecycleAnswer | None = None
    skipped: str | None = None
    error: BackupError | None = None


def status_for(error: BackupError, gateway: bool) -> int:
    """Behind API Gateway the caller sees the HTTP status; Events and Notifications see only 200 or
    502, and 502 invites a redelivery, so it is kept for what a retry can fix."""
    if gateway:
        return error.gateway_status
    return 502 if error.transient else 200


def first_deciding(errors: list[BackupError]) -> BackupError | None:
    """Of several errors, the one that sets the status: a transient one first (a redelivery can still mend it)."""
    transient = [e for e in errors if e.transient]
    return (transient or errors)[0] if errors else None


def error_answer(error: BackupError) -> ErrorAnswer:
    return ErrorAnswer(code=error.code, message=error.message, opc_request_id=error.opc_request_id)


class CallOutcome(NamedTuple):
    """A whole call: the trigger it was (None when the input could not be read), its jobs' results,
    or the error that ended it before any job."""

    trigger: Trigger | None = None
    results: tuple[JobResult, ...] = ()
    error: BackupError | None = None

    @property
    def errors(self) -> list[BackupError]:
        if self.error is not None:
            return [self.error]
        return [r.error for r in self.results if r.error is not None]

    @property
    def deciding_error(self) -> BackupError | None:
        """The error that sets the status: a transient one first (a redelivery can still mend it)."""
        errors = self.errors
        return first_deciding(errors)

    @property
    def outcome(self) -> str:
        if self.error is not None:
            return "failed"
        if self.trigger is not None and self.trigger.ignored:
            return "ignored"
        failed = sum(1 for r in self.results if r.error)
        if failed:
            return "failed" if failed == len(self.results) else "partial"
        kinds: set[str] = {r.backup.outcome or "created" for r in self.results if r.backup}
        kinds |= {"lifecycle" for r in self.results if r.lifecycle}
        kinds |= {"skipped" for r in self.results if r.skipped}
        return ",".join(sorted(kinds)) or "ignored"

    def answer(self, gateway: bool) -> tuple[int, Answer]:
        if self.error is not None:
            return status_for(self.error, gateway), error_answer(self.error)
        trigger = self.trigger
        assert trigger is not None
        skipped = [SkippedResource(resource_id=s.resource_id, reason=s.reason) for s in trigger.skipped[:MAX_LISTED]]
        if trigger.ignored:
            return 200, IgnoredAnswer(reason=trigger.ignored, trigger=trigger.source, skipped=skipped or None)
        if len(self.results) == 1 and not trigger.skipped:
            return self._single(self.results[0], trigger, gateway)
        skipped += [SkippedResource(resource_id=r.resource_id, reason=r.skipped) for r in self.results if r.skipped]
        failures = [_failure(r.resource_id, r.error) for r in self.results if r.error]
        body = BackupsAnswer(
            backups=[r.backup for r in self.results if r.backup][:MAX_LISTED],
            failures=failures[:MAX_LISTED] or None,
            skipped=skipped[:MAX_LISTED] or None,
        )
        deciding = self.deciding_error
        if deciding is None:
            return 200, body
        if deciding.transient or len(failures) == len(self.results):
            return status_for(deciding, gateway), body
        return 200, body

    def _single(self, result: JobResult, trigger: Trigger, gateway: bool) -> tuple[int, Answer]:
        if result.lifecycle is not None:
            return (status_for(result.error, gateway) if result.error else 200), result.lifecycle
        if result.error:
            return status_for(result.error, gateway), error_answer(result.error)
        if result.skipped:
            return 200, IgnoredAnswer(reason=result.skipped, trigger=trigger.source, resource_id=result.resource_id)
        assert result.backup is not None
        return 200, result.backup

    def will_retry(self, gateway: bool) -> bool:
        """Whether the answer invites the sender to deliver the trigger again."""
        deciding = self.deciding_error
        if deciding is None:
            return False
        status, _ = self.answer(gateway)
        return deciding.transient and (status >= 500 or status == 429)

    def counts(self) -> dict[str, int]:
        lifecycles = [r.lifecycle for r in self.results if r.lifecycle]
        return {
            "created": sum(1 for r in self.results if r.backup and r.backup.outcome == "created"),
            "failed": len(self.errors),
            "copied": sum(1 for life in lifecycles for c in life.copies or () if c.outcome != "failed"),
            "deleted": sum(len(life.pruned or ()) for life in lifecycles if not life.dry_run),
        }

    def log_fields(self) -> dict[str, Any]:
        fields: dict[str, Any] = {"outcome": self.outcome}
        trigger = self.trigger
        if trigger is not None:
            fields.update(trigger=trigger.source, triggerId=trigger.trigger_id)
            if trigger.ignored:
                fields["reason"] = trigger.ignored
            if trigger.skipped:
                fields["skipped"] = [{"resourceId": s.resource_id, "reason": s.reason} for s in trigger.skipped[:MAX_LISTED]]
        if self.results:
            fields["resource"] = ",".join(r.resource_id for r in self.results[:MAX_LISTED])
        backups = [r.backup for r in self.results if r.backup] + [r.lifecycle.backup for r in self.results if r.lifecycle]
        if backups:
            fields["backupId"] = ",".join(b.id for b in backups[:MAX_LISTED])
            fields["lifecycleState"] = ",".join(b.lifecycle_state for b in backups[:MAX_LISTED])
        request_ids = [b.opc_request_id for b in backups if b.opc_request_id] + [e.opc_request_id for e in self.errors if e.opc_request_id]
        if request_ids:
            fields["opcRequestId"] = ",".join(request_ids[:MAX_LISTED])
        errors = self.errors
        if errors:
            fields["errorCode"] = ",".join(e.code for e in errors[:MAX_LISTED])
            fields["error"] = " | ".join(e.message for e in errors[:MAX_LISTED])
        for life in (r.lifecycle for r in self.results if r.lifecycle):
            fields.update(copies=[c.model_dump(by_alias=True, exclude_none=True) for c in life.copies or ()], pruned=life.pruned or [])
            fields.update(kept=life.kept, dryRun=life.dry_run)
        return fields


def _failure(resource_id: str, error: BackupError) -> Failure:
    return Failure(resource_id=resource_id, code=error.code, message=error.message, opc_request_id=error.opc_request_id)
