"""Every trigger through the real fdk server and the real SDK signer, against the emulator."""

from __future__ import annotations

import json

import pytest

from localoci.harness import Call
from localoci.run_samples import DEMO_CONFIG
from localoci.samples import load_samples, problems, sample

pytestmark = pytest.mark.functional
SAMPLES = load_samples()
CREATES = ("CreateVolumeBackup", "CreateBootVolumeBackup")


def creates(emulator):
    return [r for r in emulator.requests if r.operation in CREATES and r.status == 200]


def test_every_sample_gets_the_answer_it_expects(start_function, emulator):
    function = start_function(**DEMO_CONFIG)  # as `make run` runs it: copies, retention and alerting on
    for s in SAMPLES:
        result = function.call(s.call())
        assert problems(s, result) == [], (s.name, result.body)
    assert emulator.requests, "the function never called Core Services"
    assert all(r.signature_ok for r in emulator.requests)
    assert function.alive()


def test_direct_request_creates_the_backup_it_asks_for(function, emulator):
    s = sample("request-volume.json")
    answer = function.call(s.call())
    body = answer.json
    assert answer.status == 200
    (create,) = creates(emulator)
    assert create.method == "POST"
    assert create.path == "/20160918/volumeBackups"
    assert create.signature_ok
    sent = json.loads(create.body)
    assert sent["volumeId"] == s.payload["volumeId"]
    assert sent["type"] == "FULL"
    assert sent["displayName"] == s.payload["displayName"]
    assert sent["freeformTags"]["backup-trigger"] == "direct"
    assert create.retry_token and len(create.retry_token) == 64
    assert body["id"] in emulator.backups
    assert body["lifecycleState"] == "REQUEST_RECEIVED"
    assert body["volumeId"] == s.payload["volumeId"]
    assert body["compartmentId"].startswith("ocid1.compartment.")
    assert body["opcRequestId"] == create.opc_request_id
    assert set(body) <= {
        "id",
        "lifecycleState",
        "type",
        "displayName",
        "volumeId",
        "compartmentId",
        "timeCreated",
        "opcRequestId",
        "marked",
        "outcome",
    }


def test_event_backup_gets_a_readable_name_the_default_type_and_source_tags(function, emulator):
    s = sample("event-createvolume-end.json")
    body = function.call(s.call()).json
    (create,) = creates(emulator)
    sent = json.loads(create.body)
    assert sent["type"] == "INCREMENTAL"
    assert sent["displayName"] == "orders-db 2026-11-20 14:03:11 UTC"
    assert sent["freeformTags"] == {"backup-trigger": "oci-events", "backup-trigger-id": s.payload["eventID"], "team": "orders"}
    assert body["displayName"] == sent["displayName"]


def test_caller_tags_are_kept_beside_the_function_s_own(function, emulator):
    payload = {"volumeId": sample("request-volume.json").payload["volumeId"], "freeformTags": {"owner": "dba"}}
    function.call(Call(body=json.dumps(payload).encode()))
    sent = json.loads(creates(emulator)[0].body)
    assert sent["freeformTags"]["backup-trigger"] == "direct"
    assert sent["freeformTags"]["owner"] == "dba"
    assert "backup-trigger-id" in sent["freeformTags"]


def test_configured_backup_type_applies_when_the_request_names_none(start_function, emulator):
    function = start_function(BACKUP_TYPE="FULL")
    function.call(sample("notifications-request-volume.json").call())
    assert json.loads(creates(emulator)[0].body)["type"] == "FULL"


def test_launch_instance_event_backs_up_the_instance_boot_volume(function, emulator):
    s = sample("event-launchinstance-end.json")
    body = function.call(s.call()).json
    lookups = [r for r in emulator.requests if r.operation == "ListBootVolumeAttachments"]
    assert len(lookups) == 1
    assert lookups[0].query["instanceId"] == s.payload["data"]["resourceId"]
    assert lookups[0].query["availabilityDomain"] == s.payload["data"]["availabilityDomain"]
    assert body["bootVolumeId"] == "ocid1.bootvolume.oc1.iad.abuwcljrapi0100000000000000000000000000000000000000002"
    (create,) = creates(emulator)
    assert create.path == "/20160918/bootVolumeBackups"


def test_alarm_backs_up_each_volume_once(function, emulator):
    s = sample("alarm-ok-to-firing.json")
    body = function.call(s.call()).json
    assert len(body["backups"]) == 2
    made = creates(emulator)
    assert sorted(json.loads(r.body)["volumeId"] for r in made) == sorted(b["volumeId"] for b in body["backups"])
    assert len({r.retry_token for r in made}) == 2


