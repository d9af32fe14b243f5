"""Retries of throttled and failing OCI calls, bounded by the call's deadline."""

from __future__ import annotations

import contextvars
import logging
import time
from collections.abc import Callable
from typing import Any, NamedTuple

import oci.exceptions
import oci.retry
from oci.retry import retry_checkers, retry_sleep_utils

from ..deadline import Deadline

log = logging.getLogger(__name__)

# An attempt needs time to be sent and answered; below this there is no point trying again.
MIN_ATTEMPT_SECONDS = 0.5
MAX_ATTEMPTS = 8
BACKOFF_BASE_SECONDS = 0.25
BACKOFF_MAX_SECONDS = 8.0


class Pacing(NamedTuple):
    """Set by a caller that paces some operations itself (a sweep's creates): a 429 of one of them is
    not retried here but raised at once, after telling the caller, who retries behind its pacer.
    Every other operation in that context is retried as always."""

    operations: frozenset[str]
    throttled: Callable[[], None]


on_throttle: contextvars.ContextVar[Pacing | None] = contextvars.ContextVar("on_throttle", default=None)


class _DeadlineChecker(retry_checkers.BaseRetryChecker):  # type: ignore[misc]
    def __init__(self, deadline: Deadline, operation: str) -> None:
        super().__init__()
        self.deadline = deadline
        self.operation = operation

    def should_retry(self, exception: Any = None, response: Any = None, **kwargs: Any) -> bool:
        pacing = on_throttle.get()
        throttled = isinstance(exception, oci.exceptions.ServiceError) and exception.status == 429
        if pacing is not None and self.operation in pacing.operations and throttled:
            pacing.throttled()
            return False
        return self.deadline.remaining() > MIN_ATTEMPT_SECONDS


class DeadlineBoundRetryStrategy(oci.retry.ExponentialBackoffWithFullJitterEqualForThrottlesRetryStrategy):  # type: ignore[misc]
    """The SDK's exponential backoff (full jitter; equal jitter on 429 so throttles always
    back off), with no sleep reaching past the call's deadline."""

    def __init__(self, deadline: Deadline, operation: str) -> None:
        checkers = retry_checkers.RetryCheckerContainer(
            checkers=[
                retry_checkers.LimitBasedRetryChecker(max_attempts=MAX_ATTEMPTS),
                retry_checkers.TimeoutConnectionAndServiceErrorRetryChecker(),
                _DeadlineChecker(deadline, operation),
            ]
        )
        super().__init__(BACKOFF_BASE_SECONDS, 2, BACKOFF_MAX_SECONDS, checkers)
        self.deadline = deadline

    def do_sleep(self, attempt: int, exception: Any) -> None:
        args = (self.base_sleep_time_seconds, self.exponent_growth_factor, self.max_wait_between_calls_seconds, attempt)
        throttled = isinstance(exception, oci.exceptions.ServiceError) and exception.status == 429
        wanted = (
            retry_sleep_utils.get_exponential_backoff_with_equal_jitter_sleep_time(*args)
            if throttled
            else retry_sleep_utils.get_exponential_backoff_with_full_jitter_sleep_time(*args)
        )
        log.info(
            "retrying OCI call",
            extra={"attempt": attempt, "status": getattr(exception, "status", None), "errorCode": getattr(exception, "code", None)},
        )
        time.sleep(max(0.0, min(wanted, self.deadline.remaining() - MIN_ATTEMPT_SECONDS)))
