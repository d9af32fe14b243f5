import importlib
import json
from datetime import UTC, datetime

import pytest

from backup_fn.delivery import arrival_of
from backup_fn.domain import TRIGGER_ID_TAG, TRIGGER_TAG, Arrival, InstanceRef, LifecycleJob, Skipped, SweepJob, retry_token
from backup_fn.errors import InvalidRequest, MethodNotAllowed, PayloadTooLarge
from backup_fn.models import BackupRequest
from backup_fn.sources import MAX_BODY_BYTES, parse_json, parse_trigger, source_for
from localoci.samples import EVENTS_DIR, load_samples, sample

SAMPLES = load_samples()
NO_HEADERS: dict[str, object] = {}


def trigger_of(name, *, delivery="direct", identity=None, call_id="call-1"):
    return parse_trigger(sample(name).body, Arrival(delivery, identity, call_id))


def trigger_of_raw(raw):
    return parse_trigger(raw, Arrival("direct", None, "c"))


def test_every_file_in_events_is_in_the_manifest():
    files = {p.name for p in EVENTS_DIR.glob("*.json")} - {"manifest.json"}
    assert files == {s.name for s in SAMPLES}


# Where each source's bodies are read: backup_fn/sources/<module>.py.
SOURCE_MODULES = {
    "request": "request",
    "oci-events": "events",
    "monitoring-alarm": "alarm",
    "backup-completed": "backup_completed",
    "restore-test": "restore_test",
    "sweep": "sweep",
}


@pytest.mark.parametrize("s", SAMPLES, ids=lambda s: s.name)
def test_every_sample_dispatches_to_the_source_its_manifest_names(s):
    assert source_for(parse_json(s.body)) is importlib.import_module(f"backup_fn.sources.{SOURCE_MODULES[s.source]}")
    if s.expect.get("code") == "InvalidParameter":
        with pytest.raises(InvalidRequest):
            trigger_of_raw(s.body)
        return
    trigger = trigger_of_raw(s.body)
    payload = s.payload
    assert trigger.source == s.source
    assert (trigger.ignored is not None) == (s.name in {"event-createvolume-begin.json", "alarm-firing-to-ok.json"})
    for job in trigger.jobs:
        if isinstance(job, LifecycleJob):
            assert job.backup_id == payload["data"]["resourceId"]
            continue
        if isinstance(job, SweepJob):  # its tokens are made per volume once OCI has been read
            assert job.volume_ids == tuple(payload["sweep"].get("batch", {}).get("volumeIds", [])) or job.volume_ids is None
            continue
        assert len(job.retry_token) == 64
        int(job.retry_token, 16)


def test_create_volume_event_backs_up_its_resource_with_its_tags():
    trigger = trigger_of("event-createvolume-end.json")
    (job,) = trigger.jobs
    assert isinstance(job.target, BackupRequest)
    assert job.target.volume_id == sample("event-createvolume-end.json").payload["data"]["resourceId"]
    assert job.target.freeform_tags == {"team": "orders"}
    assert trigger.trigger_id == "8f3a2c1e-5b7d-4e9f-a1c3-0d2e4f6a8b9c"
    assert trigger.time == datetime(2026, 11, 20, 14, 3, 11, 512000, tzinfo=UTC)
    assert trigger.tags() == {TRIGGER_TAG: "oci-events", TRIGGER_ID_TAG: trigger.trigger_id}


def test_boot_volume_event_reads_the_documented_tag_spelling():
    (job,) = trigger_of("event-createbootvolume-end.json").jobs
    assert isinstance(job.target, BackupRequest)
    assert job.target.boot_volume_id is not None
    assert job.target.freeform_tags == {"role": "web"}


def test_event_without_tags_is_fine():
    payload = sample("event-createvolume-end.json").payload
    del payload["data"]["freeformTags"]
    (job,) = trigger_of_raw(json.dumps(payload).encode()).jobs
    assert isinstance(job.target, BackupRequest)
    assert job.target.freeform_tags is None


def test_launch_instance_event_asks_for_the_instance_boot_volume():
    (job,) = trigger_of("event-launchinstance-end.json").jobs
    data = sample("event-launchinstance-end.json").payload["data"]
    assert job.target == InstanceRef(data["resourceId"], data["compartmentId"], data["availabilityDomain"])


def test_create_volume_event_with_a_wrong_resource_kind_is_a_client_error():
    payload = sample("event-createvolume-end.json").payload
    payload["data"]["resourceId"] = "ocid1.bootvolume.oc1.iad.abuwcljrweb0100000000000000000000000000000000000000001"
    with pytest.raises(InvalidRequest, match=r"data\.resourceId"):
        trigger_of_raw(json.dumps(payload).encode())


def test_unknown_event_fields_are_tolerated():
    payload = sample("event-createvolume-end.json").payload
    payload["newTopLevelField"] = {"x": 1}
    payload["data"]["newDataField"] = [1, 2]
    assert trigger_of_payload(payload).jobs


def trigger_of_payload(payload):
    return trigger_of_raw(json.dumps(payload).encode())


def test_firing_alarm_backs_up_every_volume_dimension_with_its_own_token():
    trigger = trigger_of("alarm-ok-to-firing.json", delivery="notifications", identity="msg-1")
    assert trigger.source == "monitoring-alarm"
    assert len(trigger.jobs) == 2
    assert len({job.retry_token for job in trigger.jobs}) == 2
    payload = sample("alarm-ok-to-firing.json").payload
    assert trigger.trigger_id == f"{payload['dedupeKey']}@{payload['timestampEpochMillis']}"


