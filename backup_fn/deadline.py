"""The call's deadline (`Fn-Deadline`), turned into a monotonic budget with room to answer."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import NamedTuple

DEFAULT_BUDGET_SECONDS = 30.0


class Deadline(NamedTuple):
    at: float

    @classmethod
    def from_header(cls, value: str | None, *, margin: float) -> Deadline:
        """fdk passes `Fn-Deadline` through as an RFC 3339 string; a missing or unreadable one
        gets fdk's own default of 30 seconds."""
        budget = DEFAULT_BUDGET_SECONDS
        if value:
            try:
                when = datetime.fromisoformat(value.strip())
            except ValueError:
                pass
            else:
                if when.tzinfo is None:
                    when = when.replace(tzinfo=UTC)
                budget = (when - datetime.now(UTC)).total_seconds()
        return cls(at=time.monotonic() + budget - margin)

    def remaining(self) -> float:
        return self.at - time.monotonic()
