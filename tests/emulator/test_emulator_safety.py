"""The emulator's side of what the function may delete: defined tags only in namespaces that exist, a
volume's tags copied onto its backups, locked backups refused deletion, and the copies' regions on
their own endpoints (`/regions/<region>`), each request still signed and verified."""

from __future__ import annotations

import pytest

from localoci.tags import MARK_KEY, MARK_NAMESPACE
from tests.helpers import send

LEDGER = "ocid1.volume.oc1.iad.abuwcljrledger00000000000000000000000000000000000000000012"
FINISHED = "ocid1.volumebackup.oc1.iad.abuwcljrledgerfinished00000000000000000000000000000006"
PROD = "ocid1.compartment.oc1..aaaaaaaaprod0000000000000000000000000000000000000000001"


def test_a_backup_carries_its_volume_s_tags_under_the_request_s(emulator, identity):
    made = send(emulator, identity, "POST", "/volumeBackups", {"volumeId": LEDGER, "freeformTags": {"owner": "dba"}}).json()
    assert made["freeformTags"] == {"app": "billing", "owner": "dba"}


@pytest.mark.parametrize(("tags", "named"), [({"nowhere": {"k": "v"}}, "nowhere"), ({MARK_NAMESPACE: {"other": "v"}}, "other")])
def test_a_defined_tag_outside_the_namespaces_that_exist_is_refused(emulator, identity, tags, named):
    answer = send(emulator, identity, "POST", "/volumeBackups", {"volumeId": LEDGER, "definedTags": tags})
    assert answer.status_code == 400 and named in answer.json()["message"]
    update = send(emulator, identity, "PUT", f"/volumeBackups/{FINISHED}", {"definedTags": tags})
    assert update.status_code == 400


@pytest.mark.parametrize(
    "lock",
    [
        {"isRetentionLockEnabled": True},
        {"isPreventDeletionEnabled": True},
        {"isIndefiniteRetentionEnabled": True},
        {"timeRetentionExpiresAt": "2099-01-01T00:00:00.000Z"},
    ],
)
def test_deleting_a_locked_backup_is_409(emulator, identity, lock):
    locked = emulator.add_backup(source_id=LEDGER, **lock)
    answer = send(emulator, identity, "DELETE", f"/volumeBackups/{locked}")
    assert answer.status_code == 409
    assert emulator.backups[locked]["lifecycleState"] == "AVAILABLE"


def test_a_copy_lives_on_its_region_s_endpoint_only(emulator, identity):
    copied = send(emulator, identity, "POST", f"/volumeBackups/{FINISHED}/actions/copy", {"destinationRegion": "us-phoenix-1"}).json()
    there = "/regions/us-phoenix-1/20160918"
    assert send(emulator, identity, "GET", f"/volumeBackups/{copied['id']}").status_code == 404
    assert send(emulator, identity, "GET", f"/volumeBackups/{FINISHED}", prefix=there).status_code == 404
    listed = send(emulator, identity, "GET", f"/volumeBackups?compartmentId={PROD}&volumeId={LEDGER}", prefix=there).json()
    assert [b["id"] for b in listed] == [copied["id"]]
    mark = {MARK_NAMESPACE: {MARK_KEY: copied["id"]}}
    tagged = send(emulator, identity, "PUT", f"/volumeBackups/{copied['id']}", {"definedTags": mark}, prefix=there)
    assert tagged.status_code == 200 and tagged.json()["definedTags"] == mark
    assert send(emulator, identity, "DELETE", f"/volumeBackups/{copied['id']}", prefix=there).status_code == 409  # still CREATING
    assert all(r.signature_ok for r in emulator.requests)
    assert [r.region for r in emulator.requests] == [None, None, "us-phoenix-1", "us-phoenix-1", "us-phoenix-1", "us-phoenix-1"]
