"""The sweep's config keys and its trigger body."""

from __future__ import annotations

import json

import pytest

from backup_fn.domain import Arrival, SweepJob, sweep_batch_message
from backup_fn.errors import InvalidConfiguration, InvalidRequest
from backup_fn.settings import load_settings
from backup_fn.sources import parse_trigger
from backup_fn.usecases.sweep import sweep_compartments

PROD = "ocid1.compartment.oc1..aaaaaaaaprod0000000000000000000000000000000000000000001"
DEV = "ocid1.compartment.oc1..aaaaaaaadev00000000000000000000000000000000000000000002"
ARRIVAL = Arrival("direct", None, "call-1")


def test_sweep_compartments_default_to_the_allowed_ones_and_must_lie_within_them():
    assert sweep_compartments(load_settings({"ALLOWED_COMPARTMENT_IDS": PROD})) == {PROD}
    assert sweep_compartments(load_settings({"SWEEP_COMPARTMENT_IDS": f"{PROD},{DEV}"})) == {PROD, DEV}
    with pytest.raises(InvalidConfiguration, match="SWEEP_COMPARTMENT_IDS"):
        assert sweep_compartments(load_settings({}))
    other_triggers_still_work = load_settings({"ALLOWED_COMPARTMENT_IDS": PROD, "SWEEP_COMPARTMENT_IDS": DEV})
    with pytest.raises(InvalidConfiguration, match="ALLOWED_COMPARTMENT_IDS does not list"):
        assert sweep_compartments(other_triggers_still_work)


@pytest.mark.parametrize(
    ("config", "named"),
    [
        ({"RPO_HOURS": "0.1"}, "RPO_HOURS"),
        ({"RPO_HOURS": "a day"}, "RPO_HOURS"),
        ({"SWEEP_TAG": "=gold"}, "SWEEP_TAG"),
        ({"SWEEP_TOPIC_ID": "ocid1.volume.oc1..x"}, "SWEEP_TOPIC_ID"),
        ({"SWEEP_BATCH_SIZE": "101"}, "SWEEP_BATCH_SIZE"),
        ({"SWEEP_COMPARTMENT_IDS": ","}, "SWEEP_COMPARTMENT_IDS"),
    ],
)
def test_a_bad_sweep_value_is_invalid_configuration_naming_the_key(config, named):
    with pytest.raises(InvalidConfiguration, match=named):
        load_settings(config)


def test_sweep_tag_is_key_and_value_or_key_alone():
    assert load_settings({"SWEEP_TAG": "tier = gold"}).sweep_tag == ("tier", "gold")
    assert load_settings({"SWEEP_TAG": "tier"}).sweep_tag == ("tier", None)


def test_a_batch_message_reads_back_as_the_batch_it_is():
    volume = "ocid1.volume.oc1.iad.abuwcljrsweepaaaa"
    boot = "ocid1.bootvolume.oc1.iad.abuwcljrsweepbbbb"
    trigger = parse_trigger(json.dumps(sweep_batch_message("sweep-1", [volume, boot, volume])).encode(), ARRIVAL)
    assert trigger.source == "sweep" and trigger.jobs == (SweepJob("sweep-1", False, (volume, boot)),)
    plan = parse_trigger(b'{"sweep": {"dryRun": true}}', Arrival("notifications", "msg-7", "call-2"))
    assert plan.jobs == (SweepJob("msg-7", True, None),)
    with pytest.raises(InvalidRequest, match=r"sweep\.batch\.sweepId"):
        parse_trigger(b'{"sweep": {"batch": {"sweepId": "", "volumeIds": ["ocid1.volume.oc1.iad.abc"]}}}', ARRIVAL)


