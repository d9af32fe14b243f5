"""What the function answers, one model per shape, with the Core API's field names. Their JSON
Schema is written to `schema/answers.schema.json` by `make schema` for API Gateway clients."""

from typing import Literal, Self

from pydantic import BaseModel, ConfigDict
from pydantic.alias_generators import to_camel

from .errors import BackupError
from .models import OciBackup

BackupOutcome = Literal["created", "existing", "in-progress"]
CopyOutcome = Literal["created", "existing", "failed"]

_ANSWER = ConfigDict(extra="forbid", frozen=True, alias_generator=to_camel, populate_by_name=True, defer_build=True)


class _Answer(BaseModel):
    model_config = _ANSWER

    def to_json(self) -> str:
        return self.model_dump_json(by_alias=True, exclude_none=True)


class ErrorAnswer(_Answer):
    """The call failed: a stable code and a sentence for a person."""

    code: str
    message: str
    opc_request_id: str | None = None

    @classmethod
    def of(cls, error: BackupError) -> Self:
        return cls(code=error.code, message=error.message, opc_request_id=error.opc_request_id)


class Failure(_Answer):
    """One resource of a call that failed while others did not."""

    resource_id: str
    code: str
    message: str
    opc_request_id: str | None = None

    @classmethod
    def of(cls, resource_id: str, error: BackupError) -> Self:
        return cls(resource_id=resource_id, code=error.code, message=error.message, opc_request_id=error.opc_request_id)


class SkippedResource(_Answer):
    resource_id: str
    reason: str


class BackupAnswer(_Answer):
    """One backup, as the Core API names its fields."""

    id: str
    lifecycle_state: str
    type: str | None = None
    display_name: str | None = None
    volume_id: str | None = None
    boot_volume_id: str | None = None
    compartment_id: str | None = None
    time_created: str | None = None
    opc_request_id: str | None = None
    outcome: BackupOutcome | None = "created"
    # False: the function's mark could not be set, so the backup is kept and never pruned or copied.
    marked: bool | None = None

    @classmethod
    def from_backup(
        cls, backup: OciBackup, *, opc_request_id: str | None, outcome: BackupOutcome | None, marked: bool | None = None
    ) -> Self:
        shown = backup.model_dump(include=_BACKUP_FIELDS_SHOWN)
        return cls(**shown, opc_request_id=opc_request_id, outcome=outcome, marked=marked)


# What an answer shows of a backup: the fields both models share, by name (the rest is OCI's detail).
_BACKUP_FIELDS_SHOWN = set(BackupAnswer.model_fields) & set(OciBackup.model_fields)


class Counts(_Answer):
    """Exact totals behind lists that an answer may cut short."""

    backups: int
    failures: int
    skipped: int


class BackupsAnswer(_Answer):
    """Several resources in one call (an alarm naming several volumes)."""

    backups: list[BackupAnswer]
    failures: list[Failure] | None = None
    skipped: list[SkippedResource] | None = None
    counts: Counts | None = None


class IgnoredAnswer(_Answer):
    """Nothing to do: an event type or alarm state this function does not act on, an opted-out volume."""

    ignored: Literal[True] = True
    reason: str
    trigger: str
    resource_id: str | None = None
    skipped: list[SkippedResource] | None = None


class CopyAnswer(_Answer):
    region: str
    outcome: CopyOutcome
    id: str | None = None
    lifecycle_state: str | None = None
    code: str | None = None
    message: str | None = None
    # False: the copy could not be marked in its region, so it is kept there and never pruned.
    marked: bool | None = None


class RegionPruning(_Answer):
    """Retention of the function's own copies in one destination region."""

    region: str
    pruned: list[str]
    pruned_count: int
    kept: int | None = None


class LifecycleCounts(_Answer):
    """Exact totals behind the lifecycle answer's lists, which are cut short on a large volume."""

    pruned: int
    failures: int
    copies_pruned: int


class LifecycleAnswer(_Answer):
    """A finished backup: the copies made of it and what retention deleted (or, in a dry run, would),
    in this region (`pruned`) and among its copies in each destination region (`copyRetention`)."""

    backup: BackupAnswer
    copies: list[CopyAnswer] | None = None
    pruned: list[str] | None = None
    kept: int | None = None
    dry_run: bool | None = None
    failures: list[Failure] | None = None
    copy_retention: list[RegionPruning] | None = None
    counts: LifecycleCounts | None = None


RestoreVerdict = Literal["started", "would-start", "would-expire", "passed", "failed"]


class RestoreTestAnswer(_Answer):
    """One restore test: started by a sweep (or on demand), or judged when its volume's event came
    (or, for a volume whose event never came, by the sweep that cleaned it up)."""

    backup_id: str
    volume_id: str | None = None
    test_volume_id: str | None = None
    verdict: RestoreVerdict
    seconds: float | None = None
    deleted: bool | None = None
    reason: str | None = None


class RestoreTestEnvelope(_Answer):
    """A call that started or judged one restore test: `{"restoreTest": {...}}`."""

    restore_test: RestoreTestAnswer


class SweepCounts(_Answer):
    """Exact totals behind the sweep's lists, which show at most a bounded number each."""

    backups: int
    failures: int
    would_back_up: int
    restore_tests: int


class SweepReport(_Answer):
    """A sweep (or one batch of it): what was found in scope, within and beyond the RPO, and what was done.
    `inScope` = `withinRpo` + `beyondRpo`; `excluded` counts volumes listed but out of scope."""

    id: str
    part: Literal["sweep", "batch"]
    slot: str
    dry_run: bool
    in_scope: int
    within_rpo: int
    beyond_rpo: int
    excluded: int
    batches: int
    backups: list[BackupAnswer]
    failures: list[Failure]
    restore_tests: list[RestoreTestAnswer]
    would_back_up: list[str] | None = None
    counts: SweepCounts


class SweepAnswer(_Answer):
    sweep: SweepReport


Answer = ErrorAnswer | BackupAnswer | BackupsAnswer | IgnoredAnswer | LifecycleAnswer | RestoreTestEnvelope | SweepAnswer
