"""The lifecycle use case with an in-memory Core client: after a backup finished, only for a backup
this function made and as OCI reports it, its copies to other regions and retention on its volume."""

import time
from datetime import UTC, datetime, timedelta

import pytest

from backup_fn.answers import BackupAnswer, CopyAnswer, Failure
from backup_fn.deadline import Deadline
from backup_fn.domain import TRIGGER_ID_TAG, TRIGGER_TAG, LifecycleJob, Mark, Trigger, copy_retry_token
from backup_fn.errors import BackupFaulty, BackupNotReady, DeadlineExceeded, NotFound, OciRejected, ServiceUnavailable, Throttled
from backup_fn.models import KINDS, OciBackup
from backup_fn.results import JobResult
from backup_fn.settings import load_settings
from backup_fn.usecases.lifecycle import Lifecycle
from backup_fn.usecases.pruning import MIN_SECONDS_PER_DELETE
from tests.unit.fakes import FakeCore

VOLUME = "ocid1.volume.oc1.iad.abuwcljrledger00000000000000000000000000000000000000000012"
PROD = "ocid1.compartment.oc1..aaaaaaaaprod0000000000000000000000000000000000000000001"
PHOENIX_KEY = "ocid1.key.oc1.phx.aaaaaaaaphoenixkey000000000000000000000000000000000000001"
EVENT_ID = "event-finished-1"
MARK = Mark("volume-backup-test", "resource")


def backup(name: str, age_days: float, *, ours: bool = True, state: str = "AVAILABLE") -> OciBackup:
    """A backup of VOLUME made `age_days` ago. `ours` gives it this function's mark (and the freeform
    provenance tags people read)."""
    tags = {TRIGGER_TAG: "oci-events", TRIGGER_ID_TAG: f"event-{name}"} if ours else {}
    backup_id = f"ocid1.volumebackup.oc1.iad.{name}"
    return OciBackup(
        id=backup_id,
        defined_tags=MARK.tags_for(backup_id) if ours else {},
        lifecycle_state=state,
        display_name=f"ledger {name}",
        volume_id=VOLUME,
        compartment_id=PROD,
        time_created=(datetime.now(UTC) - timedelta(days=age_days)).isoformat(),
        source_type="MANUAL",
        freeform_tags=tags,
    )


FINISHED = backup("finished", 0)
HISTORY = (backup("d1", 1), backup("d2", 2), backup("d3", 3), backup("manual", 30, ours=False))


def run(finished: OciBackup = FINISHED, *others: OciBackup, seconds: float = 30.0, core: FakeCore | None = None, **config: str):
    """Lifecycle for the backup-completed event of `finished`, with `others` on its volume: (result, core)."""
    core = core or FakeCore(backups=(finished, *others))
    trigger = Trigger("backup-completed", "direct", EVENT_ID, datetime.now(UTC), jobs=(LifecycleJob(KINDS["volume"], finished.id),))
    (job,) = trigger.jobs
    assert isinstance(job, LifecycleJob)
    settings = load_settings({"MARK_TAG_NAMESPACE": MARK.namespace, **config})
    return Lifecycle(core, settings).run(job, trigger, Deadline(at=time.monotonic() + seconds)), core


def names(ids: list[str] | None) -> list[str]:
    return [backup_id.rsplit(".", 1)[1] for backup_id in ids or ()]


def test_a_backup_this_function_did_not_make_is_skipped_and_nothing_else_is_read():
    foreign = backup("foreign", 0, ours=False)
    result, core = run(foreign, *HISTORY, COPY_TO_REGIONS="us-phoenix-1", KEEP_LAST="2")
    assert result == JobResult(
        foreign.id, skip_reason=f"{foreign.id} was not made by this function (no valid mark of this deployment, or a policy backup)."
    )
    assert [c.method for c in core.calls] == ["get_backup"]


