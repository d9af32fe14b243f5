"""Notifications' delivery, on one machine: a topic with a function subscription delivers each
message published to it to the function under fdk, as OCI does — the message's body as the
call's body, the `X-OCI-NS-MessageId` header, a fresh call id and deadline per attempt — at
least once (optionally more: `duplicates`), one call at a time per container, to whichever
container is free. A delivery the function answers with anything but 2xx (or that cannot reach
it) is tried again at once, then after 1, 2, 4, 8, 16 and 32 minutes and every 32 minutes until
two hours have passed, then dropped — on a clock where a minute lasts `minute_seconds`."""

from __future__ import annotations

import heapq
import itertools
import queue
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

from .harness import Call, CallResult
from .operations import Json
from .server import CoreEmulator

RETRY_AFTER_MINUTES = (0, 1, 2, 4, 8, 16, 32)
RETRY_EVERY_MINUTES_AFTER = 32
GIVE_UP_AFTER_MINUTES = 120


class Container(Protocol):
    def call(self, call: Call, timeout: float = ...) -> CallResult: ...


@dataclass
class Delivered:
    """One attempt to deliver a message: its attempt number (1 = first), the container, the status (0: unreachable)."""

    message_id: str
    topic_id: str
    attempt: int
    container: int
    status: int
    body: bytes
    at: float


@dataclass(order=True)
class _Due:
    at: float
    seq: int
    message: Json = field(compare=False)
    attempt: int = field(compare=False)
    first_at: float = field(compare=False)


class NotificationsEngine:
    """Delivers the emulator's published messages to function subscriptions (`subscribe`)."""

    def __init__(
        self, emulator: CoreEmulator, *, minute_seconds: float = 0.05, duplicates: int = 0, deadline_seconds: float = 30.0
    ) -> None:
        self.emulator = emulator
        self.minute_seconds = minute_seconds
        self.duplicates = duplicates
        self.deadline_seconds = deadline_seconds
        self.deliveries: list[Delivered] = []
        self.dropped: list[Json] = []
        self._subscriptions: dict[str, queue.Queue[tuple[int, Container]]] = {}
        self._due: list[_Due] = []
        self._seq = itertools.count()
        self._busy = 0
        self._cond = threading.Condition()
        self._stopping = False
        self._thread: threading.Thread | None = None

    def subscribe(self, topic_id: str, containers: Sequence[Container]) -> None:
        """A function subscription: `containers` are the function's containers, each taking one call at a time."""
        free: queue.Queue[tuple[int, Container]] = queue.Queue()
        for index, container in enumerate(containers):
            free.put((index, container))
        self._subscriptions[topic_id] = free

    def start(self) -> NotificationsEngine:
        self.emulator.notifications.listeners.append(self._published)
        self._thread = threading.Thread(target=self._dispatch, name="ons-delivery", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
        if self._published in self.emulator.notifications.listeners:
            self.emulator.notifications.listeners.remove(self._published)
        if self._thread:
            self._thread.join(timeout=5)

    def __enter__(self) -> NotificationsEngine:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def idle(self) -> bool:
        with self._cond:
            return not self._due and not self._busy

    def wait_idle(self, within: float = 120.0) -> bool:
        """Whether every message was delivered (or dropped) before `within` seconds passed."""
        end = time.monotonic() + within
        with self._cond:
            while self._due or self._busy:
                left = end - time.monotonic()
                if left <= 0:
                    return False
                self._cond.wait(min(left, 0.05))
        return True

    def _published(self, message: Json) -> None:
        if message["topicId"] in self._subscriptions:
            now = time.monotonic()
            self._schedule(_Due(now, next(self._seq), message, 1, now))

    def _schedule(self, due: _Due) -> None:
        with self._cond:
            heapq.heappush(self._due, due)
            self._cond.notify_all()

    def _dispatch(self) -> None:
        with self._cond:
            while not self._stopping:
                if not self._due or self._due[0].at > time.monotonic():
                    wait = (self._due[0].at - time.monotonic()) if self._due else 0.5
                    self._cond.wait(max(0.001, min(wait, 0.5)))
                    continue
                due = heapq.heappop(self._due)
                free = self._subscriptions[due.message["topicId"]]
                self._busy += 1
                self._cond.release()
                try:
                    container = free.get()  # waits for a free container
                    threading.Thread(target=self._deliver, args=(due, container, free), daemon=True).start()
                finally:
                    self._cond.acquire()

    def _deliver(self, due: _Due, container: tuple[int, Container], free: queue.Queue[tuple[int, Container]]) -> None:
        message = due.message
        index, target = container
        call = Call(
            body=message["body"].encode(), delivery="notifications", message_id=message["messageId"], deadline_seconds=self.deadline_seconds
        )
        try:
            result = target.call(call, timeout=self.deadline_seconds + 30)
            status, body = result.status, result.body
        except OSError:
            status, body = 0, b""
        finally:
            free.put(container)
        delivered = Delivered(message["messageId"], message["topicId"], due.attempt, index, status, body, time.monotonic())
        with self._cond:
            self.deliveries.append(delivered)
            following: _Due | None = None
            if 200 <= status < 300:
                copies = sum(1 for d in self.deliveries if d.message_id == message["messageId"] and 200 <= d.status < 300)
                if copies <= self.duplicates:
                    following = _Due(time.monotonic(), next(self._seq), message, due.attempt + 1, due.first_at)
            else:
                retry_at = self._next_attempt_at(due)
                if retry_at is None:
                    self.dropped.append(message)
                else:
                    following = _Due(retry_at, next(self._seq), message, due.attempt + 1, due.first_at)
            if following is not None:
                heapq.heappush(self._due, following)
            self._busy -= 1
            self._cond.notify_all()

    def _next_attempt_at(self, due: _Due) -> float | None:
        failures = sum(1 for d in self.deliveries if d.message_id == due.message["messageId"] and not 200 <= d.status < 300)
        minutes = RETRY_AFTER_MINUTES[failures - 1] if failures <= len(RETRY_AFTER_MINUTES) else RETRY_EVERY_MINUTES_AFTER
        at = time.monotonic() + minutes * self.minute_seconds
        return None if at - due.first_at > GIVE_UP_AFTER_MINUTES * self.minute_seconds else at

    def delivered_ok(self) -> list[Delivered]:
        with self._cond:
            return [d for d in self.deliveries if 200 <= d.status < 300]
