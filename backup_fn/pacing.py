"""How fast one container sends a sweep's creates: OCI publishes no create rate, so the rate is
found the way TCP finds a link's: it grows by half each round while OCI accepts (slow start), then by a
little each second and halves on a 429. A throttled create is retried by the client's own
backoff; pacing keeps the next ones from adding to the storm."""

from __future__ import annotations

import threading
import time

from .deadline import Deadline

START_PER_SECOND = 10.0
MIN_PER_SECOND = 0.5
MAX_PER_SECOND = 500.0
GROWTH_PER_SECOND = 2.0
# A burst of 429s answers one overshoot: halve once for it, not once per 429.
HALVE_AT_MOST_EVERY_SECONDS = 1.0


class Pacer:
    def __init__(self, per_second: float = START_PER_SECOND) -> None:
        self.per_second = per_second
        self.slow_start = True
        self._next_at = 0.0
        self._halved_at = float("-inf")
        self._generation = 0
        self._lock = threading.Lock()

    def wait(self, deadline: Deadline) -> bool:
        """Sleeps until this container may send its next create; False if that is past the deadline.
        A turn taken at a rate since halved is taken again at the new one."""
        while True:
            with self._lock:
                now = time.monotonic()
                at = max(now, self._next_at)
                if at > deadline.at:
                    return False
                self._next_at = at + 1 / self.per_second
                generation = self._generation
            time.sleep(max(0.0, at - now))
            with self._lock:
                if generation == self._generation:
                    return True

    def accepted(self) -> None:
        with self._lock:
            # Per accepted create: +0.5 in slow start (x1.5 each round: four containers at once overshoot
            # less than doubling would), else GROWTH_PER_SECOND a second.
            self.per_second += 0.5 if self.slow_start else GROWTH_PER_SECOND / self.per_second
            self.per_second = min(self.per_second, MAX_PER_SECOND)

    def throttled(self) -> None:
        with self._lock:
            now = time.monotonic()
            self.slow_start = False
            if now - self._halved_at >= HALVE_AT_MOST_EVERY_SECONDS:
                self.per_second = max(MIN_PER_SECOND, self.per_second / 2)
                self._halved_at = now
                self._generation += 1
                self._next_at = max(self._next_at, now + 1 / self.per_second)
