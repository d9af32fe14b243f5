"""The backup use case with an in-memory Core client: the volume read from OCI, the allowlist and
the opt-out tag checked, the body's defaults, one create per retry token, and a 409 answered with the
backup it stands for."""

import time
from datetime import UTC, datetime

import pytest

from backup_fn.deadline import Deadline
from backup_fn.domain import TRIGGER_ID_TAG, TRIGGER_TAG, BackupJob, InstanceRef, Trigger
from backup_fn.errors import BackupInProgress, CompartmentNotAllowed, InvalidConfiguration, NotFound, OciRejected, ServiceUnavailable
from backup_fn.models import KINDS, BackupRequest, OciBackup, OciVolume
from backup_fn.settings import load_settings
from backup_fn.usecases.backup import Backup
from tests.unit.fakes import FakeCore

NOW = datetime(2026, 11, 24, 12, 30, 5, tzinfo=UTC)
PROD = "ocid1.compartment.oc1..aaaaaaaaprod0000000000000000000000000000000000000000001"
DEV = "ocid1.compartment.oc1..aaaaaaaadev00000000000000000000000000000000000000000002"
APPDATA = OciVolume(
    id="ocid1.volume.oc1.iad.abuwcljrappdata000000000000000000000000000000000000000001", compartment_id=PROD, display_name="appdata"
)
DEVBOX = OciVolume(
    id="ocid1.volume.oc1.iad.abuwcljrdevbox0000000000000000000000000000000000000000008", compartment_id=DEV, display_name="devbox"
)
BOOT = OciVolume(
    id="ocid1.bootvolume.oc1.iad.abuwcljrweb0100000000000000000000000000000000000000001", compartment_id=PROD, display_name="web01"
)
INSTANCE = "ocid1.instance.oc1.iad.anuwcljrweb0100000000000000000000000000000000000000001"
AD = "Uocm:US-ASHBURN-AD-2"
PROVENANCE = {TRIGGER_TAG: "api-gateway", TRIGGER_ID_TAG: "client-token-1"}


def request(volume: OciVolume = APPDATA, **fields: object) -> BackupRequest:
    return BackupRequest.model_validate({"volumeId": volume.id, **fields})


def trigger_for(target: BackupRequest | InstanceRef, trigger_id: str = "client-token-1") -> Trigger:
    return Trigger("request", "api-gateway", trigger_id, NOW, jobs=(BackupJob(target, f"token-{trigger_id}"),))


def run(use_case: Backup, trigger: Trigger):
    (job,) = trigger.jobs
    assert isinstance(job, BackupJob)
    return use_case.run(job, trigger, Deadline(at=time.monotonic() + 30))


def backup_of(volume: OciVolume, name: str, state: str, tags: dict[str, str] | None = None, age_minutes: int = 0) -> OciBackup:
    return OciBackup(
        id=f"ocid1.volumebackup.oc1.iad.{name}",
        lifecycle_state=state,
        volume_id=volume.id,
        compartment_id=volume.compartment_id,
        time_created=f"2026-11-24T12:{30 - age_minutes:02d}:00+00:00",
        freeform_tags=tags or {},
    )


def use_case(*volumes: OciVolume, **config: str) -> tuple[Backup, FakeCore]:
    core = FakeCore(volumes=volumes or (APPDATA,))
    return Backup(core, load_settings(config)), core


def test_a_backup_is_created_with_the_defaults_and_the_job_s_retry_token():
    backup, core = use_case()
    result = run(backup, trigger_for(request()))
    (create,) = core.called("create_backup")
    assert create.details["body"] == {
        "volumeId": APPDATA.id,
        "type": "INCREMENTAL",
        "displayName": "appdata 2026-11-24 12:30:05 UTC",
        "freeformTags": PROVENANCE,
    }
    assert create.details["retry_token"] == "token-client-token-1"
    assert result.backup is not None
    assert (result.resource_id, result.backup.outcome, result.backup.opc_request_id) == (APPDATA.id, "created", "req-create")
    assert result.backup.id in core.backups and result.backup.lifecycle_state == "REQUEST_RECEIVED"


def test_the_request_s_own_fields_win_over_the_defaults_and_its_tags_join_ours():
    backup, core = use_case(BACKUP_TYPE="INCREMENTAL")
    run(backup, trigger_for(request(type="FULL", displayName="before the upgrade", freeformTags={"team": "db"})))
    body = core.called("create_backup")[0].details["body"]
    assert (body["type"], body["displayName"]) == ("FULL", "before the upgrade")
    assert body["freeformTags"] == {**PROVENANCE, "team": "db"}
    full, core = use_case(BACKUP_TYPE="FULL")
    run(full, trigger_for(request()))
    assert core.called("create_backup")[0].details["body"]["type"] == "FULL"


