"""A local OCI for the calls this function makes, on 127.0.0.1: Core Services (Blockstorage and
Compute, `/20160918`), the Notifications data plane (`/20181201`) and Monitoring's telemetry
ingestion (`/20180401`), all on one port.

It behaves like OCI's where the function depends on it: every request's signature is verified,
`opc-retry-token` makes a create idempotent, backups move through their lifecycle over time,
lists come page by page, and errors are OCI's `{"code", "message"}` with an `opc-request-id`.
Its volumes, boot volumes, instances, attachments, backups and topics come from a seed file, and
faults can be injected to try failures on purpose, as can a latency on every request.

One module per service it stands in for: `signatures` (identity's check of every request),
`blockstorage` (with `paging` and `retry_tokens`), `compute`, `notifications`, `telemetry`;
`faults` (faults to inject, the record of each request), `operations` (what a service declares:
routes, responses, errors) and `server` (the HTTP server, routing, CoreEmulator). This module is
the entry point and names what the rest of the project uses.

Run it alone: `python -m localoci.emulator --identity-dir /tmp/identity` prints the environment
that a function needs to call it."""

from __future__ import annotations

import argparse
import contextlib
import signal
import sys
import threading
from pathlib import Path

from .blockstorage import BOOT_VOLUME, VOLUME
from .faults import Fault, Recorded
from .identity import TOKEN_LIFETIME_SECONDS, LocalIdentity, create_identity
from .operations import ApiError, Response
from .server import CoreEmulator
from .signatures import SignatureVerifier

__all__ = ["BOOT_VOLUME", "VOLUME", "ApiError", "CoreEmulator", "Fault", "Recorded", "Response", "SignatureVerifier", "main"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seed", type=Path, default=Path(__file__).with_name("seed.json"))
    trust = parser.add_mutually_exclusive_group(required=True)
    trust.add_argument("--identity-dir", type=Path, help="make a resource-principal identity here and print the function's environment")
    trust.add_argument("--issuer-key", type=Path, help="PEM public key of a token issuer to trust")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--creating-after", type=float, default=2.0)
    parser.add_argument("--available-after", type=float, default=10.0)
    parser.add_argument(
        "--token-lifetime", type=float, default=TOKEN_LIFETIME_SECONDS, help="seconds each session token lives (renewed before then)"
    )
    args = parser.parse_args(argv)
    identity = create_identity(args.identity_dir, token_lifetime=args.token_lifetime) if args.identity_dir else None
    issuer_key = identity.issuer_public_key_pem if identity else args.issuer_key.read_bytes()
    emulator = CoreEmulator(args.seed, issuer_key, creating_after=args.creating_after, available_after=args.available_after, port=args.port)
    with emulator:
        print(f"Local OCI (Core Services, Notifications, telemetry ingestion) on {emulator.url} (Ctrl-C to stop)")
        if identity:
            print("Environment for the function (and for the OCI CLI with --auth resource_principal --endpoint):")
            endpoints = {name: emulator.url for name in ("OCI_CORE_ENDPOINT", "OCI_NOTIFICATIONS_ENDPOINT", "OCI_TELEMETRY_ENDPOINT")}
            for name, value in {**identity.env(), **endpoints}.items():
                print(f"export {name}={value}")
            renew_every = max(1.0, args.token_lifetime * 0.75)
            print(
                f"The session token in {identity.token_path} lives {args.token_lifetime:.0f} s and is renewed every {renew_every:.0f} s "
                "while this runs; the function reads the renewed file before the old token expires, the SDK's own signer "
                "(the OCI CLI's) when OCI (here, this emulator) answers 401."
            )
        sys.stdout.flush()
        stop = threading.Event()
        if identity:
            threading.Thread(target=_renew_tokens, args=(identity, args.token_lifetime, stop), name="token-renewal", daemon=True).start()
        with contextlib.suppress(KeyboardInterrupt):
            # signal.pause() returns to Python the moment a signal comes; a lock wait may not, on a loaded machine.
            while True:
                signal.pause()
        stop.set()
    return 0


def _renew_tokens(identity: LocalIdentity, lifetime: float, stop: threading.Event) -> None:
    """Writes a new session token before the current one expires, as the Functions platform does."""
    while not stop.wait(max(1.0, lifetime * 0.75)):
        identity.issue_token(lifetime)


if __name__ == "__main__":
    raise SystemExit(main())