def test_a_faulty_backup_is_a_failure_with_nothing_copied_or_pruned():
    faulty = backup("faulty", 0, state="FAULTY")
    result, core = run(faulty, *HISTORY, COPY_TO_REGIONS="us-phoenix-1", KEEP_LAST="2")
    assert isinstance(result.error, BackupFaulty) and not result.error.transient
    assert result.error.opc_request_id == "req-get-backup"
    assert result.lifecycle is not None
    assert result.lifecycle.failures == [Failure.of(faulty.id, result.error)]
    assert (result.lifecycle.copies, result.lifecycle.pruned) == (None, None)
    assert [c.method for c in core.calls] == ["get_backup"]


@pytest.mark.parametrize("state", ["TERMINATING", "TERMINATED"])
def test_a_backup_already_going_is_skipped(state):
    gone = backup("gone", 0, state=state)
    result, core = run(gone, COPY_TO_REGIONS="us-phoenix-1")
    assert result == JobResult(gone.id, skip_reason=f"{gone.id} is {state}: nothing to copy.")
    assert core.called("copy_backup") == []


@pytest.mark.parametrize("state", ["REQUEST_RECEIVED", "CREATING"])
def test_a_backup_not_yet_available_asks_for_a_redelivery(state):
    with pytest.raises(BackupNotReady) as raised:
        run(backup("early", 0, state=state), COPY_TO_REGIONS="us-phoenix-1")
    assert raised.value.transient
    assert raised.value.opc_request_id == "req-get-backup"


def test_without_copies_or_retention_there_is_nothing_to_do():
    result, core = run(FINISHED, *HISTORY)
    assert result.skip_reason == "COPY_TO_REGIONS, KEEP_LAST and KEEP_DAYS are unset: nothing to do after a backup."
    assert [c.method for c in core.calls] == ["get_backup"]


def test_copies_go_to_each_region_once_per_backup_with_that_region_s_key_and_are_marked_there():
    result, core = run(COPY_TO_REGIONS="us-phoenix-1,eu-frankfurt-1", COPY_KMS_KEY_IDS=f"us-phoenix-1={PHOENIX_KEY}")
    assert [c.details for c in core.called("copy_backup")] == [
        {
            "region": region,
            "display_name": "ledger finished",
            "kms_key_id": key,
            "retry_token": copy_retry_token(FINISHED.id, region),
        }
        for region, key in (("us-phoenix-1", PHOENIX_KEY), ("eu-frankfurt-1", None))
    ]
    assert result.error is None and result.lifecycle is not None
    assert result.lifecycle.backup == BackupAnswer.from_backup(FINISHED, opc_request_id="req-get-backup", outcome=None)
    copies = result.lifecycle.copies or []
    assert [(c.region, c.outcome, c.lifecycle_state) for c in copies] == [
        ("us-phoenix-1", "created", "CREATING"),
        ("eu-frankfurt-1", "created", "CREATING"),
    ]
    assert all(c.id and c.region in c.id for c in copies)
    assert (result.lifecycle.pruned, result.lifecycle.kept, result.lifecycle.dry_run) == (None, None, None)
    # Each region's copies are read there first, and each new copy is marked there with its own id.
    assert [c.details["kind"] for c in core.called("backups_of")] == ["volume", "volume"]
    marked = core.called("update_backup_tags")
    assert [(c.resource_id, c.details["region"]) for c in marked] == [(copy.id, copy.region) for copy in copies]
    for copy in copies:
        region = core.regions[copy.region]
        assert copy.id and MARK.is_on(copy.id, region.backups[copy.id].defined_tags)


def test_a_copy_of_a_backup_marked_in_its_create_is_marked_with_its_own_id_whatever_its_answer_shows():
    """The copy inherits `backup-of:<volume>`, which counts on no copy: should the copy's answer not yet
    name its source, it must still be marked, or it would never be the function's in its region."""
    marked_at_create = FINISHED.model_copy(update={"defined_tags": MARK.tags_at_create(VOLUME)})
    core = FakeCore(backups=(marked_at_create,))
    core.copies_answer_without_source = True
    result, core = run(marked_at_create, core=core, COPY_TO_REGIONS="us-phoenix-1")
    assert result.lifecycle is not None
    (copy,) = result.lifecycle.copies or []
    assert (copy.outcome, copy.marked) == ("created", True)
    (marked,) = core.called("update_backup_tags")
    assert marked.resource_id == copy.id and marked.details["defined_tags"] == MARK.tags_for(str(copy.id))
    stored = core.regions["us-phoenix-1"].backups[str(copy.id)]
    assert MARK.is_on_backup(stored)


