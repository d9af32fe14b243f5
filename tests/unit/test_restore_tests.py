"""Restore tests with an in-memory Core client: the sweep's step (which volumes are tested next,
over several sweeps; the clean-up of test volumes whose event never came), starting and judging a
test, and the settings that turn restore tests on."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import pytest

from backup_fn.answers import RestoreTestAnswer
from backup_fn.deadline import Deadline
from backup_fn.domain import Arrival, Mark, RestoreTestJob, Trigger
from backup_fn.errors import InvalidConfiguration, InvalidRequest, RestoreNotFinished, RestoreTestFailed, Throttled
from backup_fn.models import KINDS, OciBackup, OciVolume
from backup_fn.restore_choice import LAST_TEST_TAG, LastTest
from backup_fn.settings import load_settings
from backup_fn.sources import parse_trigger
from backup_fn.usecases.restore_test import RestoreTests
from tests.unit.fakes import FakeCore

PROD = "ocid1.compartment.oc1..aaaaaaaaprod0000000000000000000000000000000000000000001"
RESTORE = "ocid1.compartment.oc1..aaaaaaaarestoretests00000000000000000000000000000000003"
MARK = Mark("volume-backup-local", "resource")
CONFIG = {"MARK_TAG_NAMESPACE": MARK.namespace, "RESTORE_TEST_COMPARTMENT_ID": RESTORE}
NOW = datetime.now(UTC)


def stamp(ago: timedelta) -> str:
    return (NOW - ago).isoformat()


def volume(name: str, compartment: str = PROD, **fields: object) -> OciVolume:
    return OciVolume.model_validate(
        {"id": f"ocid1.volume.oc1.iad.{name}", "compartmentId": compartment, "availabilityDomain": "AD-1", "sizeInGBs": 50, **fields}
    )


def backup(name: str, of: OciVolume, days: float, *, own: bool = True, state: str = "AVAILABLE", tested: str | None = None) -> OciBackup:
    backup_id = f"ocid1.volumebackup.oc1.iad.{name}"
    return OciBackup.model_validate(
        {
            "id": backup_id,
            "lifecycleState": state,
            "volumeId": of.id,
            "compartmentId": of.compartment_id,
            "timeCreated": stamp(timedelta(days=days)),
            "sizeInGBs": 50,
            "definedTags": MARK.tags_for(backup_id) if own else MARK.tags_for(of.id),
            "freeformTags": {LAST_TEST_TAG: tested} if tested else {},
        }
    )


def last_test(verdict: str, ago: timedelta, test_volume: str = "ocid1.volume.oc1.iad.t") -> str:
    return LastTest(verdict, NOW - ago, test_volume).tags()[LAST_TEST_TAG]  # type: ignore[arg-type]


def sweep_trigger(n: int) -> Trigger:
    return Trigger("sweep", "direct", f"sweep-{n}", datetime.now(UTC))


def deadline(seconds: float = 30.0) -> Deadline:
    return Deadline(at=time.monotonic() + seconds)


def newest_first(core: FakeCore) -> list[OciBackup]:
    return sorted(core.backups.values(), key=lambda b: b.time_created or "", reverse=True)


def sweep(
    core: FakeCore, volumes: Sequence[OciVolume], n: int, *, dry_run: bool = False, **config: str
) -> tuple[list[RestoreTestAnswer], RestoreTests]:
    use_case = RestoreTests(core, load_settings({**CONFIG, **config}))
    return use_case.during_sweep(volumes, newest_first(core), sweep_trigger(n), deadline(), dry_run=dry_run), use_case


def finish(core: FakeCore, use_case: RestoreTests, answer: RestoreTestAnswer, *, state: str = "AVAILABLE") -> RestoreTestAnswer:
    """The test volume comes up and its event arrives: the verdict, as the event's call gives it."""
    assert answer.test_volume_id is not None
    core.volumes[answer.test_volume_id] = core.volumes[answer.test_volume_id].model_copy(update={"lifecycle_state": state})
    event = Trigger("oci-events", "direct", f"event-{answer.test_volume_id}", datetime.now(UTC))
    result = use_case.judge(KINDS["volume"], answer.test_volume_id, event, deadline())
    assert result.restore_test is not None
    return result.restore_test


