"""The emulator's Notifications delivery and its create rate limit."""

from __future__ import annotations

import threading

from localoci.emulator import CoreEmulator
from localoci.harness import Call, CallResult
from localoci.identity import LocalIdentity
from localoci.ons_delivery import NotificationsEngine
from localoci.rate_limit import TokenBucket
from tests.helpers import SEED, send

FAILURES = "ocid1.onstopic.oc1.iad.aaaaaaaabackupfailures000000000000000000000000000000000001"


class Container:
    """Answers `statuses` in turn (then 200), recording each call's headers and body."""

    def __init__(self, *statuses: int) -> None:
        self.statuses = list(statuses)
        self.calls: list[dict[str, str]] = []
        self.bodies: list[bytes] = []
        self.lock = threading.Lock()

    def call(self, call: Call, timeout: float = 60.0) -> CallResult:
        with self.lock:
            self.calls.append(call.headers())
            self.bodies.append(call.body)
            status = self.statuses.pop(0) if self.statuses else 200
        return CallResult(status, {}, b"{}", 0.0)


def publish(emulator: CoreEmulator, identity: LocalIdentity, body: str) -> None:
    answer = send(emulator, identity, "POST", f"/topics/{FAILURES}/messages", {"title": "t", "body": body}, prefix="/20181201")
    assert answer.status_code == 200, answer.text


def test_a_published_message_reaches_the_function_with_its_message_id_and_failed_deliveries_come_again(identity):
    container = Container(502, 502)
    with (
        CoreEmulator(SEED, identity.issuer_public_key_pem) as emulator,
        NotificationsEngine(emulator, minute_seconds=0.01) as engine,
    ):
        engine.subscribe(FAILURES, [container])
        publish(emulator, identity, '{"sweep": {}}')
        assert engine.wait_idle(within=30)
    (message,) = emulator.messages
    assert [d.status for d in engine.deliveries] == [502, 502, 200]
    assert [d.attempt for d in engine.deliveries] == [1, 2, 3]
    assert {headers["X-OCI-NS-MessageId"] for headers in container.calls} == {message["messageId"]}
    assert len({headers["Fn-Call-Id"] for headers in container.calls}) == 3
    assert container.bodies == [b'{"sweep": {}}'] * 3
    # Again at once, then after a minute: the third attempt waited for the compressed minute.
    assert engine.deliveries[2].at - engine.deliveries[1].at >= 0.01


def test_duplicates_and_a_delivery_that_never_succeeds_is_dropped_after_two_hours(identity):
    always_failing = Container(*[502] * 100)
    with (
        CoreEmulator(SEED, identity.issuer_public_key_pem) as emulator,
        NotificationsEngine(emulator, minute_seconds=0.002, duplicates=1) as engine,
    ):
        engine.subscribe(FAILURES, [always_failing])
        publish(emulator, identity, "never")
        assert engine.wait_idle(within=30)
        assert len(engine.dropped) == 1
        # at 0, again at once, then +1, +2, +4, +8, +16, +32 and +32 minutes (95); the next would be past 120
        assert len(engine.deliveries) == 9
        healthy = Container()
        engine.subscribe(FAILURES, [healthy])
        publish(emulator, identity, "twice")
        assert engine.wait_idle(within=30)
    assert healthy.bodies == [b"twice", b"twice"]


def test_the_create_limit_answers_429_past_its_rate(identity):
    bucket = TokenBucket(per_second=0.001, burst=2)
    assert [bucket.take() for _ in range(3)] == [True, True, False]
    with CoreEmulator(SEED, identity.issuer_public_key_pem) as emulator:
        emulator.limit_creates(0.001, burst=1)
        body = {"volumeId": "ocid1.volume.oc1.iad.abuwcljrspare00000000000000000000000000000000000000000011"}
        statuses = [send(emulator, identity, "POST", "/volumeBackups", body).status_code for _ in range(2)]
        read = send(emulator, identity, "GET", "/volumes/ocid1.volume.oc1.iad.abuwcljrspare00000000000000000000000000000000000000000011")
        emulator.limit_creates(None)
        later = send(emulator, identity, "POST", "/volumeBackups", {**body, "displayName": "after"}).status_code
    assert statuses == [200, 429] and read.status_code == 200
    assert later in (200, 409)  # unlimited again (409: the first one is still in progress)
