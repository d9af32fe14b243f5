"""A backup job: the volume read from OCI (never from the payload), checked against the allowlist
and its opt-out tag, and its backup created exactly once (the job's retry token)."""

from __future__ import annotations

import logging
import time
from datetime import datetime
from typing import TYPE_CHECKING

from ..answers import BackupAnswer, BackupOutcome
from ..deadline import Deadline
from ..domain import BackupJob, InstanceRef, Mark, Trigger
from ..errors import BackupError, BackupInProgress, CompartmentNotAllowed, InvalidConfiguration, NotFound, OciRejected
from ..models import IN_PROGRESS_STATES, KINDS, BackupRequest, Kind, OciBackup, OciVolume
from ..results import JobResult
from ..settings import Settings

if TYPE_CHECKING:
    from ..clients.core import CoreClient
    from .restore_test import RestoreTests

log = logging.getLogger("backup_fn")

OPT_OUT_VALUES = frozenset({"true", "yes", "1"})
# What a backup request may carry that OCI could refuse on the caller's account; the rest of a create is ours.
CALLERS_OWN_FIELDS = (
    "defined_tags",
    "kms_key_id",
    "retention_period",
    "is_prevent_deletion_enabled",
    "is_retention_lock_enabled",
    "is_indefinite_retention_enabled",
)
NOT_A_TAG_REFUSAL = frozenset({"QuotaExceeded", "LimitExceeded"})
VOLUME_CACHE_ENTRIES = 256


class Backup:
    def __init__(self, core: CoreClient, settings: Settings, restore_tests: RestoreTests | None = None) -> None:
        self.core = core
        self.settings = settings
        self.restore_tests = restore_tests
        self._volumes: dict[tuple[str, str], tuple[float, OciVolume]] = {}

    def run(self, job: BackupJob, trigger: Trigger, deadline: Deadline) -> JobResult:
        request = self._resolve(job.target, deadline)
        volume = self._volume(request.kind, request.resource_id, deadline)
        # A volume created in the restore-test compartment is a restore test ending, never a backup
        # trigger: where the volume lies is read from OCI, not from the event.
        if self.restore_tests is not None and trigger.source == "oci-events" and self._restore_test_volume(volume):
            return self.restore_tests.judge(request.kind, volume.id, trigger, deadline)
        return self.create(request, volume, trigger, job.retry_token, deadline)

    def _restore_test_volume(self, volume: OciVolume) -> bool:
        return volume.compartment_id == self.settings.restore_test_compartment_id

    def create(self, request: BackupRequest, volume: OciVolume, trigger: Trigger, retry_token: str, deadline: Deadline) -> JobResult:
        """The backup of `volume` (as OCI knows it) that `request` asks for, made once per `retry_token`,
        after the allowlist and the opt-out tag are checked."""
        kind = request.kind
        if self._restore_test_volume(volume):
            return JobResult(
                request.resource_id,
                skip_reason=f"{request.resource_id} lies in the restore-test compartment, whose volumes are never backed up.",
            )
        if not self.settings.allows(volume.compartment_id):
            raise CompartmentNotAllowed(
                f"{request.resource_id} is in compartment {volume.compartment_id}, which ALLOWED_COMPARTMENT_IDS does not list."
            )
        opt_out = volume.freeform_tags.get(self.settings.opt_out_tag, "")
        if opt_out.strip().lower() in OPT_OUT_VALUES:
            return JobResult(
                request.resource_id, skip_reason=f"{request.resource_id} carries the freeform tag {self.settings.opt_out_tag}={opt_out}."
            )

        body = request.api_body()
        body.setdefault("type", self.settings.backup_type)
        body.setdefault("displayName", default_display_name(volume, trigger.time))
        # The function's own tags win: a caller naming them was refused before any job, and a volume's do not count.
        body["freeformTags"] = {**(request.freeform_tags or {}), **trigger.tags()}
        mark = self.settings.mark
        if mark is not None:
            # Marked in the create itself: one call a backup, and never a moment it exists unmarked.
            defined = {namespace: dict(keys) for namespace, keys in (request.defined_tags or {}).items()}
            defined.setdefault(mark.namespace, {}).update(mark.tags_at_create(volume.id)[mark.namespace])
            body["definedTags"] = defined
        try:
            created = self.core.create_backup(kind, body, retry_token, deadline)
        except BackupInProgress as conflict:
            existing = self._existing_backup(kind, volume, trigger, deadline)
            if existing is None:
                raise
            outcome: BackupOutcome = "existing" if trigger.made(existing) else "in-progress"
            # Found by its freeform tags, which anyone who may use a backup can set: never marked on their word.
            # A redelivery with the same retry token gets the create's own answer back, and that one is marked.
            return JobResult(
                request.resource_id,
                backup=BackupAnswer.from_backup(existing, opc_request_id=conflict.opc_request_id, outcome=outcome),
            )
        except (OciRejected, NotFound) as refused:
            if mark is not None and self._refused_over_the_mark(request, volume, mark, refused, deadline):
                raise mark_refused(mark, volume.id, refused) from refused
            raise
        marked = self.mark(kind, created.backup, deadline)
        return JobResult(
            request.resource_id,
            backup=BackupAnswer.from_backup(created.backup, opc_request_id=created.request_id, outcome="created", marked=marked),
        )

    def mark(self, kind: Kind, backup: OciBackup, deadline: Deadline) -> bool | None:
        """Whether the backup just made carries the mark its create asked for; should OCI's answer not
        show it, the mark is set after all (its value then the backup's own id). A failure leaves it
        unmarked, which is safe (never pruned, never copied) and is reported, not fatal."""
        return set_mark(self.core, self.settings.mark, kind, backup, deadline)

    def _refused_over_the_mark(
        self, request: BackupRequest, volume: OciVolume, mark: Mark, refused: BackupError, deadline: Deadline
    ) -> bool:
        """Whether OCI refusing a create that carried the mark can only be the operator's to mend: nothing
        in it OCI could refuse came from the caller, it is no quota, and a 404 is not the volume gone
        since it was read (it is read again to tell). With the caller's own fields in it, the caller's
        error stands, and says the mark was in it too."""
        callers = [name for name in CALLERS_OWN_FIELDS if getattr(request, name) is not None]
        if callers:
            refused.message += (
                f" The create also carried the function's mark ({mark.namespace}.{mark.key}): if OCI refused that,"
                " MARK_TAG_NAMESPACE and the function's IAM are the operator's to mend."
            )
            return False
        if refused.code in NOT_A_TAG_REFUSAL:
            return False
        if isinstance(refused, NotFound):
            self._volumes.pop((request.kind.name, volume.id), None)
            try:
                self.core.get_volume(request.kind, volume.id, deadline)
            except BackupError:
                return False
        return True

    def _resolve(self, target: BackupRequest | InstanceRef, deadline: Deadline) -> BackupRequest:
        if isinstance(target, BackupRequest):
            return target
        boot_volume_id = self.core.boot_volume_of(target.instance_id, target.compartment_id, target.availability_domain, deadline)
        return BackupRequest.model_validate({KINDS["bootVolume"].id_field: boot_volume_id})

    def _volume(self, kind: Kind, resource_id: str, deadline: Deadline) -> OciVolume:
        """The volume as OCI knows it (never as the payload claims), cached briefly per container."""
        key = (kind.name, resource_id)
        now = time.monotonic()
        cached = self._volumes.get(key)
        if cached and cached[0] > now:
            return cached[1]
        volume = self.core.get_volume(kind, resource_id, deadline)
        if self.settings.volume_cache_seconds > 0:
            if len(self._volumes) >= VOLUME_CACHE_ENTRIES:
                self._volumes.clear()
            self._volumes[key] = (now + self.settings.volume_cache_seconds, volume)
        return volume

    def _existing_backup(self, kind: Kind, volume: OciVolume, trigger: Trigger, deadline: Deadline) -> OciBackup | None:
        """After a 409: the backup this very trigger made before (a redelivery), else the one in progress."""
        running: OciBackup | None = None
        try:
            for backup in self.core.backups_of(kind, volume.id, volume.compartment_id, deadline):
                if trigger.made(backup):
                    return backup
                if running is None and backup.lifecycle_state in IN_PROGRESS_STATES:
                    running = backup
        except BackupError:
            pass
        return running


