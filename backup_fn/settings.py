"""Function configuration (`ctx.Config()`, i.e. the environment), validated once per value set.

A value that cannot be read exactly is `InvalidConfiguration`, never a silent default: the
default of retention is to delete."""

import functools
import re
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Annotated, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, ValidationError, ValidationInfo, field_validator, model_validator

from . import config_warnings
from .domain import Mark
from .errors import InvalidConfiguration
from .models import BackupType
from .ocids import COMPARTMENT, KEY, TOPIC

DEFAULT_OPT_OUT_TAG = "backup-opt-out"
ENDPOINT_PATTERN = r"^https?://[^\s/]+(/[^\s]*)?$"
REGION = re.compile(r"[a-z]{2,}(?:-[a-z0-9]+)+-[0-9]+")
METRICS_NAMESPACE = re.compile(r"[A-Za-z][A-Za-z0-9_]{0,254}")
# OCI's rule for tag namespace and key names: no spaces, no dots, at most 100 characters.
TAG_NAME = r"^[A-Za-z0-9_-]{1,100}$"
DEFAULT_MARK_TAG_KEY = "resource"
Endpoint = Annotated[str, Field(pattern=ENDPOINT_PATTERN)]


class Settings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    core_endpoint: Annotated[Endpoint | None, Field(alias="OCI_CORE_ENDPOINT")] = None
    notifications_endpoint: Annotated[Endpoint | None, Field(alias="OCI_NOTIFICATIONS_ENDPOINT")] = None
    telemetry_endpoint: Annotated[Endpoint | None, Field(alias="OCI_TELEMETRY_ENDPOINT")] = None
    backup_type: Annotated[BackupType, Field(alias="BACKUP_TYPE")] = "INCREMENTAL"
    allowed_compartment_ids: Annotated[frozenset[str] | None, Field(alias="ALLOWED_COMPARTMENT_IDS")] = None
    opt_out_tag: Annotated[str, Field(alias="OPT_OUT_TAG", min_length=1, max_length=100)] = DEFAULT_OPT_OUT_TAG
    copy_to_regions: Annotated[tuple[str, ...], Field(alias="COPY_TO_REGIONS")] = ()
    copy_kms_key_ids: Annotated[tuple[tuple[str, str], ...], Field(alias="COPY_KMS_KEY_IDS")] = ()
    keep_last: Annotated[int | None, Field(alias="KEEP_LAST", ge=1, le=10_000)] = None
    keep_days: Annotated[int | None, Field(alias="KEEP_DAYS", ge=1, le=36_500)] = None
    prune_dry_run: Annotated[bool, Field(alias="PRUNE_DRY_RUN")] = False
    failure_topic_id: Annotated[str | None, Field(alias="FAILURE_TOPIC_ID")] = None
    metrics_namespace: Annotated[str | None, Field(alias="METRICS_NAMESPACE")] = None
    metrics_compartment_id: Annotated[str | None, Field(alias="METRICS_COMPARTMENT_ID")] = None
    max_parallel_calls: Annotated[int, Field(alias="MAX_PARALLEL_CALLS", ge=1, le=32)] = 8
    deadline_margin_seconds: Annotated[float, Field(alias="DEADLINE_MARGIN_SECONDS", ge=0.2, le=30)] = 1.5
    volume_cache_seconds: Annotated[float, Field(alias="VOLUME_CACHE_SECONDS", ge=0, le=3600)] = 60.0
    auth: Annotated[Literal["resource_principal", "config_file"], Field(alias="OCI_AUTH")] = "resource_principal"
    config_file: Annotated[str | None, Field(alias="OCI_CONFIG_FILE")] = None
    config_profile: Annotated[str, Field(alias="OCI_CONFIG_PROFILE", min_length=1)] = "DEFAULT"
    mark_tag_namespace: Annotated[str | None, Field(alias="MARK_TAG_NAMESPACE", pattern=TAG_NAME)] = None
    mark_tag_key: Annotated[str, Field(alias="MARK_TAG_KEY", pattern=TAG_NAME)] = DEFAULT_MARK_TAG_KEY
    log_level: Annotated[Literal["DEBUG", "INFO", "WARNING", "ERROR"], Field(alias="LOG_LEVEL")] = "INFO"
    restore_test_compartment_id: Annotated[str | None, Field(alias="RESTORE_TEST_COMPARTMENT_ID")] = None
    restore_tests_per_sweep: Annotated[int, Field(alias="RESTORE_TESTS_PER_SWEEP", ge=1, le=100)] = 1
    adopt_unmarked_before: Annotated[datetime | None, Field(alias="ADOPT_UNMARKED_BEFORE")] = None
    core_region_endpoints: Annotated[tuple[tuple[str, str], ...], Field(alias="OCI_CORE_REGION_ENDPOINTS")] = ()
    sweep_compartment_ids: Annotated[frozenset[str] | None, Field(alias="SWEEP_COMPARTMENT_IDS")] = None
    sweep_tag: Annotated[tuple[str, str | None] | None, Field(alias="SWEEP_TAG")] = None
    rpo_hours: Annotated[float, Field(alias="RPO_HOURS", ge=0.25, le=8760)] = 24.0
    sweep_topic_id: Annotated[str | None, Field(alias="SWEEP_TOPIC_ID")] = None
    sweep_batch_size: Annotated[int, Field(alias="SWEEP_BATCH_SIZE", ge=1, le=100)] = 50
    # Set by the Functions platform with the resource principal, not by the operator.
    region: Annotated[str | None, Field(alias="OCI_RESOURCE_PRINCIPAL_REGION", pattern=f"^{REGION.pattern}$")] = None

    @property
    def mark(self) -> Mark | None:
        return Mark(self.mark_tag_namespace, self.mark_tag_key) if self.mark_tag_namespace else None

    @property
    def retention_enabled(self) -> bool:
        return self.keep_last is not None or self.keep_days is not None

    @property
    def lifecycle_enabled(self) -> bool:
        return bool(self.copy_to_regions) or self.retention_enabled

    @property
    def restore_tests_enabled(self) -> bool:
        return self.restore_test_compartment_id is not None

    def allows(self, compartment_id: str | None) -> bool:
        """Whether ALLOWED_COMPARTMENT_IDS lets the function act in this compartment (unset: everywhere)."""
        return self.allowed_compartment_ids is None or compartment_id in self.allowed_compartment_ids

    def kms_key_for(self, region: str) -> str | None:
        return dict(self.copy_kms_key_ids).get(region)

    def core_endpoint_for(self, region: str) -> str | None:
        """Core Services' base URL in `region` (None: derived from the region, as the SDK does)."""
        return dict(self.core_region_endpoints).get(region)

    @field_validator("adopt_unmarked_before", mode="before")
    @classmethod
    def _rfc3339(cls, value: object) -> object:
        if isinstance(value, str):
            try:
                when = datetime.fromisoformat(value.strip())
            except ValueError:
                raise ValueError(f"{value[:40]!r} is not an RFC 3339 time like 2026-12-01T00:00:00Z") from None
            if when.tzinfo is None:
                raise ValueError(f"{value[:40]!r} names no time zone (end it with Z or an offset)")
            if when > datetime.now(UTC):
                # A cutoff in the future would adopt backups made from now on by anyone who sets a freeform tag.
                raise ValueError(f"{value[:40]!r} lies in the future: set it to the time of the upgrade, once")
            return when
        return value

    @field_validator("core_region_endpoints", mode="before")
    @classmethod
    def _region_endpoints(cls, value: object) -> object:
        if not isinstance(value, str):
            return value
        return _region_pairs(value, re.compile(ENDPOINT_PATTERN[1:-1]).fullmatch, "region=https://… (a region and its Core Services URL)")

    @field_validator("allowed_compartment_ids", "sweep_compartment_ids", mode="before")
    @classmethod
    def _split_ids(cls, value: object, info: ValidationInfo) -> object:
        if isinstance(value, str):
            ids = _items(value)
            if not ids:
                unset = "for no restriction" if info.field_name == "allowed_compartment_ids" else "to sweep ALLOWED_COMPARTMENT_IDS"
                raise ValueError(f"names no compartment OCID; unset it {unset}")
            return frozenset(ids)
        return value

    @field_validator("allowed_compartment_ids", "sweep_compartment_ids")
    @classmethod
    def _check_ids(cls, value: frozenset[str] | None) -> frozenset[str] | None:
        for ocid in value or ():
            if not COMPARTMENT.matches(ocid):
                raise ValueError(f"{ocid!r} is not a compartment or tenancy OCID")
        return value

    @field_validator("copy_to_regions", mode="before")
    @classmethod
    def _regions(cls, value: object) -> object:
        if not isinstance(value, str):
            return value
        regions = _items(value)
        for region in regions:
            if not REGION.fullmatch(region):
                raise ValueError(f"{region!r} is not a region identifier like us-phoenix-1")
        if regions:
            # The SDK's own list; its is_region() would ask the instance metadata service about an unknown name.
            import oci.regions

            unknown = [region for region in regions if region not in oci.regions.REGIONS]
            if unknown:
                raise ValueError(f"{', '.join(unknown)} is not a region the OCI SDK knows")
        if len(set(regions)) != len(regions):
            raise ValueError("names a region more than once")
        return tuple(regions)

    @field_validator("copy_kms_key_ids", mode="before")
    @classmethod
    def _keys(cls, value: object) -> object:
        if not isinstance(value, str):
            return value
        return _region_pairs(value, KEY.matches, "region=ocid1.key… (a vault key in that region)")

    @field_validator("prune_dry_run", mode="before")
    @classmethod
    def _exact_bool(cls, value: object) -> object:
        if isinstance(value, str):
            word = value.strip().lower()
            if word not in ("true", "false"):
                raise ValueError(f"must be true or false, not {value[:20]!r}")
            return word == "true"
        return value

    @field_validator("sweep_tag", mode="before")
    @classmethod
    def _sweep_tag(cls, value: object) -> object:
        if not isinstance(value, str):
            return value
        key, sep, tag_value = (part.strip() for part in value.partition("="))
        if not key or len(key) > 100 or len(tag_value) > 256:
            raise ValueError("must be key=value or key (a freeform tag: key of 1-100 characters, value of at most 256)")
        return (key, tag_value if sep else None)

    @field_validator("failure_topic_id", "sweep_topic_id")
    @classmethod
    def _topic(cls, value: str | None) -> str | None:
        return TOPIC.check(value) if value is not None else None

    @field_validator("metrics_compartment_id")
    @classmethod
    def _metrics_compartment(cls, value: str | None) -> str | None:
        return COMPARTMENT.check(value) if value is not None else None

    @field_validator("restore_test_compartment_id")
    @classmethod
    def _restore_compartment(cls, value: str | None) -> str | None:
        return COMPARTMENT.check(value) if value is not None else None

    @field_validator("metrics_namespace")
    @classmethod
    def _namespace(cls, value: str | None) -> str | None:
        if value is None:
            return None
        if not METRICS_NAMESPACE.fullmatch(value) or value.lower().startswith(("oci_", "oracle_")):
            raise ValueError("must be letters, digits and _, start with a letter, and not start with oci_ or oracle_")
        return value

    @field_validator("backup_type", "log_level", mode="before")
    @classmethod
    def _stripped(cls, value: object) -> object:
        return value.strip() if isinstance(value, str) else value

    @model_validator(mode="after")
    def _copied_regions(self) -> Self:
        strays = [region for region, _ in self.copy_kms_key_ids if region not in self.copy_to_regions]
        if strays:
            raise ValueError(f"COPY_KMS_KEY_IDS names {', '.join(strays)}, which COPY_TO_REGIONS does not list")
        if self.region is not None and self.region in self.copy_to_regions:
            raise ValueError(f"COPY_TO_REGIONS names {self.region}, the function's own region: a backup is already there")
        if self.lifecycle_enabled and self.mark is None:
            given = (("KEEP_LAST", self.keep_last), ("KEEP_DAYS", self.keep_days), ("COPY_TO_REGIONS", self.copy_to_regions))
            keys = ", ".join(key for key, value in given if value)
            raise ValueError(
                f"{keys} needs MARK_TAG_NAMESPACE: without the function's mark no backup is its own, so nothing could be copied or pruned"
            )
        return self

    @model_validator(mode="after")
    def _restore_tests_need_the_mark(self) -> Self:
        # Test volumes are deleted only when they carry the mark: without one, none could ever be cleaned up.
        if self.restore_test_compartment_id is not None and self.mark_tag_namespace is None:
            raise ValueError("RESTORE_TEST_COMPARTMENT_ID needs MARK_TAG_NAMESPACE: a test volume is deleted only when it carries the mark")
        protected = (self.sweep_compartment_ids or frozenset()) | (self.allowed_compartment_ids or frozenset())
        if self.restore_test_compartment_id is not None and self.restore_test_compartment_id in protected:
            # Its volumes are never backed up and its test volumes are deleted: it must not be where the data lives.
            raise ValueError(
                "RESTORE_TEST_COMPARTMENT_ID names a compartment the function protects (SWEEP_COMPARTMENT_IDS or "
                "ALLOWED_COMPARTMENT_IDS): give restore tests a compartment of their own"
            )
        return self


