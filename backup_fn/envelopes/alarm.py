"""Monitoring alarm messages as a Notifications subscription delivers them."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints
from pydantic.alias_generators import to_camel

_TOLERANT = ConfigDict(extra="ignore", frozen=True, alias_generator=to_camel, populate_by_name=True)

FIRING_TYPES = frozenset({"OK_TO_FIRING", "REPEAT"})
CLEARED_TYPES = frozenset({"FIRING_TO_OK", "RESET"})


class AlarmMetaData(BaseModel):
    model_config = _TOLERANT

    id: str | None = None
    status: str | None = None
    dimensions: list[dict[str, Any]] = Field(default_factory=list)


class AlarmMessage(BaseModel):
    model_config = _TOLERANT

    dedupe_key: Annotated[str, StringConstraints(min_length=1, max_length=512)]
    type: Annotated[str, StringConstraints(min_length=1, max_length=64)]
    timestamp_epoch_millis: int
    title: str | None = None
    alarm_meta_data: list[AlarmMetaData] = Field(default_factory=list)

    def resource_ids(self) -> list[str]:
        """Every `resourceId` dimension, in order, each once."""
        seen: dict[str, None] = {}
        for meta in self.alarm_meta_data:
            for dimensions in meta.dimensions:
                value = dimensions.get("resourceId")
                if isinstance(value, str):
                    seen.setdefault(value, None)
        return list(seen)
