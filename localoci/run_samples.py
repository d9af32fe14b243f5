"""`make run` / `make invoke`: the whole function on one machine.

Starts the Core Services emulator and the function under the real fdk server on a Unix socket
with a locally made resource-principal identity, then sends samples from events/ the way the
platform delivers them."""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import textwrap
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from .emulator import CoreEmulator
from .harness import REPO, Call, CallResult, FdkServer
from .identity import create_identity
from .restore_demo import run_restore_test
from .run_sweep import run_sweep
from .samples import EVENTS_DIR, Sample, caller_status, describe, load_samples, problems, short_ocid, shorten_ocids
from .tags import carries_the_function_s_mark, function_config

SEED = Path(__file__).with_name("seed.json")
CHAIN_VOLUME = "ocid1.volume.oc1.iad.abuwcljrledger00000000000000000000000000000000000000000012"
FAILURE_TOPIC = json.loads(SEED.read_text())["topics"][0]["id"]
# What `make run` turns on besides backups: copies to two regions, retention of 2, alerting.
DEMO_CONFIG = {
    "COPY_TO_REGIONS": "us-phoenix-1,eu-frankfurt-1",
    "KEEP_LAST": "2",
    "FAILURE_TOPIC_ID": FAILURE_TOPIC,
    "METRICS_NAMESPACE": "volume_backup",
    "MARK_TAG_NAMESPACE": "volume-backup-local",
    "RESTORE_TEST_COMPARTMENT_ID": "ocid1.compartment.oc1..aaaaaaaarestoretests00000000000000000000000000000000003",
    "SWEEP_COMPARTMENT_IDS": "ocid1.compartment.oc1..aaaaaaaaprod0000000000000000000000000000000000000000001",
}
WIDTH = 100
DETAIL = " " * 6


class Caller(Protocol):
    def call(self, call: Call) -> CallResult: ...


@dataclass
class Run:
    """Who made each call of one `make run` and what its calls deleted, for the lines that come after them."""

    name_of_call: dict[str, str] = field(default_factory=dict)
    deleted_by: dict[str, str] = field(default_factory=dict)

    def send(self, server: Caller, name: str, call: Call) -> CallResult:
        self.name_of_call[call.call_id] = name
        result = server.call(call)
        try:
            body = result.json
        except ValueError:
            return result
        if isinstance(body, dict) and not body.get("dryRun"):
            self.deleted_by.update(dict.fromkeys(body.get("pruned") or [], name))
        return result


def emit(line: str = "") -> None:
    print(line if len(line) <= WIDTH else line[: WIDTH - 1] + "…")


def emit_wrapped(text: str, indent: str, first_indent: str | None = None) -> None:
    first = indent if first_indent is None else first_indent
    for line in textwrap.wrap(text, WIDTH, initial_indent=first, subsequent_indent=indent, break_on_hyphens=False, break_long_words=False):
        emit(line)


def sample_name(sample: Sample) -> str:
    return sample.name.removesuffix(".json")


def function_env(identity_env: dict[str, str], endpoint: str) -> dict[str, str]:
    endpoints = {name: endpoint for name in ("OCI_CORE_ENDPOINT", "OCI_NOTIFICATIONS_ENDPOINT", "OCI_TELEMETRY_ENDPOINT")}
    return {**identity_env, **endpoints, **function_config(endpoint), **DEMO_CONFIG}


def print_config(config: dict[str, str], given: dict[str, str]) -> None:
    label = "config:   "
    emit_wrapped(" ".join(f"{key}={shorten_ocids(value)}" for key, value in config.items()), " " * len(label), label)
    if given:
        emit(" " * len(label) + "from CONFIG: " + " ".join(given))


def print_alerts(emulator: CoreEmulator, run: Run) -> None:
    """What reached a person: the failure messages published, each named by the call that published it, and the metrics."""
    messages = [message for message in emulator.messages if message["topicId"] == FAILURE_TOPIC]
    emit(f"\nNotifications: {len(messages)} failure message(s) published to the failure topic {short_ocid(FAILURE_TOPIC)}")
    bodies = [json.loads(message["body"]) for message in messages]
    senders = [run.name_of_call.get(body.get("callId"), "(no call of this run)") for body in bodies]
    width = max(len("published by"), *(len(name) for name in senders)) + 2
    if messages:
        emit(f"  {'published by':<{width}}{'willRetry':<11}title")
    for sender, body, message in zip(senders, bodies, messages, strict=True):
        emit(f"  {sender:<{width}}{str(body['willRetry']).lower():<11}{shorten_ocids(message['title'])}")
    totals: dict[str, float] = {}
    for item in emulator.metrics:
        totals[item["name"]] = totals.get(item["name"], 0) + sum(point["value"] for point in item["datapoints"])
    calls = sum(1 for item in emulator.metrics if item["name"] == "CallDurationMs")
    emit(f"Monitoring: {calls} PostMetricData call(s) in namespace {DEMO_CONFIG['METRICS_NAMESPACE']}")
    emit_wrapped(" ".join(f"{name}={value:g}" for name, value in sorted(totals.items()) if name != "CallDurationMs"), "  ")