A, B, C = volume("a"), volume("b"), volume("c")


def test_over_several_sweeps_every_volume_is_tested_least_recently_tested_first():
    core = FakeCore(
        volumes=(A, B, C),
        backups=(
            backup("anew", A, 1),
            backup("aold", A, 8, tested=last_test("passed", timedelta(days=3))),
            backup("bnew", B, 2),
            backup("cnew", C, 1),
            backup("cold", C, 8, tested=last_test("passed", timedelta(days=5))),
        ),
    )
    tested: list[str] = []
    for n in range(4):
        (answer,), use_case = sweep(core, (A, B, C), n)
        assert answer.verdict == "started"
        tested.append(answer.backup_id.rsplit(".", 1)[1])
        assert finish(core, use_case, answer).verdict == "passed"
    # B never tested; then C (last tested 5 days ago) before A (3 days ago); then B again, tested longest ago.
    assert tested == ["bnew", "cnew", "anew", "bnew"]
    assert len({call.details["retry_token"] for call in core.called("create_volume")}) == 4  # a new test, a new token
    assert all(v.lifecycle_state == "TERMINATED" for v in core.volumes.values() if v.compartment_id == RESTORE)


def test_a_sweep_tests_as_many_volumes_as_configured_each_on_its_newest_own_available_backup():
    core = FakeCore(
        volumes=(A, B, C),
        backups=(
            backup("acreating", A, 0, state="CREATING"),
            backup("aavailable", A, 1),
            backup("bcopiedmark", B, 0, own=False),
            backup("bown", B, 3),
            backup("cforeign", C, 0, own=False),
        ),
    )
    answers, _ = sweep(core, (A, B, C), 1, RESTORE_TESTS_PER_SWEEP="5")
    assert sorted(a.backup_id.rsplit(".", 1)[1] for a in answers) == ["aavailable", "bown"]
    for call in core.called("create_volume"):
        body = call.details["body"]
        assert body["compartmentId"] == RESTORE
        assert body["vpusPerGB"] == 0
        assert body["sourceDetails"] == {"type": "volumeBackup", "id": call.resource_id}
        assert body["freeformTags"] == {"restore-test-of": call.resource_id}
    for answer in answers:
        assert answer.test_volume_id is not None
        assert MARK.is_on(answer.test_volume_id, core.volumes[answer.test_volume_id].defined_tags)
        assert core.backups[answer.backup_id].freeform_tags[LAST_TEST_TAG].startswith("started ")


def test_a_test_in_flight_is_not_started_again_until_it_is_an_hour_old():
    core = FakeCore(volumes=(A,), backups=(backup("a", A, 1, tested=last_test("started", timedelta(minutes=20))),))
    assert sweep(core, (A,), 1)[0] == []
    core.backups["ocid1.volumebackup.oc1.iad.a"] = backup("a", A, 1, tested=last_test("started", timedelta(minutes=61)))
    (answer,), _ = sweep(core, (A,), 2)
    assert answer.verdict == "started"


def test_volumes_out_of_scope_or_outside_the_allowed_compartments_are_never_tested():
    dev = volume("dev", "ocid1.compartment.oc1..aaaaaaaadev00000000000000000000000000000000000000000002")
    core = FakeCore(volumes=(A, dev), backups=(backup("a", A, 1), backup("dev", dev, 1)))
    assert sweep(core, (dev,), 1, ALLOWED_COMPARTMENT_IDS=PROD)[0] == []
    assert [a.volume_id for a in sweep(core, (A,), 2)[0]] == [A.id]  # dev has a backup but is not in the sweep's scope


def test_a_dry_run_says_what_it_would_start_and_creates_nothing():
    core = FakeCore(volumes=(A,), backups=(backup("a", A, 1),))
    (answer,), _ = sweep(core, (A,), 1, dry_run=True)
    assert (answer.verdict, answer.volume_id) == ("would-start", A.id)
    assert core.called("create_volume") == [] and core.called("update_backup_tags") == []