def test_a_failed_copy_is_reported_and_the_rest_still_happens():
    core = FakeCore(backups=(FINISHED, *HISTORY))
    throttled = Throttled("CopyVolumeBackup failed: 429 TooManyRequests", opc_request_id="req-429")
    core.fail("copy_backup", throttled)  # the first region's
    result, _ = run(core=core, COPY_TO_REGIONS="us-phoenix-1,eu-frankfurt-1", KEEP_LAST="2")
    assert result.lifecycle is not None
    assert result.lifecycle.copies == [
        CopyAnswer(region="us-phoenix-1", outcome="failed", code="TooManyRequests", message=throttled.message),
        CopyAnswer(region="eu-frankfurt-1", outcome="created", id=result.lifecycle.copies[1].id, lifecycle_state="CREATING", marked=True),
    ]
    assert result.error is throttled
    assert names(result.lifecycle.pruned) == ["d2", "d3"]


def test_retention_deletes_the_oldest_of_the_function_s_own_backups_beyond_keep_last():
    result, core = run(FINISHED, *HISTORY, KEEP_LAST="2")
    (listing,) = core.called("backups_of")
    assert (listing.resource_id, listing.details) == (VOLUME, {"kind": "volume", "compartment_id": PROD})
    assert names([c.resource_id for c in core.called("delete_backup")]) == ["d2", "d3"]
    assert result.error is None and result.lifecycle is not None
    assert names(result.lifecycle.pruned) == ["d2", "d3"]
    assert (result.lifecycle.kept, result.lifecycle.dry_run, result.lifecycle.failures) == (2, False, None)
    assert set(names(list(core.backups))) == {"finished", "d1", "manual"}


def test_a_failed_delete_is_a_failure_and_the_backup_counts_as_kept():
    core = FakeCore(backups=(FINISHED, *HISTORY))
    refused = OciRejected("DeleteVolumeBackup failed: 400 InvalidParameter", code="InvalidParameter", opc_request_id="req-400")
    core.fail("delete_backup", refused, resource_id=HISTORY[1].id)
    result, _ = run(core=core, KEEP_LAST="2")
    assert names([c.resource_id for c in core.called("delete_backup")]) == ["d2", "d3"]
    assert result.lifecycle is not None
    assert names(result.lifecycle.pruned) == ["d3"]
    assert result.lifecycle.kept == 3
    assert result.lifecycle.failures == [Failure.of(HISTORY[1].id, refused)]
    assert result.error is refused


def test_a_backup_another_call_deleted_first_is_not_counted_as_this_call_s():
    core = FakeCore(backups=(FINISHED, *HISTORY))
    core.fail("delete_backup", NotFound("gone"), resource_id=HISTORY[1].id)
    result, _ = run(core=core, KEEP_LAST="2")
    assert result.lifecycle is not None and result.lifecycle.counts is not None
    assert (names(result.lifecycle.pruned), result.lifecycle.kept, result.lifecycle.failures, result.error) == (["d3"], 2, None, None)
    assert result.lifecycle.counts.pruned == 1


def test_a_dry_run_lists_what_it_would_delete_and_deletes_nothing():
    result, core = run(FINISHED, *HISTORY, PRUNE_DRY_RUN="true", KEEP_LAST="2")
    assert core.called("delete_backup") == []
    assert result.lifecycle is not None
    assert names(result.lifecycle.pruned) == ["d2", "d3"]
    assert (result.lifecycle.kept, result.lifecycle.dry_run) == (2, True)
    assert len(core.backups) == 1 + len(HISTORY)


def test_too_little_time_left_deletes_nothing_and_keeps_count():
    result, core = run(FINISHED, *HISTORY, seconds=MIN_SECONDS_PER_DELETE / 2, KEEP_LAST="2")
    assert core.called("delete_backup") == []
    assert result.lifecycle is not None
    # Cut short: `kept` counts what was judged (finished, d1, and d2 it had no time to delete).
    assert (result.lifecycle.pruned, result.lifecycle.kept, result.error) == ([], 3, None)


