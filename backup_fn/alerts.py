"""Failures that reach a person: one Notifications message per failed or partly failed call
(FAILURE_TOPIC_ID) and one PostMetricData per call (METRICS_NAMESPACE). Best effort: they run
after the answer is decided, within what is left of the deadline, and never change the answer.
A caller's own invalid request publishes nothing and counts as `RequestsRejected`: a typo must
not page anyone."""

from __future__ import annotations

import json
import logging
import time
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, NamedTuple

from .answers import LifecycleAnswer
from .deadline import Deadline
from .errors import BackupError, RestoreNotFinished, RestoreTestFailed
from .results import CallResults
from .settings import Settings

if TYPE_CHECKING:
    from .answers import RestoreTestAnswer
    from .clients.monitoring import MonitoringClient
    from .clients.notifications import NotificationsClient
    from .clients.signer import Credentials

log = logging.getLogger("backup_fn")

# Alerts may use half the margin kept for answering, and never more than this.
MAX_ALERT_SECONDS = 3.0
MAX_TITLE_LENGTH = 255
MAX_FAILURES_IN_MESSAGE = 20


class CallFacts(NamedTuple):
    call_id: str
    will_retry: bool
    duration_ms: float


class Alerts:
    def __init__(self, settings: Settings, credentials: Credentials) -> None:
        self.settings = settings
        self.credentials = credentials
        self._notifications: NotificationsClient | None = None
        self._monitoring: MonitoringClient | None = None

    def report(self, call: CallResults, facts: CallFacts, deadline: Deadline) -> dict[str, Any]:
        """Publishes what the settings ask for; the fields to add to the call's log line."""
        budget = Deadline(at=min(time.monotonic() + MAX_ALERT_SECONDS, deadline.at + self.settings.deadline_margin_seconds / 2))
        fields: dict[str, Any] = {}
        if self.settings.failure_topic_id and call.errors and not call.rejected:
            fields["notified"] = self._notify(self.settings.failure_topic_id, call, facts, budget)
        if self.settings.metrics_namespace:
            fields["metricsPosted"] = self._post_metrics(self.settings.metrics_namespace, call, facts, budget)
        failed = [name for name, ok in fields.items() if ok is False]
        if failed:
            fields["alertFailures"] = len(failed)
        return fields

    def _notify(self, topic_id: str, call: CallResults, facts: CallFacts, deadline: Deadline) -> bool:
        title, body = failure_message(call, facts)
        try:
            if self._notifications is None:
                from .clients.notifications import NotificationsClient

                self._notifications = NotificationsClient(self.credentials, self.settings.notifications_endpoint)
            self._notifications.publish(topic_id, title, body, deadline)
        except BackupError as error:
            log.warning(
                "failure notification not published",
                extra={"errorCode": error.code, "error": error.message, "opcRequestId": error.opc_request_id, "topicId": topic_id},
            )
            return False
        return True

    def _post_metrics(self, namespace: str, call: CallResults, facts: CallFacts, deadline: Deadline) -> bool:
        try:
            compartment_id = self.settings.metrics_compartment_id or self.credentials.compartment_id()
            if not compartment_id:
                log.warning("metrics not posted: set METRICS_COMPARTMENT_ID (the resource principal names no compartment)")
                return False
            if self._monitoring is None:
                from .clients.monitoring import MonitoringClient

                self._monitoring = MonitoringClient(self.credentials, self.settings.telemetry_endpoint)
            refused, request_id = self._monitoring.post_metric_data(metric_data(namespace, compartment_id, call, facts), deadline)
        except BackupError as error:
            log.warning("metrics not posted", extra={"errorCode": error.code, "error": error.message, "opcRequestId": error.opc_request_id})
            return False
        if refused:
            log.warning("metrics partly refused", extra={"failedMetricsCount": refused, "opcRequestId": request_id})
            return False
        return True


def failure_message(call: CallResults, facts: CallFacts) -> tuple[str, str]:
    """A title a person can read on a phone, and a JSON body for whoever acts on it."""
    trigger = call.trigger
    failures = _failures(call)
    deciding = call.deciding_error
    assert deciding is not None
    resource = next((resource for resource, error in failures if error is deciding), "")
    more = f" (+{len(failures) - 1} more)" if len(failures) > 1 else ""
    subject = resource or (f"{trigger.source} {trigger.trigger_id}" if trigger else "trigger unreadable")
    what = "Restore test failed" if any(error is deciding for error in restore_test_errors(call)) else "Backup failed"
    title = f"{what}: {deciding.code}, {subject}{more}"[:MAX_TITLE_LENGTH]
    body: dict[str, Any] = {
        "callId": facts.call_id,
        "trigger": trigger.source if trigger else None,
        "triggerId": trigger.trigger_id if trigger else None,
        "resource": resource or None,
        "errorCode": deciding.code,
        "message": deciding.message,
        "opcRequestId": deciding.opc_request_id,
        "willRetry": facts.will_retry,
    }
    if len(failures) > 1:
        body["failures"] = [
            {"resource": resource, "errorCode": error.code, "message": error.message, "opcRequestId": error.opc_request_id}
            for resource, error in failures[:MAX_FAILURES_IN_MESSAGE]
        ]
    return title, json.dumps(body, indent=2)


