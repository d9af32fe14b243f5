"""Retention's decision, rule by rule: which of a volume's backups it deletes and how many of its own it keeps."""

import random
from datetime import UTC, datetime, timedelta

from backup_fn.domain import TRIGGER_ID_TAG, TRIGGER_TAG, Mark
from backup_fn.models import OciBackup
from backup_fn.retention import Decision, decide

NOW = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)
VOLUME = "ocid1.volume.oc1.iad.abuwcljrledger00000000000000000000000000000000000000000012"
PROD = "ocid1.compartment.oc1..aaaaaaaaprod0000000000000000000000000000000000000000001"
MARK = Mark("volume-backup-test", "resource")


def backup(
    name: str, age_days: float | None, *, ours: bool = True, state: str = "AVAILABLE", source_type: str = "MANUAL", time_created: str = ""
) -> OciBackup:
    """A backup of VOLUME made `age_days` before NOW (None: OCI gave no time; `time_created` overrides).
    `ours` gives it this function's mark (and the provenance freeform tags people read)."""
    tags = {TRIGGER_TAG: "oci-events", TRIGGER_ID_TAG: f"event-{name}"} if ours else {}
    backup_id = f"ocid1.volumebackup.oc1.iad.{name}"
    created = time_created or ((NOW - timedelta(days=age_days)).isoformat() if age_days is not None else None)
    return OciBackup(
        id=backup_id,
        lifecycle_state=state,
        volume_id=VOLUME,
        compartment_id=PROD,
        time_created=created,
        source_type=source_type,
        freeform_tags=tags,
        defined_tags=MARK.tags_for(backup_id) if ours else {},
    )


def deleted(decision: Decision) -> list[str]:
    return [b.id.rsplit(".", 1)[1] for b in decision.delete]


def shuffled(*backups: OciBackup) -> list[OciBackup]:
    """The decision must not depend on the order OCI lists them in."""
    listed = list(backups)
    random.Random(20).shuffle(listed)
    return listed


def test_keep_last_keeps_the_newest_and_deletes_the_rest_oldest_last():
    listed = shuffled(*(backup(f"d{age}", age) for age in (1, 2, 3, 4, 5)))
    decision = decide(listed, keep_last=2, keep_days=None, now=NOW, mark=MARK)
    assert deleted(decision) == ["d3", "d4", "d5"]
    assert decision.kept == 2


def test_keep_last_above_the_count_deletes_nothing():
    decision = decide([backup("a", 10), backup("b", 20)], keep_last=3, keep_days=None, now=NOW, mark=MARK)
    assert (deleted(decision), decision.kept) == ([], 2)


def test_keep_days_deletes_only_what_is_older():
    listed = shuffled(backup("d1", 1), backup("d6", 6.9), backup("d7", 7), backup("d30", 30))
    decision = decide(listed, keep_last=None, keep_days=7, now=NOW, mark=MARK)
    assert deleted(decision) == ["d7", "d30"]  # exactly KEEP_DAYS old is old enough
    assert decision.kept == 2


def test_keep_last_and_keep_days_together_delete_only_what_both_allow():
    listed = shuffled(*(backup(f"d{age}", age) for age in (1, 2, 3, 10, 20)))
    decision = decide(listed, keep_last=2, keep_days=7, now=NOW, mark=MARK)
    assert deleted(decision) == ["d10", "d20"]  # d3 is beyond KEEP_LAST but young
    old = shuffled(*(backup(f"d{age}", age) for age in (10, 20, 30, 40)))
    assert deleted(decide(old, keep_last=3, keep_days=7, now=NOW, mark=MARK)) == ["d40"]  # old, but within KEEP_LAST


def test_the_newest_is_always_kept():
    listed = shuffled(backup("d30", 30), backup("d40", 40), backup("d50", 50))
    decision = decide(listed, keep_last=None, keep_days=1, now=NOW, mark=MARK)
    assert deleted(decision) == ["d40", "d50"]
    assert decision.kept == 1
    assert deleted(decide([backup("only", 400)], keep_last=None, keep_days=1, now=NOW, mark=MARK)) == []


def test_backups_not_available_are_kept_and_not_counted():
    listed = shuffled(
        backup("new", 0, state="CREATING"),
        backup("d1", 1),
        backup("d2", 2),
        backup("faulty", 3, state="FAULTY"),
        backup("gone", 4, state="TERMINATED"),
        backup("d5", 5),
    )
    decision = decide(listed, keep_last=1, keep_days=None, now=NOW, mark=MARK)
    assert deleted(decision) == ["d2", "d5"]  # the running one does not count as the newest kept
    assert decision.kept == 1


def test_backups_this_function_did_not_make_are_kept_and_do_not_count():
    listed = shuffled(
        backup("manual", 0, ours=False),
        backup("policy", 0.5, source_type="SCHEDULED"),  # a backup policy's, though it carries our tags (from its volume)
        backup("d1", 1),
        backup("d2", 2),
        backup("old-manual", 90, ours=False),
    )
    decision = decide(listed, keep_last=1, keep_days=None, now=NOW, mark=MARK)
    assert deleted(decision) == ["d2"]
    assert decision.kept == 1


