"""The protection sweep: every volume in scope keeps a backup younger than RPO_HOURS. Scope and
backups are read from OCI by compartment (pages, not one lookup per volume), judged by `rpo.plan`,
and the volumes beyond RPO are backed up here or, when there are more than one batch's worth and
SWEEP_TOPIC_ID is set, published in batches that Notifications delivers to the function again."""

from __future__ import annotations

import contextvars
import functools
import json
import logging
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Protocol, TypeVar

from .. import rpo
from ..answers import BackupAnswer, Failure, RestoreTestAnswer, SweepAnswer, SweepCounts, SweepReport
from ..clients.core import KIND_OPERATIONS
from ..clients.retry import Pacing, on_throttle
from ..deadline import Deadline
from ..domain import Skipped, SweepJob, Trigger, sweep_batch_message
from ..errors import BackupError, DeadlineExceeded, InvalidConfiguration, RestoreTestFailed, Throttled
from ..models import KINDS, BackupRequest, Kind, OciBackup, OciVolume
from ..pacing import Pacer
from ..replies import MAX_LISTED
from ..results import JobResult, SweepOutcome
from ..settings import Settings
from .backup import Backup

if TYPE_CHECKING:
    from ..clients.core import CoreClient

# What the pacer paces: the creates, whose rate OCI limits; every other call retries its 429s itself.
CREATES = frozenset(operations.create_backup.name for operations in KIND_OPERATIONS.values())
# A create is one short call (or a few, throttled); below this much time left, the rest waits for
# the batch's redelivery or the next sweep.
MIN_SECONDS_PER_CREATE = 1.0
log = logging.getLogger("backup_fn")
MAX_TITLE_LENGTH = 255
T = TypeVar("T")


class SweepCompanion(Protocol):
    """Work that rides on a sweep's reading of the fleet (restore tests): called once per planning call."""

    def during_sweep(
        self,
        volumes: Sequence[OciVolume],
        backups: Sequence[OciBackup],
        trigger: Trigger,
        deadline: Deadline,
        *,
        dry_run: bool,
    ) -> list[RestoreTestAnswer]: ...


class Publisher(Protocol):
    def publish(self, topic_id: str, title: str, body: str, deadline: Deadline) -> str | None: ...


