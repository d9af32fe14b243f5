"""The samples in events/: how each is delivered, which source the function must read it as, and
what its caller must see (events/manifest.json)."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, get_args

from .harness import REPO, Call, CallResult, Delivery

EVENTS_DIR = REPO / "events"
MANIFEST = EVENTS_DIR / "manifest.json"
Source = Literal["request", "oci-events", "monitoring-alarm", "backup-completed", "restore-test", "sweep"]
SOURCES: tuple[str, ...] = get_args(Source)
OCID = re.compile(r"\bocid1\.[a-z0-9]+\.[A-Za-z0-9._-]*[A-Za-z0-9]")


@dataclass(frozen=True)
class Sample:
    name: str
    path: Path
    delivery: Delivery
    source: Source
    expect: dict[str, Any]
    message_id: str | None = None
    client_headers: dict[str, str] = field(default_factory=dict)

    @property
    def body(self) -> bytes:
        return self.path.read_bytes()

    @property
    def payload(self) -> Any:
        return json.loads(self.body)

    def call(self, **overrides: Any) -> Call:
        return Call(
            body=self.body,
            delivery=self.delivery,
            message_id=self.message_id,
            client_headers=self.client_headers,
            **overrides,
        )


def load_samples() -> list[Sample]:
    manifest = json.loads(MANIFEST.read_text())
    return [
        Sample(
            name=name,
            path=EVENTS_DIR / name,
            delivery=entry["delivery"],
            source=entry["source"],
            expect=entry["expect"],
            message_id=entry.get("messageId"),
            client_headers=entry.get("clientHeaders", {}),
        )
        for name, entry in manifest.items()
        if not name.startswith("_")
    ]


def sample(name: str) -> Sample:
    return next(s for s in load_samples() if s.name == name)


def caller_status(sample_delivery: Delivery, result: CallResult) -> int:
    return result.http_status if sample_delivery == "api-gateway" else result.status


def outcome_of(body: Any) -> str:
    if not isinstance(body, dict):
        return "unreadable"
    if "sweep" in body:
        return "sweep"
    if "backups" in body:
        return "backups"
    if "backup" in body:
        return "lifecycle"
    if "restoreTest" in body:
        return "restore-test"
    if body.get("ignored") is True:
        return "ignored"
    if "code" in body and "message" in body:
        return "error"
    return str(body.get("outcome", "unknown"))


def problems(sample: Sample, result: CallResult) -> list[str]:
    """What differs between the answer and the sample's expectation (empty when it matches)."""
    expect = sample.expect
    found: list[str] = []
    status = caller_status(sample.delivery, result)
    if status != expect["status"]:
        found.append(f"status {status}, expected {expect['status']}")
    try:
        body = result.json
    except ValueError:
        return [*found, f"answer is not JSON: {result.body[:200]!r}"]
    outcome = outcome_of(body)
    if outcome != expect["outcome"]:
        found.append(f"outcome {outcome}, expected {expect['outcome']}")
    if "code" in expect and body.get("code") != expect["code"]:
        found.append(f"code {body.get('code')}, expected {expect['code']}")
    if "backups" in expect and len(body.get("backups", [])) != expect["backups"]:
        found.append(f"{len(body.get('backups', []))} backups, expected {expect['backups']}")
    if "verdict" in expect and body.get("restoreTest", {}).get("verdict") != expect["verdict"]:
        found.append(f"verdict {body.get('restoreTest', {}).get('verdict')}, expected {expect['verdict']}")
    if "volumeKey" in expect and not body.get(expect["volumeKey"]):
        found.append(f"answer has no {expect['volumeKey']}")
    if outcome in ("created", "in-progress", "existing") and not str(body.get("id", "")).startswith("ocid1."):
        found.append("answer has no backup id")
    return found


def short_ocid(ocid: str) -> str:
    """`ocid1.volume.oc1.iad.abuwcljr…abc123` → `…volume…abc123`: its kind and its last 6 characters."""
    return f"…{ocid.split('.')[1]}…{ocid[-6:]}"


def shorten_ocids(text: str) -> str:
    return OCID.sub(lambda found: short_ocid(found.group()), text)


def describe(sample: Sample, result: CallResult) -> tuple[str, list[str]]:
    """What the function answered: a few words, and the details worth a line of their own.

    An error reads `rejected` when the caller sees a 4xx or an acknowledging 200 (nothing will send
    it again), `failed` when it sees a 5xx, whatever the sample expected: the check is a column of its own."""
    status = caller_status(sample.delivery, result)
    try:
        body = result.json
    except ValueError:
        return "unreadable answer", [repr(result.body[:200])]
    outcome = outcome_of(body)
    if outcome == "backups":
        details = [f"{short_ocid(b['id'])} of {short_ocid(b.get('volumeId') or b.get('bootVolumeId'))}" for b in body["backups"]]
        details += [f"failed {short_ocid(f['resourceId'])}: {f['code']}" for f in body.get("failures", [])]
        return f"{len(body['backups'])} backups", ["; ".join(details)]
    if outcome == "sweep":
        part = body["sweep"]
        done = f"would back up {part['counts']['wouldBackUp']}" if part["dryRun"] else f"backed up {part['counts']['backups']}"
        counts = f"{part['inScope']} in scope: {part['withinRpo']} within RPO, {part['beyondRpo']} beyond; {part['excluded']} excluded"
        return f"{part['part']}, {done}", [f"{counts}; {part['batches']} batches, {part['counts']['failures']} failures"]
    if outcome == "lifecycle":
        backup = body["backup"]
        copies = [f"{c['region']} {short_ocid(c['id']) if c.get('id') else c.get('code')}" for c in body.get("copies", [])]
        state = f"{backup['lifecycleState']}"
        if "pruned" in body:
            verb = "would delete" if body.get("dryRun") else "deleted"
            state += f"; retention {verb} {len(body['pruned'])}, kept {body.get('kept')}"
        return f"finished {short_ocid(backup['id'])}", [state, "copies: " + (", ".join(copies) or "none")]
    if outcome == "ignored":
        return "ignored", ["reason: " + shorten_ocids(body["reason"])]
    if outcome == "restore-test":
        test = body["restoreTest"]
        volume = f" into {short_ocid(test['testVolumeId'])}" if test.get("testVolumeId") else ""
        return f"restore test {test['verdict']}", [f"of {short_ocid(test['backupId'])}{volume}"]
    if outcome == "error":
        verb = "rejected" if status < 500 else "failed"
        return f"{verb} {body['code']}", ["message: " + shorten_ocids(body["message"])]
    if outcome in ("created", "in-progress", "existing"):
        return f"{outcome} {short_ocid(str(body.get('id')))}", []
    return f"{outcome}", [shorten_ocids(json.dumps(body))]
