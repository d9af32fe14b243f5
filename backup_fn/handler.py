"""Raw call → arrival → source → trigger → use cases (by the runner) → reply, with one log line
per call and, when configured, a failure message and the call's metrics. The handler wires the
use cases to their clients, once per container and config."""

from __future__ import annotations

import io
import logging
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, NamedTuple, Protocol

from . import logs
from .deadline import Deadline
from .delivery import arrival_of, is_api_gateway
from .errors import BackupError, InternalError, InvalidRequest
from .replies import MAX_LISTED, Reply, reply_for
from .results import CallResults
from .settings import Settings, load_settings
from .sources import parse_trigger

if TYPE_CHECKING:
    from .alerts import Alerts
    from .clients.core import CoreClient
    from .clients.signer import Credentials
    from .domain import Trigger
    from .results import JobResult
    from .runner import JobRunner, UseCase
    from .usecases.backup import Backup
    from .usecases.sweep import SweepCompanion

log = logs.configure()


class InvokeContext(Protocol):
    """The parts of `fdk.context.InvokeContext` the function reads."""

    def CallID(self) -> str: ...  # noqa: N802 - fdk's names
    def Config(self) -> Mapping[str, str]: ...  # noqa: N802
    def Headers(self) -> Mapping[str, Any]: ...  # noqa: N802
    def HTTPHeaders(self) -> Mapping[str, Any]: ...  # noqa: N802
    def Method(self) -> str | None: ...  # noqa: N802
    def Deadline(self) -> str: ...  # noqa: N802


class Response(NamedTuple):
    status: int
    body: str


class _Container(NamedTuple):
    """What lives as long as the container, per config: the signer, clients and their pools."""

    runner: JobRunner
    alerts: Alerts


_containers: dict[Settings, _Container] = {}


def _container(settings: Settings) -> _Container:
    made = _containers.get(settings)
    if made is None:
        # The SDK loads on the first call that needs it, not when func.py is imported.
        from .alerts import Alerts
        from .clients.core import CoreClient
        from .clients.signer import Credentials
        from .domain import BackupJob, LifecycleJob, RestoreTestJob, SweepJob
        from .runner import JobRunner
        from .usecases.backup import Backup
        from .usecases.lifecycle import Lifecycle
        from .usecases.restore_test import RestoreTests

        credentials = Credentials(settings)
        core = CoreClient(credentials, settings.core_endpoint)
        restore_tests = RestoreTests(core, settings)
        backup = Backup(core, settings, restore_tests if settings.restore_tests_enabled else None)
        companions = (restore_tests,) if settings.restore_tests_enabled else ()
        sweep = _OnFirstUse(lambda: _sweep(core, backup, settings, credentials, companions))
        use_cases: dict[type, UseCase] = {
            BackupJob: backup,
            LifecycleJob: Lifecycle(core, settings),
            RestoreTestJob: restore_tests,
            SweepJob: sweep,
        }
        runner = JobRunner(use_cases, settings.max_parallel_calls)
        made = _containers[settings] = _Container(runner, Alerts(settings, credentials))
    return made


class _OnFirstUse:
    """A use case built when its first job comes: a container that never sweeps never loads the sweep."""

    def __init__(self, build: Callable[[], UseCase]) -> None:
        self._build = build
        self._made: UseCase | None = None
        self._lock = threading.Lock()

    def run(self, job: Any, trigger: Trigger, deadline: Deadline) -> JobResult:
        with self._lock:
            if self._made is None:
                self._made = self._build()
        return self._made.run(job, trigger, deadline)


def _sweep(core: CoreClient, backup: Backup, settings: Settings, credentials: Credentials, companions: Sequence[SweepCompanion]) -> UseCase:
    from .usecases.sweep import Sweep

    publisher = None
    if settings.sweep_topic_id:
        from .clients.notifications import NotificationsClient

        publisher = NotificationsClient(credentials, settings.notifications_endpoint)
    return Sweep(core, backup, settings, publisher, companions)


def handle_call(ctx: InvokeContext, data: io.BytesIO | bytes | str | None) -> Response:
    started = time.perf_counter()
    call_id = ctx.CallID() or ""
    token = logs.call_id_var.set(call_id)
    gateway = is_api_gateway(ctx.Headers())
    record: dict[str, Any] = {"gateway": gateway}
    settings: Settings | None = None
    deadline: Deadline | None = None
    try:
        settings = load_settings(ctx.Config())
        if logging.getLevelName(log.level) != settings.log_level:
            log.setLevel(settings.log_level)  # setLevel clears every logger's cache: only on a change
        deadline = Deadline.from_header(ctx.Deadline(), margin=settings.deadline_margin_seconds)
        call = _run(ctx, data, settings, deadline, record)
    except BackupError as error:
        call = CallResults(error=error)
    except Exception:  # the last line of defence: never a traceback in the answer
        log.exception("unexpected failure")
        call = CallResults(error=InternalError("The function failed unexpectedly; the function log has the details."))
    reply = reply_for(call, gateway)
    duration_ms = (time.perf_counter() - started) * 1000
    if settings is not None and deadline is not None:
        record.update(_report(call, reply, settings, deadline, call_id, duration_ms))
    record.update(log_fields(call), status=reply.status, durationMs=round(duration_ms, 1))
    log.log(logging.ERROR if call.errors else logging.INFO, "backup call finished", extra=record)
    logs.call_id_var.reset(token)
    return Response(reply.status, reply.answer.to_json())


