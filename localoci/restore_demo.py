"""`make run`'s restore test: one of the function's own backups (seeded, with the mark) restored on
request, the restored volume's createvolume.end delivered as Notifications would, the verdict, and
the test volume deleted, each step a call to the function."""

from __future__ import annotations

import json
import time
from collections.abc import Callable

from .harness import Call, CallResult
from .samples import EVENTS_DIR, short_ocid, shorten_ocids
from .server import CoreEmulator

RESTORE_BACKUP = json.loads((EVENTS_DIR / "request-restore-test.json").read_text())["restoreTest"]["backupId"]
DETAIL = " " * 6


def run_restore_test(send: Callable[[str, Call], CallResult], emulator: CoreEmulator, emit: Callable[[str], None]) -> int:
    """How many of its checks failed (0 or 1)."""
    emit("\nrestore test: one of the function's own backups restored, judged and cleaned up, each step a call")
    started = send("restore test: on demand", Call(body=json.dumps({"restoreTest": {"backupId": RESTORE_BACKUP}}).encode()))
    test = started.json.get("restoreTest", {}) if started.status == 200 else {}
    if test.get("verdict") != "started":
        emit(f"FAIL  the restore did not start: {started.status} {started.body[:300]!r}")
        return 1
    volume_id = test["testVolumeId"]
    vpus = (emulator.volume(volume_id) or {}).get("vpusPerGB")
    emit(f"ok    {short_ocid(RESTORE_BACKUP)} restoring into test volume {short_ocid(volume_id)} ({vpus} VPUs/GB)")
    deadline = time.monotonic() + 30
    while not (events := [e for e in emulator.restores.due_events() if e["data"]["resourceId"] == volume_id]):
        if time.monotonic() > deadline:
            emit("FAIL  the test volume did not become AVAILABLE")
            return 1
        time.sleep(0.1)
    emit("ok    test volume AVAILABLE: OCI emits createvolume.end, sent as notifications")
    judged = send("restore test: createvolume.end", Call(body=json.dumps(events[0]).encode(), delivery="notifications"))
    verdict = judged.json.get("restoreTest", {}) if judged.status == 200 else {}
    if verdict.get("verdict") != "passed" or not verdict.get("deleted"):
        emit(f"FAIL  the restore test was not judged passed: {judged.status} {judged.body[:300]!r}")
        return 1
    state = (emulator.volume(volume_id) or {}).get("lifecycleState")
    emit(f"ok    passed ({verdict.get('seconds')} s to AVAILABLE); test volume {state}; the backup's freeform tag:")
    emit(f"{DETAIL}restore-test = {shorten_ocids(emulator.backups[RESTORE_BACKUP]['freeformTags'].get('restore-test', ''))}")
    return 0