def test_the_default_name_fits_oci_s_limit_and_falls_back_to_the_volume_s_id():
    long_named = APPDATA.model_copy(update={"display_name": "n" * 300})
    backup, core = use_case(long_named)
    run(backup, trigger_for(request(long_named)))
    name = core.called("create_backup")[0].details["body"]["displayName"]
    assert len(name) == 255 and name.endswith(" 2026-11-24 12:30:05 UTC") and name.startswith("nnn")
    nameless = APPDATA.model_copy(update={"display_name": ""})
    backup, core = use_case(nameless)
    run(backup, trigger_for(request(nameless)))
    assert core.called("create_backup")[0].details["body"]["displayName"] == f"{APPDATA.id} 2026-11-24 12:30:05 UTC"


def test_a_volume_outside_the_allowlist_is_refused_before_anything_is_created():
    backup, core = use_case(APPDATA, DEVBOX, ALLOWED_COMPARTMENT_IDS=PROD)
    with pytest.raises(CompartmentNotAllowed) as refused:
        run(backup, trigger_for(request(DEVBOX)))
    assert DEVBOX.id in refused.value.message and DEV in refused.value.message
    assert core.called("create_backup") == []
    assert [c.resource_id for c in core.called("get_volume")] == [DEVBOX.id]  # the compartment is OCI's, not the payload's
    assert run(backup, trigger_for(request(APPDATA), "client-token-2")).backup is not None


@pytest.mark.parametrize("value", ["true", " Yes ", "1", "TRUE"])
def test_a_volume_that_opted_out_is_skipped(value):
    opted_out = APPDATA.model_copy(update={"freeform_tags": {"backup-opt-out": value}})
    backup, core = use_case(opted_out)
    result = run(backup, trigger_for(request(opted_out)))
    assert result.skip_reason == f"{APPDATA.id} carries the freeform tag backup-opt-out={value}."
    assert (result.backup, result.error) == (None, None)
    assert core.called("create_backup") == []


def test_only_a_yes_under_the_configured_tag_opts_out():
    for tags in ({"backup-opt-out": "false"}, {"backup-opt-out": ""}, {"keep-out": "yes"}):
        volume = APPDATA.model_copy(update={"freeform_tags": tags})
        backup, _ = use_case(volume)
        assert run(backup, trigger_for(request(volume))).backup is not None, tags
    custom = APPDATA.model_copy(update={"freeform_tags": {"keep-out": "yes"}})
    backup, core = use_case(custom, OPT_OUT_TAG="keep-out")
    assert run(backup, trigger_for(request(custom))).skip_reason == f"{APPDATA.id} carries the freeform tag keep-out=yes."
    assert core.called("create_backup") == []


def test_a_409_answers_with_this_trigger_s_earlier_backup_as_existing():
    backup, core = use_case()
    running_other = backup_of(APPDATA, "other-running", "CREATING", {TRIGGER_TAG: "oci-events", TRIGGER_ID_TAG: "event-9"})
    ours = backup_of(APPDATA, "ours", "AVAILABLE", PROVENANCE, age_minutes=5)
    same_id_other_source = backup_of(APPDATA, "lookalike", "AVAILABLE", {TRIGGER_TAG: "direct", TRIGGER_ID_TAG: "client-token-1"}, 2)
    core.backups.update({b.id: b for b in (running_other, same_id_other_source, ours)})
    core.fail("create_backup", BackupInProgress("CreateVolumeBackup failed: 409 Conflict", opc_request_id="req-409"))
    result = run(backup, trigger_for(request()))
    assert result.backup is not None
    assert (result.backup.id, result.backup.outcome, result.backup.opc_request_id) == (ours.id, "existing", "req-409")
    assert result.backup.lifecycle_state == "AVAILABLE"
    assert [c.resource_id for c in core.called("backups_of")] == [APPDATA.id]


def test_a_409_answers_with_the_backup_running_for_another_trigger_as_in_progress():
    backup, core = use_case()
    finished = backup_of(APPDATA, "finished", "AVAILABLE", {TRIGGER_TAG: "oci-events", TRIGGER_ID_TAG: "event-8"})
    running = backup_of(APPDATA, "running", "REQUEST_RECEIVED", age_minutes=1)
    core.backups.update({finished.id: finished, running.id: running})
    core.fail("create_backup", BackupInProgress("409", opc_request_id="req-409"))
    result = run(backup, trigger_for(request()))
    assert result.backup is not None
    assert (result.backup.id, result.backup.outcome) == (running.id, "in-progress")


