"""`make bench-sweep` (also part of `make bench`): a sweep over 2,000 volumes, 1,000 of them beyond
RPO, with the emulator allowing R creates a second, fanned out through the local Notifications
engine over several fdk processes. Figures: the time to heal every volume against the limit's
floor (1,000 / R) as a ratio, the API calls per healed volume (429s included), and the planning
call's peak RSS. A benchmark, not a test: nothing here asserts a time.

Run alone: `.venv/bin/python -m bench.sweep` (about a minute)."""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from localoci.emulator import CoreEmulator
from localoci.harness import REPO, Call, FdkServer
from localoci.identity import create_identity
from localoci.ons_delivery import NotificationsEngine
from localoci.tags import carries_the_function_s_mark, function_config

SEED = REPO / "localoci" / "seed.json"
RESULTS = Path(__file__).with_name("sweep.json")
FLEET = "ocid1.compartment.oc1..aaaaaaaabenchfleet00000000000000000000000000000000000000001"
TOPIC = "ocid1.onstopic.oc1.iad.aaaaaaaabackuptriggers000000000000000000000000000000000002"
VOLUMES = 2000
BEYOND = 1000
CREATES_PER_SECOND = 40.0
CONTAINERS = 4
CONFIG = {"SWEEP_COMPARTMENT_IDS": FLEET, "SWEEP_TOPIC_ID": TOPIC, "SWEEP_BATCH_SIZE": "100", "MAX_PARALLEL_CALLS": "8"}


def seed(emulator: CoreEmulator) -> list[str]:
    """The fleet; the volumes beyond RPO (the first BEYOND have no backup, the rest one an hour old)."""
    recent = (datetime.now(UTC) - timedelta(hours=1)).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    beyond = []
    for n in range(VOLUMES):
        volume_id = emulator.add_volume(id=f"ocid1.volume.oc1.iad.abuwcljrbenchfleet{n:040d}", compartmentId=FLEET, displayName=f"v{n}")
        if n < BEYOND:
            beyond.append(volume_id)
        else:
            emulator.add_backup(source_id=volume_id, timeCreated=recent)
    return beyond


def healed(emulator: CoreEmulator, beyond: list[str], *, marked: bool = False) -> int:
    """How many of `beyond` have a backup the sweep made (with `marked`: one carrying the function's valid mark)."""

    def counts(backup: dict[str, Any]) -> bool:
        made_by_sweep = backup["freeformTags"].get("backup-trigger") == "sweep"
        return made_by_sweep and (not marked or carries_the_function_s_mark(backup))

    with emulator.state.lock:
        return sum(
            1 for volume_id in beyond if any(counts(emulator.state.backups[b]) for b in emulator.state.backups_by_source.get(volume_id, []))
        )


def peak_rss_mb(server: FdkServer) -> float:
    assert server.process is not None
    for line in Path(f"/proc/{server.process.pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def measure(rate: float = CREATES_PER_SECOND, containers: int = CONTAINERS) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="bench-sweep-") as tmp:
        workdir = Path(tmp)
        identity = create_identity(workdir / "identity")
        with CoreEmulator(SEED, identity.issuer_public_key_pem, creating_after=0.5, available_after=1.5) as emulator:
            beyond = seed(emulator)
            endpoints = {name: emulator.url for name in ("OCI_CORE_ENDPOINT", "OCI_NOTIFICATIONS_ENDPOINT", "OCI_TELEMETRY_ENDPOINT")}
            # The function's mark on, as the stack deploys it (set in each create; `marked` counts it).
            env = {**identity.env(), **endpoints, **function_config(emulator.url), **CONFIG}
            servers = [FdkServer(REPO / "func.py", workdir, env, name=f"fn-{n}").start() for n in range(containers + 1)]
            try:
                emulator.limit_creates(rate, burst=rate)
                with NotificationsEngine(emulator, minute_seconds=0.5) as engine:
                    engine.subscribe(TOPIC, servers[1:])
                    first_request = len(emulator.requests)
                    started = time.monotonic()
                    planned = servers[0].call(Call(body=b'{"sweep": {}}')).json["sweep"]
                    planned_in = time.monotonic() - started
                    while healed(emulator, beyond) < BEYOND and time.monotonic() - started < 170:
                        time.sleep(0.05)
                    heal_seconds = time.monotonic() - started
                    healed_volumes = healed(emulator, beyond)
                    marked_volumes = healed(emulator, beyond, marked=True)
                    engine.wait_idle(within=60)
                    requests = emulator.requests[first_request:]
                second = servers[0].call(Call(body=b'{"sweep": {}}')).json["sweep"]
                rss = peak_rss_mb(servers[0])
            finally:
                for server in servers:
                    server.stop()
    operations = Counter(r.operation for r in requests)
    throttled = sum(1 for r in requests if r.status == 429)
    floor = BEYOND / rate
    return {
        "volumes": VOLUMES,
        "beyondRpo": planned["beyondRpo"],
        "batches": planned["batches"],
        "createsPerSecond": rate,
        "containers": containers,
        "planningSeconds": round(planned_in, 2),
        "healSeconds": round(heal_seconds, 2),
        "floorSeconds": round(floor, 2),
        "rateRatio": round(floor / heal_seconds, 3),
        "apiCalls": len(requests),
        "throttled": throttled,
        "apiCallsPerHealedVolume": round(len(requests) / BEYOND, 3),
        "apiCallsPerHealedVolumeWithout429": round((len(requests) - throttled) / BEYOND, 3),
        "operations": dict(sorted(operations.items())),
        "deliveries": len(engine.deliveries),
        "redeliveries": sum(1 for d in engine.deliveries if d.attempt > 1),
        "plannerPeakRssMb": round(rss, 1),
        "healed": healed_volumes,
        "healedAndMarked": marked_volumes,
        "secondSweepBeyondRpo": second["beyondRpo"],
        "secondSweepBackups": second["counts"]["backups"],
        "measured": datetime.now(UTC).strftime("%Y-%m-%d"),
    }


def line(result: dict[str, Any]) -> str:
    return (
        f"sweep of {result['volumes']:,} volumes, {result['beyondRpo']:,} beyond RPO, creates limited to "
        f"{result['createsPerSecond']:g}/s, {result['containers']} containers: healed in {result['healSeconds']} s "
        f"(floor {result['floorSeconds']} s, ratio {result['rateRatio']}); {result['apiCallsPerHealedVolume']} API calls "
        f"per healed volume ({result['throttled']} of them 429), {result['healedAndMarked']:,} marked; "
        f"planner peak RSS {result['plannerPeakRssMb']} MB"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rate", type=float, default=CREATES_PER_SECOND, help="creates a second the emulator allows")
    parser.add_argument("--containers", type=int, default=CONTAINERS, help="fdk processes the batches are delivered to")
    args = parser.parse_args(argv)
    result = measure(args.rate, args.containers)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))
    print(line(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