def test_a_time_that_cannot_be_read_is_never_old_enough():
    listed = shuffled(
        backup("d1", 1),
        backup("d2", 2),
        backup("no-time", None),
        backup("garbled", None, time_created="last tuesday"),
    )
    decision = decide(listed, keep_last=1, keep_days=None, now=NOW, mark=MARK)
    assert deleted(decision) == ["d2"]
    assert decision.kept == 3
    # Sorted as the oldest, an unreadable one never takes the newest's place either.
    assert deleted(decide([backup("d9", 9), backup("no-time", None)], keep_last=1, keep_days=1, now=NOW, mark=MARK)) == []


def test_a_time_without_an_offset_is_utc():
    naive = (NOW - timedelta(days=7, minutes=1)).replace(tzinfo=None).isoformat()
    listed = [backup("d0", 0), backup("naive", None, time_created=naive)]
    assert deleted(decide(listed, keep_last=None, keep_days=7, now=NOW, mark=MARK)) == ["naive"]
    younger = (NOW - timedelta(days=6, hours=23)).replace(tzinfo=None).isoformat()
    listed = [backup("d0", 0), backup("naive", None, time_created=younger)]
    assert deleted(decide(listed, keep_last=None, keep_days=7, now=NOW, mark=MARK)) == []


def test_the_same_backups_settings_and_time_give_the_same_answer():
    listed = [backup(f"d{age}", age) for age in range(10)]
    before = list(listed)
    first = decide(listed, keep_last=3, keep_days=2, now=NOW, mark=MARK)
    assert decide(reversed(listed), keep_last=3, keep_days=2, now=NOW, mark=MARK) == first
    assert listed == before


def test_a_locked_backup_is_kept_counted_and_holds_no_keep_last_place():
    from backup_fn.retention import Retention

    locked = backup("locked", 30).model_copy(update={"is_retention_lock_enabled": True})
    held = backup("held", 40).model_copy(update={"time_retention_expires_at": (NOW + timedelta(days=1)).isoformat()})
    ended = backup("ended", 50).model_copy(update={"time_retention_expires_at": (NOW - timedelta(days=1)).isoformat()})
    decision = decide([backup("d0", 0), locked, held, ended, backup("d60", 60)], keep_last=2, keep_days=None, now=NOW, mark=MARK)
    assert deleted(decision) == ["d60"]  # d0 and ended keep the two places; locked and held stay besides
    assert decision.kept == 4
    assert Retention(keep_last=1, keep_days=None, now=NOW, mark=MARK).judge(locked) is False


def test_a_mark_copied_from_a_volume_or_another_deployment_s_is_not_ours():
    forged = backup("forged", 30).model_copy(update={"defined_tags": MARK.tags_for(VOLUME)})
    other_deployment = Mark("other-deployment", "resource")
    theirs = backup("theirs", 30).model_copy(update={"defined_tags": other_deployment.tags_for("ocid1.volumebackup.oc1.iad.theirs")})
    assert deleted(decide([backup("d0", 0), forged, theirs], keep_last=1, keep_days=None, now=NOW, mark=MARK)) == []


def test_a_mark_set_in_the_create_holds_on_a_backup_of_its_own_volume_and_nowhere_it_is_copied_to():
    made = backup("made", 30).model_copy(update={"defined_tags": MARK.tags_at_create(VOLUME)})
    # OCI copies a backup's tags onto a copy anyone makes of it, which names the backup it came from ...
    copied = made.model_copy(update={"id": "ocid1.volumebackup.oc1.phx.copied", "source_volume_backup_id": made.id})
    # ... and perhaps onto a volume restored from it, whose own backups then carry them too.
    restored = "ocid1.volume.oc1.iad.abuwcljrrestored0000000000000000000000000000000000000000001"
    of_restored = made.model_copy(update={"id": "ocid1.volumebackup.oc1.iad.ofrestored", "volume_id": restored})
    # A restore-test volume carries its own id: a backup someone makes of it gets that value.
    of_test_volume = of_restored.model_copy(update={"defined_tags": MARK.tags_for(restored)})
    assert [MARK.is_on_backup(b) for b in (made, copied, of_restored, of_test_volume)] == [True, False, False, False]
    listed = [backup("d0", 0), made, copied, of_restored, of_test_volume]
    assert deleted(decide(listed, keep_last=1, keep_days=None, now=NOW, mark=MARK)) == ["made"]


def test_adoption_takes_only_unmarked_old_backups_made_before_the_time_given():
    from backup_fn.domain import adoptable

    before = NOW - timedelta(days=10)
    old = backup("old", 20, ours=False).model_copy(update={"freeform_tags": {TRIGGER_TAG: "oci-events"}})
    recent = backup("recent", 5, ours=False).model_copy(update={"freeform_tags": {TRIGGER_TAG: "oci-events"}})
    forged = old.model_copy(update={"id": "ocid1.volumebackup.oc1.iad.forged", "defined_tags": MARK.tags_for(VOLUME)})
    policy = old.model_copy(update={"source_type": "SCHEDULED"})
    assert [adoptable(b, MARK, before) for b in (old, recent, forged, policy)] == [True, False, False, False]
    assert adoptable(old, MARK, None) is False
    assert deleted(decide([backup("d0", 0), old], keep_last=1, keep_days=None, now=NOW, mark=MARK)) == []
    assert deleted(decide([backup("d0", 0), old], keep_last=1, keep_days=None, now=NOW, mark=MARK, adopt_before=before)) == ["old"]
