"""What reaches a person and a dashboard: the failure message's title and body, the metrics' counts,
names and dimensions, exactly as published."""

import json
import re
from datetime import UTC, datetime

from backup_fn.alerts import MAX_FAILURES_IN_MESSAGE, MAX_TITLE_LENGTH, CallFacts, failure_message, metric_counts, metric_data
from backup_fn.answers import BackupAnswer, CopyAnswer, LifecycleAnswer
from backup_fn.domain import BackupJob, Trigger
from backup_fn.errors import BackupError, BackupFaulty, InvalidConfiguration, InvalidRequest, NotFound, Throttled
from backup_fn.models import BackupRequest
from backup_fn.results import CallResults, JobResult

NOW = datetime(2026, 11, 24, tzinfo=UTC)
PROD = "ocid1.compartment.oc1..aaaaaaaaprod0000000000000000000000000000000000000000001"
FACTS = CallFacts(call_id="01CALL", will_retry=False, duration_ms=12.345)


def volume(n: int) -> str:
    return f"ocid1.volume.oc1.iad.abuwcljrvolume{n:040d}"


def alarm(*volumes: str) -> Trigger:
    jobs = tuple(BackupJob(BackupRequest.model_validate({"volumeId": v}), f"token-{v}") for v in volumes)
    return Trigger("monitoring-alarm", "notifications", "alarm-1@2026-11-24T00:00:00Z", NOW, jobs=jobs)


def made(resource_id: str, outcome: str = "created") -> JobResult:
    answer = BackupAnswer.model_validate({"id": f"{resource_id}-backup", "lifecycleState": "CREATING", "outcome": outcome})
    return JobResult(resource_id, backup=answer)


def failed(resource_id: str, error: BackupError) -> JobResult:
    return JobResult(resource_id, error=error)


def test_one_failure_names_its_code_and_resource():
    call = CallResults(alarm(volume(1)), (failed(volume(1), NotFound("Volume gone.", opc_request_id="req-1")),))
    title, body = failure_message(call, FACTS)
    assert title == f"Backup failed: NotAuthorizedOrNotFound, {volume(1)}"
    assert json.loads(body) == {
        "callId": "01CALL",
        "trigger": "monitoring-alarm",
        "triggerId": "alarm-1@2026-11-24T00:00:00Z",
        "resource": volume(1),
        "errorCode": "NotAuthorizedOrNotFound",
        "message": "Volume gone.",
        "opcRequestId": "req-1",
        "willRetry": False,
    }


def test_several_failures_lead_with_the_transient_one_and_list_them_all():
    call = CallResults(
        alarm(volume(1), volume(2), volume(3)),
        (made(volume(1)), failed(volume(2), NotFound("gone", opc_request_id="r2")), failed(volume(3), Throttled("slow down"))),
    )
    title, body = failure_message(call, FACTS._replace(will_retry=True))
    assert title == f"Backup failed: TooManyRequests, {volume(3)} (+1 more)"
    message = json.loads(body)
    assert (message["resource"], message["errorCode"], message["message"], message["willRetry"]) == (
        volume(3),
        "TooManyRequests",
        "slow down",
        True,
    )
    assert message["failures"] == [
        {"resource": volume(2), "errorCode": "NotAuthorizedOrNotFound", "message": "gone", "opcRequestId": "r2"},
        {"resource": volume(3), "errorCode": "TooManyRequests", "message": "slow down", "opcRequestId": None},
    ]


def test_a_long_list_of_failures_is_cut_but_counted_in_the_title():
    volumes = [volume(n) for n in range(MAX_FAILURES_IN_MESSAGE + 5)]
    call = CallResults(alarm(*volumes), tuple(failed(v, NotFound(f"{v} gone")) for v in volumes))
    title, body = failure_message(call, FACTS)
    assert title == f"Backup failed: NotAuthorizedOrNotFound, {volumes[0]} (+{len(volumes) - 1} more)"
    assert [f["resource"] for f in json.loads(body)["failures"]] == volumes[:MAX_FAILURES_IN_MESSAGE]


def test_a_title_fits_the_topic_s_limit():
    long_id = "ocid1.volumebackup.oc1.iad." + "x" * 300
    call = CallResults(alarm(), (JobResult(long_id, error=BackupFaulty("FAULTY")),))
    title, body = failure_message(call, FACTS)
    assert len(title) == MAX_TITLE_LENGTH
    assert title == f"Backup failed: BackupFaulty, {long_id}"[:MAX_TITLE_LENGTH]
    assert json.loads(body)["resource"] == long_id  # the body keeps it whole


