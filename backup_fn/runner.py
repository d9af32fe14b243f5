"""Runs a trigger's jobs within the call's deadline: each by the use case for its kind of job,
many of them `MAX_PARALLEL_CALLS` at a time, and remembers what a trigger naming many resources
already made, so a redelivery spends its time on what the earlier delivery did not reach."""

from __future__ import annotations

import contextvars
import random
import threading
from collections import OrderedDict
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Protocol

from .answers import BackupAnswer
from .deadline import Deadline
from .domain import BackupJob, Job, Trigger
from .errors import BackupError, DeadlineExceeded
from .results import JobResult

REMEMBERED_BACKUPS = 4096


class UseCase(Protocol):
    def run(self, job: Any, trigger: Trigger, deadline: Deadline) -> JobResult: ...


class JobRunner:
    def __init__(self, use_cases: Mapping[type, UseCase], max_parallel: int) -> None:
        self.use_cases = use_cases
        self.max_parallel = max_parallel
        self._pool: ThreadPoolExecutor | None = None
        self._pool_lock = threading.Lock()
        self._made: OrderedDict[str, BackupAnswer] = OrderedDict()
        self._made_lock = threading.Lock()

    def run(self, trigger: Trigger, deadline: Deadline) -> tuple[JobResult, ...]:
        """One result per job, in the trigger's order."""
        if len(trigger.jobs) <= 1:
            return tuple(self._run_one(job, trigger, deadline) for job in trigger.jobs)
        # A redelivery of a large alarm that ran out of time works first on what no delivery finished
        # in this container, in an order of its own (another container's delivery starts elsewhere in
        # the list too).
        order = list(range(len(trigger.jobs)))
        random.shuffle(order)
        order.sort(key=lambda index: self._made_before(trigger.jobs[index]) is not None)
        pool = self._executor()
        futures = {
            index: pool.submit(contextvars.copy_context().run, self._run_one, trigger.jobs[index], trigger, deadline) for index in order
        }
        return tuple(futures[index].result() for index in range(len(trigger.jobs)))

    def _executor(self) -> ThreadPoolExecutor:
        with self._pool_lock:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(max_workers=self.max_parallel, thread_name_prefix="backup-job")
            return self._pool

    def _run_one(self, job: Job, trigger: Trigger, deadline: Deadline) -> JobResult:
        made = self._made_before(job)
        if made is not None:
            return JobResult(
                made.volume_id or made.boot_volume_id or job.resource_id, backup=made.model_copy(update={"outcome": "existing"})
            )
        try:
            if deadline.remaining() <= 0:
                raise DeadlineExceeded("The call's deadline came before this resource could be worked on.")
            result = self.use_cases[type(job)].run(job, trigger, deadline)
        except BackupError as error:
            return JobResult(job.resource_id, error=error)
        # Only a trigger naming many resources can run out of time and come again part-done; a single
        # redelivery is one cheap create that OCI's retry token answers.
        if len(trigger.jobs) > 1 and isinstance(job, BackupJob) and result.backup is not None and result.backup.outcome == "created":
            self._remember(job.retry_token, result.backup)
        return result

    def _made_before(self, job: Job) -> BackupAnswer | None:
        if not isinstance(job, BackupJob):
            return None
        with self._made_lock:
            return self._made.get(job.retry_token)

    def _remember(self, retry_token: str, backup: BackupAnswer) -> None:
        with self._made_lock:
            self._made[retry_token] = backup
            while len(self._made) > REMEMBERED_BACKUPS:
                self._made.popitem(last=False)