def test_ignored_triggers_call_nothing(function, emulator):
    for name in ("event-createvolume-begin.json", "alarm-firing-to-ok.json"):
        body = function.call(sample(name).call()).json
        assert body["ignored"] is True
        assert body["reason"]
    assert emulator.requests == []


def test_invalid_requests_create_nothing(function, emulator):
    for name in (
        "request-unknown-field.json",
        "request-wrong-ocid-kind.json",
        "request-both-volume-ids.json",
        "gateway-request-invalid.json",
    ):
        result = function.call(sample(name).call())
        assert result.json["code"] == "InvalidParameter"
    assert emulator.requests == []


def test_unknown_field_error_names_the_field(function):
    body = function.call(sample("request-unknown-field.json").call()).json
    assert "compartmentId" in body["message"]


def test_gateway_statuses(function, emulator):
    invalid = function.call(sample("gateway-request-invalid.json").call())
    assert invalid.http_status == 400
    assert invalid.headers["content-type"].startswith("application/json") or invalid.headers.get("fn-http-h-content-type", "").startswith(
        "application/json"
    )
    get = function.call(Call(body=b"{}", delivery="api-gateway", method="GET"))
    assert get.http_status == 405
    missing = function.call(Call(body=sample("request-not-found.json").body, delivery="api-gateway"))
    assert missing.http_status == 404
    assert missing.json["code"] == "NotAuthorizedOrNotFound"
    assert missing.json["opcRequestId"]


def test_invalid_config_is_an_error_naming_the_key_and_creates_nothing(start_function, emulator):
    function = start_function(BACKUP_TYPE="DAILY")
    result = function.call(sample("request-volume.json").call())
    assert result.status == 502
    assert result.json["code"] == "InvalidConfiguration"
    assert "BACKUP_TYPE" in result.json["message"]
    assert "Traceback" not in result.body.decode()
    assert emulator.requests == []


def test_one_json_log_line_per_call_without_secrets(function, emulator, identity):
    s = sample("request-volume.json")
    call = s.call()
    body = function.call(call).json
    function.call(sample("request-unknown-field.json").call())
    records = [r for r in function.log_records() if r.get("message") == "backup call finished"]
    assert len(records) == 2
    done = records[0]
    assert done["callId"] == call.call_id
    assert done["trigger"] == "request"
    assert done["resource"] == s.payload["volumeId"]
    assert done["backupId"] == body["id"]
    assert done["opcRequestId"] == body["opcRequestId"]
    assert done["outcome"] == "created"
    assert done["level"] == "INFO"
    assert isinstance(done["durationMs"], float)
    assert records[1]["level"] == "ERROR"
    assert records[1]["errorCode"] == "InvalidParameter"
    log = function.log_text()
    token = identity.token_path.read_text()
    assert token not in log
    assert token.split(".")[1] not in log
    assert "Signature" not in log
    assert "PRIVATE KEY" not in log
    assert "authorization" not in log.lower()


def test_config_file_profile_with_a_session_token_signs_like_the_cli(start_function, emulator, identity, tmp_path):
    config = tmp_path / "oci-config"
    config.write_text(
        "[LOCAL]\n"
        "user=ocid1.user.oc1..aaaaaaaalocaluser\n"
        "fingerprint=00:11:22:33:44:55:66:77:88:99:aa:bb:cc:dd:ee:ff\n"
        f"key_file={identity.private_key_path}\n"
        "tenancy=ocid1.tenancy.oc1..aaaaaaaalocaltenancy00000000000000000000000000000000000001\n"
        "region=us-ashburn-1\n"
        f"security_token_file={identity.token_path}\n"
    )
    function = start_function(OCI_AUTH="config_file", OCI_CONFIG_FILE=str(config), OCI_CONFIG_PROFILE="LOCAL")
    body = function.call(sample("request-volume.json").call()).json
    assert body["outcome"] == "created"
    assert all(r.signature_ok for r in emulator.requests)


def test_missing_config_profile_is_a_configuration_error(start_function, emulator, tmp_path):
    function = start_function(OCI_AUTH="config_file", OCI_CONFIG_FILE=str(tmp_path / "absent"))
    result = function.call(sample("request-volume.json").call())
    assert result.status == 502
    assert result.json["code"] == "InvalidConfiguration"
    assert "OCI_CONFIG_FILE" in result.json["message"]
    assert emulator.requests == []
