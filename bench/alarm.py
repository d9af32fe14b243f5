"""`make bench`'s figure for a large alarm: one Monitoring alarm naming hundreds of volumes, with OCI
a realistic 50 ms away on every request, worked on `MAX_PARALLEL_CALLS` at a time. What the tests
prove without a clock (one after another it cannot fit its deadline), this measures."""

from __future__ import annotations

import copy
import json
import statistics
import uuid
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

from localoci.harness import REPO, Call, FdkServer

VOLUMES = 300
LATENCY_SECONDS = 0.05
MAX_PARALLEL_CALLS = 8
CALLS = 5
ALARM = REPO / "events" / "alarm-ok-to-firing.json"


def volume_id(n: int) -> str:
    return f"ocid1.volume.oc1.iad.abuwcljrbench{n:044d}"


def write_seed(workdir: Path, seed: Path) -> Path:
    """The emulator's seed plus the alarm's volumes, and the latency as a fault on every request."""
    data = json.loads(seed.read_text())
    template = data["volumes"][0]
    data["volumes"] += [{**copy.deepcopy(template), "id": volume_id(n), "displayName": f"shard-{n}"} for n in range(VOLUMES)]
    data["faults"] = [{"delay": LATENCY_SECONDS, "times": None}]
    path = workdir / "alarm-seed.json"
    path.write_text(json.dumps(data))
    return path


def alarm_body(firing: int) -> bytes:
    """The alarm's `firing`-th transition to FIRING: a trigger of its own, so backups of their own."""
    payload = json.loads(ALARM.read_text())
    payload["alarmMetaData"][0]["dimensions"] = [{"resourceId": volume_id(n)} for n in range(VOLUMES)]
    payload["timestampEpochMillis"] += firing * 60_000
    return json.dumps(payload).encode()


def measure(emulator: AbstractContextManager[str], env: dict[str, str], workdir: Path, calls: int = CALLS) -> dict[str, Any]:
    """Wall time of whole calls (each a new firing, so new backups) against `emulator` (its URL once
    entered), after one unmeasured call."""
    # No volume cache: every volume is read as on a container's first call, as the functional test has it.
    config = {"MAX_PARALLEL_CALLS": str(MAX_PARALLEL_CALLS), "VOLUME_CACHE_SECONDS": "0"}
    with emulator as url:
        server = FdkServer(REPO / "func.py", workdir, {**env, **config, "OCI_CORE_ENDPOINT": url}, name="alarm").start()
        try:
            walls = _calls(server, calls)
        finally:
            server.stop()
    return {
        "volumes": VOLUMES,
        "latency_ms": LATENCY_SECONDS * 1000,
        "max_parallel_calls": MAX_PARALLEL_CALLS,
        "calls": calls,
        "wall_p50_ms": round(statistics.median(walls) * 1000, 1),
        "serial_floor_ms": VOLUMES * 2 * LATENCY_SECONDS * 1000,  # GetVolume and CreateVolumeBackup, one after another
    }


def _calls(server: FdkServer, calls: int) -> list[float]:
    walls = []
    for number in range(calls + 1):
        call = Call(body=alarm_body(number), delivery="notifications", message_id=uuid.uuid4().hex, deadline_seconds=120)
        result = server.call(call)
        listed = result.json.get("backups") or [{}]
        made = all(backup.get("outcome") == "created" for backup in listed)  # made now, not remembered from before
        if result.status != 200 or result.json.get("counts", {}).get("backups") != VOLUMES or not made:
            raise RuntimeError(f"the alarm call answered {result.status}: {result.body[:300]!r}")
        if number:
            walls.append(result.elapsed)
    return walls


def line(figure: dict[str, Any]) -> str:
    return (
        f"An alarm naming {figure['volumes']} volumes, OCI {figure['latency_ms']:.0f} ms away on every request, "
        f"`MAX_PARALLEL_CALLS={figure['max_parallel_calls']}`: {figure['wall_p50_ms'] / 1000:.2f} s a call "
        f"(median of {figure['calls']}); one volume after another it could not take less than "
        f"{figure['serial_floor_ms'] / 1000:.0f} s."
    )
