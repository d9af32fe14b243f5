"""The function's resource-principal signer (`backup_fn/clients/signer.py`) against the emulator and
against the SDK's own `get_resource_principals_signer()`: the same reading rules, the same
signatures, the same claims, and renewal when the platform rotates the token and key."""

from __future__ import annotations

import email.utils
import json
import os
import time
from collections.abc import Iterator

import jwt
import oci
import pytest
from cryptography.hazmat.primitives import serialization
from oci._vendor import requests

from backup_fn.clients import signer as rp
from backup_fn.clients.base import Credentials
from backup_fn.clients.core import CORE, CoreClient
from backup_fn.deadline import Deadline
from backup_fn.errors import InternalError, InvalidConfiguration
from backup_fn.models import KINDS
from backup_fn.settings import Settings
from localoci.emulator import CoreEmulator
from localoci.identity import COMPARTMENT_ID, REGION, TENANCY_ID, LocalIdentity, create_identity

VOLUME = "ocid1.volume.oc1.iad.abuwcljrappdata000000000000000000000000000000000000000001"
KIND = KINDS["volume"]
RP_VARIABLES = (rp.VERSION, rp.RPST, rp.PRIVATE_PEM, rp.PASSPHRASE, rp.REGION)


@pytest.fixture
def environ(identity: LocalIdentity, monkeypatch: pytest.MonkeyPatch) -> Iterator[pytest.MonkeyPatch]:
    """The process environment as the platform sets it (the SDK reads it from there too)."""
    for name in RP_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    for name, value in identity.env().items():
        monkeypatch.setenv(name, value)
    yield monkeypatch


def settings_for(emulator: CoreEmulator | None = None, **config: str) -> Settings:
    return Settings.model_validate(({"OCI_CORE_ENDPOINT": emulator.url} if emulator else {}) | config)


def deadline(seconds: float = 5.0) -> Deadline:
    return Deadline(at=time.monotonic() + seconds)


def core_for(emulator: CoreEmulator) -> CoreClient:
    settings = settings_for(emulator)
    return CoreClient(Credentials(settings), settings.core_endpoint)


def problem(**changes: str | None) -> str:
    """The InvalidConfiguration message when the environment is changed so (None: unset)."""
    environ = {name: value for name, value in os.environ.items() if name not in changes}
    environ.update({name: value for name, value in changes.items() if value is not None})
    with pytest.raises(InvalidConfiguration) as caught:
        rp.read_resource_principal(environ)
    assert caught.value.transient  # the platform's redelivery succeeds once the container is right
    assert "Traceback" not in caught.value.message
    return caught.value.message


def prepared(method: str, url: str, body: object = None) -> requests.PreparedRequest:
    date = email.utils.formatdate(1_780_000_000, usegmt=True)
    data = json.dumps(body) if body is not None else None
    headers = {"date": date, "content-type": "application/json", "accept": "application/json"}
    return requests.Request(method, url, data=data, headers=headers).prepare()


# 1. reading the environment the way the SDK does


@pytest.mark.parametrize(
    ("method", "body"),
    [("GET", None), ("POST", {"volumeId": VOLUME, "type": "FULL"}), ("DELETE", None)],
)
def test_the_authorization_header_is_byte_for_byte_the_sdk_signer_s(environ, emulator, method, body):
    sdk = oci.auth.signers.get_resource_principals_signer()
    ours = rp.read_resource_principal(os.environ).signer
    url = f"{emulator.url}/20160918/volumes/{VOLUME}"
    by_sdk, by_us = sdk(prepared(method, url, body)), ours(prepared(method, url, body))
    assert by_us.headers["authorization"] == by_sdk.headers["authorization"]
    assert dict(by_us.headers) == dict(by_sdk.headers)


def test_values_that_are_not_absolute_paths_are_the_values_themselves(environ, emulator, identity):
    environ.setenv(rp.RPST, identity.token_path.read_text())
    environ.setenv(rp.PRIVATE_PEM, identity.private_key_path.read_text())
    assert core_for(emulator).get_volume(KIND, VOLUME, deadline()).id == VOLUME
    assert emulator.requests[-1].signature_ok


