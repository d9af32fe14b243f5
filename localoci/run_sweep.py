"""`make run`'s sweep: a seeded fleet of about a hundred volumes (fresh backups, stale ones, never
backed up, opted out, in a compartment the sweep does not cover), one sweep as the schedule sends
it, its batches delivered by the local Notifications engine to two more containers, the backups
made, and a second sweep in the same RPO window that makes none."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from .harness import REPO, Call, FdkServer
from .ons_delivery import NotificationsEngine
from .samples import short_ocid
from .server import CoreEmulator
from .tags import MARK_KEY, MARK_NAMESPACE

FLEET = "ocid1.compartment.oc1..aaaaaaaafleet000000000000000000000000000000000000000000003"
ELSEWHERE = "ocid1.compartment.oc1..aaaaaaaaelsewhere0000000000000000000000000000000000000004"
TRIGGER_TOPIC = "ocid1.onstopic.oc1.iad.aaaaaaaabackuptriggers000000000000000000000000000000000002"
GROUPS = (("fresh", 30, 2.0), ("stale", 25, 30.0), ("never", 25, None), ("opted-out", 10, None), ("elsewhere", 10, None))
SWEEP_CONFIG = {"SWEEP_COMPARTMENT_IDS": FLEET, "SWEEP_TOPIC_ID": TRIGGER_TOPIC, "SWEEP_BATCH_SIZE": "20", "RPO_HOURS": "24"}


def seed_fleet(emulator: CoreEmulator) -> dict[str, list[str]]:
    """The fleet's volumes by group; fresh and stale ones get a backup that old (hours)."""
    groups: dict[str, list[str]] = {}
    now = datetime.now(UTC)
    for group, count, age in GROUPS:
        for n in range(count):
            boot = group == "never" and n % 5 == 0
            kind = "bootvolume" if boot else "volume"
            volume_id = emulator.add_volume(
                "bootVolume" if boot else "volume",
                id=f"ocid1.{kind}.oc1.iad.abuwcljrfleet{group.replace('-', '')}{n:040d}",
                compartmentId=ELSEWHERE if group == "elsewhere" else FLEET,
                displayName=f"{group}-{n}",
                availabilityDomain="Uocm:US-ASHBURN-AD-1",
                sizeInGBs=50,
                freeformTags={"backup-opt-out": "true"} if group == "opted-out" else {},
            )
            if age is not None:
                created = (now - timedelta(hours=age)).isoformat(timespec="milliseconds").replace("+00:00", "Z")
                backup_id = f"ocid1.volumebackup.oc1.iad.abuwcljrfleet{group.replace('-', '')}{n:040d}"
                # The fresh ones are the function's own (its mark), so a sweep has backups to restore-test.
                tags = {MARK_NAMESPACE: {MARK_KEY: backup_id}} if group == "fresh" else {}
                emulator.add_backup("volume", source_id=volume_id, id=backup_id, timeCreated=created, definedTags=tags)
            groups.setdefault(group, []).append(volume_id)
    return groups


def run_sweep(workdir: Path, env: dict[str, str], emulator: CoreEmulator, emit: Callable[[str], None]) -> int:
    """1 when something a sweep promises did not hold, else 0."""
    groups = seed_fleet(emulator)
    config = {**env, **SWEEP_CONFIG}
    servers = [FdkServer(REPO / "func.py", workdir / "sweep", config, name=f"fn-{n}").start() for n in range(3)]
    try:
        return _demo(servers, groups, emulator, emit)
    finally:
        for server in servers:
            server.stop()


