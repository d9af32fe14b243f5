"""The Core Services emulator itself: it must refuse what OCI refuses, or the functional tests prove nothing.

Requests are signed by the SDK's own signers (the function's resource-principal signer for the
happy path, `SecurityTokenSigner` for hand-made requests) and sent with the SDK's HTTP stack."""

from __future__ import annotations

import email.utils
import json
import time

import jwt
import oci
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from oci._vendor import requests  # the HTTP stack the SDK itself ships and signs with

from localoci.emulator import CoreEmulator
from localoci.identity import LocalIdentity, create_identity
from tests.helpers import SEED, send

VOLUME = "ocid1.volume.oc1.iad.abuwcljrappdata000000000000000000000000000000000000000001"
OTHER_VOLUME = "ocid1.volume.oc1.iad.abuwcljrdblogs0000000000000000000000000000000000000000002"
BUSY_VOLUME = "ocid1.volume.oc1.iad.abuwcljrbusyvol0000000000000000000000000000000000000000010"
PROD = "ocid1.compartment.oc1..aaaaaaaaprod0000000000000000000000000000000000000000001"
INSTANCE = "ocid1.instance.oc1.iad.anuwcljrapi0100000000000000000000000000000000000000001"


@pytest.fixture
def emulator(identity: LocalIdentity):
    with CoreEmulator(SEED, identity.issuer_public_key_pem, creating_after=0.3, available_after=0.8) as running:
        yield running


def test_the_function_signer_is_accepted_and_answers_use_api_field_names(emulator, identity):
    signer = oci.auth.signers.EphemeralResourcePrincipalSigner(
        session_token=str(identity.token_path), private_key=str(identity.private_key_path), region="us-ashburn-1"
    )
    client = oci.base_client.BaseClient(
        "blockstorage", {}, signer, {}, service_endpoint=emulator.url, base_path="/20160918", skip_deserialization=True
    )
    response = client.call_api(resource_path=f"/volumes/{VOLUME}", method="GET", response_type="object")
    assert response.status == 200
    assert response.data["id"] == VOLUME
    assert response.data["compartmentId"] == PROD
    assert response.headers["opc-request-id"] == emulator.requests[0].opc_request_id
    assert emulator.requests[0].signature_ok


def test_a_request_signed_with_another_key_is_refused(emulator, identity):
    stranger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    answer = send(emulator, identity, "GET", f"/volumes/{VOLUME}", key=stranger)
    assert answer.status_code == 401
    assert answer.json()["code"] == "NotAuthenticated"
    assert answer.headers["opc-request-id"]
    assert emulator.requests[-1].signature_problem == "signature does not match"


def test_a_body_changed_after_signing_is_refused_and_creates_nothing(emulator, identity):
    tampered = json.dumps({"volumeId": OTHER_VOLUME}).encode()
    answer = send(emulator, identity, "POST", "/volumeBackups", {"volumeId": VOLUME}, after_signing={"body": tampered})
    assert answer.status_code == 401
    assert "x-content-sha256" in str(emulator.requests[-1].signature_problem)
    assert emulator.backups_for(VOLUME) == [] and emulator.backups_for(OTHER_VOLUME) == []


def test_a_changed_signed_header_is_refused(emulator, identity):
    answer = send(emulator, identity, "GET", f"/volumes/{VOLUME}", after_signing={"date": email.utils.formatdate(usegmt=True) + " "})
    assert answer.status_code == 401


def test_a_stale_date_is_refused_though_correctly_signed(emulator, identity):
    stale = email.utils.formatdate(time.time() - 6 * 60, usegmt=True)
    answer = send(emulator, identity, "GET", f"/volumes/{VOLUME}", headers={"date": stale})
    assert answer.status_code == 401
    assert emulator.requests[-1].signature_problem == "date is more than 5 minutes from now"
    recent = email.utils.formatdate(time.time() - 4 * 60, usegmt=True)
    assert send(emulator, identity, "GET", f"/volumes/{VOLUME}", headers={"date": recent}).status_code == 200


def test_a_token_from_another_issuer_or_revoked_or_absent_is_refused(emulator, identity, tmp_path):
    forger = create_identity(tmp_path / "forger")
    forged = forger.token_path.read_text()
    assert send(emulator, identity, "GET", f"/volumes/{VOLUME}", token=forged, key=forger.session_key).status_code == 401
    emulator.revoke_token(jwt.decode(identity.token_path.read_text(), options={"verify_signature": False})["jti"])
    assert send(emulator, identity, "GET", f"/volumes/{VOLUME}").status_code == 401
    identity.issue_token()
    assert send(emulator, identity, "GET", f"/volumes/{VOLUME}").status_code == 200
    with requests.Session() as session:
        assert session.get(f"{emulator.url}/20160918/volumes/{VOLUME}", timeout=10).status_code == 401


def test_a_post_without_signed_body_headers_is_refused(emulator, identity):
    signer = oci.auth.signers.SecurityTokenSigner(identity.token_path.read_text(), identity.session_key)
    prepared = requests.Request("POST", f"{emulator.url}/20160918/volumeBackups", data=json.dumps({"volumeId": VOLUME})).prepare()
    signer.without_content_headers(prepared)
    with requests.Session() as session:
        assert session.send(prepared, timeout=10).status_code == 401
    assert "headers not signed" in str(emulator.requests[-1].signature_problem)


def test_retry_token_same_body_same_backup_other_body_409(emulator, identity):
    body = {"volumeId": VOLUME, "displayName": "first"}
    first = send(emulator, identity, "POST", "/volumeBackups", body, headers={"opc-retry-token": "t-1"})
    again = send(emulator, identity, "POST", "/volumeBackups", body, headers={"opc-retry-token": "t-1"})
    assert first.status_code == again.status_code == 200
    assert first.json()["id"] == again.json()["id"]
    other = send(emulator, identity, "POST", "/volumeBackups", {**body, "displayName": "second"}, headers={"opc-retry-token": "t-1"})
    assert other.status_code == 409
    assert set(other.json()) == {"code", "message"}
    assert len(emulator.backups_for(VOLUME)) == 1


