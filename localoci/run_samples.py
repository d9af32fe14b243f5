"""`make run` / `make invoke`: the whole function on one machine.

Starts the Core Services emulator and the function under the real fdk server on a Unix socket
with a locally made resource-principal identity, then sends samples from events/ the way the
platform delivers them."""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
import uuid
from pathlib import Path

from .emulator import CoreEmulator
from .harness import REPO, Call, FdkServer
from .identity import create_identity
from .samples import EVENTS_DIR, Sample, describe, load_samples, problems

SEED = Path(__file__).with_name("seed.json")
CHAIN_VOLUME = "ocid1.volume.oc1.iad.abuwcljrledger00000000000000000000000000000000000000000012"
FAILURE_TOPIC = json.loads(SEED.read_text())["topics"][0]["id"]
# What `make run` turns on besides backups: copies to two regions, retention of 2, alerting.
DEMO_CONFIG = {
    "COPY_TO_REGIONS": "us-phoenix-1,eu-frankfurt-1",
    "KEEP_LAST": "2",
    "FAILURE_TOPIC_ID": FAILURE_TOPIC,
    "METRICS_NAMESPACE": "volume_backup",
}


def function_env(identity_env: dict[str, str], endpoint: str) -> dict[str, str]:
    endpoints = {name: endpoint for name in ("OCI_CORE_ENDPOINT", "OCI_NOTIFICATIONS_ENDPOINT", "OCI_TELEMETRY_ENDPOINT")}
    return {**identity_env, **endpoints, **DEMO_CONFIG}


def print_alerts(emulator: CoreEmulator) -> None:
    """What reached a person: the failure messages published and the metric data posted."""
    messages = emulator.messages
    print(f"\nNotifications: {len(messages)} failure message(s) published to {FAILURE_TOPIC}")
    for message in messages:
        body = json.loads(message["body"])
        print(f"  {message['title']}  (willRetry={str(body['willRetry']).lower()}, callId={body['callId']})")
    totals: dict[str, float] = {}
    for item in emulator.metrics:
        totals[item["name"]] = totals.get(item["name"], 0) + sum(point["value"] for point in item["datapoints"])
    calls = sum(1 for item in emulator.metrics if item["name"] == "CallDurationMs")
    print(
        f"Monitoring: {calls} PostMetricData call(s) in namespace {DEMO_CONFIG['METRICS_NAMESPACE']}: "
        + ", ".join(f"{name}={value:g}" for name, value in sorted(totals.items()) if name != "CallDurationMs")
    )


def run_chain(server: FdkServer, emulator: CoreEmulator) -> int:
    """A volume created → its backup → OCI's backup-completed event → the copies and the retention decision."""
    created_event = json.loads((EVENTS_DIR / "event-createvolume-end.json").read_text())
    volume_id = CHAIN_VOLUME
    created_event["data"].update(resourceId=volume_id, resourceName="ledger", freeformTags={"app": "billing"})
    created_event["eventID"] = str(uuid.uuid4())
    print(f"\nchain: {volume_id} created (com.oraclecloud.blockvolumes.createvolume.end)")
    first = server.call(Call(body=json.dumps(created_event).encode(), delivery="events"))
    backup = first.json
    if first.status != 200 or "id" not in backup:
        print(f"FAIL   the backup was not requested: {first.status} {first.body[:300]!r}")
        return 1
    print(f"ok     backup {backup['id']} {backup['lifecycleState']}, waiting for OCI to finish it")
    deadline = time.monotonic() + 30
    while emulator.backups[backup["id"]]["lifecycleState"] != "AVAILABLE":
        if time.monotonic() > deadline:
            print("FAIL   the backup did not become AVAILABLE")
            return 1
        time.sleep(0.1)
    finished_event = json.loads((EVENTS_DIR / "event-createvolumebackup-end.json").read_text())
    finished_event["data"].update(resourceId=backup["id"], resourceName=backup["displayName"], additionalDetails={"volumeId": volume_id})
    finished_event["eventID"] = str(uuid.uuid4())
    print(f"ok     backup AVAILABLE: OCI emits com.oraclecloud.blockvolumes.createvolumebackup.end for {backup['id']}")
    done = server.call(Call(body=json.dumps(finished_event).encode(), delivery="notifications"))
    answer = done.json
    if done.status != 200 or "backup" not in answer:
        print(f"FAIL   the lifecycle did not run: {done.status} {done.body[:300]!r}")
        return 1
    for copied in answer.get("copies", []):
        print(f"ok     copied to {copied['region']}: {copied.get('id') or copied.get('code')} {copied.get('lifecycleState', '')}")
    kept = {b["id"]: b for b in emulator.backups_for(volume_id)}
    pruned = len(answer.get("pruned", []))
    print(f"ok     retention (KEEP_LAST={DEMO_CONFIG['KEEP_LAST']}): deleted {pruned}, kept {answer.get('kept')} of its own")
    for backup_id, item in sorted(kept.items(), key=lambda pair: str(pair[1].get("timeCreated"))):
        if item.get("sourceType") == "SCHEDULED":
            who = "a backup policy's: never touched"
        elif "backup-trigger" in item.get("freeformTags", {}):
            who = "ours"
        else:
            who = "made by hand (no backup-trigger tag): never touched"
        print(f"         {item['lifecycleState']:<10} {item.get('timeCreated', '')[:10]}  {who:<52} {backup_id}")
    return 0


