"""The function's resource principal through the real fdk server, against the emulator: what the
platform puts in the container is read as the SDK reads it, a wrong one is an answer naming what is
wrong (never a traceback), and a rotated token and key are read again."""

from __future__ import annotations

import jwt
import pytest

from localoci.harness import REPO, FdkServer
from localoci.samples import sample

pytestmark = pytest.mark.functional


def token_id(token: str) -> str:
    return str(jwt.decode(token, options={"verify_signature": False})["jti"])


def assert_names(result, name: str) -> None:
    assert result.status == 502  # transient: a redelivery succeeds once the container is right
    assert result.json["code"] == "InvalidConfiguration"
    assert name in result.json["message"]
    assert "Traceback" not in result.body.decode()


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("OCI_RESOURCE_PRINCIPAL_VERSION", "1.1"),
        ("OCI_RESOURCE_PRINCIPAL_RPST", "/nonexistent/rpst"),
        ("OCI_RESOURCE_PRINCIPAL_PRIVATE_PEM", "not a key"),
        ("OCI_RESOURCE_PRINCIPAL_REGION", ""),
    ],
)
def test_a_resource_principal_that_cannot_be_used_is_an_answer_naming_the_variable(start_function, emulator, name, value):
    function = start_function(**{name: value})
    assert_names(function.call(sample("request-volume.json").call()), name)
    assert emulator.requests == []


def test_a_missing_resource_principal_is_named(tmp_path, identity, emulator):
    env = {name: value for name, value in identity.env().items() if name != "OCI_RESOURCE_PRINCIPAL_PRIVATE_PEM"}
    with FdkServer(REPO / "func.py", tmp_path / "fn", {**env, "OCI_CORE_ENDPOINT": emulator.url}) as function:
        assert_names(function.call(sample("request-volume.json").call()), "OCI_RESOURCE_PRINCIPAL_PRIVATE_PEM")


def test_the_token_and_key_rotated_twice_with_the_old_token_revoked(function, emulator, identity):
    assert function.call(sample("request-volume.json").call()).json["outcome"] == "created"
    for _ in range(2):
        old = token_id(identity.token_path.read_text())
        identity.rotate()
        emulator.revoke_token(old)
        result = function.call(sample("request-postman-create-volume-backup.json").call())
        assert result.status == 200, result.body
    statuses = [r.status for r in emulator.requests]
    assert statuses.count(401) == 2
    assert statuses[-1] == 200


def test_a_token_left_half_written_is_answered_then_read_again_once_whole(function, emulator, identity):
    assert function.call(sample("request-volume.json").call()).status == 200
    old = token_id(identity.token_path.read_text())
    token = identity.rotate()
    emulator.revoke_token(old)
    identity.token_path.write_text(token[: len(token) // 2])
    assert_names(function.call(sample("request-postman-create-volume-backup.json").call()), "OCI_RESOURCE_PRINCIPAL_RPST")
    identity.token_path.write_text(token)
    assert function.call(sample("request-postman-create-volume-backup.json").call()).status == 200
