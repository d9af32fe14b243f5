"""The job runner with in-memory use cases: each job to the use case for its kind, results in the
trigger's order, at most MAX_PARALLEL_CALLS at once, the call's deadline, and the memory that lets a
redelivery of a trigger naming many volumes skip what the earlier delivery already made."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime

import pytest

from backup_fn.answers import BackupAnswer
from backup_fn.deadline import Deadline
from backup_fn.domain import BackupJob, Job, LifecycleJob, Trigger
from backup_fn.errors import DeadlineExceeded, NotFound, ServiceUnavailable
from backup_fn.models import KINDS, BackupRequest
from backup_fn.results import JobResult
from backup_fn.runner import JobRunner

NOW = datetime(2026, 11, 24, tzinfo=UTC)
WAIT = 10.0  # how long a test waits for something that should happen at once, before failing


def volume(n: int) -> str:
    return f"ocid1.volume.oc1.iad.abuwcljrvolume{n:040d}"


def alarm(count: int) -> Trigger:
    jobs = tuple(BackupJob(BackupRequest.model_validate({"volumeId": volume(n)}), f"token-{n}") for n in range(count))
    return Trigger("monitoring-alarm", "notifications", "alarm-1", NOW, jobs=jobs)


def deadline(seconds: float = 30.0) -> Deadline:
    return Deadline(at=time.monotonic() + seconds)


def created(job: Job, outcome: str = "created") -> JobResult:
    answer = BackupAnswer.model_validate(
        {"id": f"backup-of-{job.resource_id}", "lifecycleState": "CREATING", "volumeId": job.resource_id, "outcome": outcome}
    )
    return JobResult(job.resource_id, backup=answer)


class UseCase:
    """Answers each job with `answer(job)` and records the jobs it was given."""

    def __init__(self, answer: Callable[[Job], JobResult] = created) -> None:
        self.answer = answer
        self.jobs: list[Job] = []
        self._lock = threading.Lock()

    def run(self, job: Job, trigger: Trigger, deadline: Deadline) -> JobResult:
        with self._lock:
            self.jobs.append(job)
        return self.answer(job)


def runner_for(use_case: UseCase, max_parallel: int = 4) -> JobRunner:
    return JobRunner({BackupJob: use_case, LifecycleJob: UseCase(lambda job: pytest.fail("not a lifecycle job"))}, max_parallel)


def test_each_job_goes_to_the_use_case_for_its_kind():
    backups, lifecycles = UseCase(), UseCase(lambda job: JobResult(job.resource_id, skip_reason="lifecycle ran"))
    runner = JobRunner({BackupJob: backups, LifecycleJob: lifecycles}, 2)
    finished = Trigger("backup-completed", "direct", "event-1", NOW, jobs=(LifecycleJob(KINDS["volume"], "ocid1.volumebackup.oc1.iad.b"),))
    (result,) = runner.run(finished, deadline())
    assert result.skip_reason == "lifecycle ran"
    assert (len(backups.jobs), lifecycles.jobs) == (0, list(finished.jobs))


def test_results_come_in_the_trigger_s_order_whatever_order_the_jobs_finish_in():
    trigger = alarm(5)
    finished: dict[str, threading.Event] = {job.resource_id: threading.Event() for job in trigger.jobs}
    order: list[str] = []

    def last_first(job: Job) -> JobResult:
        index = [j.resource_id for j in trigger.jobs].index(job.resource_id)
        if index + 1 < len(trigger.jobs):  # each waits for the one after it: they finish in reverse
            assert finished[trigger.jobs[index + 1].resource_id].wait(WAIT)
        order.append(job.resource_id)
        finished[job.resource_id].set()
        return created(job)

    results = runner_for(UseCase(last_first), max_parallel=5).run(trigger, deadline())
    assert order == [job.resource_id for job in reversed(trigger.jobs)]
    assert [r.resource_id for r in results] == [job.resource_id for job in trigger.jobs]
    assert [r.backup.volume_id for r in results if r.backup] == [job.resource_id for job in trigger.jobs]


def test_no_more_than_max_parallel_jobs_run_at_once():
    state = threading.Condition()
    running = peak = 0
    release = threading.Event()

    def held(job: Job) -> JobResult:
        nonlocal running, peak
        with state:
            running += 1
            peak = max(peak, running)
            state.notify_all()
        release.wait(WAIT)
        with state:
            running -= 1
        return created(job)

    runner = runner_for(UseCase(held), max_parallel=3)
    results: list[tuple[JobResult, ...]] = []
    worker = threading.Thread(target=lambda: results.append(runner.run(alarm(10), deadline())))
    worker.start()
    with state:
        assert state.wait_for(lambda: running == 3, WAIT)
    time.sleep(0.2)  # room for a fourth job to start, were the pool not bounded
    with state:
        assert peak == 3
    release.set()
    worker.join(WAIT)
    assert peak == 3
    assert len(results[0]) == 10 and all(r.backup for r in results[0])


def test_a_redelivery_answers_what_it_already_made_without_making_it_again():
    use_case = UseCase()
    runner = runner_for(use_case)
    trigger = alarm(3)
    first = runner.run(trigger, deadline())
    assert len(use_case.jobs) == 3
    again = runner.run(trigger, deadline())
    assert len(use_case.jobs) == 3, "the use case was called again for a backup already made"
    assert [r.resource_id for r in again] == [r.resource_id for r in first]
    assert [(r.backup.id, r.backup.outcome) for r in again if r.backup] == [(r.backup.id, "existing") for r in first if r.backup]


def test_a_redelivery_works_only_on_what_the_first_delivery_did_not_make():
    trigger = alarm(3)
    failing = {volume(1)}

    def flaky(job: Job) -> JobResult:
        if job.resource_id in failing:
            raise ServiceUnavailable("OCI is down for this one")
        return created(job)

    use_case = UseCase(flaky)
    runner = runner_for(use_case)
    first = runner.run(trigger, deadline())
    assert [type(r.error) for r in first] == [type(None), ServiceUnavailable, type(None)]
    failing.clear()
    again = runner.run(trigger, deadline())
    assert [job.resource_id for job in use_case.jobs[3:]] == [volume(1)]
    assert [r.backup.outcome for r in again if r.backup] == ["existing", "created", "existing"]


def test_only_backups_created_by_a_trigger_naming_many_are_remembered():
    single = UseCase()
    runner = runner_for(single)
    one = alarm(1)
    runner.run(one, deadline())
    runner.run(one, deadline())
    assert len(single.jobs) == 2  # a single redelivery is answered by OCI's retry token instead

    running = UseCase(lambda job: created(job, "in-progress"))
    runner = runner_for(running)
    runner.run(alarm(2), deadline())
    runner.run(alarm(2), deadline())
    assert len(running.jobs) == 4  # a backup this trigger did not make is looked at again


def test_a_deadline_already_passed_answers_deadline_exceeded_without_calling_the_use_case():
    for count in (1, 3):
        use_case = UseCase()
        results = runner_for(use_case).run(alarm(count), Deadline(at=time.monotonic() - 1))
        assert use_case.jobs == []
        assert [type(r.error) for r in results] == [DeadlineExceeded] * count
        assert [r.resource_id for r in results] == [volume(n) for n in range(count)]


def test_jobs_that_the_deadline_overtakes_are_not_started():
    class Slow(UseCase):
        def run(self, job: Job, trigger: Trigger, deadline: Deadline) -> JobResult:
            result = super().run(job, trigger, deadline)
            while deadline.remaining() > 0:  # the first job outlasts the call's deadline
                time.sleep(0.02)
            return result

    use_case = Slow()
    results = runner_for(use_case, max_parallel=1).run(alarm(3), deadline(1.0))
    assert len(use_case.jobs) == 1
    assert sorted(type(r.error).__name__ for r in results) == ["DeadlineExceeded", "DeadlineExceeded", "NoneType"]


def test_a_use_case_s_error_becomes_that_job_s_result():
    gone = NotFound("Volume gone.", opc_request_id="req-404")

    def refuse_the_second(job: Job) -> JobResult:
        if job.resource_id == volume(1):
            raise gone
        return created(job)

    results = runner_for(UseCase(refuse_the_second)).run(alarm(3), deadline())
    assert results[1] == JobResult(volume(1), error=gone)
    assert results[0].backup is not None and results[2].backup is not None
    (single,) = runner_for(UseCase(refuse_the_second)).run(alarm(2)._replace(jobs=alarm(2).jobs[1:]), deadline())
    assert single.error is gone
