"""What several test modules share and is not a fixture: the seed file, a request signed like the
SDK signs one (then changed on purpose), and waiting for something that happens in another thread."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable
from typing import Any

import oci
from cryptography.hazmat.primitives.asymmetric import rsa
from oci._vendor import requests  # the HTTP stack the SDK itself ships and signs with

from localoci.emulator import CoreEmulator
from localoci.harness import REPO
from localoci.identity import LocalIdentity
from localoci.tags import MARK_KEY, MARK_NAMESPACE

SEED = REPO / "localoci" / "seed.json"


def send(
    emulator: CoreEmulator,
    identity: LocalIdentity,
    method: str,
    path: str,
    body: Any = None,
    *,
    key: rsa.RSAPrivateKey | None = None,
    token: str | None = None,
    headers: dict[str, str] | None = None,
    after_signing: dict[str, Any] | None = None,
    prefix: str = "/20160918",
) -> requests.Response:
    """Signs like the SDK does, then optionally changes the request before it is sent."""
    data = json.dumps(body) if body is not None else None
    prepared = requests.Request(method, f"{emulator.url}{prefix}{path}", data=data, headers=headers or {}).prepare()
    signer = oci.auth.signers.SecurityTokenSigner(token or identity.token_path.read_text(), key or identity.session_key)
    signer(prepared)
    for name, value in (after_signing or {}).items():
        if name == "body":
            prepared.body = value
        else:
            prepared.headers[name] = value
    with requests.Session() as session:
        return session.send(prepared, timeout=10)


def eventually(condition: Callable[[], bool], *, within: float = 20.0) -> bool:
    """Whether `condition` comes true while another thread or process works on it. `within` only
    stops a test that would otherwise wait for ever; it is far beyond the time the work takes."""
    end = time.monotonic() + within
    while not condition():
        if time.monotonic() > end:
            return False
        time.sleep(0.01)
    return True


def own_backup(emulator: CoreEmulator, kind: str = "volume", *, source_id: str, **fields: Any) -> str:
    """A backup this function made before: the provenance freeform tags and the test deployment's mark
    (its value the backup's own id); its id."""
    backup_id = fields.pop("id", None) or f"ocid1.{'volumebackup' if kind == 'volume' else 'bootvolumebackup'}.oc1.iad.{uuid.uuid4().hex}"
    defined = {**fields.pop("definedTags", {}), **mark(backup_id)}
    fields.setdefault("freeformTags", {"backup-trigger": "oci-events", "backup-trigger-id": f"earlier-{backup_id[-8:]}"})
    return emulator.add_backup(kind, source_id=source_id, id=backup_id, definedTags=defined, **fields)


def mark(resource_id: str) -> dict[str, dict[str, str]]:
    """The test deployment's mark, as defined tags, for the resource it names."""
    return {MARK_NAMESPACE: {MARK_KEY: resource_id}}


def metric_total(emulator: CoreEmulator, name: str) -> float:
    """The sum of every datapoint the function posted for one metric."""
    return float(sum(p["value"] for item in emulator.metrics if item["name"] == name for p in item["datapoints"]))