def test_a_failure_before_any_job_names_the_trigger_or_says_it_was_unreadable():
    unread = CallResults(error=InvalidConfiguration("KEEP_LAST: must be >= 1", opc_request_id=None))
    title, body = failure_message(unread, FACTS)
    assert title == "Backup failed: InvalidConfiguration, trigger unreadable"
    assert json.loads(body) == {
        "callId": "01CALL",
        "trigger": None,
        "triggerId": None,
        "resource": None,
        "errorCode": "InvalidConfiguration",
        "message": "KEEP_LAST: must be >= 1",
        "opcRequestId": None,
        "willRetry": False,
    }
    known = CallResults(alarm(), error=Throttled("later"))
    assert failure_message(known, FACTS)[0] == "Backup failed: TooManyRequests, monitoring-alarm alarm-1@2026-11-24T00:00:00Z"


def lifecycle(backup_id: str, copies: list[CopyAnswer], pruned: list[str], *, dry_run: bool = False) -> JobResult:
    answer = LifecycleAnswer(
        backup=BackupAnswer(id=backup_id, lifecycle_state="AVAILABLE", outcome=None), copies=copies, pruned=pruned, dry_run=dry_run
    )
    return JobResult(backup_id, lifecycle=answer)


COPIES = [
    CopyAnswer(region="us-phoenix-1", outcome="created", id="copy-1"),
    CopyAnswer(region="eu-frankfurt-1", outcome="failed", code="TooManyRequests", message="later"),
    CopyAnswer(region="uk-london-1", outcome="existing", id="copy-3"),
]


def test_metric_counts_count_what_was_made_copied_deleted_and_failed():
    call = CallResults(
        alarm(),
        (
            made(volume(1)),
            made(volume(2), "existing"),
            made(volume(3), "in-progress"),
            failed(volume(4), NotFound("gone")),
            lifecycle("b1", COPIES, ["old-1", "old-2"]),
        ),
    )
    # A copy found already in its region was made by an earlier call, as an existing backup is.
    assert metric_counts(call) == {"BackupsCreated": 1, "BackupsFailed": 1, "BackupsCopied": 1, "BackupsDeleted": 2, "RequestsRejected": 0}


def test_a_dry_run_deletes_nothing_and_a_rejected_request_fails_nothing():
    dry = CallResults(alarm(), (lifecycle("b1", [], ["old-1", "old-2"], dry_run=True),))
    assert metric_counts(dry)["BackupsDeleted"] == 0
    rejected = CallResults(error=InvalidRequest("volumeId: is required"))
    assert metric_counts(rejected) == {
        "BackupsCreated": 0,
        "BackupsFailed": 0,
        "BackupsCopied": 0,
        "BackupsDeleted": 0,
        "RequestsRejected": 1,
    }
    refused_by_oci = CallResults(alarm(volume(1)), (failed(volume(1), NotFound("gone")),))
    assert (metric_counts(refused_by_oci)["BackupsFailed"], metric_counts(refused_by_oci)["RequestsRejected"]) == (1, 0)


def test_metric_data_is_one_item_per_metric_with_the_call_s_dimensions():
    call = CallResults(alarm(volume(1), volume(2)), (made(volume(1)), failed(volume(2), NotFound("gone"))))
    before = datetime.now(UTC)
    items = metric_data("volume_backup", PROD, call, FACTS)
    after = datetime.now(UTC)
    stamps = {item["datapoints"][0]["timestamp"] for item in items}
    (stamp,) = stamps
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", stamp)
    assert before.replace(microsecond=before.microsecond // 1000 * 1000) <= datetime.fromisoformat(stamp) <= after
    values = {
        "BackupsCreated": 1,
        "BackupsFailed": 1,
        "BackupsCopied": 0,
        "BackupsDeleted": 0,
        "RequestsRejected": 0,
        "CallDurationMs": 12.3,
    }
    assert items == [
        {
            "namespace": "volume_backup",
            "compartmentId": PROD,
            "name": name,
            "dimensions": {"trigger": "monitoring-alarm", "outcome": "partial"},
            "datapoints": [{"timestamp": stamp, "value": value, "count": 1}],
        }
        for name, value in values.items()
    ]


def test_an_unreadable_trigger_is_its_own_dimension():
    items = metric_data("volume_backup", PROD, CallResults(error=InvalidRequest("not JSON")), FACTS)
    assert {json.dumps(item["dimensions"]) for item in items} == {json.dumps({"trigger": "unreadable", "outcome": "rejected"})}
