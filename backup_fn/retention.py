"""Which backups retention deletes. Pure: the same backups, settings and time give the same answer.

Only this function's own backups are candidates (`made_by_us`: its valid mark, not a policy
backup), and only `AVAILABLE` ones that OCI does not lock; the newest `keep_last` of them and any
younger than `keep_days` stay, and the newest always stays. `Retention` judges backups one at a
time, newest first, so a caller can delete while it pages through thousands of them."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import NamedTuple

from .domain import Mark, created_at, is_locked, made_by_us
from .models import OciBackup


class Decision(NamedTuple):
    delete: tuple[OciBackup, ...]
    kept: int


class Retention:
    """Judges a volume's backups newest first: `judge` says whether to delete one; `kept` counts the
    own `AVAILABLE` backups that stay (locked ones and those `protected` among them)."""

    def __init__(
        self,
        *,
        keep_last: int | None,
        keep_days: int | None,
        now: datetime,
        mark: Mark | None,
        adopt_before: datetime | None = None,
        protected: frozenset[str] = frozenset(),
    ) -> None:
        self.keep_count = max(keep_last or 1, 1)
        self.young_after = now - timedelta(days=keep_days) if keep_days is not None else None
        self.now = now
        self.mark = mark
        self.adopt_before = adopt_before
        self.protected = protected
        self.kept = 0
        self._positions = 0

    def judge(self, backup: OciBackup) -> bool:
        if backup.lifecycle_state != "AVAILABLE" or not made_by_us(backup, self.mark, self.adopt_before):
            return False
        if is_locked(backup, self.now):
            self.kept += 1  # OCI would refuse the delete: never tried, and it holds no KEEP_LAST place
            return False
        position = self._positions
        self._positions += 1
        created = created_at(backup)
        # protected: the source of a copy still being made elsewhere; an age we cannot read is never old enough
        if position < self.keep_count or backup.id in self.protected or created is None:
            self.kept += 1
            return False
        if self.young_after is not None and created > self.young_after:
            self.kept += 1
            return False
        return True


def decide(
    backups: Iterable[OciBackup],
    *,
    keep_last: int | None,
    keep_days: int | None,
    now: datetime,
    mark: Mark | None,
    adopt_before: datetime | None = None,
    protected: frozenset[str] = frozenset(),
) -> Decision:
    retention = Retention(keep_last=keep_last, keep_days=keep_days, now=now, mark=mark, adopt_before=adopt_before, protected=protected)
    newest_first = sorted(backups, key=lambda b: created_at(b) or datetime.min.replace(tzinfo=UTC), reverse=True)
    delete = tuple(backup for backup in newest_first if retention.judge(backup))
    return Decision(delete, retention.kept)
