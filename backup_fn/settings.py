"""Function configuration (`ctx.Config()`, i.e. the environment), validated once per value set."""

from __future__ import annotations

import functools
from collections.abc import Mapping
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from .errors import InvalidConfiguration
from .ocids import COMPARTMENT_OCID

DEFAULT_OPT_OUT_TAG = "backup-opt-out"


class Settings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    core_endpoint: Annotated[str | None, Field(alias="OCI_CORE_ENDPOINT", pattern=r"^https?://[^\s/]+(/[^\s]*)?$")] = None
    backup_type: Annotated[Literal["FULL", "INCREMENTAL"], Field(alias="BACKUP_TYPE")] = "INCREMENTAL"
    allowed_compartment_ids: Annotated[frozenset[str] | None, Field(alias="ALLOWED_COMPARTMENT_IDS")] = None
    opt_out_tag: Annotated[str, Field(alias="OPT_OUT_TAG", min_length=1, max_length=100)] = DEFAULT_OPT_OUT_TAG
    deadline_margin_seconds: Annotated[float, Field(alias="DEADLINE_MARGIN_SECONDS", ge=0.2, le=30)] = 1.5
    volume_cache_seconds: Annotated[float, Field(alias="VOLUME_CACHE_SECONDS", ge=0, le=3600)] = 60.0
    auth: Annotated[Literal["resource_principal", "config_file"], Field(alias="OCI_AUTH")] = "resource_principal"
    config_file: Annotated[str | None, Field(alias="OCI_CONFIG_FILE")] = None
    config_profile: Annotated[str, Field(alias="OCI_CONFIG_PROFILE", min_length=1)] = "DEFAULT"
    log_level: Annotated[Literal["DEBUG", "INFO", "WARNING", "ERROR"], Field(alias="LOG_LEVEL")] = "INFO"

    @field_validator("allowed_compartment_ids", mode="before")
    @classmethod
    def _split_ids(cls, value: object) -> object:
        if isinstance(value, str):
            ids = [part.strip() for part in value.split(",") if part.strip()]
            return frozenset(ids) if ids else None
        return value

    @field_validator("allowed_compartment_ids")
    @classmethod
    def _check_ids(cls, value: frozenset[str] | None) -> frozenset[str] | None:
        for ocid in value or ():
            if not COMPARTMENT_OCID.match(ocid):
                raise ValueError(f"{ocid!r} is not a compartment or tenancy OCID")
        return value

    @field_validator("backup_type", "log_level", mode="before")
    @classmethod
    def _upper(cls, value: object) -> object:
        return value.strip().upper() if isinstance(value, str) else value


CONFIG_KEYS = tuple(str(field.alias) for field in Settings.model_fields.values())


def load_settings(config: Mapping[str, str]) -> Settings:
    """Validate the config keys this function reads; other environment variables are ignored."""
    return _load(tuple((key, config[key]) for key in CONFIG_KEYS if config.get(key, "").strip()))


@functools.lru_cache(maxsize=8)
def _load(items: tuple[tuple[str, str], ...]) -> Settings:
    try:
        return Settings.model_validate(dict(items))
    except ValidationError as exc:
        problems = "; ".join(f"{err['loc'][0]}: {err['msg']}" for err in exc.errors())
        raise InvalidConfiguration(f"Invalid function configuration: {problems}") from None