def fate(backup: dict[str, Any], pruned_now: list[str], made_now: str, run: Run) -> str:
    """What became of one of the chain volume's backups, and whose doing it was."""
    if backup.get("sourceType") == "SCHEDULED":
        return "a backup policy's: never touched"
    if not carries_the_function_s_mark(backup):
        return "by hand (not marked): never touched"
    ours = "ours, made by the chain" if backup["id"] == made_now else "ours"
    if backup["id"] in pruned_now:
        return f"{ours}: deleted by this call"
    if backup["id"] in run.deleted_by:
        return f"{ours}: deleted by {run.deleted_by[backup['id']]}"
    if backup["lifecycleState"] in ("TERMINATING", "TERMINATED"):
        return f"{ours}: deleted before this run"
    if backup["lifecycleState"] == "AVAILABLE":
        return f"{ours}: kept"
    return f"{ours}: {backup['lifecycleState']}, not retention's to delete"


def run_chain(server: FdkServer, emulator: CoreEmulator, run: Run) -> int:
    """A volume created → its backup → OCI's backup-completed event → the copies and the retention decision."""
    created_event = json.loads((EVENTS_DIR / "event-createvolume-end.json").read_text())
    volume_id = CHAIN_VOLUME
    created_event["data"].update(resourceId=volume_id, resourceName="ledger", freeformTags={"app": "billing"})
    created_event["eventID"] = str(uuid.uuid4())
    emit("\nchain: one volume's backup from start to end, each step a call")
    emit(f"ok    {short_ocid(volume_id)} (ledger) created: OCI emits createvolume.end, sent as events")
    first = run.send(server, "chain: createvolume.end", Call(body=json.dumps(created_event).encode(), delivery="events"))
    backup = first.json
    if first.status != 200 or "id" not in backup:
        emit(f"FAIL  the backup was not requested: {first.status} {first.body[:300]!r}")
        return 1
    emit(f"ok    backup {short_ocid(backup['id'])} {backup['lifecycleState']}: waiting for OCI to finish it")
    deadline = time.monotonic() + 30
    while emulator.backups[backup["id"]]["lifecycleState"] != "AVAILABLE":
        if time.monotonic() > deadline:
            emit("FAIL  the backup did not become AVAILABLE")
            return 1
        time.sleep(0.1)
    finished_event = json.loads((EVENTS_DIR / "event-createvolumebackup-end.json").read_text())
    finished_event["data"].update(resourceId=backup["id"], resourceName=backup["displayName"], additionalDetails={"volumeId": volume_id})
    finished_event["eventID"] = str(uuid.uuid4())
    emit("ok    backup AVAILABLE: OCI emits createvolumebackup.end, sent as notifications")
    finished_call = Call(body=json.dumps(finished_event).encode(), delivery="notifications")
    done = run.send(server, "chain: createvolumebackup.end", finished_call)
    answer = done.json
    if done.status != 200 or "backup" not in answer:
        emit(f"FAIL  the lifecycle did not run: {done.status} {done.body[:300]!r}")
        return 1
    for copied in answer.get("copies", []):
        made = short_ocid(copied["id"]) if copied.get("id") else copied.get("code")
        emit(f"ok    copied to {copied['region']}: {made} {copied.get('lifecycleState', '')}".rstrip())
    pruned = answer.get("pruned", [])
    kept, keep_last = answer.get("kept"), DEMO_CONFIG["KEEP_LAST"]
    emit(f"ok    retention (KEEP_LAST={keep_last}): this call deleted {len(pruned)} and kept {kept} of its own; the volume's backups:")
    emit(f"{DETAIL}{'state':<12}{'created':<12}{'backup':<22}what became of it")
    for item in sorted(emulator.backups_for(volume_id), key=lambda item: str(item.get("timeCreated"))):
        created = str(item.get("timeCreated", ""))[:10]
        emit(f"{DETAIL}{item['lifecycleState']:<12}{created:<12}{short_ocid(item['id']):<22}{fate(item, pruned, backup['id'], run)}")
    regions = ", ".join(copied["region"] for copied in answer.get("copies", []))
    if regions:
        emit(f"{DETAIL}Copies in {regions}: marked there, and pruned there by the same rules")
    return 0