def test_a_relative_path_is_a_value_as_the_sdk_reads_it(environ, identity):
    environ.chdir(identity.directory)  # even where the file is there to be found
    assert rp.RPST in problem(**{rp.RPST: identity.token_path.name})
    assert rp.PRIVATE_PEM in problem(**{rp.PRIVATE_PEM: identity.private_key_path.name})


def test_an_encrypted_key_opens_with_its_passphrase_as_a_value_or_a_file(environ, emulator, identity, tmp_path):
    encrypted = tmp_path / "encrypted.pem"
    encrypted.write_bytes(
        identity.session_key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.BestAvailableEncryption(b"s3cret")
        )
    )
    environ.setenv(rp.PRIVATE_PEM, str(encrypted))
    assert rp.PASSPHRASE in problem()
    assert rp.PRIVATE_PEM in problem(**{rp.PASSPHRASE: "wrong"})
    environ.setenv(rp.PASSPHRASE, "s3cret")
    assert core_for(emulator).get_volume(KIND, VOLUME, deadline()).id == VOLUME
    passphrase = tmp_path / "passphrase"
    passphrase.write_text("s3cret\n")
    environ.setenv(rp.PASSPHRASE, str(passphrase))
    assert core_for(emulator).get_volume(KIND, VOLUME, deadline()).id == VOLUME
    assert all(r.signature_ok for r in emulator.requests)


def test_a_passphrase_the_key_does_not_need_is_ignored_as_the_sdk_ignores_it(environ, emulator):
    environ.setenv(rp.PASSPHRASE, "not-needed")
    assert core_for(emulator).get_volume(KIND, VOLUME, deadline()).id == VOLUME


@pytest.mark.parametrize("version", ["1.1", "2.1", "2.1.1", "3.0", "2.2 "])
def test_an_unsupported_version_is_named(environ, version):
    message = problem(**{rp.VERSION: version})
    assert rp.VERSION in message
    assert "2.2" in message


@pytest.mark.parametrize("name", [rp.VERSION, rp.RPST, rp.PRIVATE_PEM, rp.REGION])
def test_a_missing_variable_is_named(environ, name):
    assert name in problem(**{name: None})
    assert name in problem(**{name: ""})


@pytest.mark.parametrize("name", [rp.RPST, rp.PRIVATE_PEM, rp.PASSPHRASE])
def test_a_file_that_cannot_be_read_is_named_with_its_path(environ, tmp_path, name):
    absent = tmp_path / "absent"
    message = problem(**{name: str(absent)})
    assert name in message and str(absent) in message
    assert name in problem(**{name: str(tmp_path)})  # a directory


