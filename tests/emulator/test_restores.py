"""The emulator's restores: CreateVolume / CreateBootVolume from a backup, UpdateVolume and
DeleteVolume, and the createvolume.end events they emit, each as Blockstorage answers them."""

from __future__ import annotations

from typing import Any

from localoci.emulator import CoreEmulator
from localoci.identity import LocalIdentity
from tests.helpers import eventually, send

FINISHED = "ocid1.volumebackup.oc1.iad.abuwcljrledgerfinished00000000000000000000000000000006"
BUSY = "ocid1.volumebackup.oc1.iad.abuwcljrbusyrunning00000000000000000000000000000000001"
BATCH01_BACKUP = "ocid1.bootvolumebackup.oc1.iad.abuwcljrbatch01finished000000000000000000000000000001"
RESTORE = "ocid1.compartment.oc1..aaaaaaaarestoretests00000000000000000000000000000000003"
LEDGER_SIZE = 500  # the seeded backup names no size: the restore takes its volume's


def restore(emulator: CoreEmulator, identity: LocalIdentity, token: str = "t-1", **body: Any) -> Any:
    details = {
        "availabilityDomain": "Uocm:US-ASHBURN-AD-1",
        "compartmentId": RESTORE,
        "sourceDetails": {"type": "volumeBackup", "id": FINISHED},
        "vpusPerGB": 0,
        **body,
    }
    return send(emulator, identity, "POST", "/volumes", details, headers={"opc-retry-token": token})


def test_a_restore_provisions_then_is_available_with_the_backup_s_size_and_emits_its_event(emulator, identity):
    emulator.restores.delay = 0.3
    made = restore(emulator, identity)
    assert made.status_code == 200, made.text
    volume = made.json()
    assert (volume["lifecycleState"], volume["compartmentId"], volume["sizeInGBs"]) == ("PROVISIONING", RESTORE, LEDGER_SIZE)
    assert emulator.restores.due_events() == []
    assert eventually(lambda: send(emulator, identity, "GET", f"/volumes/{volume['id']}").json()["lifecycleState"] == "AVAILABLE")
    (event,) = emulator.restores.due_events()
    assert event["eventType"] == "com.oraclecloud.blockvolumes.createvolume.end"
    assert (event["data"]["resourceId"], event["data"]["compartmentId"]) == (volume["id"], RESTORE)


def test_a_retry_token_restores_once_and_refuses_another_body(emulator, identity):
    first, again = restore(emulator, identity), restore(emulator, identity)
    assert first.json()["id"] == again.json()["id"]
    other = restore(emulator, identity, displayName="another")
    assert (other.status_code, other.json()["code"]) == (409, "Conflict")


def test_a_volume_is_deleted_only_once_it_has_finished_and_then_reads_terminated(emulator, identity):
    emulator.restores.delay = 0.3
    volume_id = restore(emulator, identity).json()["id"]
    early = send(emulator, identity, "DELETE", f"/volumes/{volume_id}")
    assert (early.status_code, early.json()["code"]) == (409, "IncorrectState")
    assert eventually(lambda: send(emulator, identity, "DELETE", f"/volumes/{volume_id}").status_code == 204)
    assert send(emulator, identity, "GET", f"/volumes/{volume_id}").json()["lifecycleState"] == "TERMINATED"
    assert send(emulator, identity, "DELETE", f"/volumes/{volume_id}").status_code == 404
    assert send(emulator, identity, "PUT", f"/volumes/{volume_id}", {"freeformTags": {}}).status_code == 404


def test_a_spoiled_backup_restores_faulty_or_smaller(emulator, identity):
    emulator.restores.delay = 0.1
    emulator.restores.spoil(FINISHED, lifecycle_state="FAULTY")
    faulty = restore(emulator, identity, "t-faulty").json()
    assert faulty["lifecycleState"] == "PROVISIONING"
    assert eventually(lambda: emulator.volume(faulty["id"])["lifecycleState"] == "FAULTY")
    emulator.restores.spoil(FINISHED, size_in_gbs=10)
    assert restore(emulator, identity, "t-small").json()["sizeInGBs"] == 10


def test_update_volume_replaces_each_kind_of_tags_given(emulator, identity):
    volume_id = restore(emulator, identity, freeformTags={"a": "1"}, definedTags={"ns": {"k": "v"}}).json()["id"]
    updated = send(emulator, identity, "PUT", f"/volumes/{volume_id}", {"definedTags": {"mark": {"resource": volume_id}}})
    assert updated.status_code == 200
    assert (updated.json()["freeformTags"], updated.json()["definedTags"]) == ({"a": "1"}, {"mark": {"resource": volume_id}})
    refused = send(emulator, identity, "PUT", f"/volumes/{volume_id}", {"sizeInGBs": 1})
    assert (refused.status_code, refused.json()["code"]) == (400, "InvalidParameter")


def test_restores_refuse_what_oci_refuses(emulator, identity):
    assert restore(emulator, identity, "t-busy", sourceDetails={"type": "volumeBackup", "id": BUSY}).status_code == 409
    gone = restore(emulator, identity, "t-gone", sourceDetails={"type": "volumeBackup", "id": "ocid1.volumebackup.oc1.iad.none"})
    assert gone.status_code == 404
    wrong = restore(emulator, identity, "t-wrong", sourceDetails={"type": "bootVolumeBackup", "id": FINISHED})
    assert wrong.status_code == 400
    assert restore(emulator, identity, "t-vpus", vpusPerGB=5).status_code == 400
    assert restore(emulator, identity, "t-smaller", sizeInGBs=1).status_code == 400
    source = {"type": "bootVolumeBackup", "id": BATCH01_BACKUP}
    boot = {"availabilityDomain": "Uocm:US-ASHBURN-AD-1", "compartmentId": RESTORE, "sourceDetails": source}
    assert send(emulator, identity, "POST", "/bootVolumes", {**boot, "vpusPerGB": 0}).status_code == 400  # 10 is a boot volume's least
    made = send(emulator, identity, "POST", "/bootVolumes", {**boot, "vpusPerGB": 10})
    assert made.status_code == 200 and made.json()["id"].startswith("ocid1.bootvolume.")