def _demo(servers: list[FdkServer], groups: dict[str, list[str]], emulator: CoreEmulator, emit: Callable[[str], None]) -> int:
    emit(f"\nsweep: the fleet in {short_ocid(FLEET)}, RPO_HOURS=24, batches of 20 through {short_ocid(TRIGGER_TOPIC)}")
    emit("      seeded: " + ", ".join(f"{len(ids)} {name}" for name, ids in groups.items()) + " (another compartment)")
    failed = 0
    with NotificationsEngine(emulator, minute_seconds=0.1) as engine:
        engine.subscribe(TRIGGER_TOPIC, servers[1:])
        first = _sweep(servers[0])
        delivered = engine.wait_idle(within=60)
    due = len(groups["stale"]) + len(groups["never"])
    expected = (due + len(groups["fresh"]), len(groups["fresh"]), due, len(groups["opted-out"]))
    counts = (first.get("inScope"), first.get("withinRpo"), first.get("beyondRpo"), first.get("excluded"))
    ok = counts == expected and first.get("batches") == -(-due // 20)
    failed += _check(emit, ok, f"sweep 1: {_counts(first)} -> {first.get('batches')} batches")
    for d in engine.deliveries:
        answer = json.loads(d.body) if d.body.startswith(b"{") else {}
        part = answer.get("sweep", {})
        name = f"fn-{d.container + 1}"
        made = part.get("counts", {}).get("backups")
        failed += _check(emit, d.status == 200, f"  batch {short_ocid(d.message_id)} to {name}: {d.status}, {made} backups")
    made = {vid: _made(emulator, vid) for group in groups.values() for vid in group}
    healed = [vid for vid in groups["stale"] + groups["never"] if made[vid] == 1]
    untouched = all(made[vid] == 0 for name in ("fresh", "opted-out", "elsewhere") for vid in groups[name])
    ok = delivered and len(healed) == due and untouched
    failed += _check(emit, ok, f"{len(healed)} of {due} volumes beyond RPO have one sweep backup each; the others none")
    second = _sweep(servers[0])
    ok = second.get("beyondRpo") == 0 and second.get("counts", {}).get("backups") == 0 and second.get("batches") == 0
    failed += _check(emit, ok, f"sweep 2, same window: {_counts(second)}: none made")
    failed += _restore_test(servers[0], first.get("restoreTests") or [], emulator, emit)
    return 1 if failed else 0


def _restore_test(server: FdkServer, tests: list[dict[str, Any]], emulator: CoreEmulator, emit: Callable[[str], None]) -> int:
    """Sweep 1's restore test, judged when its test volume's createvolume.end comes (sent as Events would)."""
    started = [t for t in tests if t.get("verdict") == "started"]
    if not started:
        return _check(emit, False, f"sweep 1 started no restore test: {tests}")
    test = started[0]
    volume_id = test["testVolumeId"]
    _check(emit, True, f"sweep 1 restore-tests {short_ocid(test['backupId'])} (the least recently tested) in {short_ocid(volume_id)}")
    deadline = time.monotonic() + 30
    while not (events := [e for e in emulator.restores.due_events() if e["data"]["resourceId"] == volume_id]):
        if time.monotonic() > deadline:
            return _check(emit, False, "the test volume did not become AVAILABLE")
        time.sleep(0.1)
    judged = server.call(Call(body=json.dumps(events[0]).encode(), delivery="events")).json.get("restoreTest", {})
    state = (emulator.volume(volume_id) or {}).get("lifecycleState")
    ok = judged.get("verdict") == "passed" and state == "TERMINATED"
    return _check(emit, ok, f"  its createvolume.end: {judged.get('verdict')}, recorded on the backup; test volume {state}")


def _sweep(server: FdkServer) -> dict[str, Any]:
    result = server.call(Call(body=b'{"sweep": {}}'))
    try:
        return dict(result.json.get("sweep") or {"error": result.json})
    except ValueError:
        return {"error": result.body[:200].decode(errors="replace")}


def _counts(report: dict[str, Any]) -> str:
    if "error" in report:
        return f"failed: {report['error']}"
    return f"{report['inScope']} in scope ({report['withinRpo']} within RPO, {report['beyondRpo']} beyond), {report['excluded']} excluded"


def _made(emulator: CoreEmulator, volume_id: str) -> int:
    return sum(1 for b in emulator.backups_for(volume_id) if b["freeformTags"].get("backup-trigger") == "sweep")


def _check(emit: Callable[[str], None], ok: bool, text: str) -> int:
    emit(f"{'ok' if ok else 'FAIL':<6}{text}")
    return 0 if ok else 1
