"""The domain every source and the service share: a trigger, the jobs it asks for, the retry
token that makes each create happen once, and the provenance tags that mark what we made.

Records here and across the package are `NamedTuple`s, not frozen dataclasses: a frozen dataclass
compiles six methods when its module loads (≈ 1 ms a class on the bench machine), and every one
of these loads on a cold start."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from datetime import datetime
from typing import Literal, NamedTuple

from .models import BackupRequest, Kind, OciBackup, parsed_time

Source = Literal["request", "oci-events", "monitoring-alarm", "backup-completed", "sweep", "restore-test"]
Delivery = Literal["direct", "api-gateway", "notifications"]

TRIGGER_TAG = "backup-trigger"
TRIGGER_ID_TAG = "backup-trigger-id"
MAX_TAG_VALUE_LENGTH = 256
BACKUP_OF = "backup-of:"


class Mark(NamedTuple):
    """The function's own mark: a defined tag in a namespace only this deployment's function may
    apply (the stack grants `use tag-namespaces` on it to the function's dynamic group alone).

    Its value binds it to what it is on, so that OCI's copying of tags passes on nothing valid:
    - a backup the function creates carries `backup-of:<its volume>`, set in the create itself. OCI
      copies a backup's tags onto its copies (which name their source backup) and perhaps onto a
      volume restored from it (which has another id): on neither does that value hold;
    - anything marked after it exists (a copy, an adopted backup, a restore-test volume) carries its
      own OCID.
    A freeform tag, which anyone who may *use* a backup can set, is never a mark; nor is a volume's
    value copied onto its backups: no value the function writes on a volume has the backups' form."""

    namespace: str
    key: str

    def tags_for(self, resource_id: str) -> dict[str, dict[str, str]]:
        return {self.namespace: {self.key: resource_id}}

    def tags_at_create(self, volume_id: str) -> dict[str, dict[str, str]]:
        return {self.namespace: {self.key: BACKUP_OF + volume_id}}

    def is_on(self, resource_id: str, defined_tags: Mapping[str, Mapping[str, object]] | None) -> bool:
        return self._value(defined_tags) == resource_id

    def is_on_backup(self, backup: OciBackup) -> bool:
        value = self._value(backup.defined_tags)
        if value == backup.id:
            return True
        return backup.copied_from is None and backup.source_id is not None and value == BACKUP_OF + backup.source_id

    def _value(self, defined_tags: Mapping[str, Mapping[str, object]] | None) -> object:
        return (defined_tags or {}).get(self.namespace, {}).get(self.key)


class Arrival(NamedTuple):
    """How a call came: its delivery, the identity that delivery gives it (a message id, a client's
    retry token), and the platform's call id."""

    delivery: Delivery
    identity: str | None
    call_id: str


class InstanceRef(NamedTuple):
    """An instance whose boot volume is to be found, then backed up."""

    instance_id: str
    compartment_id: str
    availability_domain: str

    @property
    def resource_id(self) -> str:
        return self.instance_id


class BackupJob(NamedTuple):
    """One backup to make, exactly once: `retry_token` is the same every time the trigger comes again."""

    target: BackupRequest | InstanceRef
    retry_token: str

    @property
    def resource_id(self) -> str:
        return self.target.resource_id


class LifecycleJob(NamedTuple):
    """A finished backup to copy and to apply retention around; read from OCI, never from the payload."""

    kind: Kind
    backup_id: str

    @property
    def resource_id(self) -> str:
        return self.backup_id


class RestoreTestJob(NamedTuple):
    """A restore test of one backup, asked for by a caller; the backup itself is read from OCI."""

    kind: Kind
    backup_id: str
    retry_token: str

    @property
    def resource_id(self) -> str:
        return self.backup_id


class SweepJob(NamedTuple):
    """A sweep of the configured compartments (`volume_ids` None: the planning call), or one batch
    of it: the volumes a planning call published, each read and judged again from OCI."""

    sweep_id: str
    dry_run: bool = False
    volume_ids: tuple[str, ...] | None = None

    @property
    def resource_id(self) -> str:
        return f"sweep {self.sweep_id}"


def sweep_batch_message(sweep_id: str, volume_ids: list[str]) -> dict[str, object]:
    """The body a sweep publishes to its topic for one batch, as `sources.sweep` reads it back."""
    return {"sweep": {"batch": {"sweepId": sweep_id, "volumeIds": volume_ids}}}


Job = BackupJob | LifecycleJob | RestoreTestJob | SweepJob


class Skipped(NamedTuple):
    """A resource the trigger named that is not worked on, and why."""

    resource_id: str
    reason: str


class Trigger(NamedTuple):
    source: Source
    delivery: Delivery
    trigger_id: str
    time: datetime
    jobs: tuple[Job, ...] = ()
    ignored: str | None = None
    skipped: tuple[Skipped, ...] = ()

    @property
    def tag_source(self) -> str:
        """A request is known by how it came (direct, api-gateway, notifications); every other source by its name."""
        return self.delivery if self.source == "request" else self.source

    @property
    def tag_id(self) -> str:
        return self.trigger_id[:MAX_TAG_VALUE_LENGTH]

    def tags(self) -> dict[str, str]:
        return {TRIGGER_TAG: self.tag_source, TRIGGER_ID_TAG: self.tag_id}

    def made(self, backup: OciBackup) -> bool:
        """Whether `backup` is the one this very trigger asked for (a redelivery finds it again)."""
        tags = backup.freeform_tags
        return tags.get(TRIGGER_ID_TAG) == self.tag_id and tags.get(TRIGGER_TAG) == self.tag_source


def retry_token(source: Source, trigger_id: str, *parts: str) -> str:
    """Same trigger and same resource (and region, for copies) → same token: 64 hex characters, OCI's maximum."""
    return hashlib.sha256("\n".join((source, trigger_id, *parts)).encode()).hexdigest()


def made_by_us(backup: OciBackup, mark: Mark | None, adopt_before: datetime | None = None) -> bool:
    """A backup this function made: it carries this deployment's valid mark (or is adopted, below)
    and no backup policy made it. Freeform tags alone never make a backup ours."""
    if backup.source_type == "SCHEDULED" or mark is None:
        return False
    return mark.is_on_backup(backup) or adoptable(backup, mark, adopt_before)


def adoptable(backup: OciBackup, mark: Mark, adopt_before: datetime | None) -> bool:
    """A backup made before the mark existed, which the operator opted in to adopt: the old freeform
    provenance tag, no policy, created before `adopt_before`, and no value at all under the mark's key
    (a wrong value there is a forgery or a copy from a volume, never adopted)."""
    if adopt_before is None or backup.source_type == "SCHEDULED" or TRIGGER_TAG not in backup.freeform_tags:
        return False
    if mark.key in (backup.defined_tags or {}).get(mark.namespace, {}):
        return False
    created = created_at(backup)
    return created is not None and created < adopt_before


def created_at(backup: OciBackup) -> datetime | None:
    return parsed_time(backup.time_created)


def is_locked(backup: OciBackup, now: datetime) -> bool:
    """OCI protects it from deletion (a retention lock, prevent-deletion, a legal hold, or a retention
    time not yet over): it is kept and never tried."""
    if backup.is_retention_lock_enabled or backup.is_prevent_deletion_enabled or backup.is_indefinite_retention_enabled:
        return True
    if not backup.time_retention_expires_at:
        return False
    expires = parsed_time(backup.time_retention_expires_at)
    return expires is None or expires > now  # a lock whose end we cannot read is still a lock


def copy_retry_token(backup_id: str, region: str) -> str:
    """One copy per (backup, region), whatever event or delivery announces the backup."""
    return retry_token("backup-completed", "copy", backup_id, region)


def own_tags_named(mark: Mark | None, freeform_tags: Mapping[str, object] | None, defined_tags: Mapping[str, object] | None) -> str | None:
    """The first of the function's own tags a caller tried to set, as `freeformTags.<key>` or `definedTags.<namespace>`."""
    for key in (TRIGGER_TAG, TRIGGER_ID_TAG):
        if key in (freeform_tags or {}):
            return f"freeformTags.{key}"
    if mark is not None and mark.namespace in (defined_tags or {}):
        return f"definedTags.{mark.namespace}"
    return None
