"""What restore tests decide without calling anything: the tags that tie a test volume to its backup
and record a backup's last test, and which volumes a sweep tests next (least recently tested first)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Literal, NamedTuple, cast

from .domain import MAX_TAG_VALUE_LENGTH, Mark
from .models import KINDS, Kind, OciBackup, OciVolume, ResourceKind, parsed_time

# On a test volume: the backup it was restored from. On a backup: its last test, "<verdict> <time> <test volume>".
RESTORE_TEST_OF_TAG = "restore-test-of"
LAST_TEST_TAG = "restore-test"
# A test whose event has not come within this long is cleaned up and reported failed.
STALE_AFTER = timedelta(hours=1)
SOURCE_TYPES: dict[ResourceKind, str] = {"volume": "volumeBackup", "bootVolume": "bootVolumeBackup"}
# The lowest performance each kind allows: a test volume only has to come up, never to serve.
LOWEST_VPUS_PER_GB: dict[ResourceKind, int] = {"volume": 0, "bootVolume": 10}
GONE_STATES = frozenset({"TERMINATING", "TERMINATED"})
Recorded = Literal["started", "passed", "failed"]
VERDICTS = frozenset({"passed", "failed"})


class LastTest(NamedTuple):
    """A backup's last restore test as its freeform tag records it."""

    verdict: Recorded
    time: datetime
    test_volume_id: str

    def tags(self) -> dict[str, str]:
        stamp = self.time.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
        return {LAST_TEST_TAG: f"{self.verdict} {stamp} {self.test_volume_id}"[:MAX_TAG_VALUE_LENGTH]}

    @classmethod
    def of(cls, backup: OciBackup) -> LastTest | None:
        parts = backup.freeform_tags.get(LAST_TEST_TAG, "").split()
        if len(parts) != 3 or parts[0] not in ("started", "passed", "failed"):
            return None
        stamp = parsed_time(parts[1])
        return cls(cast(Recorded, parts[0]), stamp, parts[2]) if stamp else None


def seconds_between(start: datetime, end: datetime) -> float:
    return round(max(0.0, (end - start).total_seconds()), 1)


def kind_of_backup(backup_id: str) -> Kind | None:
    return next((kind for kind in KINDS.values() if kind.backup_ocid.matches(backup_id)), None)


def choose(
    volumes: Sequence[OciVolume], backups: Sequence[OciBackup], mark: Mark, count: int, now: datetime
) -> list[tuple[OciVolume, OciBackup]]:
    """Up to `count` volumes with the backup to test for each: its newest own AVAILABLE backup. A
    volume's last test is the newest one recorded on any of its own backups; never tested comes
    first, then the longest ago. A volume whose test started less than an hour ago is in flight and
    waits. Ties go to the volume whose newest backup is oldest, then by id (the same every sweep)."""
    in_scope = {volume.id: volume for volume in volumes}
    newest: dict[str, OciBackup] = {}
    last_tested: dict[str, LastTest] = {}
    for backup in backups:
        source = backup.source_id
        if source not in in_scope or not mark.is_on_backup(backup):
            continue
        last = LastTest.of(backup)
        if last is not None and (source not in last_tested or last.time > last_tested[source].time):
            last_tested[source] = last
        if backup.lifecycle_state == "AVAILABLE" and kind_of_backup(backup.id) is not None:
            known = newest.get(source)
            if known is None or (backup.time_created or "") > (known.time_created or ""):
                newest[source] = backup
    ranked: list[tuple[datetime, str, str]] = []
    for source, backup in newest.items():
        last = last_tested.get(source)
        if last is not None and last.verdict == "started" and now - last.time < STALE_AFTER:
            continue
        ranked.append((last.time if last else datetime.min.replace(tzinfo=UTC), backup.time_created or "", source))
    ranked.sort()
    return [(in_scope[source], newest[source]) for _, _, source in ranked[:count]]
