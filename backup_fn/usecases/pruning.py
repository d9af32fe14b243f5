"""Retention applied: a volume's backups (in this region, or its copies in another) judged newest
first and deleted while the list pages in, within the call's deadline. Only a deletion this call
made is counted; a backup another call deleted first (404) is not."""

from __future__ import annotations

import threading
from collections.abc import Iterable
from typing import TYPE_CHECKING, NamedTuple

from ..deadline import Deadline
from ..domain import adoptable
from ..errors import BackupError, DeadlineExceeded, NotFound
from ..models import Kind, OciBackup
from ..retention import Retention
from .backup import set_mark

if TYPE_CHECKING:
    from ..clients.core import CoreClient

# A deletion is one short call; below this much time left, the rest waits for the volume's next event.
MIN_SECONDS_PER_DELETE = 1.0
# The answer lists at most this many deleted ids; `counts` has them all.
MAX_PRUNED_LISTED = 200
# Deletes OCI refused (a lock the listing did not show): reported once per container, then left alone.
REFUSED_REMEMBERED = 4096


class Pruning(NamedTuple):
    """What retention did to one list of backups: the ids it deleted (or, in a dry run, would) up to
    `MAX_PRUNED_LISTED`, how many in all, how many of the function's own remain, whether `watched`
    (the backup the event announced) was judged and doomed, and the deletions that failed."""

    pruned: tuple[str, ...]
    pruned_count: int
    kept: int | None
    errors: tuple[tuple[str, BackupError], ...]
    watched_seen: bool = False
    watched_doomed: bool = False


class RefusedDeletes:
    """Backups OCI would not delete; a later event in this container keeps them without trying again."""

    def __init__(self) -> None:
        self._ids: dict[str, None] = {}
        self._lock = threading.Lock()

    def add(self, backup_id: str) -> None:
        with self._lock:
            self._ids[backup_id] = None
            while len(self._ids) > REFUSED_REMEMBERED:
                self._ids.pop(next(iter(self._ids)))

    def __contains__(self, backup_id: object) -> bool:
        with self._lock:
            return backup_id in self._ids


def prune(
    core: CoreClient,
    kind: Kind,
    volume_id: str,
    backups: Iterable[OciBackup],
    retention: Retention,
    *,
    dry_run: bool,
    deadline: Deadline,
    refused: RefusedDeletes,
    watched: str | None = None,
    reserve_seconds: float = 0.0,
) -> Pruning:
    """Deletes what `retention` judges old in `backups` (newest first), leaving `reserve_seconds` of
    the deadline for what the call still has to do. Adopted backups it keeps get the mark."""
    pruned: list[str] = []
    count = 0
    kept_besides = 0
    errors: list[tuple[str, BackupError]] = []
    seen = doomed = unread = False
    listing = iter(backups)
    while True:
        try:
            old = next(listing)
        except StopIteration:
            break
        except BackupError as error:  # a page that could not be read: what is left goes with the next event
            errors.append((volume_id, error))
            unread = True
            break
        if old.id in refused:
            retention.kept += old.lifecycle_state == "AVAILABLE"
            continue
        if not retention.judge(old):
            seen = seen or old.id == watched
            if retention.mark is not None and adoptable(old, retention.mark, retention.adopt_before):
                set_mark(core, retention.mark, kind, old, deadline)
            continue
        if old.id == watched:
            seen = doomed = True
        if dry_run:
            count += 1
            if len(pruned) < MAX_PRUNED_LISTED:
                pruned.append(old.id)
            continue
        if deadline.remaining() < MIN_SECONDS_PER_DELETE + reserve_seconds:
            kept_besides += 1
            break
        try:
            core.delete_backup(kind, old.id, deadline)
        except NotFound:
            continue  # another call deleted it first: gone, but not this call's deletion
        except DeadlineExceeded:
            kept_besides += 1
            break
        except BackupError as error:
            if not error.transient:
                refused.add(old.id)
            errors.append((old.id, error))
            kept_besides += 1
            continue
        count += 1
        if len(pruned) < MAX_PRUNED_LISTED:
            pruned.append(old.id)
    kept = None if unread else retention.kept + kept_besides  # cut short by the deadline: those judged so far
    return Pruning(tuple(pruned), count, kept, tuple(errors), seen, doomed)