def run_all(server: Caller, samples: list[Sample], run: Run) -> int:
    """Sends every sample; how many got an answer other than the manifest expects."""
    width = max(len(sample_name(s)) for s in samples) + 1
    emit(f"{'check':<6}{'sample':<{width}}{'via':<14}{'http':<5}answer")
    failed = 0
    for sample in samples:
        result = run.send(server, sample_name(sample), sample.call())
        found = problems(sample, result)
        answer, details = describe(sample, result)
        mark = "FAIL" if found else "ok"
        emit(f"{mark:<6}{sample_name(sample):<{width}}{sample.delivery:<14}{caller_status(sample.delivery, result):<5}{answer}")
        for detail in details:
            emit_wrapped(detail, DETAIL + "  ")
        for problem in found:
            emit(f"{DETAIL}-> {problem}")
        failed += bool(found)
    return failed


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


def invocation(path: Path, delivery: str | None, headers: dict[str, str], message_id: str | None) -> Call:
    """The call `make invoke` sends: a sample's own delivery, message id and headers, with what was given over them."""
    known = {s.path.resolve(): s for s in load_samples()}
    sample = known.get(path.resolve())
    call = sample.call() if sample else Call(body=path.read_bytes())
    if delivery:
        call.delivery = delivery  # type: ignore[assignment]
    if message_id:
        call.delivery, call.message_id = "notifications", message_id
    if headers:
        call.client_headers = {**call.client_headers, **headers}
    return call


def invoke(server: FdkServer, call: Call, show_log: bool) -> int:
    log_before = len(server.log_text())
    result = server.call(call)
    print(f"wire status: {result.status}")
    for name in sorted(result.headers):
        if name.startswith("fn-http") or name == "content-type":
            print(f"{name}: {result.headers[name]}")
    print(json.dumps(result.json, indent=2) if result.body.startswith(b"{") else result.body.decode(errors="replace"))
    if show_log:
        print(f"\nfunction log, this call's lines (callId {call.call_id}):")
        print(server.log_text()[log_before:].rstrip("\n"))
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--invoke", type=Path, help="send one payload and print the full answer")
    parser.add_argument("--delivery", choices=["direct", "events", "notifications", "api-gateway"])
    parser.add_argument("--headers", default="", help="client headers, 'Name: value; Name: value' (through API Gateway: Fn-Http-H-<Name>)")
    parser.add_argument("--message-id", help="deliver as Notifications with this X-OCI-NS-MessageId")
    parser.add_argument("--config", default="", help="function config for this run, 'KEY=VALUE KEY=VALUE'")
    parser.add_argument("--log", action="store_true", help="with --invoke: print the function's log lines for the call")
    args = parser.parse_args(argv)
    try:
        headers, config = parse_headers(args.headers), parse_config(args.config)
    except ValueError as problem:
        print(f"make invoke: {problem}", file=sys.stderr)
        return 2
    if args.invoke and not args.invoke.is_file():
        print(f"make invoke: {args.invoke}: no such file", file=sys.stderr)
        return 2
    if args.message_id and args.delivery not in (None, "notifications"):
        print(
            f"make invoke: MESSAGE_ID is a Notifications message id, and DELIVERY={args.delivery} carries none"
            " (leave DELIVERY out, or DELIVERY=notifications)",
            file=sys.stderr,
        )
        return 2

    with tempfile.TemporaryDirectory(prefix="backup-fn-") as tmp:
        workdir = Path(tmp)
        identity = create_identity(workdir / "identity")
        with CoreEmulator(SEED, identity.issuer_public_key_pem, creating_after=0.5, available_after=1.5) as emulator:
            emit(f"emulator: {emulator.url} (Core Services, Notifications, Monitoring; localoci/seed.json)")
            emit(f"function: fdk func.py handler on unix:{workdir / 'fn.sock'}")
            print_config({**DEMO_CONFIG, **config}, config)
            with FdkServer(REPO / "func.py", workdir, {**function_env(identity.env(), emulator.url), **config}) as server:
                if args.invoke:
                    call = invocation(args.invoke, args.delivery, headers, args.message_id)
                    print(f"sent:     {args.invoke} as {call.delivery}")
                    if call.message_id:
                        print(f"          X-OCI-NS-MessageId: {call.message_id}")
                    for name, value in call.client_headers.items():
                        print(f"          client header {name}: {value}")
                    print()
                    return invoke(server, call, args.log)
                emit("samples:  events/, each sent as events/manifest.json says and checked against what it expects\n")
                samples = load_samples()
                run = Run()
                failures = run_all(server, samples, run) + run_chain(server, emulator, run)
                failures += run_restore_test(lambda name, call: run.send(server, name, call), emulator, emit)
                print_alerts(emulator, run)
                failures += run_sweep(workdir, function_env(identity.env(), emulator.url), emulator, emit)
                checks = len(samples) + 3  # the samples, the chain, the restore test and the sweep
                emit(f"\n{checks - failures} passed, {failures} failed")
                if failures:
                    print("\nfunction log:\n" + server.log_text())
                return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
