"""OCI's answers mapped to ours: the Core client in-process against the emulator, signed by the SDK's
own resource-principal signer, with faults injected in the emulator (no mocks of the SDK)."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import jwt
import pytest

from backup_fn.clients.core import BackupReply, CoreClient
from backup_fn.clients.retry import MAX_ATTEMPTS
from backup_fn.clients.signer import Credentials
from backup_fn.deadline import Deadline
from backup_fn.errors import BackupInProgress, DeadlineExceeded, InternalError, NotFound, OciRejected, ServiceUnavailable, Throttled
from backup_fn.models import KINDS
from backup_fn.settings import Settings
from localoci.emulator import CoreEmulator
from localoci.identity import LocalIdentity
from tests.helpers import eventually

VOLUME = "ocid1.volume.oc1.iad.abuwcljrappdata000000000000000000000000000000000000000001"
KIND = KINDS["volume"]
PROD = "ocid1.compartment.oc1..aaaaaaaaprod0000000000000000000000000000000000000000001"


@pytest.fixture
def core(identity: LocalIdentity, emulator: CoreEmulator, monkeypatch: pytest.MonkeyPatch) -> Iterator[CoreClient]:
    for name, value in identity.env().items():
        monkeypatch.setenv(name, value)
    settings = Settings.model_validate({"OCI_CORE_ENDPOINT": emulator.url})
    yield CoreClient(Credentials(settings), settings.core_endpoint)


def deadline(seconds: float = 5.0) -> Deadline:
    return Deadline(at=time.monotonic() + seconds)


def create(core: CoreClient, token: str = "t-1", seconds: float = 5.0) -> BackupReply:
    return core.create_backup(KIND, {"volumeId": VOLUME, "type": "FULL"}, token, deadline(seconds))


def test_a_create_is_signed_and_answered(core, emulator):
    made = core.create_backup(KIND, {"volumeId": VOLUME}, "t-1", deadline())
    assert made.backup.volume_id == VOLUME
    assert made.request_id == emulator.requests[-1].opc_request_id
    assert emulator.requests[-1].signature_ok


@pytest.mark.parametrize(
    ("status", "code", "error_type", "transient"),
    [
        (404, "NotAuthorizedOrNotFound", NotFound, False),
        (409, "Conflict", BackupInProgress, False),
        (409, "NotAuthorizedOrResourceAlreadyExists", OciRejected, False),
        (400, "InvalidParameter", OciRejected, False),
        (412, "NoEtagMatch", OciRejected, False),
    ],
)
def test_permanent_answers_are_not_retried(core, emulator, status, code, error_type, transient):
    emulator.add_fault(operation="CreateVolumeBackup", status=status, code=code, times=None)
    with pytest.raises(error_type) as caught:
        create(core)
    assert caught.value.transient is transient
    assert caught.value.opc_request_id == emulator.requests[-1].opc_request_id
    assert len(emulator.requests) == 1
    if error_type is OciRejected:
        assert caught.value.code == code


# A 429's backoff is at least half its cap, so 4 s is enough for a backoff that ignored the deadline to
# sleep past it (999 times in 1,000) and far too little for eight attempts (their backoff takes 11.75 s);
# a 5xx's may be as short as nothing, so 1.5 s leaves too little for eight (once in 180,000 calls it is not).
@pytest.mark.parametrize(
    ("status", "code", "error_type", "seconds"),
    [
        (429, "TooManyRequests", Throttled, 4.0),
        (500, "InternalServerError", ServiceUnavailable, 1.5),
        (409, "IncorrectState", ServiceUnavailable, 1.5),
    ],
)
def test_transient_answers_are_retried_until_the_deadline_then_reported(core, emulator, status, code, error_type, seconds):
    emulator.add_fault(operation="CreateVolumeBackup", status=status, code=code, times=None)
    with pytest.raises(error_type) as caught:
        create(core, seconds=seconds)
    # OCI's own last answer, not DeadlineExceeded: no backoff slept past the deadline.
    assert type(caught.value) is error_type and caught.value.transient
    attempts = [r for r in emulator.requests if r.operation == "CreateVolumeBackup"]
    assert len(attempts) >= 2
    assert len(attempts) < MAX_ATTEMPTS  # the deadline ended the retries, not the attempt limit
    assert len({r.retry_token for r in attempts}) == 1


def test_transient_then_success_is_one_backup(core, emulator):
    emulator.add_fault(operation="CreateVolumeBackup", status=503, times=2)
    made = create(core)
    assert [r.status for r in emulator.requests] == [503, 503, 200]
    assert made.backup.id in emulator.backups


def test_refused_credentials_are_an_internal_error_not_the_sender_s(core, emulator):
    emulator.add_fault(operation="GetVolume", status=401, code="NotAuthenticated", times=None)
    with pytest.raises(InternalError, match="credentials"):
        core.get_volume(KIND, VOLUME, deadline(2.0))


def test_a_dropped_connection_is_retried_then_unavailable(core, emulator):
    emulator.add_fault(operation="GetVolume", reset_connection=True, times=None)
    with pytest.raises(ServiceUnavailable):
        core.get_volume(KIND, VOLUME, deadline(2.0))
    assert len(emulator.requests) >= 2


def test_an_answer_slower_than_the_deadline_ends_at_the_deadline(core, emulator):
    emulator.add_fault(operation="GetVolume", delay=5.0, times=None)  # then it would answer 200
    with pytest.raises(DeadlineExceeded):
        core.get_volume(KIND, VOLUME, deadline(1.0))
    assert [r.operation for r in emulator.requests] == ["GetVolume"]  # and no attempt after the deadline


def test_an_html_error_page_becomes_a_short_message_with_its_status(core, emulator):
    page = "<html><head><title>502 Bad Gateway</title></head><body>" + "x" * 5000 + "</body></html>"
    emulator.add_fault(operation="GetVolume", status=404, body=page)
    with pytest.raises(NotFound) as caught:
        core.get_volume(KIND, VOLUME, deadline())
    assert "<html" not in caught.value.message
    assert "HTTP 404 with a text/html body" in caught.value.message
    assert len(caught.value.message) < 200


def test_an_html_5xx_page_is_retried_like_any_5xx(core, emulator):
    emulator.add_fault(operation="GetVolume", status=502, body="<html>Bad Gateway</html>", times=2)
    assert core.get_volume(KIND, VOLUME, deadline()).id == VOLUME
    assert [r.status for r in emulator.requests] == [502, 502, 200]


def test_a_body_that_is_not_utf8_is_the_transient_5xx_it_is(core, emulator):
    emulator.add_fault(operation="GetVolume", status=400, body="r\u00e9ponse", body_encoding="latin-1", times=None)
    with pytest.raises(ServiceUnavailable) as caught:
        core.get_volume(KIND, VOLUME, deadline(2.0))
    assert caught.value.transient
    assert "not UTF-8" in caught.value.message
    assert len(emulator.requests) >= 2


def test_a_trickling_answer_is_cut_at_the_deadline(core, emulator):
    emulator.add_fault(operation="GetVolume", trickle_seconds=20, times=None)  # then it would answer 200
    with pytest.raises(DeadlineExceeded):
        core.get_volume(KIND, VOLUME, deadline(1.5))
    (trickled,) = emulator.requests
    assert eventually(lambda: trickled.cut), "the emulator was still sending when the client gave up, yet saw no cut"


def test_listing_follows_every_page(core, emulator):
    emulator.state.max_page_size = 2
    made = {emulator.add_backup(source_id=VOLUME) for _ in range(5)}
    listed = list(core.backups_of(KIND, VOLUME, PROD, deadline()))
    assert {b.id for b in listed} == made
    pages = [r for r in emulator.requests if r.operation == "ListVolumeBackups"]
    assert len(pages) == 3


def test_an_expired_token_is_read_again_from_its_file_after_the_401(core, emulator, identity):
    identity.issue_token(lifetime=2)
    core.get_volume(KIND, VOLUME, deadline())
    time.sleep(2.5)
    identity.issue_token()  # what the platform (or the standalone emulator) does before a token expires
    assert core.get_volume(KIND, VOLUME, deadline()).id == VOLUME
    assert [r.status for r in emulator.requests] == [200, 401, 200]


def token_id(token: str) -> str:
    return str(jwt.decode(token, options={"verify_signature": False})["jti"])


def test_a_token_and_key_rotated_twice_with_the_old_token_revoked_are_read_again(core, emulator, identity):
    assert core.get_volume(KIND, VOLUME, deadline()).id == VOLUME
    for _ in range(2):
        old = token_id(identity.token_path.read_text())
        identity.rotate()
        emulator.revoke_token(old)
        assert core.get_volume(KIND, VOLUME, deadline()).id == VOLUME
    assert [r.status for r in emulator.requests] == [200, 401, 200, 401, 200]
    assert emulator.requests[-1].signature_ok


def test_a_token_file_caught_half_written_is_read_again_once_whole(core, emulator, identity):
    assert core.get_volume(KIND, VOLUME, deadline()).id == VOLUME
    old = token_id(identity.token_path.read_text())
    token = identity.rotate()
    emulator.revoke_token(old)
    identity.token_path.write_text(token[: len(token) // 2])  # the platform's write, caught half-way
    finish = threading.Timer(0.05, identity.token_path.write_text, args=(token,))
    finish.start()
    try:
        assert core.get_volume(KIND, VOLUME, deadline()).id == VOLUME
    finally:
        finish.join()
    assert [r.status for r in emulator.requests][-1] == 200
