"""The protection sweep through the real fdk: scope read from OCI, RPO judged from the compartment's
backups, one backup per volume and RPO window however many sweeps and batches come, and batches
delivered by the local Notifications engine."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from localoci.emulator import CoreEmulator
from localoci.harness import Call, CallResult, FdkServer
from localoci.ons_delivery import NotificationsEngine
from tests.conftest import FunctionFactory

pytestmark = pytest.mark.functional

FLEET = "ocid1.compartment.oc1..aaaaaaaasweepfleet000000000000000000000000000000000000001"
ELSEWHERE = "ocid1.compartment.oc1..aaaaaaaasweepelsewhere0000000000000000000000000000000002"
FAILURES = "ocid1.onstopic.oc1.iad.aaaaaaaabackupfailures000000000000000000000000000000000001"
TRIGGER_TOPIC = "ocid1.onstopic.oc1.iad.aaaaaaaabackuptriggers000000000000000000000000000000000002"


def vid(name: str, kind: str = "volume") -> str:
    return f"ocid1.{kind}.oc1.iad.abuwcljrsweep{name.replace('-', '')}".ljust(80, "0")[:80]


def add(emulator: CoreEmulator, name: str, *, kind: str = "volume", compartment: str = FLEET, **fields: Any) -> str:
    return emulator.add_volume(
        kind,
        id=vid(name, "bootvolume" if kind == "bootVolume" else "volume"),
        compartmentId=compartment,
        displayName=name,
        availabilityDomain="Uocm:US-ASHBURN-AD-1",
        sizeInGBs=50,
        **fields,
    )


def ago(hours: float) -> str:
    return (datetime.now(UTC) - timedelta(hours=hours)).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def sweep(function: FdkServer, body: Any | None = None, **call: Any) -> CallResult:
    return function.call(Call(body=json.dumps(body if body is not None else {"sweep": {}}).encode(), **call))


def report(result: CallResult) -> dict[str, Any]:
    body = result.json
    assert "sweep" in body, body
    return dict(body["sweep"])


def made_by_sweep(emulator: CoreEmulator, volume_id: str) -> list[dict[str, Any]]:
    return [b for b in emulator.backups_for(volume_id) if b["freeformTags"].get("backup-trigger") == "sweep"]


def start(start_function: FunctionFactory, name: str = "fn", **config: str) -> FdkServer:
    return start_function(name, SWEEP_COMPARTMENT_IDS=FLEET, **config)


def test_scope_is_read_from_oci_and_every_volume_beyond_rpo_gets_one_backup(emulator, start_function):
    fresh = add(emulator, "fresh")
    emulator.add_backup(source_id=fresh, timeCreated=ago(2))
    stale = add(emulator, "stale")
    emulator.add_backup(source_id=stale, timeCreated=ago(30))
    never = add(emulator, "never")
    boot = add(emulator, "boot", kind="bootVolume")
    opted_out = add(emulator, "opted-out", freeformTags={"backup-opt-out": "true"})
    provisioning = add(emulator, "provisioning", lifecycleState="PROVISIONING")
    elsewhere = add(emulator, "elsewhere", compartment=ELSEWHERE)
    function = start(start_function, METRICS_NAMESPACE="volume_backup", METRICS_COMPARTMENT_ID=FLEET)

    result = sweep(function)

    assert result.status == 200, result.body
    found = report(result)
    assert (found["inScope"], found["withinRpo"], found["beyondRpo"], found["excluded"]) == (4, 1, 3, 2)
    assert found["batches"] == 0 and found["failures"] == [] and found["counts"]["backups"] == 3
    assert sorted(b.get("volumeId") or b.get("bootVolumeId") for b in found["backups"]) == sorted([stale, never, boot])
    for volume_id in (stale, never, boot):
        assert len(made_by_sweep(emulator, volume_id)) == 1
    for volume_id in (fresh, opted_out, provisioning, elsewhere):
        assert made_by_sweep(emulator, volume_id) == []
    # The compartment is read by pages, not volume by volume: no GetVolume, no per-volume list.
    operations = [r.operation for r in emulator.requests]
    assert "GetVolume" not in operations and "GetBootVolume" not in operations
    assert all("volumeId" not in r.query for r in emulator.requests if r.operation == "ListVolumeBackups")
    metrics = {m["name"]: m["datapoints"][0]["value"] for m in emulator.metrics if m["dimensions"]["trigger"] == "sweep"}
    assert (metrics["VolumesInScope"], metrics["VolumesBeyondRpo"], metrics["BackupsCreated"]) == (4, 3, 3)
    line = next(r for r in function.log_records() if r.get("trigger") == "sweep")
    assert (line["inScope"], line["beyondRpo"], line["excluded"], line["backupsMade"]) == (4, 3, 2, 3)

    again = report(sweep(function))  # a second sweep in the same window makes none
    assert (again["withinRpo"], again["beyondRpo"], again["counts"]["backups"]) == (4, 0, 0)
    for volume_id in (stale, never, boot):
        assert len(made_by_sweep(emulator, volume_id)) == 1


def test_sweep_tag_narrows_the_scope(emulator, start_function):
    tagged = add(emulator, "tagged", freeformTags={"backup": "hourly"})
    other_value = add(emulator, "other-value", freeformTags={"backup": "never"})
    untagged = add(emulator, "untagged")
    with_value = report(sweep(start(start_function, SWEEP_TAG="backup=hourly")))
    assert (with_value["inScope"], with_value["excluded"]) == (1, 2)
    assert made_by_sweep(emulator, tagged) and not made_by_sweep(emulator, other_value) and not made_by_sweep(emulator, untagged)

    key_only = report(sweep(start(start_function, "fn2", SWEEP_TAG="backup")))
    assert (key_only["inScope"], key_only["withinRpo"], key_only["beyondRpo"]) == (2, 1, 1)
    assert made_by_sweep(emulator, other_value) and not made_by_sweep(emulator, untagged)


def test_rpo_counts_any_recent_backup_that_can_protect(emulator, start_function):
    creating = add(emulator, "creating")
    emulator.add_backup(source_id=creating, timeCreated=ago(0.1), lifecycleState="CREATING")
    policy = add(emulator, "policy")
    emulator.add_backup(source_id=policy, timeCreated=ago(3), sourceType="SCHEDULED")
    by_hand = add(emulator, "by-hand")
    emulator.add_backup(source_id=by_hand, timeCreated=ago(23.9))
    faulty = add(emulator, "faulty")
    emulator.add_backup(source_id=faulty, timeCreated=ago(1), lifecycleState="FAULTY")
    terminated = add(emulator, "terminated")
    emulator.add_backup(source_id=terminated, timeCreated=ago(1), lifecycleState="TERMINATED")
    past_edge = add(emulator, "past-edge")
    emulator.add_backup(source_id=past_edge, timeCreated=ago(24.01))

    found = report(sweep(start(start_function, RPO_HOURS="24")))

    assert (found["withinRpo"], found["beyondRpo"]) == (3, 3)
    assert {b["volumeId"] for b in found["backups"]} == {faulty, terminated, past_edge}


def test_a_faulty_sweep_backup_is_replaced_in_the_same_window(emulator, start_function):
    volume = add(emulator, "flaky")
    function = start(start_function)
    first = report(sweep(function))["backups"][0]
    emulator.state.backups[first["id"]]["lifecycleState"] = "FAULTY"  # OCI failed it after accepting it

    second = report(sweep(function))

    assert second["beyondRpo"] == 1
    assert second["backups"][0]["id"] != first["id"]
    tokens = [r.retry_token for r in emulator.requests if r.operation == "CreateVolumeBackup"]
    assert len(set(tokens)) == 2
    assert [b["lifecycleState"] for b in made_by_sweep(emulator, volume)].count("FAULTY") == 1


def test_dry_run_creates_nothing_and_says_what_it_would(emulator, start_function):
    never = add(emulator, "never")
    add(emulator, "opted-out", freeformTags={"backup-opt-out": "yes"})
    found = report(sweep(start(start_function), {"sweep": {"dryRun": True}}))
    assert found["dryRun"] is True and found["wouldBackUp"] == [never] and found["backups"] == []
    assert not [r for r in emulator.requests if r.operation.startswith("Create")]


@pytest.mark.parametrize(
    ("body", "named"),
    [
        ({"sweep": {"dryrun": True}}, "sweep.dryrun"),
        ({"sweep": {"dryRun": "yes"}}, "sweep.dryRun"),
        ({"sweep": {}, "volumeId": vid("x")}, "volumeId"),
        ({"sweep": {"batch": {"sweepId": "s", "volumeIds": ["ocid1.instance.oc1.iad.aaaa"]}}}, "sweep.batch.volumeIds.0"),
        ({"sweep": {"batch": {"sweepId": "s", "volumeIds": [vid(str(n)) for n in range(101)]}}}, "sweep.batch.volumeIds"),
        ({"sweep": {"batch": {"sweepId": "s", "volumeIds": [], "compartmentId": FLEET}}}, "sweep.batch.compartmentId"),
    ],
)
def test_a_bad_sweep_body_is_a_client_error_naming_the_field(emulator, function, body, named):
    result = sweep(function, body)
    assert result.status == 200
    assert result.json["code"] == "InvalidParameter"
    assert named in result.json["message"]
    assert not [r for r in emulator.requests if r.operation.startswith(("Create", "List"))]


def test_without_compartments_a_sweep_is_invalid_configuration(emulator, start_function):
    result = sweep(start_function())
    assert result.status == 502
    assert result.json["code"] == "InvalidConfiguration"
    assert "SWEEP_COMPARTMENT_IDS" in result.json["message"]


def batch(volume_ids: list[str], sweep_id: str = "forged") -> dict[str, Any]:
    return {"sweep": {"batch": {"sweepId": sweep_id, "volumeIds": volume_ids}}}


def test_a_batch_can_do_no_more_than_the_sweep(emulator, start_function):
    due = add(emulator, "due")
    opted_out = add(emulator, "opted-out", freeformTags={"backup-opt-out": "1"})
    fresh = add(emulator, "fresh")
    emulator.add_backup(source_id=fresh, timeCreated=ago(1))
    elsewhere = add(emulator, "elsewhere", compartment=ELSEWHERE)
    function = start(start_function)

    forged = report(sweep(function, batch([opted_out, fresh, elsewhere, vid("missing")]), delivery="notifications"))

    assert (forged["part"], forged["inScope"], forged["withinRpo"], forged["beyondRpo"], forged["excluded"]) == ("batch", 1, 1, 0, 3)
    assert not [r for r in emulator.requests if r.operation.startswith("Create")]

    # Delivered twice, and twice at once: one backup of the volume it names.
    body = json.dumps(batch([due])).encode()
    results = [function.call(Call(body=body, delivery="notifications", message_id="m-1")) for _ in range(2)]
    other = start(start_function, "fn2")
    results.append(other.call(Call(body=body, delivery="notifications", message_id="m-2")))
    assert all(r.status == 200 for r in results)
    assert len(made_by_sweep(emulator, due)) == 1


def fleet(emulator: CoreEmulator, count: int) -> list[str]:
    return [add(emulator, f"v{n:04d}") for n in range(count)]


def test_a_large_sweep_fans_out_through_notifications_and_survives_throttling(emulator, start_function):
    volumes = fleet(emulator, 60)
    emulator.limit_creates(per_second=8, burst=4)
    config = {"SWEEP_TOPIC_ID": TRIGGER_TOPIC, "SWEEP_BATCH_SIZE": "10", "MAX_PARALLEL_CALLS": "4"}
    containers = [start(start_function, f"fn{n}", **config) for n in range(3)]
    with NotificationsEngine(emulator, minute_seconds=0.5, duplicates=1, deadline_seconds=3) as engine:
        engine.subscribe(TRIGGER_TOPIC, containers[1:])
        planned = report(sweep(containers[0]))
        assert (planned["beyondRpo"], planned["batches"], planned["backups"]) == (60, 6, [])
        assert engine.wait_idle(within=120)
    assert engine.dropped == []
    assert emulator.create_limit is not None and emulator.create_limit.refused > 0  # it was throttled
    assert any(d.status == 502 for d in engine.deliveries)  # and some batches came again
    assert all(len(made_by_sweep(emulator, volume_id)) == 1 for volume_id in volumes)
    after = report(sweep(containers[0]))
    assert (after["withinRpo"], after["beyondRpo"], after["batches"]) == (60, 0, 0)


def test_without_a_topic_a_sweep_out_of_time_answers_502_with_what_it_did(emulator, start_function):
    volumes = fleet(emulator, 30)
    emulator.limit_creates(per_second=5, burst=5)
    function = start(start_function, MAX_PARALLEL_CALLS="2", FAILURE_TOPIC_ID=FAILURES)
    sweep(function, {"sweep": {"dryRun": True}})  # warm: the deadline below is the creates' alone

    first = sweep(function, deadline_seconds=5)

    assert first.status == 502
    found = report(first)
    assert found["counts"]["backups"] + found["counts"]["failures"] == 30
    assert 0 < found["counts"]["backups"] < 30
    (message,) = [m for m in emulator.messages if m["topicId"] == FAILURES]  # one message for the volumes it could not back up
    sent = json.loads(message["body"])
    assert (sent["trigger"], sent["willRetry"]) == ("sweep", True)
    assert len(sent["failures"]) == min(20, found["counts"]["failures"])
    assert message["title"].startswith(f"Backup failed: {found['failures'][0]['code']}, ocid1.volume.")
    emulator.limit_creates(None)
    second = report(sweep(function))
    assert second["beyondRpo"] == 30 - found["counts"]["backups"]
    assert all(len(made_by_sweep(emulator, volume_id)) == 1 for volume_id in volumes)


def test_a_sweep_s_backup_is_marked_in_its_create_even_when_the_create_was_throttled(emulator, start_function):
    """One call a backup: the mark rides in the create, so a 429 the pacer waits out cannot leave a backup
    unmarked (never copied or pruned) or cost a second call."""
    volume_id = add(emulator, "mark-throttled")
    emulator.add_fault(operation="CreateVolumeBackup", status=429, code="TooManyRequests", times=2)
    answer = report(sweep(start(start_function)))
    (made,) = answer["backups"]
    assert (made["volumeId"], made["marked"]) == (volume_id, True)
    assert emulator.backups[made["id"]]["definedTags"] == {"volume-backup-local": {"resource": f"backup-of:{volume_id}"}}
    creates = [r.status for r in emulator.requests if r.operation == "CreateVolumeBackup"]
    assert creates == [429, 429, 200]
    assert [r for r in emulator.requests if r.operation == "UpdateVolumeBackup"] == []