def set_mark(core: CoreClient, mark: Mark | None, kind: Kind, backup: OciBackup, deadline: Deadline, *, copy: bool = False) -> bool | None:
    """True once `backup` carries a valid `mark` (set here, its value the backup's own id, unless it has
    one), False when setting it failed (logged), None without a mark configured. A `copy` inherits its
    source's tags: only its own id makes it ours, whatever the copy's answer shows of its source."""
    if mark is None:
        return None
    if mark.is_on(backup.id, backup.defined_tags) if copy else mark.is_on_backup(backup):
        return True
    tags = {namespace: dict(keys) for namespace, keys in backup.defined_tags.items()}
    tags.setdefault(mark.namespace, {}).update(mark.tags_for(backup.id)[mark.namespace])
    try:
        core.update_backup_tags(kind, backup.id, defined_tags=tags, deadline=deadline)
    except BackupError as error:
        log.warning(
            "backup left unmarked: it is kept, never pruned or copied",
            extra={"backupId": backup.id, "errorCode": error.code, "error": error.message, "opcRequestId": error.opc_request_id},
        )
        return False
    return True


def mark_refused(mark: Mark, volume_id: str, refused: BackupError) -> InvalidConfiguration:
    """A create OCI refused although nothing in it was the caller's: the operator's to mend, and a
    redelivery succeeds once mended."""
    return InvalidConfiguration(
        f"OCI refused the backup of {volume_id}: {refused.message} The create carried the function's mark:"
        f" the tag namespace MARK_TAG_NAMESPACE={mark.namespace} must exist with the key MARK_TAG_KEY={mark.key}, and the"
        " function's dynamic group must be allowed to use it and to create backups here; until then every backup fails this way.",
        opc_request_id=refused.opc_request_id,
    )


def default_display_name(volume: OciVolume, when: datetime) -> str:
    stamp = when.strftime("%Y-%m-%d %H:%M:%S UTC")
    name = volume.display_name or volume.id
    return f"{name[: 255 - len(stamp) - 1]} {stamp}"