def _items(value: str) -> list[str]:
    return [part.strip() for part in value.split(",") if part.strip()]


def _region_pairs(value: str, valid: Callable[[str], object], expected: str) -> tuple[tuple[str, str], ...]:
    """Comma-separated `region=value` pairs, each region at most once."""
    pairs = []
    for item in _items(value):
        region, sep, right = (part.strip() for part in item.partition("="))
        if not sep or not REGION.fullmatch(region) or not valid(right):
            raise ValueError(f"{item[:80]!r} is not {expected}")
        pairs.append((region, right))
    if len({region for region, _ in pairs}) != len(pairs):
        raise ValueError("names a region more than once")
    return tuple(pairs)


CONFIG_KEYS = tuple(str(field.alias) for field in Settings.model_fields.values())
# Keys for running the function outside OCI (other regions' Core endpoints among them, for copies), and
# the one the platform sets: no stack sets these.
LOCAL_ONLY_KEYS = frozenset({"OCI_AUTH", "OCI_CONFIG_FILE", "OCI_CONFIG_PROFILE", "OCI_CORE_REGION_ENDPOINTS"})
PLATFORM_KEYS = frozenset({"OCI_RESOURCE_PRINCIPAL_REGION"})
OPERATOR_KEYS = frozenset(CONFIG_KEYS) - LOCAL_ONLY_KEYS - PLATFORM_KEYS


def load_settings(config: Mapping[str, str]) -> Settings:
    """Validate the config keys this function reads; other environment variables are ignored, but
    one a single edit away from a known key (`KEEP_LST`), or one whose feature is off, is named in a
    warning, once per config."""
    given = tuple((key, config[key]) for key in CONFIG_KEYS if config.get(key, "").strip())
    unknown = frozenset(key for key in config if key not in OPERATOR_KEYS and key.isupper())
    config_warnings.warn(unknown, frozenset(key for key, _ in given), OPERATOR_KEYS)
    return _load(given)


@functools.lru_cache(maxsize=8)
def _load(items: tuple[tuple[str, str], ...]) -> Settings:
    try:
        return Settings.model_validate(dict(items))
    except ValidationError as exc:
        problems = "; ".join(f"{_where(err['loc'])}: {_message(err['msg'])}" for err in exc.errors())
        raise InvalidConfiguration(f"Invalid function configuration: {problems}") from None


def _where(loc: tuple[int | str, ...]) -> str:
    return str(loc[0]) if loc else "config"


def _message(text: str) -> str:
    return text[len("Value error, ") :] if text.startswith("Value error, ") else text
