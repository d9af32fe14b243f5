"""Failures that reach a person: one Notifications message per failed call, metrics for every
call, both best effort and never changing the answer. Through the fdk socket, against the emulator."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from backup_fn.clients.retry import MAX_ATTEMPTS
from localoci.harness import Call
from localoci.samples import sample

pytestmark = pytest.mark.functional

TOPIC = "ocid1.onstopic.oc1.iad.aaaaaaaabackupfailures000000000000000000000000000000000001"
PROD = "ocid1.compartment.oc1..aaaaaaaaprod0000000000000000000000000000000000000000001"
FUNCTION_COMPARTMENT = PROD  # the res_compartment claim of the local resource principal's token
ALERTING = {"FAILURE_TOPIC_ID": TOPIC, "METRICS_NAMESPACE": "volume_backup", "METRICS_COMPARTMENT_ID": PROD}


def metrics_by_name(emulator) -> dict[str, list[dict[str, Any]]]:
    found: dict[str, list[dict[str, Any]]] = {}
    for item in emulator.metrics:
        found.setdefault(item["name"], []).append(item)
    return found


def test_a_volume_that_is_gone_publishes_one_message_that_will_not_be_retried(start_function, emulator):
    function = start_function(**ALERTING)
    s = sample("request-not-found.json")
    result = function.call(s.call())
    assert result.status == 200
    (message,) = emulator.messages
    assert message["topicId"] == TOPIC
    volume = s.payload["volumeId"]
    assert message["title"] == f"Backup failed: NotAuthorizedOrNotFound, {volume}"
    body = json.loads(message["body"])
    assert body == {
        "callId": body["callId"],
        "trigger": "request",
        "triggerId": body["callId"],
        "resource": volume,
        "errorCode": "NotAuthorizedOrNotFound",
        "message": result.json["message"],
        "opcRequestId": result.json["opcRequestId"],
        "willRetry": False,
    }
    (publish,) = [r for r in emulator.requests if r.operation == "PublishMessage"]
    assert publish.signature_ok
    assert publish.path == f"/20181201/topics/{TOPIC}/messages"


def test_throttled_until_the_deadline_publishes_one_message_that_will_be_retried(start_function, emulator):
    emulator.add_fault(operation="CreateVolumeBackup", status=429, times=None)
    function = start_function(**ALERTING, DEADLINE_MARGIN_SECONDS="1.0")
    result = function.call(Call(body=sample("request-volume.json").body, delivery="notifications", deadline_seconds=4))
    assert result.status == 502
    # The deadline ended the retries, not the attempt limit: after 429s the backoff before an eighth
    # attempt is at least 11.75 s.
    assert len([r for r in emulator.requests if r.operation == "CreateVolumeBackup"]) < MAX_ATTEMPTS
    (message,) = emulator.messages
    body = json.loads(message["body"])
    assert (body["errorCode"], body["willRetry"], body["trigger"]) == ("TooManyRequests", True, "request")


def test_a_success_publishes_nothing_and_counts_the_backup(start_function, emulator):
    function = start_function(**ALERTING)
    assert function.call(sample("event-createvolume-end.json").call()).status == 200
    assert emulator.messages == []
    metrics = metrics_by_name(emulator)
    assert set(metrics) == {"BackupsCreated", "BackupsFailed", "BackupsCopied", "BackupsDeleted", "RequestsRejected", "CallDurationMs"}
    for (item,) in metrics.values():
        assert item["namespace"] == "volume_backup"
        assert item["compartmentId"] == PROD
        assert item["dimensions"] == {"trigger": "oci-events", "outcome": "created"}
        assert len(item["datapoints"]) == 1
    assert metrics["BackupsCreated"][0]["datapoints"][0]["value"] == 1
    assert metrics["BackupsFailed"][0]["datapoints"][0]["value"] == 0
    assert metrics["CallDurationMs"][0]["datapoints"][0]["value"] > 0


def test_metrics_per_outcome(start_function, emulator):
    function = start_function(METRICS_NAMESPACE="volume_backup")  # compartment: the function's own, from its resource principal
    function.call(sample("request-not-found.json").call())
    function.call(sample("alarm-firing-to-ok.json").call())
    function.call(sample("alarm-ok-to-firing.json").call())
    failed = [i for i in emulator.metrics if i["name"] == "BackupsFailed"]
    created = [i for i in emulator.metrics if i["name"] == "BackupsCreated"]
    assert [(i["dimensions"]["trigger"], i["dimensions"]["outcome"], i["datapoints"][0]["value"]) for i in failed] == [
        ("request", "failed", 1),
        ("monitoring-alarm", "ignored", 0),
        ("monitoring-alarm", "created", 0),
    ]
    assert [i["datapoints"][0]["value"] for i in created] == [0, 0, 2]
    assert {i["compartmentId"] for i in emulator.metrics} == {FUNCTION_COMPARTMENT}
    assert emulator.messages == []


def test_a_caller_s_invalid_request_pages_nobody_and_counts_as_rejected(start_function, emulator):
    function = start_function(**ALERTING)
    for name in ("request-unknown-field.json", "request-wrong-ocid-kind.json", "request-both-volume-ids.json"):
        result = function.call(sample(name).call())
        assert (result.status, result.json["code"]) == (200, "InvalidParameter")
    assert function.call(Call(body=b"{not json", delivery="notifications")).json["code"] == "InvalidParameter"
    assert emulator.messages == []
    rejected = [i["datapoints"][0]["value"] for i in emulator.metrics if i["name"] == "RequestsRejected"]
    failed = [i["datapoints"][0]["value"] for i in emulator.metrics if i["name"] == "BackupsFailed"]
    assert (rejected, failed) == ([1, 1, 1, 1], [0, 0, 0, 0])
    assert {i["dimensions"]["outcome"] for i in emulator.metrics} == {"rejected"}
    # A well-formed request that OCI refuses is still a failure someone may need to see.
    function.call(sample("request-not-found.json").call())
    (message,) = emulator.messages
    assert json.loads(message["body"])["errorCode"] == "NotAuthorizedOrNotFound"


def test_a_topic_that_always_fails_changes_nothing_in_the_answer(start_function, emulator):
    quiet = start_function("quiet")
    s = sample("request-not-found.json")
    without = quiet.call(s.call(call_id="same-call"))
    emulator.add_fault(operation="PublishMessage", status=500, times=None)
    emulator.add_fault(operation="PostMetricData", delay=10, times=None)
    loud = start_function("loud", **ALERTING)
    with_topic = loud.call(s.call(call_id="same-call", deadline_seconds=6))
    # Byte for byte, but for the opc-request-id OCI gives each request.
    assert re.sub(rb'"opcRequestId":"[^"]*"', b"", with_topic.body) == re.sub(rb'"opcRequestId":"[^"]*"', b"", without.body)
    assert with_topic.status == without.status
    assert emulator.messages == [] and emulator.metrics == []
    (line,) = [r for r in loud.log_records() if r.get("message") == "backup call finished"]
    assert line["notified"] is False and line["metricsPosted"] is False and line["alertFailures"] == 2
    warnings = [r for r in loud.log_records() if r.get("message") == "failure notification not published"]
    assert warnings and warnings[0]["opcRequestId"]
    # The metrics were given up at the alerts' own deadline, not waited for: held 10 s, they would have been posted.
    (abandoned,) = [r for r in loud.log_records() if r.get("message") == "metrics not posted"]
    assert abandoned["errorCode"] == "DeadlineExceeded"


def test_an_invalid_namespace_is_a_configuration_error(start_function, emulator):
    function = start_function(METRICS_NAMESPACE="oci_blockstore")
    result = function.call(sample("request-volume.json").call())
    assert (result.status, result.json["code"]) == (502, "InvalidConfiguration")
    assert "METRICS_NAMESPACE" in result.json["message"]
