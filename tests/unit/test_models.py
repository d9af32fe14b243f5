import pytest
from pydantic import ValidationError

from backup_fn.models import BackupRequest, OciBackup
from localoci.samples import load_samples

VOLUME = "ocid1.volume.oc1.iad.abuwcljrappdata000000000000000000000000000000000000000001"
BOOT = "ocid1.bootvolume.oc1.iad.abuwcljrweb0100000000000000000000000000000000000000001"


def test_postman_bodies_are_valid_verbatim():
    for sample in load_samples():
        if "postman" in sample.name:
            request = BackupRequest.model_validate(sample.payload)
            assert request.api_body() == sample.payload


def test_volume_request_keeps_api_field_names():
    request = BackupRequest.model_validate({"volumeId": VOLUME, "type": "FULL", "displayName": "x", "freeformTags": {"a": "b"}})
    assert request.kind.name == "volume"
    assert request.resource_id == VOLUME
    assert request.api_body() == {"volumeId": VOLUME, "type": "FULL", "displayName": "x", "freeformTags": {"a": "b"}}


def test_boot_volume_request():
    request = BackupRequest.model_validate({"bootVolumeId": BOOT})
    assert (request.kind.name, request.resource_id) == ("bootVolume", BOOT)


def test_retention_fields_of_the_current_api_are_accepted():
    body = {
        "volumeId": VOLUME,
        "retentionPeriod": {"retentionTimeUnit": "DAYS", "retentionTimeAmount": 30},
        "isPreventDeletionEnabled": True,
        "isRetentionLockEnabled": False,
        "isIndefiniteRetentionEnabled": False,
    }
    assert BackupRequest.model_validate(body).api_body() == body


@pytest.mark.parametrize(
    ("body", "where"),
    [
        ({}, "exactly one"),
        ({"volumeId": VOLUME, "bootVolumeId": BOOT}, "exactly one"),
        ({"volumeId": BOOT}, "volumeId"),
        ({"bootVolumeId": VOLUME}, "bootVolumeId"),
        ({"volumeId": "ocid1.volume.oc1.iad."}, "volumeId"),
        ({"volumeId": VOLUME, "type": "DIFFERENTIAL"}, "type"),
        ({"volumeId": VOLUME, "type": "full"}, "type"),
        ({"volumeId": VOLUME, "displayName": ""}, "displayName"),
        ({"volumeId": VOLUME, "displayName": "x" * 256}, "displayName"),
        ({"volumeId": VOLUME, "freeformTags": {"a": 1}}, "freeformTags"),
        ({"volumeId": VOLUME, "freeformTags": ["a"]}, "freeformTags"),
        ({"volumeId": VOLUME, "kmsKeyId": VOLUME}, "kmsKeyId"),
        ({"volumeId": VOLUME, "compartmentId": "ocid1.compartment.oc1..aaa"}, "compartmentId"),
        ({"volume_id": VOLUME}, "volume_id"),
        ({"volumeId": 42}, "volumeId"),
        ({"volumeId": VOLUME, "isPreventDeletionEnabled": "true"}, "isPreventDeletionEnabled"),
        ({"volumeId": VOLUME, "retentionPeriod": {"retentionTimeUnit": "WEEKS", "retentionTimeAmount": 1}}, "retentionPeriod"),
    ],
)
def test_invalid_requests_are_refused_naming_the_problem(body, where):
    with pytest.raises(ValidationError) as caught:
        BackupRequest.model_validate(body)
    assert where in str(caught.value)


def test_display_name_of_255_characters_is_allowed():
    assert BackupRequest.model_validate({"volumeId": VOLUME, "displayName": "x" * 255}).display_name == "x" * 255


def test_request_is_frozen():
    request = BackupRequest.model_validate({"volumeId": VOLUME})
    with pytest.raises(ValidationError):
        request.type = "FULL"  # type: ignore[misc,unused-ignore]


def test_oci_backup_tolerates_new_fields():
    backup = OciBackup.model_validate(
        {"id": "ocid1.volumebackup.oc1.iad.x", "lifecycleState": "CREATING", "volumeId": VOLUME, "someFutureField": {"x": 1}}
    )
    assert backup.lifecycle_state == "CREATING"
