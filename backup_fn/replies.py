"""The answer to a call and its status, decided once: what each delivery sees, and whether the
answer invites the sender to deliver the trigger again."""

from __future__ import annotations

from typing import NamedTuple

from .answers import Answer, BackupsAnswer, Counts, ErrorAnswer, Failure, IgnoredAnswer, RestoreTestEnvelope, SkippedResource
from .domain import Trigger
from .errors import BackupError
from .results import CallResults, JobResult, first_deciding

# An alarm may name hundreds of volumes; the answer lists at most this many of each kind and counts them all.
MAX_LISTED = 200


class Reply(NamedTuple):
    status: int
    answer: Answer
    will_retry: bool


def status_for(error: BackupError, gateway: bool) -> int:
    """Behind API Gateway the caller sees the HTTP status; Events and Notifications see only 200 or
    502, and 502 invites a redelivery, so it is kept for what a retry can fix."""
    if gateway:
        return error.gateway_status
    return 502 if error.transient else 200


def reply_for(call: CallResults, gateway: bool) -> Reply:
    status, answer = _answer(call, gateway)
    deciding = call.deciding_error
    will_retry = deciding is not None and deciding.transient and (status >= 500 or status == 429)
    return Reply(status, answer, will_retry)


def _answer(call: CallResults, gateway: bool) -> tuple[int, Answer]:
    if call.error is not None:
        return status_for(call.error, gateway), ErrorAnswer.of(call.error)
    trigger = call.trigger
    assert trigger is not None
    skipped = [SkippedResource(resource_id=s.resource_id, reason=s.reason) for s in trigger.skipped]
    if trigger.ignored:
        return 200, IgnoredAnswer(reason=trigger.ignored, trigger=trigger.source, skipped=skipped[:MAX_LISTED] or None)
    sweep = next((r.sweep for r in call.results if r.sweep), None)
    if sweep is not None:
        # What a sweep or batch could not finish is delivered again (a batch) or found by the next sweep.
        deciding = first_deciding([error for _, error in sweep.errors])
        return (status_for(deciding, gateway) if deciding is not None and deciding.transient else 200), sweep.answer
    if len(call.results) == 1 and not trigger.skipped:
        return _single(call.results[0], trigger, gateway)
    skipped += [SkippedResource(resource_id=r.resource_id, reason=r.skip_reason) for r in call.results if r.skip_reason]
    failures = [Failure.of(r.resource_id, r.error) for r in call.results if r.error]
    backups = [r.backup for r in call.results if r.backup]
    body = BackupsAnswer(
        backups=backups[:MAX_LISTED],
        failures=failures[:MAX_LISTED] or None,
        skipped=skipped[:MAX_LISTED] or None,
        counts=Counts(backups=len(backups), failures=len(failures), skipped=len(skipped)),
    )
    deciding = call.deciding_error
    if deciding is not None and (deciding.transient or len(failures) == len(call.results)):
        return status_for(deciding, gateway), body
    return 200, body


def _single(result: JobResult, trigger: Trigger, gateway: bool) -> tuple[int, Answer]:
    if result.lifecycle is not None:
        return (status_for(result.error, gateway) if result.error else 200), result.lifecycle
    if result.restore_test is not None:
        # A failed test is the test's answer (and its failure message), not a failed call: 200 unless a redelivery can help.
        error = result.error
        status = status_for(error, gateway) if error is not None and error.transient else 200
        return status, RestoreTestEnvelope(restore_test=result.restore_test)
    if result.error:
        return status_for(result.error, gateway), ErrorAnswer.of(result.error)
    if result.skip_reason:
        return 200, IgnoredAnswer(reason=result.skip_reason, trigger=trigger.source, resource_id=result.resource_id)
    assert result.backup is not None
    return 200, result.backup
