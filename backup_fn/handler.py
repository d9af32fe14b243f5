"""Raw call → envelope → request → OCI → answer, with one log line per call."""

from __future__ import annotations

import io
import json
import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from . import logs
from .deadline import Deadline
from .errors import BackupError, InternalError
from .service import BackupService, JobResult
from .settings import Settings, load_settings
from .triggers import Trigger, build_trigger, delivery_of, parse_body

if TYPE_CHECKING:
    from .oci_gateway import OciGateway

log = logs.configure()


class InvokeContext(Protocol):
    """The parts of `fdk.context.InvokeContext` the function reads."""

    def CallID(self) -> str: ...  # noqa: N802 - fdk's names
    def Config(self) -> Mapping[str, str]: ...  # noqa: N802
    def Headers(self) -> Mapping[str, Any]: ...  # noqa: N802
    def HTTPHeaders(self) -> Mapping[str, Any]: ...  # noqa: N802
    def Method(self) -> str | None: ...  # noqa: N802
    def Deadline(self) -> str: ...  # noqa: N802


@dataclass(frozen=True)
class Answer:
    status: int
    body: dict[str, Any]

    def json(self) -> str:
        return json.dumps(self.body, separators=(",", ":"))


_services: dict[Settings, BackupService] = {}


def _service(settings: Settings) -> BackupService:
    """One gateway (signer, HTTP session, connection pool) per container and config."""
    service = _services.get(settings)
    if service is None:
        from .oci_gateway import OciGateway  # the SDK loads on the first call that needs it

        gateway: OciGateway = OciGateway(settings)
        service = _services[settings] = BackupService(gateway, settings)
    return service


def handle_call(ctx: InvokeContext, data: io.BytesIO | bytes | str | None) -> Answer:
    started = time.perf_counter()
    call_id = ctx.CallID() or ""
    token = logs.call_id_var.set(call_id)
    headers = ctx.Headers()
    gateway = str(headers.get("fn-intent", "")).lower() == "httprequest"
    record: dict[str, Any] = {"gateway": gateway}
    try:
        answer = _answer(ctx, data, gateway, record)
    except Exception:  # the last line of defence: never a traceback in the answer
        log.exception("unexpected failure")
        error = InternalError("The function failed unexpectedly; the function log has the details.")
        answer = _error_answer(error, gateway)
        record.update(outcome="failed", errorCode=error.code)
    record.update(status=answer.status, durationMs=round((time.perf_counter() - started) * 1000, 1))
    failed = record.get("outcome") in ("failed", "partial")
    log.log(logging.ERROR if failed else logging.INFO, "backup call finished", extra=record)
    logs.call_id_var.reset(token)
    return answer


def _answer(ctx: InvokeContext, data: io.BytesIO | bytes | str | None, gateway: bool, record: dict[str, Any]) -> Answer:
    try:
        settings = load_settings(ctx.Config())
        if logging.getLevelName(log.level) != settings.log_level:
            log.setLevel(settings.log_level)  # setLevel clears every logger's cache: only on a change
        deadline = Deadline.from_header(ctx.Deadline(), margin=settings.deadline_margin_seconds)
        delivery, identity = delivery_of(ctx.Headers(), gateway=gateway, method=ctx.Method(), http_headers=ctx.HTTPHeaders())
        record["delivery"] = delivery
        body = parse_body(_read_body(data))
        trigger = build_trigger(body, delivery=delivery, delivery_identity=identity, call_id=ctx.CallID() or "")
    except BackupError as error:
        record.update(outcome="failed", errorCode=error.code, error=error.message)
        return _error_answer(error, gateway)
    record.update(trigger=trigger.source, triggerId=trigger.trigger_id)
    if trigger.ignored:
        record.update(outcome="ignored", reason=trigger.ignored)
        return Answer(200, _ignored(trigger, trigger.ignored))
    results = _service(settings).run(trigger, deadline)
    _record_results(record, results)
    return _results_answer(trigger, results, gateway)


def _read_body(data: io.BytesIO | bytes | str | None) -> bytes:
    if data is None:
        return b""
    if isinstance(data, str):
        return data.encode()
    if isinstance(data, (bytes, bytearray)):
        return bytes(data)
    return data.read()


def _ignored(trigger: Trigger, reason: str, resource_id: str | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"ignored": True, "reason": reason, "trigger": trigger.source}
    if resource_id:
        body["resourceId"] = resource_id
    return body


def status_for(error: BackupError, gateway: bool) -> int:
    """Behind API Gateway the caller sees the HTTP status; Events and Notifications see only
    200 or 502, and 502 invites a redelivery, so it is kept for what a retry can fix."""
    if gateway:
        return error.gateway_status
    return 502 if error.transient else 200


def _error_answer(error: BackupError, gateway: bool) -> Answer:
    return Answer(status_for(error, gateway), error.body())


def _results_answer(trigger: Trigger, results: list[JobResult], gateway: bool) -> Answer:
    if len(results) == 1:
        only = results[0]
        if only.error:
            return _error_answer(only.error, gateway)
        if only.skipped:
            return Answer(200, _ignored(trigger, only.skipped, only.resource_id))
        assert only.answer is not None
        return Answer(200, only.answer.body())
    body: dict[str, Any] = {"backups": [r.answer.body() for r in results if r.answer]}
    failures = [r for r in results if r.error]
    skipped = [{"resourceId": r.resource_id, "reason": r.skipped} for r in results if r.skipped]
    if skipped:
        body["skipped"] = skipped
    if not failures:
        return Answer(200, body)
    body["failures"] = [{"resourceId": r.resource_id, **r.error.body()} for r in failures if r.error]
    errors = [r.error for r in failures if r.error]
    transient = [e for e in errors if e.transient]
    if transient:
        return Answer(status_for(transient[0], gateway), body)
    if len(failures) == len(results):
        return Answer(status_for(errors[0], gateway), body)
    return Answer(200, body)


def _record_results(record: dict[str, Any], results: list[JobResult]) -> None:
    answers = [r.answer for r in results if r.answer]
    errors = [r.error for r in results if r.error]
    record["resource"] = ",".join(r.resource_id for r in results)
    if answers:
        record["backupId"] = ",".join(a.id for a in answers)
        record["lifecycleState"] = ",".join(a.lifecycle_state for a in answers)
    request_ids = [a.opc_request_id for a in answers if a.opc_request_id] + [e.opc_request_id for e in errors if e.opc_request_id]
    if request_ids:
        record["opcRequestId"] = ",".join(request_ids)
    if errors:
        record["errorCode"] = ",".join(e.code for e in errors)
        record["error"] = " | ".join(e.message for e in errors)
    outcomes = {a.outcome for a in answers} | ({"skipped"} if any(r.skipped for r in results) else set())
    if errors:
        record["outcome"] = "partial" if answers else "failed"
    else:
        record["outcome"] = ",".join(sorted(outcomes))
