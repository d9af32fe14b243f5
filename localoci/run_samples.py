"""`make run` / `make invoke`: the whole function on one machine.

Starts the Core Services emulator and the function under the real fdk server on a Unix socket
with a locally made resource-principal identity, then sends samples from events/ the way the
platform delivers them."""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

from .emulator import CoreEmulator
from .harness import REPO, Call, FdkServer
from .identity import create_identity
from .samples import EVENTS_DIR, Sample, describe, load_samples, problems

SEED = Path(__file__).with_name("seed.json")


def function_env(identity_env: dict[str, str], endpoint: str) -> dict[str, str]:
    return {**identity_env, "OCI_CORE_ENDPOINT": endpoint}


def run_all(server: FdkServer, samples: list[Sample]) -> int:
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
    print(f"\n{len(samples) - failures} passed, {failures} failed")
    return 1 if failures else 0


def invoke(server: FdkServer, path: Path, delivery: str | None) -> int:
    known = {s.path.resolve(): s for s in load_samples()}
    sample = known.get(path.resolve())
    call = sample.call() if sample else Call(body=path.read_bytes())
    if delivery:
        call.delivery = delivery  # type: ignore[assignment]
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
    parser.add_argument("--log", action="store_true", help="print the function's log at the end")
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix="backup-fn-") as tmp:
        workdir = Path(tmp)
        identity = create_identity(workdir / "identity")
        with CoreEmulator(SEED, identity.issuer_public_key_pem) as emulator:
            print(f"Core Services emulator on {emulator.url}; function: fdk {REPO / 'func.py'} handler (unix:{workdir / 'fn.sock'})")
            print(f"samples: {EVENTS_DIR}\n")
            with FdkServer(REPO / "func.py", workdir, function_env(identity.env(), emulator.url)) as server:
                code = invoke(server, args.invoke, args.delivery) if args.invoke else run_all(server, load_samples())
                if args.log or code:
                    print("\nfunction log:\n" + server.log_text())
                return code


if __name__ == "__main__":
    sys.exit(main())
