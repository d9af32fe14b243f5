"""A create rate limit, as OCI throttles a tenancy that creates too fast: a token bucket of
`per_second` tokens a second holding at most `burst`, one token per create, 429 `TooManyRequests`
when it is empty. Off unless a test or the bench sets it (`CoreEmulator.limit_creates`)."""

from __future__ import annotations

import threading
import time

# The operations that create something; reads, updates and deletes are never limited.
CREATE_OPERATIONS = frozenset({"CreateVolumeBackup", "CreateBootVolumeBackup", "CopyVolumeBackup", "CopyBootVolumeBackup"})


class TokenBucket:
    def __init__(self, per_second: float, burst: float | None = None) -> None:
        if per_second <= 0:
            raise ValueError("per_second must be positive")
        self.per_second = per_second
        self.burst = burst if burst is not None else max(1.0, per_second)
        self._tokens = self.burst
        self._at = time.monotonic()
        self._lock = threading.Lock()
        self.refused = 0
        self.taken = 0

    def take(self) -> bool:
        """One token if there is one; False (and counted) when the bucket is empty."""
        with self._lock:
            now = time.monotonic()
            self._tokens = min(self.burst, self._tokens + (now - self._at) * self.per_second)
            self._at = now
            if self._tokens >= 1:
                self._tokens -= 1
                self.taken += 1
                return True
            self.refused += 1
            return False