def test_a_409_with_no_backup_to_show_is_the_409():
    conflict = BackupInProgress("409", opc_request_id="req-409")
    backup, core = use_case()
    core.backups["done"] = backup_of(APPDATA, "done", "AVAILABLE")
    core.fail("create_backup", conflict)
    with pytest.raises(BackupInProgress) as raised:
        run(backup, trigger_for(request()))
    assert raised.value is conflict
    backup, core = use_case()
    core.fail("create_backup", conflict)
    core.fail("backups_of", ServiceUnavailable("list failed"))
    with pytest.raises(BackupInProgress):
        run(backup, trigger_for(request()))


def test_the_volume_is_read_once_while_cached():
    backup, core = use_case()
    run(backup, trigger_for(request(), "t-1"))
    run(backup, trigger_for(request(), "t-2"))
    assert len(core.called("get_volume")) == 1
    assert len(core.called("create_backup")) == 2


def test_the_volume_cache_can_be_turned_off_and_expires():
    uncached, core = use_case(VOLUME_CACHE_SECONDS="0")
    run(uncached, trigger_for(request(), "t-1"))
    run(uncached, trigger_for(request(), "t-2"))
    assert len(core.called("get_volume")) == 2
    brief, core = use_case(VOLUME_CACHE_SECONDS="0.2")
    run(brief, trigger_for(request(), "t-1"))
    run(brief, trigger_for(request(), "t-2"))
    time.sleep(0.3)
    run(brief, trigger_for(request(), "t-3"))
    assert len(core.called("get_volume")) == 2


def test_an_instance_s_boot_volume_is_found_then_backed_up():
    backup, core = use_case(BOOT)
    core.boot_volumes[INSTANCE] = BOOT.id
    result = run(backup, trigger_for(InstanceRef(INSTANCE, PROD, AD)))
    assert [(c.method, c.resource_id) for c in core.calls] == [
        ("boot_volume_of", INSTANCE),
        ("get_volume", BOOT.id),
        ("create_backup", BOOT.id),
    ]
    assert core.calls[0].details == {"compartment_id": PROD, "availability_domain": AD}
    assert core.called("get_volume")[0].details["kind"] == "bootVolume"
    body = core.called("create_backup")[0].details["body"]
    assert body["bootVolumeId"] == BOOT.id and "volumeId" not in body
    assert result.resource_id == BOOT.id and result.backup is not None and result.backup.outcome == "created"


def test_a_volume_oci_does_not_know_is_its_not_found():
    backup, core = use_case()
    with pytest.raises(NotFound):
        run(backup, trigger_for(request(DEVBOX)))
    assert core.called("create_backup") == []


def test_create_takes_a_volume_already_read_and_reads_nothing_again():
    backup, core = use_case()
    result = backup.create(request(), APPDATA, trigger_for(request()), "sweep-token", Deadline(at=time.monotonic() + 30))
    assert [c.method for c in core.calls] == ["create_backup"]
    assert core.calls[0].details["retry_token"] == "sweep-token"
    assert result.backup is not None and result.backup.outcome == "created"
    assert KINDS["volume"].id_field in core.calls[0].details["body"]


MARKED = {"MARK_TAG_NAMESPACE": "volume-backup-test"}


def test_a_new_backup_is_marked_in_its_own_create_beside_the_tags_it_has():
    backup, core = use_case(**MARKED)
    result = run(backup, trigger_for(request(definedTags={"Operations": {"CostCenter": "42"}})))
    assert result.backup is not None and result.backup.marked is True
    (create,) = core.called("create_backup")
    assert create.details["body"]["definedTags"] == {
        "Operations": {"CostCenter": "42"},
        "volume-backup-test": {"resource": f"backup-of:{APPDATA.id}"},
    }
    assert core.called("update_backup_tags") == []


def test_a_boot_volume_s_backup_is_marked_with_the_boot_volume():
    backup, core = use_case(BOOT, **MARKED)
    result = run(backup, trigger_for(BackupRequest.model_validate({"bootVolumeId": BOOT.id})))
    assert result.backup is not None and result.backup.marked is True
    (create,) = core.called("create_backup")
    assert create.details["body"]["definedTags"] == {"volume-backup-test": {"resource": f"backup-of:{BOOT.id}"}}


def test_should_the_create_s_answer_not_show_the_mark_it_is_set_after_with_the_backup_s_own_id():
    backup, core = use_case(**MARKED)
    core.creates_drop_defined_tags = True
    result = run(backup, trigger_for(request()))
    assert result.backup is not None and result.backup.marked is True
    (update,) = core.called("update_backup_tags")
    assert update.details["defined_tags"] == {"volume-backup-test": {"resource": result.backup.id}}


