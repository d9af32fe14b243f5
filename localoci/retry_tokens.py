"""`opc-retry-token` as OCI keeps it: a create retried with the same token and the same body gets
the resource the first one made; the same token with another body is a 409."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field

from .operations import ApiError, Json


@dataclass
class RetryTokens:
    """Per operation and token: the body's fingerprint and the id of what it made."""

    seen: dict[tuple[str, str], tuple[str, str]] = field(default_factory=dict)

    def earlier(self, operation: str, retry_token: str | None, body: Json) -> str | None:
        """The id a retry token already made with this body; None for a new token; 409 for another body."""
        if not retry_token:
            return None
        earlier = self.seen.get((operation, retry_token))
        if earlier is None:
            return None
        if earlier[0] != _fingerprint(body):
            raise ApiError(409, "Conflict", "The retry token was already used for a request with other parameters.")
        return earlier[1]

    def remember(self, operation: str, retry_token: str | None, body: Json, resource_id: str) -> None:
        if retry_token:
            self.seen[(operation, retry_token)] = (_fingerprint(body), resource_id)


def _fingerprint(body: Json) -> str:
    return hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()