@pytest.mark.parametrize("key", ["SWEEP_COMPARTMENT_IDS", "ALLOWED_COMPARTMENT_IDS"])
def test_the_restore_test_workspace_may_not_be_a_compartment_the_function_protects(key):
    # Its volumes are never backed up and its test volumes are deleted: it must be a compartment of its own.
    with pytest.raises(InvalidConfiguration, match="RESTORE_TEST_COMPARTMENT_ID names a compartment the function protects"):
        load_settings({key: f"{PROD},{DEV}", "RESTORE_TEST_COMPARTMENT_ID": DEV, "MARK_TAG_NAMESPACE": "ns"})


class _Companion:
    def __init__(self) -> None:
        self.calls: list[tuple[int, int, bool]] = []

    def during_sweep(self, volumes, backups, trigger, deadline, *, dry_run):
        from backup_fn.answers import RestoreTestAnswer

        self.calls.append((len(volumes), len(backups), dry_run))
        return [RestoreTestAnswer(backup_id="ocid1.volumebackup.oc1.iad.t", verdict="would-start" if dry_run else "started")]


def test_companions_ride_on_the_planning_call_only():
    from backup_fn.deadline import Deadline
    from backup_fn.models import OciBackup, OciVolume
    from backup_fn.usecases.backup import Backup
    from backup_fn.usecases.sweep import Sweep
    from tests.unit.fakes import FakeCore

    volume = OciVolume(id="ocid1.volume.oc1.iad.abuwcljra", compartment_id=PROD, lifecycle_state="AVAILABLE")
    old = OciBackup(id="ocid1.volumebackup.oc1.iad.old", lifecycle_state="AVAILABLE", volume_id=volume.id, compartment_id=PROD)
    core = FakeCore(volumes=(volume,), backups=(old,))
    settings = load_settings({"SWEEP_COMPARTMENT_IDS": PROD})
    companion = _Companion()
    use_case = Sweep(core, Backup(core, settings), settings, companions=[companion])
    deadline = Deadline.from_header(None, margin=1)
    trigger = parse_trigger(b'{"sweep": {"dryRun": true}}', ARRIVAL)

    (job,) = trigger.jobs
    assert isinstance(job, SweepJob)
    planned = use_case.run(job, trigger, deadline).sweep
    assert planned is not None
    assert [t.verdict for t in planned.answer.sweep.restore_tests] == ["would-start"]
    assert companion.calls == [(1, 1, True)]
    assert core.called("create_backup") == []

    batch = parse_trigger(json.dumps(sweep_batch_message("s", [volume.id])).encode(), ARRIVAL)
    (batch_job,) = batch.jobs
    assert isinstance(batch_job, SweepJob)
    made = use_case.run(batch_job, batch, deadline).sweep
    assert made is not None and made.created == 1 and made.answer.sweep.restore_tests == []
    assert companion.calls == [(1, 1, True)]
    (create,) = core.called("create_backup")
    assert create.details["body"]["freeformTags"]["backup-trigger"] == "sweep"


class _FailingCompanion:
    def during_sweep(self, volumes, backups, trigger, deadline, *, dry_run):
        from backup_fn.errors import ServiceUnavailable

        raise ServiceUnavailable("restore tests are down")


def test_a_failing_companion_costs_no_volume_its_backup():
    from backup_fn.deadline import Deadline
    from backup_fn.models import OciVolume
    from backup_fn.usecases.backup import Backup
    from backup_fn.usecases.sweep import Sweep
    from tests.unit.fakes import FakeCore

    volume = OciVolume(id="ocid1.volume.oc1.iad.abuwcljrb", compartment_id=PROD, lifecycle_state="AVAILABLE")
    core = FakeCore(volumes=(volume,))
    settings = load_settings({"SWEEP_COMPARTMENT_IDS": PROD})
    trigger = parse_trigger(b'{"sweep": {}}', ARRIVAL)
    (job,) = trigger.jobs
    assert isinstance(job, SweepJob)
    outcome = Sweep(core, Backup(core, settings), settings, companions=[_FailingCompanion()]).run(
        job, trigger, Deadline.from_header(None, margin=1)
    )
    assert outcome.sweep is not None and outcome.sweep.created == 1 and outcome.sweep.errors == ()