def test_a_second_backup_while_one_is_in_progress_is_409_then_allowed(emulator, identity):
    created = send(emulator, identity, "POST", "/volumeBackups", {"volumeId": VOLUME}).json()
    assert created["lifecycleState"] == "REQUEST_RECEIVED"
    assert created["sourceType"] == "MANUAL"
    busy = send(emulator, identity, "POST", "/volumeBackups", {"volumeId": VOLUME})
    assert (busy.status_code, busy.json()["code"]) == (409, "Conflict")
    states: list[str] = []
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and (not states or states[-1] != "AVAILABLE"):
        state = send(emulator, identity, "GET", f"/volumeBackups/{created['id']}").json()["lifecycleState"]
        if not states or states[-1] != state:
            states.append(state)
        time.sleep(0.05)
    assert states == ["REQUEST_RECEIVED", "CREATING", "AVAILABLE"]
    assert send(emulator, identity, "POST", "/volumeBackups", {"volumeId": VOLUME}).status_code == 200


def test_seeded_running_backup_is_listed_and_blocks_a_new_one(emulator, identity):
    listed = send(emulator, identity, "GET", f"/volumeBackups?compartmentId={PROD}&volumeId={BUSY_VOLUME}").json()
    assert [b["lifecycleState"] for b in listed] == ["CREATING"]
    assert send(emulator, identity, "POST", "/volumeBackups", {"volumeId": BUSY_VOLUME}).status_code == 409


def test_invalid_bodies_and_unknown_volumes(emulator, identity):
    assert send(emulator, identity, "POST", "/volumeBackups", {"volumeId": VOLUME, "type": "DAILY"}).json()["code"] == "InvalidParameter"
    assert send(emulator, identity, "POST", "/volumeBackups", {}).status_code == 400
    missing = send(emulator, identity, "POST", "/volumeBackups", {"volumeId": "ocid1.volume.oc1.iad.nosuchvolume"})
    assert (missing.status_code, missing.json()["code"]) == (404, "NotAuthorizedOrNotFound")
    assert send(emulator, identity, "GET", "/bootVolumeAttachments?compartmentId=x").status_code == 400


def test_boot_volume_attachments_are_found_by_instance(emulator, identity):
    query = f"availabilityDomain=Uocm:US-ASHBURN-AD-2&compartmentId={PROD}&instanceId={INSTANCE}"
    (attachment,) = send(emulator, identity, "GET", f"/bootVolumeAttachments?{query}").json()
    assert attachment["bootVolumeId"].startswith("ocid1.bootvolume.")
    assert send(emulator, identity, "GET", f"/instances/{INSTANCE}").json()["availabilityDomain"] == "Uocm:US-ASHBURN-AD-2"


def test_injected_faults_for_the_next_calls_then_normal(emulator, identity):
    emulator.add_fault(status=429, times=2)
    statuses = [send(emulator, identity, "GET", f"/volumes/{VOLUME}").status_code for _ in range(3)]
    assert statuses == [429, 429, 200]
    assert emulator.requests[0].fault is not None
    assert send(emulator, identity, "GET", f"/volumes/{VOLUME}").json()["id"] == VOLUME


def test_injected_fault_for_a_chosen_resource_only(emulator, identity):
    emulator.add_fault(resource_id=VOLUME, status=503, code="ServiceUnavailable", times=None)
    for _ in range(2):
        answer = send(emulator, identity, "POST", "/volumeBackups", {"volumeId": VOLUME})
        assert (answer.status_code, answer.json()["code"]) == (503, "ServiceUnavailable")
    assert send(emulator, identity, "POST", "/volumeBackups", {"volumeId": OTHER_VOLUME}).status_code == 200
    assert emulator.backups_for(VOLUME) == []
    emulator.clear_faults()
    assert send(emulator, identity, "POST", "/volumeBackups", {"volumeId": VOLUME}).status_code == 200


def test_injected_404_409_and_500_use_the_api_error_shape(emulator, identity):
    for status, code in ((404, "NotAuthorizedOrNotFound"), (409, "Conflict"), (500, "InternalServerError")):
        emulator.add_fault(operation="GetVolume", status=status)
        answer = send(emulator, identity, "GET", f"/volumes/{VOLUME}")
        assert answer.status_code == status
        assert answer.json()["code"] == code
        assert answer.headers["opc-request-id"]


def test_injected_connection_reset_and_delay(emulator, identity):
    emulator.add_fault(operation="GetVolume", reset_connection=True)
    with pytest.raises(requests.exceptions.ConnectionError):
        send(emulator, identity, "GET", f"/volumes/{VOLUME}")
    emulator.add_fault(operation="GetVolume", delay=0.5)
    started = time.monotonic()
    assert send(emulator, identity, "GET", f"/volumes/{VOLUME}").status_code == 200
    assert time.monotonic() - started >= 0.5


def test_faults_can_be_seeded_from_the_seed_file(identity):
    seed = json.loads(SEED.read_text())
    seed["faults"] = [{"operation": "CreateVolumeBackup", "resource_id": VOLUME, "status": 429, "times": None}]
    with CoreEmulator(seed, identity.issuer_public_key_pem) as emulator:
        assert send(emulator, identity, "POST", "/volumeBackups", {"volumeId": VOLUME}).status_code == 429
        assert send(emulator, identity, "GET", f"/volumes/{VOLUME}").status_code == 200
