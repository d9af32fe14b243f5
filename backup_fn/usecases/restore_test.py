"""Restore tests: restore one of the function's own backups into a volume of the restore-test
compartment, judge that volume when its `createvolume.end` event comes, record the verdict on the
backup, and delete the volume. A sweep starts the tests of the volumes least recently tested and
cleans up test volumes whose event never came. Only volumes carrying the function's valid mark and
naming their backup are ever judged or deleted; everything is read from OCI, never from a payload."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from ..answers import RestoreTestAnswer, RestoreVerdict
from ..deadline import Deadline
from ..domain import Mark, RestoreTestJob, Trigger, retry_token
from ..errors import (
    BackupError,
    BackupInProgress,
    CompartmentNotAllowed,
    IncorrectState,
    InvalidConfiguration,
    NotFound,
    NotOwnBackup,
    RestoreNotFinished,
    RestoreTestFailed,
)
from ..models import KINDS, Kind, OciBackup, OciVolume, parsed_time
from ..restore_choice import (
    GONE_STATES,
    LOWEST_VPUS_PER_GB,
    RESTORE_TEST_OF_TAG,
    SOURCE_TYPES,
    STALE_AFTER,
    VERDICTS,
    LastTest,
    choose,
    kind_of_backup,
    seconds_between,
)
from ..results import JobResult
from ..settings import Settings

if TYPE_CHECKING:
    from ..clients.core import CoreClient

log = logging.getLogger("backup_fn")

# A start is three short calls; below this much time left, the rest waits for the next sweep.
MIN_SECONDS_PER_START = 2.0


class RestoreTests:
    def __init__(self, core: CoreClient, settings: Settings) -> None:
        self.core = core
        self.settings = settings

    def run(self, job: RestoreTestJob, trigger: Trigger, deadline: Deadline) -> JobResult:
        """The on-demand request: test this one backup, if it is the function's own and AVAILABLE."""
        if not self.settings.restore_tests_enabled:
            return JobResult(job.backup_id, skip_reason="Restore tests are off: RESTORE_TEST_COMPARTMENT_ID is unset.")
        mark, _ = self._config()
        read = self.core.get_backup(job.kind, job.backup_id, deadline)
        backup = read.backup
        if not mark.is_on_backup(backup):
            raise NotOwnBackup(
                f"Backup {backup.id} was not made by this function (it does not carry the function's mark): it is not restore-tested.",
                opc_request_id=read.request_id,
            )
        if backup.lifecycle_state != "AVAILABLE":
            raise IncorrectState(
                f"Backup {backup.id} is {backup.lifecycle_state}; only an AVAILABLE backup can be restore-tested.",
                opc_request_id=read.request_id,
            )
        if not backup.source_id:
            raise IncorrectState(f"Backup {backup.id} names no source volume, whose availability domain the test needs.")
        volume = self.core.get_volume(job.kind, backup.source_id, deadline)
        if not self.settings.allows(volume.compartment_id):
            raise CompartmentNotAllowed(
                f"{volume.id} is in compartment {volume.compartment_id}, which ALLOWED_COMPARTMENT_IDS does not list."
            )
        return JobResult(job.backup_id, restore_test=self._start(job.kind, backup, volume, job.retry_token, deadline))

    def during_sweep(
        self,
        volumes: Sequence[OciVolume],
        backups: Sequence[OciBackup],
        trigger: Trigger,
        deadline: Deadline,
        *,
        dry_run: bool,
    ) -> list[RestoreTestAnswer]:
        """The sweep's step: clean up test volumes whose event never came, then start the tests of the
        `RESTORE_TESTS_PER_SWEEP` volumes least recently tested (never tested first)."""
        if not self.settings.restore_tests_enabled:
            return []
        mark, _ = self._config()
        answers = self._clean_up_stale(deadline, dry_run=dry_run)
        in_scope = [v for v in volumes if self.settings.allows(v.compartment_id)]
        for volume, backup in choose(in_scope, backups, mark, self.settings.restore_tests_per_sweep, datetime.now(UTC)):
            if deadline.remaining() < MIN_SECONDS_PER_START:
                break
            kind = kind_of_backup(backup.id)
            if kind is None:
                continue
            if dry_run:
                answers.append(RestoreTestAnswer(backup_id=backup.id, volume_id=volume.id, verdict="would-start"))
                continue
            token = retry_token("restore-test", trigger.trigger_id, backup.id)
            try:
                answers.append(self._start(kind, backup, volume, token, deadline))
            except BackupError as error:
                reason = f"The restore could not start: {error.code}: {error.message}"
                answers.append(RestoreTestAnswer(backup_id=backup.id, volume_id=volume.id, verdict="failed", reason=reason))
        return answers

    def _start(self, kind: Kind, backup: OciBackup, volume: OciVolume, token: str, deadline: Deadline) -> RestoreTestAnswer:
        mark, compartment_id = self._config()
        if not volume.availability_domain:
            raise IncorrectState(f"{volume.id} names no availability domain to restore its backup in.")
        body = {
            "availabilityDomain": volume.availability_domain,
            "compartmentId": compartment_id,
            "displayName": f"restore-test {backup.display_name or backup.id}"[:255],
            "sourceDetails": {"type": SOURCE_TYPES[kind.name], "id": backup.id},
            "vpusPerGB": LOWEST_VPUS_PER_GB[kind.name],
            "freeformTags": {RESTORE_TEST_OF_TAG: backup.id},
        }
        created = self.core.create_volume(kind, body, token, deadline)
        # The mark's value is the new volume's own OCID, unknown before the create. A redelivery with
        # the same token gets the same volume back and marks it again.
        defined = {**created.defined_tags, mark.namespace: {**created.defined_tags.get(mark.namespace, {}), mark.key: created.id}}
        try:
            self.core.update_volume_tags(kind, created.id, defined_tags=defined, deadline=deadline)
        except BackupError as error:
            # Unmarked, no later call would ever delete it; this call made it (its id is the create's own answer).
            log.warning("restore-test volume not marked: deleted", extra={"testVolumeId": created.id, "errorCode": error.code})
            try:
                self.core.delete_volume(kind, created.id, deadline)
            except BackupError as delete_error:
                log.warning("unmarked restore-test volume not deleted", extra={"testVolumeId": created.id, "errorCode": delete_error.code})
            raise
        self._record(kind, backup, LastTest("started", datetime.now(UTC), created.id), deadline)
        return RestoreTestAnswer(backup_id=backup.id, volume_id=volume.id, test_volume_id=created.id, verdict="started")

    def judge(self, kind: Kind, volume_id: str, trigger: Trigger, deadline: Deadline) -> JobResult:
        """A `createvolume.end` / `createbootvolume.end` of a volume in the restore-test compartment."""
        mark, compartment_id = self._config()
        volume = self.core.get_volume(kind, volume_id, deadline)  # fresh: its state decides
        backup_id = test_volume_backup(volume, mark, kind) if volume.compartment_id == compartment_id else None
        if backup_id is None:
            return JobResult(
                volume.id,
                skip_reason=f"{volume.id} lies in the restore-test compartment but is not a test volume of this function "
                f"(no valid mark or no {RESTORE_TEST_OF_TAG} tag): it is neither backed up nor deleted.",
            )
        backup = self._backup(kind, backup_id, deadline)
        last = LastTest.of(backup) if backup else None
        if last is not None and last.test_volume_id == volume.id and last.verdict in VERDICTS:
            state = "is deleted now" if self._delete(kind, volume, deadline) else "was already deleted"
            return JobResult(
                volume.id,
                skip_reason=f"The restore test of {backup_id} was judged {last.verdict} at {last.time.isoformat()} by an earlier "
                f"delivery; its test volume {volume.id} {state}.",
            )
        if volume.lifecycle_state in GONE_STATES:
            return JobResult(volume.id, skip_reason=f"Test volume {volume.id} is {volume.lifecycle_state}: nothing to judge.")
        if volume.lifecycle_state == "PROVISIONING":
            raise RestoreNotFinished(f"Test volume {volume.id} is still PROVISIONING: it is judged when it has finished.")
        answer, error = self._verdict(volume, backup, backup_id, trigger)
        if backup is not None and mark.is_on_backup(backup):
            self._record(kind, backup, LastTest("failed" if error else "passed", datetime.now(UTC), volume.id), deadline)
        try:
            self._delete(kind, volume, deadline)
        except BackupError as delete_error:
            return JobResult(backup_id, restore_test=answer.model_copy(update={"deleted": False}), error=delete_error)
        return JobResult(backup_id, restore_test=answer.model_copy(update={"deleted": True}), error=error)

    def _verdict(
        self, volume: OciVolume, backup: OciBackup | None, backup_id: str, trigger: Trigger
    ) -> tuple[RestoreTestAnswer, RestoreTestFailed | None]:
        size, expected = volume.size_in_gbs, backup.size_in_gbs if backup else None
        problem = None
        if volume.lifecycle_state != "AVAILABLE":
            problem = f"the restored volume is {volume.lifecycle_state}, not AVAILABLE"
        elif expected is not None and (size is None or size < expected):
            problem = f"the restored volume has {size} GB, less than the backup's {expected} GB"
        created = parsed_time(volume.time_created)
        seconds = seconds_between(created, trigger.time) if created else None
        source_id = backup.source_id if backup else None
        note = None if backup else f"Backup {backup_id} is gone: judged by the volume's state alone, not recorded."
        if problem is None:
            return RestoreTestAnswer(
                backup_id=backup_id, volume_id=source_id, test_volume_id=volume.id, verdict="passed", seconds=seconds, reason=note
            ), None
        reason = f"Backup {backup_id} did not restore: {problem}." + (f" {note}" if note else "")
        answer = RestoreTestAnswer(
            backup_id=backup_id, volume_id=source_id, test_volume_id=volume.id, verdict="failed", seconds=seconds, reason=reason
        )
        return answer, RestoreTestFailed(reason)

    def _clean_up_stale(self, deadline: Deadline, *, dry_run: bool) -> list[RestoreTestAnswer]:
        """Test volumes older than an hour whose event never came: reported failed and deleted."""
        mark, compartment_id = self._config()
        now = datetime.now(UTC)
        answers: list[RestoreTestAnswer] = []
        for kind in KINDS.values():
            try:
                listed = list(self.core.volumes_in(kind, compartment_id, deadline))
            except BackupError as error:
                log.warning("restore-test volumes not listed", extra={"errorCode": error.code, "error": error.message})
                continue
            for volume in listed:
                created = parsed_time(volume.time_created)
                backup_id = test_volume_backup(volume, mark, kind)
                if backup_id is None or volume.lifecycle_state in GONE_STATES or created is None or now - created < STALE_AFTER:
                    continue
                if deadline.remaining() < MIN_SECONDS_PER_START:
                    return answers
                answers.append(self._expire(kind, volume, backup_id, deadline, dry_run=dry_run))
        return answers

    def _expire(self, kind: Kind, volume: OciVolume, backup_id: str, deadline: Deadline, *, dry_run: bool) -> RestoreTestAnswer:
        mark, _ = self._config()
        reason = f"No event came within an hour of the restore into {volume.id} (created {volume.time_created})."
        try:
            backup = self._backup(kind, backup_id, deadline)
        except BackupError:
            backup = None
        last = LastTest.of(backup) if backup else None
        judged = last if last is not None and last.test_volume_id == volume.id and last.verdict in VERDICTS else None
        verdict: RestoreVerdict = "passed" if judged and judged.verdict == "passed" else "failed"
        if judged:
            reason = f"Judged {judged.verdict} at {judged.time.isoformat()}; its test volume was left behind."
        answer = RestoreTestAnswer(
            backup_id=backup_id, volume_id=backup.source_id if backup else None, test_volume_id=volume.id, verdict=verdict
        )
        if dry_run:
            # A dry run judges nothing: no verdict, so nothing pages and no metric counts it.
            return answer.model_copy(update={"verdict": "would-expire", "deleted": False, "reason": f"{reason} Dry run: not deleted."})
        if judged is None and backup is not None and mark.is_on_backup(backup):
            try:
                self._record(kind, backup, LastTest("failed", datetime.now(UTC), volume.id), deadline)
            except BackupError as error:
                log.warning("restore-test verdict not recorded", extra={"backupId": backup.id, "errorCode": error.code})
        try:
            self._delete(kind, volume, deadline)
        except BackupError as error:
            return answer.model_copy(update={"deleted": False, "reason": f"{reason} Not deleted: {error.code}: {error.message}"})
        return answer.model_copy(update={"deleted": True, "reason": reason})

    def _config(self) -> tuple[Mark, str]:
        mark, compartment_id = self.settings.mark, self.settings.restore_test_compartment_id
        if compartment_id is None or mark is None:
            raise InvalidConfiguration("Restore tests are off: set RESTORE_TEST_COMPARTMENT_ID (and MARK_TAG_NAMESPACE).")
        return mark, compartment_id

    def _backup(self, kind: Kind, backup_id: str, deadline: Deadline) -> OciBackup | None:
        try:
            return self.core.get_backup(kind, backup_id, deadline).backup
        except NotFound:
            return None  # retention deleted it since; the test volume is still judged and deleted

    def _record(self, kind: Kind, backup: OciBackup, last: LastTest, deadline: Deadline) -> None:
        tags = {**backup.freeform_tags, **last.tags()}
        self.core.update_backup_tags(kind, backup.id, freeform_tags=tags, deadline=deadline)

    def _delete(self, kind: Kind, volume: OciVolume, deadline: Deadline) -> bool:
        """Whether this call deleted the test volume (False: it was gone already)."""
        if volume.lifecycle_state in GONE_STATES:
            return False
        try:
            self.core.delete_volume(kind, volume.id, deadline)
        except NotFound:
            return False
        except BackupInProgress as conflict:
            raise RestoreNotFinished(
                f"Test volume {volume.id} cannot be deleted yet ({conflict.message}); a redelivery deletes it.",
                opc_request_id=conflict.opc_request_id,
            ) from None
        return True


def test_volume_backup(volume: OciVolume, mark: Mark, kind: Kind) -> str | None:
    """The backup a test volume of ours was restored from: it must carry our valid mark and name a
    backup of its own kind; anything else is not ours to judge or delete."""
    if not mark.is_on(volume.id, volume.defined_tags):
        return None
    backup_id = volume.freeform_tags.get(RESTORE_TEST_OF_TAG, "")
    return backup_id if kind_of_backup(backup_id) == kind else None