def test_a_restore_that_cannot_start_is_reported_and_the_sweep_goes_on():
    core = FakeCore(volumes=(A, B), backups=(backup("a", A, 1), backup("b", B, 2)))
    core.fail("create_volume", Throttled("CreateVolume failed: 429 TooManyRequests"), resource_id="ocid1.volumebackup.oc1.iad.b")
    answers, _ = sweep(core, (A, B), 1, RESTORE_TESTS_PER_SWEEP="2")
    assert [(a.backup_id.rsplit(".", 1)[1], a.verdict) for a in answers] == [("b", "failed"), ("a", "started")]
    assert answers[0].reason is not None and answers[0].reason.startswith("The restore could not start: TooManyRequests")


def test_restore_tests_off_give_the_sweep_nothing_to_do():
    core = FakeCore(volumes=(A,), backups=(backup("a", A, 1),))
    use_case = RestoreTests(core, load_settings({}))
    assert use_case.during_sweep((A,), newest_first(core), sweep_trigger(1), deadline(), dry_run=False) == []
    assert core.calls == []


def test_stale_test_volumes_are_reported_failed_and_deleted_fresh_and_foreign_ones_are_left():
    own = backup("a", A, 1, tested=last_test("started", timedelta(hours=2), "ocid1.volume.oc1.iad.stale"))
    judged = backup("b", B, 1, tested=last_test("passed", timedelta(hours=2), "ocid1.volume.oc1.iad.leftover"))

    def test_volume(name: str, of: OciBackup, age: timedelta, *, marked: bool = True) -> OciVolume:
        volume_id = f"ocid1.volume.oc1.iad.{name}"
        tags = MARK.tags_for(volume_id) if marked else {}
        return volume(name, RESTORE, timeCreated=stamp(age), freeformTags={"restore-test-of": of.id}, definedTags=tags)

    stale, fresh = test_volume("stale", own, timedelta(hours=2)), test_volume("fresh", own, timedelta(minutes=10))
    unmarked, leftover = test_volume("unmarked", own, timedelta(hours=5), marked=False), test_volume("leftover", judged, timedelta(hours=2))
    core = FakeCore(volumes=(A, B, stale, fresh, unmarked, leftover), backups=(own, judged))
    answers, _ = sweep(core, (), 1)
    by_volume = {a.test_volume_id: a for a in answers}
    assert set(by_volume) == {stale.id, leftover.id}
    assert (by_volume[stale.id].verdict, by_volume[stale.id].deleted) == ("failed", True)
    assert "No event came within an hour" in (by_volume[stale.id].reason or "")
    assert (by_volume[leftover.id].verdict, by_volume[leftover.id].deleted) == ("passed", True)
    assert {c.resource_id for c in core.called("delete_volume")} == {stale.id, leftover.id}
    assert core.backups[own.id].freeform_tags[LAST_TEST_TAG].startswith("failed ")
    assert core.backups[judged.id].freeform_tags[LAST_TEST_TAG].startswith("passed ")  # judged once, not again
    assert core.volumes[fresh.id].lifecycle_state != "TERMINATED"
    assert core.volumes[unmarked.id].lifecycle_state != "TERMINATED"


def test_a_stale_clean_up_in_a_dry_run_deletes_nothing():
    own = backup("a", A, 1)
    stale_id = "ocid1.volume.oc1.iad.stale"
    stale = volume(
        "stale",
        RESTORE,
        timeCreated=stamp(timedelta(hours=3)),
        freeformTags={"restore-test-of": own.id},
        definedTags=MARK.tags_for(stale_id),
    )
    core = FakeCore(volumes=(stale,), backups=(own,))
    (answer,), _ = sweep(core, (), 1, dry_run=True)
    assert (answer.verdict, answer.deleted) == ("would-expire", False)
    assert core.called("delete_volume") == [] and core.called("update_backup_tags") == []


def test_a_verdict_on_a_volume_still_provisioning_waits_for_a_redelivery():
    core = FakeCore(volumes=(A,), backups=(backup("a", A, 1),))
    (answer,), use_case = sweep(core, (A,), 1)
    assert answer.test_volume_id is not None
    with pytest.raises(RestoreNotFinished):
        use_case.judge(KINDS["volume"], answer.test_volume_id, sweep_trigger(9), deadline())
    assert core.called("delete_volume") == []