def run_all(server: FdkServer, samples: list[Sample]) -> int:
    """Sends every sample; how many got an answer other than the manifest expects."""
    failures = 0
    width = max(len(s.name) for s in samples)
    for sample in samples:
        result = server.call(sample.call())
        found = problems(sample, result)
        mark = "ok  " if not found else "FAIL"
        print(f"{mark} {sample.name:<{width}}  {sample.delivery:<13} {describe(sample, result)}")
        for problem in found:
            print(f"       -> {problem}")
        failures += bool(found)
    return failures


def parse_headers(text: str) -> dict[str, str]:
    """`'opc-retry-token: abc; X-Other: v'` → {"opc-retry-token": "abc", "X-Other": "v"}."""
    headers = {}
    for item in filter(None, (part.strip() for part in text.split(";"))):
        name, sep, value = item.partition(":")
        if not sep or not name.strip():
            raise ValueError(f"HEADERS: {item!r} is not 'Name: value'")
        headers[name.strip()] = value.strip()
    return headers


def parse_config(text: str) -> dict[str, str]:
    """`'BACKUP_TYPE=FULL KEEP_LAST=3'` → {"BACKUP_TYPE": "FULL", "KEEP_LAST": "3"}."""
    config = {}
    for item in text.split():
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise ValueError(f"CONFIG: {item!r} is not KEY=VALUE")
        config[key] = value
    return config


def invoke(server: FdkServer, path: Path, delivery: str | None, headers: dict[str, str], message_id: str | None) -> int:
    known = {s.path.resolve(): s for s in load_samples()}
    sample = known.get(path.resolve())
    call = sample.call() if sample else Call(body=path.read_bytes())
    if delivery:
        call.delivery = delivery  # type: ignore[assignment]
    if message_id:
        call.delivery, call.message_id = "notifications", message_id
    if headers:
        call.client_headers = {**call.client_headers, **headers}
    result = server.call(call)
    print(f"wire status: {result.status}")
    for name in sorted(result.headers):
        if name.startswith("fn-http") or name == "content-type":
            print(f"{name}: {result.headers[name]}")
    print(json.dumps(result.json, indent=2) if result.body.startswith(b"{") else result.body.decode(errors="replace"))
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--invoke", type=Path, help="send one payload and print the full answer")
    parser.add_argument("--delivery", choices=["direct", "events", "notifications", "api-gateway"])
    parser.add_argument("--headers", default="", help="client headers, 'Name: value; Name: value' (through API Gateway: Fn-Http-H-<Name>)")
    parser.add_argument("--message-id", help="deliver as Notifications with this X-OCI-NS-MessageId")
    parser.add_argument("--config", default="", help="function config for this run, 'KEY=VALUE KEY=VALUE'")
    parser.add_argument("--log", action="store_true", help="print the function's log at the end")
    args = parser.parse_args(argv)
    try:
        headers, config = parse_headers(args.headers), parse_config(args.config)
    except ValueError as problem:
        print(f"make invoke: {problem}", file=sys.stderr)
        return 2
    if args.invoke and not args.invoke.is_file():
        print(f"make invoke: {args.invoke}: no such file", file=sys.stderr)
        return 2

    with tempfile.TemporaryDirectory(prefix="backup-fn-") as tmp:
        workdir = Path(tmp)
        identity = create_identity(workdir / "identity")
        with CoreEmulator(SEED, identity.issuer_public_key_pem, creating_after=0.5, available_after=1.5) as emulator:
            print(f"Local OCI emulator on {emulator.url}; function: fdk {REPO / 'func.py'} handler (unix:{workdir / 'fn.sock'})")
            print("config: " + " ".join(f"{key}={value}" for key, value in DEMO_CONFIG.items()))
            print(f"samples: {EVENTS_DIR}\n")
            with FdkServer(REPO / "func.py", workdir, {**function_env(identity.env(), emulator.url), **config}) as server:
                if args.invoke:
                    code = invoke(server, args.invoke, args.delivery, headers, args.message_id)
                else:
                    samples = load_samples()
                    failed = run_all(server, samples) + run_chain(server, emulator)
                    print_alerts(emulator)
                    checks = len(samples) + 1
                    print(f"\n{checks - failed} passed, {failed} failed")
                    code = 1 if failed else 0
                if args.log or code:
                    print("\nfunction log:\n" + server.log_text())
                return code


if __name__ == "__main__":
    sys.exit(main())
