"""OCI's errors, and failures to reach OCI, turned into the function's own: the status decides
whether a redelivery could help."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..deadline import Deadline
from ..errors import BackupError, BackupInProgress, DeadlineExceeded, InternalError, NotFound, OciRejected, ServiceUnavailable, Throttled
from .retry import MIN_ATTEMPT_SECONDS


def service_error(operation: str, exc: Any) -> BackupError:
    """OCI's answer as one of our errors: its status decides whether a redelivery could help."""
    status, code, request_id = exc.status, exc.code or "", exc.request_id
    detail = str(exc.message)[:300] if exc.message else ""
    message = f"{operation} failed: {status} {code}".rstrip() + (f": {detail}" if detail else "")
    error_type: Callable[..., BackupError]
    if status == 404:
        error_type = NotFound
    elif status == 409 and code == "NotAuthorizedOrResourceAlreadyExists":
        # OCI's refusal of a create the principal may not make (a tag namespace it may not use among them), not a conflict.
        return OciRejected(message, code=code, opc_request_id=request_id)
    elif status == 409 and code not in ("IncorrectState", "LockConflict"):
        error_type = BackupInProgress
    elif status == 429:
        error_type = Throttled
    elif status >= 500 or status == 409:
        error_type = ServiceUnavailable
    elif status == 401:
        error_type = InternalError
        message = f"{operation} failed: OCI did not accept the function's credentials (401 {code})."
    else:
        return OciRejected(message, code=code or "InvalidParameter", opc_request_id=request_id)
    return error_type(message, opc_request_id=request_id)


def transport_error(operation: str, exc: Exception, deadline: Deadline) -> BackupError:
    text = str(exc).lower()
    if deadline.remaining() <= MIN_ATTEMPT_SECONDS or "timed out" in text or "timeout" in text:
        return DeadlineExceeded(f"{operation} did not complete before the call's deadline.")
    return ServiceUnavailable(f"{operation} failed: OCI could not be reached ({type(exc).__name__}).")
