"""Which backups retention deletes. Pure: the same list, settings and time give the same answer.

Only this function's own backups are candidates (`made_by_us`: our provenance tag, not a policy
backup), and only `AVAILABLE` ones; the newest `keep_last` of them and any younger than
`keep_days` stay, and the newest always stays."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import NamedTuple

from .domain import made_by_us
from .models import OciBackup


class Decision(NamedTuple):
    delete: tuple[OciBackup, ...]
    kept: int


def decide(backups: Iterable[OciBackup], *, keep_last: int | None, keep_days: int | None, now: datetime) -> Decision:
    own = [b for b in backups if made_by_us(b) and b.lifecycle_state == "AVAILABLE"]
    own.sort(key=lambda b: _created(b) or datetime.min.replace(tzinfo=UTC), reverse=True)
    keep_count = max(keep_last or 1, 1)
    young_after = now - timedelta(days=keep_days) if keep_days is not None else None
    delete = []
    for position, backup in enumerate(own):
        if position < keep_count:
            continue
        created = _created(backup)
        if created is None:
            continue  # an age we cannot read is never old enough
        if young_after is not None and created > young_after:
            continue
        delete.append(backup)
    return Decision(tuple(delete), len(own) - len(delete))


def _created(backup: OciBackup) -> datetime | None:
    if not backup.time_created:
        return None
    try:
        when = datetime.fromisoformat(backup.time_created)
    except ValueError:
        return None
    return when if when.tzinfo else when.replace(tzinfo=UTC)
