"""Raw call → arrival → source → trigger → service → outcome → answer, with one log line per call
and, when configured, a failure message and the call's metrics."""

from __future__ import annotations

import io
import logging
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, NamedTuple, Protocol

from . import logs
from .deadline import Deadline
from .delivery import arrival_of, is_api_gateway
from .errors import BackupError, InternalError
from .outcome import CallOutcome
from .settings import Settings, load_settings
from .sources import parse_trigger

if TYPE_CHECKING:
    from .alerts import Alerts
    from .service import BackupService

log = logs.configure()


class InvokeContext(Protocol):
    """The parts of `fdk.context.InvokeContext` the function reads."""

    def CallID(self) -> str: ...  # noqa: N802 - fdk's names
    def Config(self) -> Mapping[str, str]: ...  # noqa: N802
    def Headers(self) -> Mapping[str, Any]: ...  # noqa: N802
    def HTTPHeaders(self) -> Mapping[str, Any]: ...  # noqa: N802
    def Method(self) -> str | None: ...  # noqa: N802
    def Deadline(self) -> str: ...  # noqa: N802


class Reply(NamedTuple):
    status: int
    body: str


class _Container(NamedTuple):
    """What lives as long as the container, per config: the signer, clients and their pools."""

    service: BackupService
    alerts: Alerts


_containers: dict[Settings, _Container] = {}


def _container(settings: Settings) -> _Container:
    made = _containers.get(settings)
    if made is None:
        # The SDK loads on the first call that needs it, not when func.py is imported.
        from .alerts import Alerts
        from .clients.base import Credentials
        from .clients.core import CoreClient
        from .service import BackupService

        credentials = Credentials(settings)
        made = _containers[settings] = _Container(BackupService(CoreClient(credentials, settings), settings), Alerts(settings, credentials))
    return made


def handle_call(ctx: InvokeContext, data: io.BytesIO | bytes | str | None) -> Reply:
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
        outcome = _run(ctx, data, settings, deadline, record)
    except BackupError as error:
        outcome = CallOutcome(error=error)
    except Exception:  # the last line of defence: never a traceback in the answer
        log.exception("unexpected failure")
        outcome = CallOutcome(error=InternalError("The function failed unexpectedly; the function log has the details."))
    status, answer = outcome.answer(gateway)
    duration_ms = (time.perf_counter() - started) * 1000
    if settings is not None and deadline is not None:
        record.update(_report(outcome, settings, deadline, call_id, gateway, duration_ms))
    record.update(outcome.log_fields(), status=status, durationMs=round(duration_ms, 1))
    log.log(logging.ERROR if outcome.errors else logging.INFO, "backup call finished", extra=record)
    logs.call_id_var.reset(token)
    return Reply(status, answer.to_json())


def _run(
    ctx: InvokeContext, data: io.BytesIO | bytes | str | None, settings: Settings, deadline: Deadline, record: dict[str, Any]
) -> CallOutcome:
    arrival = arrival_of(ctx.Headers(), call_id=ctx.CallID() or "", method=ctx.Method(), http_headers=ctx.HTTPHeaders())
    record["delivery"] = arrival.delivery
    trigger = parse_trigger(_read_body(data), arrival)
    if trigger.ignored:
        return CallOutcome(trigger)
    return CallOutcome(trigger, _container(settings).service.run(trigger, deadline))


def _report(
    outcome: CallOutcome, settings: Settings, deadline: Deadline, call_id: str, gateway: bool, duration_ms: float
) -> dict[str, Any]:
    if not (settings.failure_topic_id or settings.metrics_namespace):
        return {}
    from .alerts import CallFacts

    try:
        return _container(settings).alerts.report(outcome, CallFacts(call_id, gateway, duration_ms), deadline)
    except Exception:  # alerts never change the answer
        log.exception("alerting failed")
        return {"alertFailures": 1}


def _read_body(data: io.BytesIO | bytes | str | None) -> bytes:
    if data is None:
        return b""
    if isinstance(data, str):
        return data.encode()
    if isinstance(data, (bytes, bytearray)):
        return bytes(data)
    return data.read()
