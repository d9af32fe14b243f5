"""The Notifications data plane (`/20181201`): PublishMessage to a topic from the seed file, as OCI
documents it. A message needs a string body, may have a title of at most 255 characters and is at
most 64 KiB; a topic takes 60 messages a minute, then answers 429. Accepted messages are recorded,
in order."""

from __future__ import annotations

import json
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .operations import OCID, ApiError, Json, Response, Route, not_found, now_text, route

API = "/20181201"
MAX_MESSAGE_BYTES = 64 * 1024
MAX_TITLE_LENGTH = 255
MESSAGES_PER_MINUTE = 60


@dataclass
class Notifications:
    """The seed's topics, what each published in the last minute, and every message accepted."""

    topics: set[str]
    messages: list[Json] = field(default_factory=list)
    published_at: dict[str, list[float]] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)
    # OCI's limit is 60 a minute; a test lowers both to reach it quickly.
    limit: int = MESSAGES_PER_MINUTE
    window_seconds: float = 60.0
    # Told of every accepted message (the local delivery engine, `ons_delivery`).
    listeners: list[Callable[[Json], None]] = field(default_factory=list)

    def routes(self) -> list[Route]:
        return [route("POST", f"{API}/topics/{OCID}/messages", "PublishMessage", lambda r, b, id: Response(200, self.publish(id, b)))]

    def publish(self, topic_id: str, body: Any) -> Json:
        if topic_id not in self.topics:
            raise not_found(topic_id)
        now = time.monotonic()
        with self.lock:
            recent = self.published_at.setdefault(topic_id, [])
            recent[:] = [t for t in recent if now - t < self.window_seconds]
            if len(recent) >= self.limit:
                limit = f"At most {self.limit} messages per {self.window_seconds:g} s may be published to a topic."
                raise ApiError(429, "TooManyRequests", limit)
            recent.append(now)
        if not isinstance(body, dict) or not isinstance(body.get("body"), str):
            raise ApiError(400, "InvalidParameter", "A message needs a body (a string) and may have a title.")
        title = body.get("title")
        if title is not None and (not isinstance(title, str) or len(title) > MAX_TITLE_LENGTH):
            raise ApiError(400, "InvalidParameter", f"title must be a string of at most {MAX_TITLE_LENGTH} characters.")
        if len(json.dumps(body).encode()) > MAX_MESSAGE_BYTES:
            raise ApiError(400, "InvalidParameter", f"The message is over {MAX_MESSAGE_BYTES} bytes.")
        message = {"topicId": topic_id, "title": title, "body": body["body"], "messageId": f"ocid1.onsmessage.oc1..{secrets.token_hex(20)}"}
        with self.lock:
            self.messages.append(message)
            listeners = list(self.listeners)
        for listener in listeners:
            listener(message)
        return {"messageId": message["messageId"], "timeStamp": now_text()}