def test_a_faulty_restore_fails_with_an_error_that_pages_and_is_recorded():
    core = FakeCore(volumes=(A,), backups=(backup("a", A, 1),))
    (answer,), use_case = sweep(core, (A,), 1)
    assert answer.test_volume_id is not None
    core.volumes[answer.test_volume_id] = core.volumes[answer.test_volume_id].model_copy(update={"lifecycle_state": "FAULTY"})
    result = use_case.judge(KINDS["volume"], answer.test_volume_id, sweep_trigger(9), deadline())
    assert isinstance(result.error, RestoreTestFailed)
    assert result.restore_test is not None and result.restore_test.verdict == "failed" and result.restore_test.deleted
    assert core.backups[answer.backup_id].freeform_tags[LAST_TEST_TAG].startswith("failed ")
    assert core.volumes[answer.test_volume_id].lifecycle_state == "TERMINATED"


@pytest.mark.parametrize(
    ("config", "expected"),
    [
        ({"RESTORE_TEST_COMPARTMENT_ID": RESTORE}, "RESTORE_TEST_COMPARTMENT_ID needs MARK_TAG_NAMESPACE"),
        ({**CONFIG, "RESTORE_TEST_COMPARTMENT_ID": "ocid1.volume.oc1.iad.x"}, "RESTORE_TEST_COMPARTMENT_ID: must be an ocid1.compartment."),
        ({**CONFIG, "RESTORE_TESTS_PER_SWEEP": "0"}, "RESTORE_TESTS_PER_SWEEP"),
        ({**CONFIG, "RESTORE_TESTS_PER_SWEEP": "101"}, "RESTORE_TESTS_PER_SWEEP"),
    ],
)
def test_restore_test_settings_are_read_exactly(config, expected):
    with pytest.raises(InvalidConfiguration, match=expected):
        load_settings(config)


def test_restore_test_settings_default_to_off_and_one_per_sweep():
    assert not load_settings({}).restore_tests_enabled
    settings = load_settings(CONFIG)
    assert settings.restore_tests_enabled and settings.restore_tests_per_sweep == 1


def restore_request(backup_id: object, arrival: Arrival) -> Trigger:
    return parse_trigger(json.dumps({"restoreTest": {"backupId": backup_id}}).encode(), arrival)


def test_the_on_demand_request_names_a_volume_or_boot_volume_backup_and_one_token_per_delivery():
    boot = "ocid1.bootvolumebackup.oc1.iad.bootone"
    (job,) = restore_request(boot, Arrival("notifications", "msg-1", "call-1")).jobs
    assert isinstance(job, RestoreTestJob)
    assert (job.kind, job.backup_id) == (KINDS["bootVolume"], boot)
    (again,) = restore_request(boot, Arrival("notifications", "msg-1", "call-2")).jobs
    (other,) = restore_request(boot, Arrival("notifications", "msg-2", "call-3")).jobs
    assert isinstance(again, RestoreTestJob) and isinstance(other, RestoreTestJob)
    assert again.retry_token == job.retry_token != other.retry_token
    trigger = restore_request("ocid1.volumebackup.oc1.iad.one", Arrival("direct", None, "call-9"))
    assert (trigger.source, trigger.trigger_id) == ("restore-test", "call-9")


@pytest.mark.parametrize(
    ("backup_id", "expected"),
    [
        ("ocid1.volume.oc1.iad.one", "restoreTest.backupId: must be an ocid1.volumebackup. or ocid1.bootvolumebackup. OCID"),
        (42, "restoreTest.backupId: Input should be a valid string"),
        (" ocid1.volumebackup.oc1.iad.one", "without whitespace around it"),
    ],
)
def test_a_bad_backup_id_is_a_client_error_naming_the_field(backup_id, expected):
    with pytest.raises(InvalidRequest, match=re.escape(expected)):
        restore_request(backup_id, Arrival("direct", None, "c"))