class Sweep:
    def __init__(
        self,
        core: CoreClient,
        backup: Backup,
        settings: Settings,
        publisher: Publisher | None = None,
        companions: Sequence[SweepCompanion] = (),
    ) -> None:
        self.core = core
        self.backup = backup
        self.settings = settings
        self.publisher = publisher
        self.companions = tuple(companions)
        self._pool: ThreadPoolExecutor | None = None
        self._pool_lock = threading.Lock()
        self.pacer = Pacer()  # one per container: its creates share what OCI accepts

    def run(self, job: SweepJob, trigger: Trigger, deadline: Deadline) -> JobResult:
        now = datetime.now(UTC)
        # A batch reads only the kinds it names: a batch of block volumes lists no boot volumes.
        kinds = list(KINDS.values()) if job.volume_ids is None else sorted({rpo.kind_of(i) for i in job.volume_ids})
        volumes, backups = self._read(kinds, now - timedelta(hours=self.settings.rpo_hours), deadline)
        scope = rpo.Scope(self.settings.sweep_tag, self.settings.opt_out_tag)
        unknown: list[Skipped] = []
        if job.volume_ids is not None:
            # A batch judges only the volumes it names, as the sweep would now: found in the
            # compartments, in scope, beyond RPO. Anything else it names is left alone.
            listed = {volume.id: volume for volume in volumes}
            volumes = [listed[volume_id] for volume_id in job.volume_ids if volume_id in listed]
            unknown = [Skipped(i, "not listed in the sweep's compartments") for i in job.volume_ids if i not in listed]
        plan = rpo.plan(volumes, backups, scope=scope, now=now, rpo_hours=self.settings.rpo_hours)
        planning = job.volume_ids is None
        made: list[BackupAnswer] = []
        errors: list[tuple[str, BackupError]] = []
        batches = 0
        if job.dry_run:
            pass
        elif planning and self.settings.sweep_topic_id and self.publisher and len(plan.beyond) > self.settings.sweep_batch_size:
            batches, errors = self._publish(self.settings.sweep_topic_id, self.publisher, job, plan, deadline)
        else:
            made, errors = self._back_up(plan, trigger, deadline)
        # After the backups: restore tests take what time is left, never a volume's backup.
        restore_tests = self._companions(plan, backups, trigger, deadline, job.dry_run) if planning else []
        would = [due.volume.id for due in plan.beyond] if job.dry_run else None
        report = SweepReport(
            id=job.sweep_id,
            part="sweep" if planning else "batch",
            slot=plan.slot.id,
            dry_run=job.dry_run,
            in_scope=len(plan.in_scope),
            within_rpo=len(plan.within),
            beyond_rpo=len(plan.beyond),
            excluded=len(plan.excluded) + len(unknown),
            batches=batches,
            backups=made[:MAX_LISTED],
            failures=[Failure.of(volume_id, error) for volume_id, error in errors[:MAX_LISTED]],
            restore_tests=restore_tests[:MAX_LISTED],
            would_back_up=would[:MAX_LISTED] if would is not None else None,
            counts=SweepCounts(backups=len(made), failures=len(errors), would_back_up=len(would or ()), restore_tests=len(restore_tests)),
        )
        created = sum(1 for answer in made if answer.outcome == "created")
        # A failed restore test (a stale one the companion cleaned up) pages like any other, and is no failed backup.
        failed_tests = [
            (test.test_volume_id or test.backup_id, RestoreTestFailed(test.reason or f"The restore test of {test.backup_id} failed."))
            for test in restore_tests
            if test.verdict == "failed"
        ]
        return JobResult(job.resource_id, sweep=SweepOutcome(SweepAnswer(sweep=report), (*errors, *failed_tests), created))

    def _read(self, kinds: list[Kind], since: datetime, deadline: Deadline) -> tuple[list[OciVolume], list[OciBackup]]:
        """Every volume and boot volume of the sweep's compartments, and their backups back to `since`:
        one listing per compartment and kind, read side by side."""
        compartments = sorted(sweep_compartments(self.settings))
        # The restore tests' workspace is never swept, even when it lies inside the sweep's compartments.
        workspace = self.settings.restore_test_compartment_id
        compartments = [compartment for compartment in compartments if compartment != workspace]
        reads = [(kind, compartment) for compartment in compartments for kind in kinds]
        volumes = [
            volume for listed in self._all([functools.partial(self._volumes, k, c, deadline) for k, c in reads]) for volume in listed
        ]
        backups = [
            backup for listed in self._all([functools.partial(self._backups, k, c, since, deadline) for k, c in reads]) for backup in listed
        ]
        return volumes, backups

    def _volumes(self, kind: Kind, compartment_id: str, deadline: Deadline) -> list[OciVolume]:
        return list(self.core.volumes_in(kind, compartment_id, deadline))

    def _backups(self, kind: Kind, compartment_id: str, since: datetime, deadline: Deadline) -> list[OciBackup]:
        return list(self.core.recent_backups_in(kind, compartment_id, since, deadline))

    def _all(self, reads: list[Callable[[], list[T]]]) -> list[list[T]]:
        futures = [self._executor().submit(contextvars.copy_context().run, read) for read in reads]
        return [future.result() for future in futures]

    def _companions(
        self, plan: rpo.Plan, backups: list[OciBackup], trigger: Trigger, deadline: Deadline, dry_run: bool
    ) -> list[RestoreTestAnswer]:
        answers: list[RestoreTestAnswer] = []
        for companion in self.companions:
            try:
                answers += companion.during_sweep(plan.in_scope, backups, trigger, deadline, dry_run=dry_run)
            except BackupError as error:  # a companion's failure never costs a volume its backup
                log.warning("sweep companion failed", extra={"errorCode": error.code, "error": error.message})
        return answers

    def _publish(
        self, topic_id: str, publisher: Publisher, job: SweepJob, plan: rpo.Plan, deadline: Deadline
    ) -> tuple[int, list[tuple[str, BackupError]]]:
        """One message per batch; a batch that cannot be published is reported (its volumes are
        still beyond RPO for the next sweep to find)."""
        size = self.settings.sweep_batch_size
        chunks = [plan.beyond[start : start + size] for start in range(0, len(plan.beyond), size)]
        published = 0
        errors: list[tuple[str, BackupError]] = []
        for number, chunk in enumerate(chunks, 1):
            body = json.dumps(sweep_batch_message(job.sweep_id, [due.volume.id for due in chunk]))
            title = f"Sweep {job.sweep_id} batch {number}/{len(chunks)}: {len(chunk)} volumes"[:MAX_TITLE_LENGTH]
            try:
                publisher.publish(topic_id, title, body, deadline)
            except BackupError as error:
                errors += [(due.volume.id, error) for due in chunk]
                continue
            published += 1
        return published, errors

    def _back_up(self, plan: rpo.Plan, trigger: Trigger, deadline: Deadline) -> tuple[list[BackupAnswer], list[tuple[str, BackupError]]]:
        # The backup's own trigger id is the window: the same request body from every sweep and
        # batch of the window, so OCI's retry token answers a repeat with the first backup.
        in_window = trigger._replace(trigger_id=plan.slot.id)
        futures = [
            self._executor().submit(contextvars.copy_context().run, self._back_up_one, due, plan.slot, in_window, deadline)
            for due in plan.beyond
        ]
        made: list[BackupAnswer] = []
        errors: list[tuple[str, BackupError]] = []
        for due, future in zip(plan.beyond, futures, strict=True):
            try:
                result = future.result()
            except BackupError as error:
                errors.append((due.volume.id, error))
                continue
            if result.error is not None:
                errors.append((due.volume.id, result.error))
            elif result.backup is not None:
                made.append(result.backup)
        return made, errors

    def _back_up_one(self, due: rpo.Due, slot: rpo.Slot, trigger: Trigger, deadline: Deadline) -> JobResult:
        name = (due.volume.display_name or due.volume.id)[:200]
        request = BackupRequest.model_validate(
            {due.kind.id_field: due.volume.id, "displayName": f"{name} sweep {slot.start.strftime('%Y-%m-%d %H:%M')} UTC"}
        )
        # Every attempt at the create, a throttled one's retry included, waits its turn behind the container's pacer.
        on_throttle.set(Pacing(CREATES, self.pacer.throttled))
        while True:
            if deadline.remaining() < MIN_SECONDS_PER_CREATE or not self.pacer.wait(Deadline(deadline.at - MIN_SECONDS_PER_CREATE)):
                raise DeadlineExceeded(f"No time left in this call to back up {due.volume.id}; a redelivery or the next sweep will.")
            try:
                result = self.backup.create(request, due.volume, trigger, due.retry_token, deadline)
            except Throttled:
                continue
            self.pacer.accepted()
            return result

    def _executor(self) -> ThreadPoolExecutor:
        with self._pool_lock:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(max_workers=self.settings.max_parallel_calls, thread_name_prefix="sweep")
            return self._pool


def sweep_compartments(settings: Settings) -> frozenset[str]:
    """Where a sweep looks: SWEEP_COMPARTMENT_IDS, else ALLOWED_COMPARTMENT_IDS; neither is a configuration error."""
    compartments = settings.sweep_compartment_ids or settings.allowed_compartment_ids
    if not compartments:
        raise InvalidConfiguration(
            "Invalid function configuration: a sweep needs SWEEP_COMPARTMENT_IDS or ALLOWED_COMPARTMENT_IDS to know where to look."
        )
    # Checked when a sweep comes, not for every call: a sweep misconfigured must not stop event backups.
    strays = sorted(compartments - (settings.allowed_compartment_ids or compartments))
    if strays:
        named = ", ".join(strays)
        raise InvalidConfiguration(
            f"Invalid function configuration: SWEEP_COMPARTMENT_IDS names {named}, which ALLOWED_COMPARTMENT_IDS does not list."
        )
    return compartments