def _failures(call: CallResults) -> list[tuple[str, BackupError]]:
    if call.error is not None:
        return [("", call.error)]
    return [(r.resource_id, r.error) for r in call.results if r.error is not None] + [
        failure for r in call.results if r.sweep for failure in r.sweep.errors
    ]


RESTORE_TEST_ERRORS = (RestoreTestFailed, RestoreNotFinished)


def restore_test_errors(call: CallResults) -> list[BackupError]:
    """The call's errors that belong to restore tests (an on-demand test, a verdict, a sweep's stale
    test): counted as restore tests, never as failed backups."""
    if call.trigger is not None and call.trigger.source == "restore-test":
        return call.errors
    judged = [r.error for r in call.results if r.error and (r.restore_test or isinstance(r.error, RESTORE_TEST_ERRORS))]
    return judged + [error for r in call.results if r.sweep for _, error in r.sweep.errors if isinstance(error, RestoreTestFailed)]


def metric_counts(call: CallResults) -> dict[str, int]:
    lifecycles = [r.lifecycle for r in call.results if r.lifecycle]
    rejected = call.rejected
    # A failed restore test is counted as RestoreTestsFailed, not as a failed backup.
    failed_tests = len(restore_test_errors(call))
    sweeps = [r.sweep for r in call.results if r.sweep]
    sweep_counts = {}
    for sweep in sweeps:
        if sweep.answer.sweep.part == "sweep":
            sweep_counts = {"VolumesInScope": sweep.answer.sweep.in_scope, "VolumesBeyondRpo": sweep.answer.sweep.beyond_rpo}
    tests = [r.restore_test for r in call.results if r.restore_test] + [t for s in sweeps for t in s.answer.sweep.restore_tests]
    return {
        **sweep_counts,
        **restore_test_counts(tests),
        "BackupsCreated": sum(1 for r in call.results if r.backup and r.backup.outcome == "created") + sum(s.created for s in sweeps),
        "BackupsFailed": 0 if rejected else len(call.errors) - failed_tests,
        "BackupsCopied": sum(1 for life in lifecycles for c in life.copies or () if c.outcome == "created"),
        "BackupsDeleted": sum(_deleted(life) for life in lifecycles if not life.dry_run),
        "RequestsRejected": int(rejected),
    }


def restore_test_counts(tests: list[RestoreTestAnswer]) -> dict[str, int]:
    """Restore tests judged in a call (a verdict event, or a sweep's clean-up of a test whose event never came)."""
    if not tests:
        return {}
    return {
        "RestoreTestsPassed": sum(1 for test in tests if test.verdict == "passed"),
        "RestoreTestsFailed": sum(1 for test in tests if test.verdict == "failed"),
    }


def restore_test_seconds(tests: list[RestoreTestAnswer]) -> float | None:
    """The longest create-to-AVAILABLE time of the call's judged restore tests."""
    seconds = [test.seconds for test in tests if test.seconds is not None and test.verdict in ("passed", "failed")]
    return max(seconds) if seconds else None


def _deleted(life: LifecycleAnswer) -> int:
    """Every deletion of the call, here and in the copies' regions: the answer's lists may be cut short, its counts are not."""
    if life.counts is not None:
        return life.counts.pruned + life.counts.copies_pruned
    return len(life.pruned or ())


def metric_data(namespace: str, compartment_id: str, call: CallResults, facts: CallFacts) -> list[dict[str, Any]]:
    dimensions = {"trigger": call.trigger.source if call.trigger else "unreadable", "outcome": call.summary[:256]}
    timestamp = datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    values: dict[str, float] = {**metric_counts(call), "CallDurationMs": round(facts.duration_ms, 1)}
    restore_seconds = restore_test_seconds([r.restore_test for r in call.results if r.restore_test])
    if restore_seconds is not None:
        values["RestoreTestSeconds"] = restore_seconds
    return [
        {
            "namespace": namespace,
            "compartmentId": compartment_id,
            "name": name,
            "dimensions": dimensions,
            "datapoints": [{"timestamp": timestamp, "value": value, "count": 1}],
        }
        for name, value in values.items()
    ]