def test_a_redelivery_marks_its_backup_only_from_the_create_s_own_answer():
    backup, core = use_case(**MARKED)
    core.creates_drop_defined_tags = True
    core.fail("update_backup_tags", ServiceUnavailable("UpdateVolumeBackup failed: 503"))
    first = run(backup, trigger_for(request()))
    assert first.backup is not None and first.backup.marked is False  # kept unmarked: safe, and said
    made = core.backups[first.backup.id]
    again = run(backup, trigger_for(request()))  # the same retry token: OCI answers with the same backup
    assert again.backup is not None and (again.backup.id, again.backup.marked) == (made.id, True)
    assert core.backups[made.id].defined_tags == {"volume-backup-test": {"resource": made.id}}
    run(backup, trigger_for(request()))
    assert len(core.called("update_backup_tags")) == 2  # the third delivery found it marked


def test_a_backup_found_by_its_freeform_tags_after_a_409_is_never_marked():
    """Anyone who may use a backup may set `backup-trigger` tags on a hand-made one: a 409 then finds it."""
    backup, core = use_case(**MARKED)
    core.creates_drop_defined_tags = True
    core.fail("update_backup_tags", ServiceUnavailable("UpdateVolumeBackup failed: 503"))
    first = run(backup, trigger_for(request()))
    assert first.backup is not None and first.backup.marked is False
    core.tokens.clear()  # OCI forgets a token after 24 hours
    core.fail("create_backup", BackupInProgress("CreateVolumeBackup failed: 409 Conflict"))
    again = run(backup, trigger_for(request()))
    assert again.backup is not None and (again.backup.outcome, again.backup.marked) == ("existing", None)
    assert core.backups[first.backup.id].defined_tags == {}
    assert len(core.called("update_backup_tags")) == 1


def test_without_a_mark_configured_nothing_is_tagged_after_the_create():
    backup, core = use_case()
    result = run(backup, trigger_for(request()))
    assert result.backup is not None and result.backup.marked is None
    assert "definedTags" not in core.called("create_backup")[0].details["body"]
    assert core.called("update_backup_tags") == []


KEY = "ocid1.key.oc1.iad.aaaaaaaaappdatakey00000000000000000000000000000000000000001"


@pytest.mark.parametrize("code", ["InvalidParameter", "NotAuthorizedOrResourceAlreadyExists", "RelatedResourceNotAuthorizedOrNotFound"])
def test_a_marked_create_refused_with_nothing_of_the_caller_s_in_it_is_the_operator_s_to_mend(code):
    backup, core = use_case(**MARKED)
    core.fail("create_backup", OciRejected("CreateVolumeBackup failed: 400", code=code))
    with pytest.raises(InvalidConfiguration) as refused:
        run(backup, trigger_for(request()))
    assert "MARK_TAG_NAMESPACE=volume-backup-test" in refused.value.message and refused.value.transient


def test_a_404_on_a_marked_create_is_the_mark_s_only_while_the_volume_is_still_there():
    backup, core = use_case(**MARKED)
    core.fail("create_backup", NotFound("CreateVolumeBackup failed: 404"))
    with pytest.raises(InvalidConfiguration):
        run(backup, trigger_for(request()))
    del core.volumes[APPDATA.id]  # deleted since it was read (and cached)
    core.fail("create_backup", NotFound("CreateVolumeBackup failed: 404"))
    with pytest.raises(NotFound):
        run(backup, trigger_for(request(), "client-token-2"))
    assert len(core.called("get_volume")) == 3  # read, read again to tell the first 404, and again for the second


@pytest.mark.parametrize(
    ("fields", "code"),
    [
        ({"kmsKeyId": KEY}, "RelatedResourceNotAuthorizedOrNotFound"),
        ({"definedTags": {"Operations": {"CostCenter": "42"}}}, "InvalidParameter"),
    ],
)
def test_a_refused_create_carrying_the_caller_s_own_fields_stays_the_caller_s_error_and_names_the_mark_too(fields, code):
    backup, core = use_case(**MARKED)
    core.fail("create_backup", OciRejected("CreateVolumeBackup failed: 400.", code=code))
    with pytest.raises(OciRejected) as refused:
        run(backup, trigger_for(request(**fields)))
    assert refused.value.code == code and "volume-backup-test.resource" in refused.value.message


def test_a_quota_is_never_blamed_on_the_mark():
    backup, core = use_case(**MARKED)
    core.fail("create_backup", OciRejected("CreateVolumeBackup failed: 400 QuotaExceeded", code="QuotaExceeded"))
    with pytest.raises(OciRejected) as refused:
        run(backup, trigger_for(request()))
    assert refused.value.code == "QuotaExceeded" and "MARK_TAG" not in refused.value.message