def test_alarm_token_does_not_depend_on_the_notifications_message_id():
    first = trigger_of("alarm-ok-to-firing.json", delivery="notifications", identity="msg-1")
    second = trigger_of("alarm-ok-to-firing.json", delivery="notifications", identity="msg-2")
    assert [j.retry_token for j in first.jobs] == [j.retry_token for j in second.jobs]


def test_alarm_ignores_dimensions_that_are_not_volumes():
    payload = sample("alarm-ok-to-firing.json").payload
    instance = "ocid1.instance.oc1.iad.anuwcljrapi0100000000000000000000000000000000000000001"
    payload["alarmMetaData"][0]["dimensions"].append({"resourceId": instance})
    payload["alarmMetaData"][0]["dimensions"].append({"resourceId": payload["alarmMetaData"][0]["dimensions"][0]["resourceId"]})
    trigger = trigger_of_payload(payload)
    assert len(trigger.jobs) == 2
    assert trigger.skipped == (Skipped(instance, "resourceId is not a volume or boot volume OCID."),)


def test_alarm_with_no_volume_dimension_is_ignored():
    payload = sample("alarm-ok-to-firing.json").payload
    payload["alarmMetaData"][0]["dimensions"] = [{"resourceId": "ocid1.instance.oc1.iad.abc"}]
    trigger = trigger_of_payload(payload)
    assert trigger.jobs == ()
    assert trigger.ignored is not None


@pytest.mark.parametrize("kind", ["FIRING_TO_OK", "RESET", "SOMETHING_NEW"])
def test_alarm_types_that_do_not_fire_are_ignored(kind):
    payload = sample("alarm-ok-to-firing.json").payload
    payload["type"] = kind
    trigger = trigger_of_payload(payload)
    assert trigger.jobs == ()
    assert kind in (trigger.ignored or "")


def test_request_identity_follows_the_delivery():
    by_message = trigger_of("notifications-request-volume.json", delivery="notifications", identity="msg-1")
    again = trigger_of("notifications-request-volume.json", delivery="notifications", identity="msg-1", call_id="call-2")
    other = trigger_of("notifications-request-volume.json", delivery="notifications", identity="msg-2")
    direct = trigger_of("notifications-request-volume.json", call_id="call-9")
    assert by_message.jobs[0].retry_token == again.jobs[0].retry_token
    assert by_message.jobs[0].retry_token != other.jobs[0].retry_token
    assert direct.trigger_id == "call-9"
    assert by_message.tags()[TRIGGER_TAG] == "notifications"


def test_retry_token_is_per_resource_and_per_trigger():
    assert retry_token("oci-events", "e1", "r1") == retry_token("oci-events", "e1", "r1")
    assert len({retry_token("oci-events", "e1", "r1"), retry_token("oci-events", "e1", "r2"), retry_token("oci-events", "e2", "r1")}) == 3


@pytest.mark.parametrize("raw", [b"", b"not json", b"[1, 2]", b'"text"', b"42", b"null", b"{", '{"volumeId": "\u00e9"'.encode()])
def test_bodies_that_are_not_a_json_object_are_client_errors(raw):
    with pytest.raises(InvalidRequest):
        trigger_of_raw(raw)


def test_deeply_nested_json_is_a_client_error():
    with pytest.raises(InvalidRequest):
        parse_json(b"[" * 30000 + b"]" * 30000)


def test_oversize_body_is_refused_before_parsing():
    with pytest.raises(PayloadTooLarge):
        parse_json(b"{" + b" " * MAX_BODY_BYTES + b"}")


GATEWAY = {"fn-intent": "httprequest"}


def test_gateway_accepts_only_post():
    with pytest.raises(MethodNotAllowed):
        arrival_of(GATEWAY, call_id="c", method="GET", http_headers=NO_HEADERS)


def test_gateway_identity_is_the_client_retry_token():
    assert arrival_of(GATEWAY, call_id="c", method="POST", http_headers={"opc-retry-token": "abc"}) == Arrival("api-gateway", "abc", "c")
    assert arrival_of(GATEWAY, call_id="c", method="POST", http_headers={"opc-retry-token": ["abc", "abc"]}).identity == "abc"
    with pytest.raises(InvalidRequest, match="opc-retry-token was sent more than once with different values"):
        arrival_of(GATEWAY, call_id="c", method="POST", http_headers={"opc-retry-token": ["abc", "x"]})
    with pytest.raises(InvalidRequest):
        arrival_of(GATEWAY, call_id="c", method="POST", http_headers={"opc-retry-token": "x" * 65})


def test_notifications_identity_is_the_message_id_header():
    by_message = arrival_of({"x-oci-ns-messageid": "m-1"}, call_id="c", method=None, http_headers=NO_HEADERS)
    assert by_message == Arrival("notifications", "m-1", "c")
    assert arrival_of({}, call_id="c", method=None, http_headers=NO_HEADERS) == Arrival("direct", None, "c")


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"volumeId": "ocid1.bootvolume.oc1.iad.abc"}, "volumeId: must be an ocid1.volume. OCID"),
        ({"bootVolumeId": "ocid1.volume.oc1.iad.abc"}, "bootVolumeId: must be an ocid1.bootvolume. OCID"),
        ({"volumeId": "ocid1.volume.oc1.iad.abc", "kmsKeyId": "key-1"}, "kmsKeyId: must be an ocid1.key. OCID"),
        ({"volumeId": "ocid1.volume.oc1.iad.abc", "displayName": ""}, "displayName: String should have at least 1 character"),
        ({"volumeId": "ocid1.volume.oc1.iad.abc", "owner": "me"}, "owner: is not a field of a backup request"),
    ],
)
def test_request_errors_name_the_field_and_what_it_must_be(body, message):
    with pytest.raises(InvalidRequest) as caught:
        trigger_of_raw(json.dumps(body).encode())
    assert caught.value.message == f"Invalid backup request: {message}"
