"""The samples in events/, how each is delivered, and what its caller must see (events/manifest.json)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .harness import REPO, Call, CallResult, Delivery

EVENTS_DIR = REPO / "events"
MANIFEST = EVENTS_DIR / "manifest.json"


@dataclass(frozen=True)
class Sample:
    name: str
    path: Path
    delivery: Delivery
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
    if "backups" in body:
        return "backups"
    if "backup" in body:
        return "lifecycle"
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
    if "volumeKey" in expect and not body.get(expect["volumeKey"]):
        found.append(f"answer has no {expect['volumeKey']}")
    if outcome in ("created", "in-progress", "existing") and not str(body.get("id", "")).startswith("ocid1."):
        found.append("answer has no backup id")
    return found


def describe(sample: Sample, result: CallResult) -> str:
    """One readable line: trigger, resource, status, backup id and state, or the error."""
    status = caller_status(sample.delivery, result)
    try:
        body = result.json
    except ValueError:
        return f"{status} unreadable answer"
    outcome = outcome_of(body)
    if outcome == "backups":
        parts = [f"{b['id']} {b['lifecycleState']} ({b.get('volumeId') or b.get('bootVolumeId')})" for b in body["backups"]]
        parts += [f"FAILED {f['resourceId']}: {f['code']}" for f in body.get("failures", [])]
        return f"{status} {len(body['backups'])} backups: " + "; ".join(parts)
    if outcome == "lifecycle":
        backup = body["backup"]
        parts = [f"{backup['id']} {backup['lifecycleState']}"]
        parts += [
            f"copy to {c['region']}: {c.get('id') or c.get('code')} {c.get('lifecycleState', '')}".rstrip() for c in body.get("copies", [])
        ]
        if "pruned" in body:
            verb = "would delete" if body.get("dryRun") else "deleted"
            parts.append(f"retention {verb} {len(body['pruned'])}, kept {body.get('kept')}")
        return f"{status} lifecycle: " + "; ".join(parts)
    if outcome == "ignored":
        return f"{status} ignored: {body['reason']}"
    if outcome == "error":
        return f"{status} error {body['code']}: {body['message']}"
    resource = body.get("volumeId") or body.get("bootVolumeId")
    return f"{status} {body.get('outcome')} {body.get('id')} {body.get('lifecycleState')} for {resource}"
