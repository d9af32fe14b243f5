"""A backup OCI protects from deletion: a retention lock, prevent-deletion, a legal hold (indefinite
retention) or a retention time still to come. Deleting one is refused with 409, in every region."""

from __future__ import annotations

from datetime import UTC, datetime

from .operations import ApiError, Json

LOCK_FIELDS = ("isRetentionLockEnabled", "isPreventDeletionEnabled", "isIndefiniteRetentionEnabled")


def refuse_if_locked(backup: Json) -> None:
    held = [name for name in LOCK_FIELDS if backup.get(name)]
    expires = backup.get("timeRetentionExpiresAt")
    if expires and datetime.fromisoformat(str(expires).replace("Z", "+00:00")) > datetime.now(UTC):
        held.append(f"timeRetentionExpiresAt={expires}")
    if held:
        raise ApiError(409, "Conflict", f"Backup {backup['id']} is protected from deletion ({', '.join(held)}).")