def test_a_token_or_key_that_cannot_be_used_is_named_without_its_contents(environ, identity, tmp_path):
    assert rp.RPST in problem(**{rp.RPST: "not.a-token"})
    public = tmp_path / "public.pem"
    public.write_bytes(
        identity.session_key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    message = problem(**{rp.PRIVATE_PEM: str(public)})
    assert rp.PRIVATE_PEM in message and "PUBLIC KEY" not in message


def test_the_function_answers_a_missing_resource_principal_with_the_variable_named(environ, emulator):
    environ.delenv(rp.RPST)
    with pytest.raises(InvalidConfiguration, match=rp.RPST):
        core_for(emulator).get_volume(KIND, VOLUME, deadline())
    assert emulator.requests == []


# 2. renewal when the platform rotates the token and the key


def test_the_key_is_loaded_once_while_the_files_are_unchanged(environ, emulator, identity):
    credentials = Credentials(settings_for(emulator))
    _, first = credentials.get()
    assert credentials.renew(first)  # a 401 with the same files: read again, nothing new, the same signer
    assert credentials.get()[1] is first
    identity.rotate()
    assert credentials.renew(first)
    assert credentials.get()[1] is not first


def test_the_token_is_read_again_before_it_expires_so_oci_never_refuses_it(environ, emulator, identity):
    # A token read this close to its end is looked at again after RECHECK_SECONDS, not on every call.
    claims = jwt.decode(
        identity.issue_token(lifetime=rp.RENEW_BEFORE_EXPIRY_SECONDS + rp.RECHECK_SECONDS + 1), options={"verify_signature": False}
    )
    core = core_for(emulator)
    assert core.get_volume(KIND, VOLUME, deadline()).id == VOLUME
    time.sleep(max(0.0, claims["exp"] - rp.RENEW_BEFORE_EXPIRY_SECONDS - time.time()) + 0.2)
    old = claims["jti"]
    identity.rotate()
    emulator.revoke_token(old)
    assert core.get_volume(KIND, VOLUME, deadline()).id == VOLUME
    assert [r.status for r in emulator.requests] == [200, 200]


def test_a_401_that_persists_is_tried_once_more_with_what_is_read_again(environ, emulator):
    emulator.add_fault(operation="GetVolume", status=401, code="NotAuthenticated", times=None)
    with pytest.raises(InternalError, match="credentials"):
        core_for(emulator).get_volume(KIND, VOLUME, deadline())
    assert [r.status for r in emulator.requests] == [401, 401]


def test_a_token_left_half_written_is_a_configuration_error_until_it_is_whole(environ, emulator, identity):
    core = core_for(emulator)
    assert core.get_volume(KIND, VOLUME, deadline()).id == VOLUME
    old = jwt.decode(identity.token_path.read_text(), options={"verify_signature": False})["jti"]
    token = identity.rotate()
    emulator.revoke_token(old)
    identity.token_path.write_text(token[:100])
    with pytest.raises(InvalidConfiguration, match=rp.RPST):
        core.get_volume(KIND, VOLUME, deadline())
    identity.token_path.write_text(token)
    assert core.get_volume(KIND, VOLUME, deadline()).id == VOLUME
    assert [r.status for r in emulator.requests] == [200, 401, 200]


def test_a_config_file_profile_is_not_read_again_on_a_401(identity, emulator, tmp_path):
    config = tmp_path / "oci-config"
    config.write_text(
        f"[LOCAL]\nuser=ocid1.user.oc1..aaaaaaaalocaluser\nfingerprint=00:11\nkey_file={identity.private_key_path}\n"
        f"tenancy={TENANCY_ID}\nregion={REGION}\nsecurity_token_file={identity.token_path}\n"
    )
    settings = settings_for(emulator, OCI_AUTH="config_file", OCI_CONFIG_FILE=str(config), OCI_CONFIG_PROFILE="LOCAL")
    core = CoreClient(Credentials(settings), settings.core_endpoint)
    assert core.get_volume(KIND, VOLUME, deadline()).id == VOLUME
    emulator.add_fault(operation="GetVolume", status=401, code="NotAuthenticated", times=None)
    with pytest.raises(InternalError):
        core.get_volume(KIND, VOLUME, deadline())
    assert [r.status for r in emulator.requests] == [200, 401]


# 3. the region and the claims


@pytest.mark.parametrize("region", [REGION, "iad"])
def test_the_clients_endpoints_come_from_the_region(environ, region):
    environ.setenv(rp.REGION, region)
    sdk = oci.base_client.BaseClient(
        CORE.name,
        {},
        oci.auth.signers.get_resource_principals_signer(),
        {},
        base_path=CORE.base_path,
        service_endpoint_template=CORE.endpoint_template,
        endpoint_service_name=CORE.endpoint_service_name,
    )
    settings = settings_for()
    client, _, _ = CoreClient(Credentials(settings), settings.core_endpoint)._oci._client()
    assert client.get_endpoint() == sdk.get_endpoint() == "https://iaas.us-ashburn-1.oraclecloud.com"


def test_the_claims_are_the_token_s_decoded_as_the_sdk_decodes_them(environ):
    credentials = Credentials(settings_for())
    assert credentials.compartment_id() == COMPARTMENT_ID
    assert credentials.tenancy_id() == TENANCY_ID
    sdk = oci.auth.signers.get_resource_principals_signer()
    assert (sdk.get_claim("res_compartment"), sdk.get_claim("res_tenant")) == (COMPARTMENT_ID, TENANCY_ID)


def test_the_token_s_signature_is_not_verified_here_oci_verifies_it(environ, tmp_path):
    stranger = create_identity(tmp_path / "stranger")  # a token no one here trusts still names its claims
    environ.setenv(rp.RPST, str(stranger.token_path))
    assert Credentials(settings_for()).compartment_id() == COMPARTMENT_ID