def _run(
    ctx: InvokeContext, data: io.BytesIO | bytes | str | None, settings: Settings, deadline: Deadline, record: dict[str, Any]
) -> CallResults:
    arrival = arrival_of(ctx.Headers(), call_id=ctx.CallID() or "", method=ctx.Method(), http_headers=ctx.HTTPHeaders())
    record["delivery"] = arrival.delivery
    trigger = parse_trigger(_read_body(data), arrival)
    _refuse_own_tags(trigger, settings)
    if trigger.ignored:
        return CallResults(trigger)
    return CallResults(trigger, _container(settings).runner.run(trigger, deadline))


def _refuse_own_tags(trigger: Trigger, settings: Settings) -> None:
    """The function's provenance tags and its mark are its alone: a request naming them is the caller's error.
    An event's tags are the volume's own (a volume may well carry `backup-trigger`): the function's win over them."""
    from .domain import BackupJob, own_tags_named
    from .models import BackupRequest

    if trigger.source != "request":
        return
    for job in trigger.jobs:
        if isinstance(job, BackupJob) and isinstance(job.target, BackupRequest):
            named = own_tags_named(settings.mark, job.target.freeform_tags, job.target.defined_tags)
            if named:
                raise InvalidRequest(f"Invalid backup request: {named}: the function sets this tag itself; a request may not.")


def _report(call: CallResults, reply: Reply, settings: Settings, deadline: Deadline, call_id: str, duration_ms: float) -> dict[str, Any]:
    if not (settings.failure_topic_id or settings.metrics_namespace):
        return {}
    from .alerts import CallFacts

    try:
        return _container(settings).alerts.report(call, CallFacts(call_id, reply.will_retry, duration_ms), deadline)
    except Exception:  # alerts never change the answer
        log.exception("alerting failed")
        return {"alertFailures": 1}


def log_fields(call: CallResults) -> dict[str, Any]:
    """The call's log line: what it was, what it made, and every opc-request-id an operator may need."""
    fields: dict[str, Any] = {"outcome": call.summary}
    trigger = call.trigger
    if trigger is not None:
        fields.update(trigger=trigger.source, triggerId=trigger.trigger_id)
        if trigger.ignored:
            fields["reason"] = trigger.ignored
        if trigger.skipped:
            fields["skipped"] = [{"resourceId": s.resource_id, "reason": s.reason} for s in trigger.skipped[:MAX_LISTED]]
    if call.results:
        fields["resource"] = ",".join(r.resource_id for r in call.results[:MAX_LISTED])
    backups = [r.backup for r in call.results if r.backup] + [r.lifecycle.backup for r in call.results if r.lifecycle]
    if backups:
        fields["backupId"] = ",".join(b.id for b in backups[:MAX_LISTED])
        fields["lifecycleState"] = ",".join(b.lifecycle_state for b in backups[:MAX_LISTED])
    errors = call.errors
    request_ids = [b.opc_request_id for b in backups if b.opc_request_id] + [e.opc_request_id for e in errors if e.opc_request_id]
    if request_ids:
        fields["opcRequestId"] = ",".join(request_ids[:MAX_LISTED])
    if errors:
        fields["errorCode"] = ",".join(e.code for e in errors[:MAX_LISTED])
        fields["error"] = " | ".join(e.message for e in errors[:MAX_LISTED])
    for sweep in (r.sweep.answer.sweep for r in call.results if r.sweep):
        fields.update(
            sweepPart=sweep.part,
            slot=sweep.slot,
            dryRun=sweep.dry_run,
            inScope=sweep.in_scope,
            withinRpo=sweep.within_rpo,
            beyondRpo=sweep.beyond_rpo,
            excluded=sweep.excluded,
            batches=sweep.batches,
            backupsMade=sweep.counts.backups,
            failures=sweep.counts.failures,
            restoreTests=sweep.counts.restore_tests,
        )
        if sweep.backups:
            fields["backupId"] = ",".join(b.id for b in sweep.backups)
        if sweep.would_back_up:
            fields["wouldBackUp"] = ",".join(sweep.would_back_up)
    for life in (r.lifecycle for r in call.results if r.lifecycle):
        fields.update(
            copies=[c.model_dump(by_alias=True, exclude_none=True) for c in life.copies or ()], pruned=(life.pruned or [])[:MAX_LISTED]
        )
        fields.update(kept=life.kept, dryRun=life.dry_run)
        if life.counts is not None:
            fields.update(prunedCount=life.counts.pruned, copiesPrunedCount=life.counts.copies_pruned)
    tests = [r.restore_test for r in call.results if r.restore_test]
    if tests:
        fields["restoreTests"] = [test.model_dump(by_alias=True, exclude_none=True) for test in tests[:MAX_LISTED]]
    return fields


def _read_body(data: io.BytesIO | bytes | str | None) -> bytes:
    if data is None:
        return b""
    if isinstance(data, str):
        return data.encode()
    if isinstance(data, (bytes, bytearray)):
        return bytes(data)
    return data.read()