def test_a_delete_that_meets_the_deadline_stops_the_pruning():
    core = FakeCore(backups=(FINISHED, *HISTORY, backup("d4", 4)))
    core.fail(
        "delete_backup", DeadlineExceeded("DeleteVolumeBackup did not complete before the call's deadline."), resource_id=HISTORY[2].id
    )
    result, _ = run(core=core, KEEP_LAST="2")
    assert names([c.resource_id for c in core.called("delete_backup")]) == ["d2", "d3"]  # not d4
    assert result.lifecycle is not None
    assert (names(result.lifecycle.pruned), result.lifecycle.kept) == (["d2"], 3)  # finished, d1, d3; d4 not reached


def test_a_listing_that_fails_is_a_failure_of_the_volume():
    core = FakeCore(backups=(FINISHED, *HISTORY))
    down = ServiceUnavailable("ListVolumeBackups failed: 503", opc_request_id="req-503")
    core.fail("backups_of", down)
    result, _ = run(core=core, KEEP_LAST="2")
    assert core.called("delete_backup") == []
    assert result.lifecycle is not None
    assert (result.lifecycle.pruned, result.lifecycle.kept) == ([], None)
    assert result.lifecycle.failures == [Failure.of(VOLUME, down)]
    assert result.error is down


def test_a_backup_retention_deletes_is_not_copied():
    late = backup("late", 10)
    result, core = run(late, backup("d0", 0), backup("d1", 1), KEEP_LAST="2", COPY_TO_REGIONS="us-phoenix-1")
    assert result.lifecycle is not None
    assert names(result.lifecycle.pruned) == ["late"]
    assert result.lifecycle.copies is None and core.called("copy_backup") == []


def test_the_source_of_a_copy_still_being_made_is_kept():
    core = FakeCore(backups=(FINISHED, *HISTORY))
    phoenix = core.in_region("us-phoenix-1", None)
    making = HISTORY[2].model_copy(
        update={"id": "ocid1.volumebackup.oc1.phx.making", "lifecycle_state": "CREATING", "source_volume_backup_id": HISTORY[2].id}
    )
    phoenix.backups[making.id] = making
    result, _ = run(core=core, KEEP_LAST="2", COPY_TO_REGIONS="us-phoenix-1")
    assert result.lifecycle is not None
    assert names(result.lifecycle.pruned) == ["d2"]  # d3 stays: its copy is still being made
    assert making.id in phoenix.backups


def test_a_backup_outside_the_allowed_compartments_is_neither_copied_nor_pruned():
    elsewhere = "ocid1.compartment.oc1..aaaaaaaaother"
    result, core = run(FINISHED, *HISTORY, KEEP_LAST="1", COPY_TO_REGIONS="us-phoenix-1", ALLOWED_COMPARTMENT_IDS=elsewhere)
    assert result.skip_reason is not None and "ALLOWED_COMPARTMENT_IDS" in result.skip_reason
    assert [c.method for c in core.calls] == ["get_backup"]


@pytest.mark.parametrize("state", ["AVAILABLE", "TERMINATED"])
def test_a_copy_already_in_the_region_is_not_made_again_nor_marked_by_the_function(state):
    """Anyone may copy a backup, and a copy retention pruned still counts: once per (backup, region)."""
    core = FakeCore(backups=(FINISHED,))
    phoenix = core.in_region("us-phoenix-1", None)
    theirs = FINISHED.model_copy(
        update={"id": "ocid1.volumebackup.oc1.phx.theirs", "lifecycle_state": state, "source_volume_backup_id": FINISHED.id}
    )
    phoenix.backups[theirs.id] = theirs
    result, _ = run(core=core, COPY_TO_REGIONS="us-phoenix-1")
    assert result.lifecycle is not None and result.lifecycle.copies is not None
    (copy,) = result.lifecycle.copies
    assert (copy.outcome, copy.id, copy.marked) == ("existing", theirs.id, False)
    assert core.called("copy_backup") == [] and core.called("update_backup_tags") == []
    assert phoenix.backups[theirs.id].defined_tags == FINISHED.defined_tags  # the source's, naming the source: not ours
