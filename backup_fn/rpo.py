"""The sweep's decision, pure: which listed volumes are in scope, which of those have a backup
younger than the RPO, and the retry token each of the others gets. No I/O: the sweep use case
lists volumes and backups from OCI and hands them here."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta
from typing import NamedTuple

from .domain import Skipped, retry_token
from .models import IN_PROGRESS_STATES, KINDS, Kind, OciBackup, OciVolume, parsed_time

PROTECTING_STATES = IN_PROGRESS_STATES | {"AVAILABLE"}
OPT_OUT_VALUES = frozenset({"true", "yes", "1"})
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class Slot(NamedTuple):
    """The RPO window a sweep runs in: windows of RPO_HOURS laid end to end from the Unix epoch, so
    every sweep and batch in one window agrees on it without being told."""

    start: datetime
    hours: float

    @classmethod
    def of(cls, now: datetime, hours: float) -> Slot:
        seconds = hours * 3600
        index = math.floor((now - EPOCH).total_seconds() / seconds)
        return cls(EPOCH + timedelta(seconds=index * seconds), hours)

    @property
    def id(self) -> str:
        return f"rpo-{self.hours:g}h-{self.start.strftime('%Y-%m-%dT%H:%M:%SZ')}"


class Scope(NamedTuple):
    """What a sweep protects: SWEEP_TAG (key, value or None for any value) and the opt-out tag."""

    sweep_tag: tuple[str, str | None] | None
    opt_out_tag: str

    def exclusion(self, volume: OciVolume) -> str | None:
        """Why a listed volume is out of scope, or None when it is in."""
        if volume.lifecycle_state != "AVAILABLE":
            return f"{volume.lifecycle_state or 'no lifecycleState'}, not AVAILABLE"
        opt_out = volume.freeform_tags.get(self.opt_out_tag, "")
        if opt_out.strip().lower() in OPT_OUT_VALUES:
            return f"opted out ({self.opt_out_tag}={opt_out})"
        if self.sweep_tag is not None:
            key, value = self.sweep_tag
            if key not in volume.freeform_tags or (value is not None and volume.freeform_tags[key] != value):
                return f"without the freeform tag {key}{'=' + value if value is not None else ''}"
        return None


class Due(NamedTuple):
    """A volume beyond RPO, and the token its backup is made with this window."""

    volume: OciVolume
    kind: Kind
    retry_token: str
    replaces: str | None  # the FAULTY backup this one stands in for, if any


class Plan(NamedTuple):
    slot: Slot
    in_scope: tuple[OciVolume, ...]
    within: tuple[str, ...]
    beyond: tuple[Due, ...]
    excluded: tuple[Skipped, ...]


def kind_of(volume_id: str) -> Kind:
    return KINDS["bootVolume"] if volume_id.startswith("ocid1.bootvolume.") else KINDS["volume"]


def plan(volumes: Iterable[OciVolume], backups: Sequence[OciBackup], *, scope: Scope, now: datetime, rpo_hours: float) -> Plan:
    """`backups`: every backup listed in the compartments back to the RPO window, any order."""
    oldest_protecting = now - timedelta(hours=rpo_hours)
    protected: set[str] = set()
    newest_faulty: dict[str, tuple[datetime, str]] = {}
    for backup in backups:
        source, when = backup.source_id, parsed_time(backup.time_created)
        if source is None or when is None:
            continue
        if backup.lifecycle_state in PROTECTING_STATES and when > oldest_protecting:
            protected.add(source)
        elif backup.lifecycle_state == "FAULTY" and (source not in newest_faulty or newest_faulty[source] < (when, backup.id)):
            newest_faulty[source] = (when, backup.id)
    slot = Slot.of(now, rpo_hours)
    in_scope: list[OciVolume] = []
    within: list[str] = []
    beyond: list[Due] = []
    excluded: list[Skipped] = []
    seen: set[str] = set()
    for volume in volumes:
        if volume.id in seen:
            continue
        seen.add(volume.id)
        reason = scope.exclusion(volume)
        if reason is not None:
            excluded.append(Skipped(volume.id, reason))
            continue
        in_scope.append(volume)
        if volume.id in protected:
            within.append(volume.id)
            continue
        faulty = newest_faulty.get(volume.id)
        replaces = faulty[1] if faulty else None
        token = retry_token("sweep", slot.id, volume.id, *([replaces] if replaces else []))
        beyond.append(Due(volume, kind_of(volume.id), token, replaces))
    return Plan(slot, tuple(in_scope), tuple(within), tuple(beyond), tuple(excluded))
