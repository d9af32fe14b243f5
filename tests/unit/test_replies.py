"""The reply's policy: which status each delivery sees, when a redelivery is invited, partial failures."""

from datetime import UTC, datetime

import pytest
from pydantic import TypeAdapter

from backup_fn.alerts import metric_counts
from backup_fn.answers import Answer, BackupAnswer, BackupsAnswer, ErrorAnswer, IgnoredAnswer, LifecycleAnswer
from backup_fn.domain import BackupJob, Skipped, Trigger
from backup_fn.errors import BackupError, BackupFaulty, CompartmentNotAllowed, InvalidRequest, NotFound, ServiceUnavailable, Throttled
from backup_fn.models import BackupRequest
from backup_fn.replies import reply_for, status_for
from backup_fn.results import CallResults, JobResult

V1 = "ocid1.volume.oc1.iad.abuwcljrappdata000000000000000000000000000000000000000001"
V2 = "ocid1.volume.oc1.iad.abuwcljrdblogs0000000000000000000000000000000000000000002"
V3 = "ocid1.volume.oc1.iad.abuwcljrnotify0000000000000000000000000000000000000000004"
NOW = datetime(2026, 11, 24, tzinfo=UTC)
ANSWERS = TypeAdapter(Answer)


def trigger(*volumes: str, skipped: tuple[Skipped, ...] = (), ignored: str | None = None) -> Trigger:
    jobs = tuple(BackupJob(BackupRequest.model_validate({"volumeId": v}), f"token-{v[-2:]}") for v in volumes)
    return Trigger("monitoring-alarm", "notifications", "alarm@1", NOW, jobs=jobs, skipped=skipped, ignored=ignored)


def backup(volume: str) -> JobResult:
    return JobResult(
        volume, backup=BackupAnswer(id=f"ocid1.volumebackup.oc1.iad.{volume[-6:]}", lifecycle_state="CREATING", volume_id=volume)
    )


def failed(volume: str, error: BackupError) -> JobResult:
    return JobResult(volume, error=error)


@pytest.mark.parametrize(
    ("error", "wire", "gateway"),
    [
        (InvalidRequest("x"), 200, 400),
        (NotFound("x"), 200, 404),
        (CompartmentNotAllowed("x"), 200, 403),
        (Throttled("x"), 502, 429),
        (ServiceUnavailable("x"), 502, 503),
        (BackupFaulty("x"), 200, 500),
    ],
)
def test_status_per_delivery(error, wire, gateway):
    assert status_for(error, gateway=False) == wire
    assert status_for(error, gateway=True) == gateway


def test_one_backup_answers_the_backup_itself():
    call = CallResults(trigger(V1), (backup(V1),))
    status, answer = reply_for(call, False)[:2]
    assert (status, type(answer)) == (200, BackupAnswer)
    assert call.summary == "created"
    assert not reply_for(call, False).will_retry


def test_permanent_failure_of_one_of_several_is_a_200_with_the_failure_beside_the_backups():
    call = CallResults(trigger(V1, V2), (backup(V1), failed(V2, NotFound("gone"))))
    for gateway in (False, True):
        status, answer = reply_for(call, gateway)[:2]
        assert status == 200
        assert isinstance(answer, BackupsAnswer)
        assert [f.resource_id for f in answer.failures or []] == [V2]
    assert call.summary == "partial"
    assert not reply_for(call, False).will_retry


def test_transient_failure_of_one_of_several_invites_a_redelivery():
    call = CallResults(trigger(V1, V2, V3), (backup(V1), failed(V2, NotFound("gone")), failed(V3, Throttled("slow down"))))
    assert reply_for(call, False).status == 502
    assert reply_for(call, True).status == 429
    assert call.deciding_error is not None and call.deciding_error.code == "TooManyRequests"
    assert reply_for(call, False).will_retry


def test_every_resource_failing_permanently_takes_the_first_error_s_status():
    call = CallResults(trigger(V1, V2), (failed(V1, NotFound("a")), failed(V2, CompartmentNotAllowed("b"))))
    assert reply_for(call, False).status == 200
    assert reply_for(call, True).status == 404
    assert call.summary == "failed"


def test_single_failure_answers_the_error_body():
    call = CallResults(trigger(V1), (failed(V1, ServiceUnavailable("down")),))
    status, answer = reply_for(call, False)[:2]
    assert (status, answer) == (502, ErrorAnswer(code="ServiceUnavailable", message="down"))


def test_skipped_dimensions_turn_one_backup_into_the_list_shape():
    call = CallResults(trigger(V1, skipped=(Skipped("ocid1.instance.oc1.iad.x", "not a volume"),)), (backup(V1),))
    status, answer = reply_for(call, False)[:2]
    assert status == 200
    assert isinstance(answer, BackupsAnswer)
    assert answer.skipped is not None and answer.skipped[0].reason == "not a volume"


def test_ignored_trigger_and_input_errors():
    ignored = CallResults(trigger(ignored="Alarm RESET: nothing to back up."))
    assert reply_for(ignored, True)[:2] == (200, IgnoredAnswer(reason="Alarm RESET: nothing to back up.", trigger="monitoring-alarm"))
    assert ignored.summary == "ignored"
    bad = CallResults(error=InvalidRequest("Invalid backup request: volumeId: is required"))
    assert reply_for(bad, True).status == 400
    assert reply_for(bad, False).status == 200
    assert metric_counts(bad)["RequestsRejected"] == 1
    assert metric_counts(bad)["BackupsFailed"] == 0


def test_lifecycle_with_a_failed_copy_keeps_its_body_and_the_transient_status():
    life = LifecycleAnswer(
        backup=BackupAnswer(id="ocid1.volumebackup.oc1.iad.b", lifecycle_state="AVAILABLE", outcome=None), pruned=[], kept=1
    )
    call = CallResults(trigger(V1), (JobResult("ocid1.volumebackup.oc1.iad.b", lifecycle=life, error=Throttled("copies")),))
    status, answer = reply_for(call, False)[:2]
    assert (status, answer) == (502, life)


def test_answers_list_a_bounded_number_of_resources():
    volumes = [f"ocid1.volume.oc1.iad.v{n:052d}" for n in range(450)]
    call = CallResults(trigger(*volumes), tuple(backup(v) for v in volumes))
    _, answer = reply_for(call, False)[:2]
    assert isinstance(answer, BackupsAnswer)
    assert len(answer.backups) == 200
    assert metric_counts(call)["BackupsCreated"] == 450
    assert answer.counts is not None and answer.counts.backups == 450


def test_every_answer_shape_round_trips_through_the_published_schema_models():
    calls = [
        CallResults(trigger(V1), (backup(V1),)),
        CallResults(trigger(V1, V2), (backup(V1), failed(V2, NotFound("gone")))),
        CallResults(trigger(ignored="nothing")),
        CallResults(error=InvalidRequest("bad")),
    ]
    for call in calls:
        _, answer = reply_for(call, False)[:2]
        assert ANSWERS.validate_json(answer.to_json()) == answer
