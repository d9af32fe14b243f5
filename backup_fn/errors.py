"""Errors a call can end with: each carries a stable code, its API Gateway status, and
whether a redelivery could succeed (transient) — which decides the wire status for
Events and Notifications (200 for permanent, 502 for transient)."""

from __future__ import annotations


class BackupError(Exception):
    code = "InternalError"
    gateway_status = 500
    transient = True

    def __init__(self, message: str, *, opc_request_id: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.opc_request_id = opc_request_id


class ClientError(BackupError):
    """The trigger itself is wrong: retrying the same input cannot help."""

    code = "InvalidParameter"
    gateway_status = 400
    transient = False


class InvalidRequest(ClientError):
    pass


class PayloadTooLarge(ClientError):
    code = "PayloadTooLarge"
    gateway_status = 413


class MethodNotAllowed(ClientError):
    code = "MethodNotAllowed"
    gateway_status = 405


class CompartmentNotAllowed(ClientError):
    code = "CompartmentNotAllowed"
    gateway_status = 403


class NotFound(ClientError):
    code = "NotAuthorizedOrNotFound"
    gateway_status = 404


class BackupInProgress(ClientError):
    code = "BackupInProgress"
    gateway_status = 409


class OciRejected(ClientError):
    """OCI refused the request with a 4xx other than 401, 404, 409 and 429 (400 InvalidParameter, 412, …);
    its own code is passed on."""

    def __init__(self, message: str, *, code: str, opc_request_id: str | None = None) -> None:
        super().__init__(message, opc_request_id=opc_request_id)
        self.code = code


class InvalidConfiguration(BackupError):
    """A function config value is wrong. Transient on purpose: once the operator fixes the
    config, the platform's redelivery of a Notifications message succeeds."""

    code = "InvalidConfiguration"
    gateway_status = 500


class Throttled(BackupError):
    code = "TooManyRequests"
    gateway_status = 429


class ServiceUnavailable(BackupError):
    code = "ServiceUnavailable"
    gateway_status = 503


class DeadlineExceeded(ServiceUnavailable):
    code = "DeadlineExceeded"


class InternalError(BackupError):
    code = "InternalError"
    gateway_status = 500


class BackupFaulty(BackupError):
    """OCI reports the backup FAULTY: the trigger's backup failed, and a redelivery cannot mend it."""

    code = "BackupFaulty"
    gateway_status = 500
    transient = False


class BackupNotReady(ServiceUnavailable):
    """The backup-completed event came before OCI shows the backup AVAILABLE: a redelivery will find it so."""

    code = "BackupNotAvailable"


class NotOwnBackup(ClientError):
    """The backup does not carry the function's valid mark: the function acts only on backups it made."""

    code = "NotOwnBackup"
    gateway_status = 403


class IncorrectState(ClientError):
    """The resource is not in a state the request can act on (a backup not yet AVAILABLE)."""

    code = "IncorrectState"
    gateway_status = 409


class RestoreTestFailed(BackupError):
    """A restore test's verdict: the backup did not restore into an AVAILABLE volume of its size.
    Permanent for this test (a redelivery would judge the same volume again)."""

    code = "RestoreTestFailed"
    gateway_status = 500
    transient = False


class RestoreNotFinished(ServiceUnavailable):
    """The test volume is still PROVISIONING (an event that came early, or a delete OCI refused while
    it provisions): a redelivery will find it finished."""

    code = "RestoreNotFinished"
