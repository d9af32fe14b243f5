"""`make cold-path`: where the cold start goes, in instructions counted by valgrind's callgrind.

Wall-clock cold starts on a shared machine move by tens of milliseconds from one process to the
next; instruction counts repeat to a fraction of a percent, so they show what a change to the
import path saves. Each stage of `bench/cold_stages.py` runs in its own process under callgrind,
against the emulator; a step's cost is its stage minus the one before. Instructions are not time
(the RSA key check runs many cheap ones), so read them beside `make bench`."""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from bench.run import update_readme
from localoci.emulator import CoreEmulator
from localoci.harness import PLATFORM_ENV, REPO, copy_function
from localoci.identity import create_identity

RESULTS = REPO / "bench" / "cold_path.json"
SIGNER_STAGE = 5
SDK_SIGNER_STAGE = 7  # measured from stage 4 like the signer's, kept out of the steps' sum
SEED = REPO / "localoci" / "seed.json"
STAGES = REPO / "bench" / "cold_stages.py"
# (label, stage, the stage it is measured from, who pays it)
STEPS = (
    ("Python and `import fdk`", 0, None, "fdk"),
    ("pydantic: its import and the first model it builds", 1, 0, "libraries"),
    ("`import func`: our handler, sources dispatch, domain, models, answers, settings", 2, 1, "ours"),
    ("`import oci`", 3, 2, "libraries"),
    ("our clients, service and request source, imported by the first call", 4, 3, "ours"),
    ("the resource-principal signer: token and key read, the key loaded without the RSA check, `SecurityTokenSigner`", 5, 4, "libraries"),
    ("the first call apart from the signer: Settings, three models built, GetVolume, CreateVolumeBackup, the answer", 6, 5, "first call"),
)


def count(valgrind: str, stage: int, env: dict[str, str], workdir: Path, function_dir: Path = REPO) -> int:
    out = workdir / f"callgrind.{stage}.{function_dir.name}.out"
    run = subprocess.run(
        [valgrind, "--tool=callgrind", f"--callgrind-out-file={out}", sys.executable, str(STAGES), str(stage), str(function_dir)],
        env=env,
        cwd=workdir,
        capture_output=True,
        text=True,
    )
    found = re.search(r"Collected : (\d+)", run.stderr)
    if run.returncode != 0 or not found:
        raise RuntimeError(f"stage {stage} failed ({run.returncode}): {run.stderr[-2000:]}")
    return int(found.group(1))


def table(steps: list[dict[str, Any]], without_bytecode: int, sdk_signer: int, measured: str) -> str:
    total = sum(step["instructions"] for step in steps)
    (signer,) = (step["instructions"] for step in steps if step["stage"] == SIGNER_STAGE)
    lines = ["| step | instructions | share | paid by |", "|---|---:|---:|---|"]
    for step in steps:
        lines.append(f"| {step['label']} | {step['instructions'] / 1e6:,.0f} M | {step['instructions'] / total:.0%} | {step['paid_by']} |")
    by_payer: dict[str, int] = {}
    for step in steps:
        by_payer[step["paid_by"]] = by_payer.get(step["paid_by"], 0) + step["instructions"]
    shares = ", ".join(f"{payer} {value / total:.0%}" for payer, value in by_payer.items())
    lines.append("")
    lines.append(
        f"{total / 1e6:,.0f} M instructions from spawn to the first answer's body ({shares}); counted {measured}. "
        f"Without the bytecode the Dockerfile compiles into the image, a read-only `/function` makes every cold start "
        f"compile `func.py` and `backup_fn` first: {without_bytecode / 1e6:+,.0f} M ({without_bytecode / total:+.0%}). "
        f"The SDK's `get_resource_principals_signer()` in the signer's place (which validates the RSA key): "
        f"{sdk_signer / 1e6:,.0f} M, against {signer / 1e6:,.0f} M for the signer above."
    )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--no-write", action="store_true", help="print only; leave cold_path.json and README alone")
    args = parser.parse_args(argv)
    valgrind = shutil.which("valgrind")
    if valgrind is None:
        print("make cold-path needs valgrind (Debian: apt-get install valgrind)", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory(prefix="backup-fn-cold-path-") as tmp:
        workdir = Path(tmp)
        identity = create_identity(workdir / "identity")
        with CoreEmulator(SEED, identity.issuer_public_key_pem, creating_after=0, available_after=0) as emulator:
            env = {
                "PATH": os.environ.get("PATH", ""),
                "PYTHONHASHSEED": "0",  # the same hashing every run, so the same instructions
                **PLATFORM_ENV,
                **identity.env(),
                "OCI_CORE_ENDPOINT": emulator.url,
            }
            unbuilt = copy_function(workdir / "unbuilt")
            unbuilt_env = {**env, "PYTHONDONTWRITEBYTECODE": "1"}
            # Two at a time: this machine has two cores, and counts do not depend on load.
            with ThreadPoolExecutor(max_workers=2) as pool:
                first_call_unbuilt = pool.submit(count, valgrind, 6, unbuilt_env, workdir, unbuilt)
                counts = dict(zip(range(8), pool.map(lambda stage: count(valgrind, stage, env, workdir), range(8)), strict=True))
                without_bytecode = first_call_unbuilt.result() - counts[6]
    steps = [
        {"label": label, "stage": stage, "instructions": counts[stage] - (counts[base] if base is not None else 0), "paid_by": paid_by}
        for label, stage, base, paid_by in STEPS
    ]
    sdk_signer = counts[SDK_SIGNER_STAGE] - counts[4]
    results: dict[str, Any] = {
        "measured": time.strftime("%Y-%m-%d"),
        "stage_instructions": counts,
        "steps": steps,
        "without_bytecode_extra_instructions": without_bytecode,
        "sdk_signer_instructions": sdk_signer,
    }
    text = table(steps, without_bytecode, sdk_signer, results["measured"])
    print(text)
    if not args.no_write:
        RESULTS.write_text(json.dumps(results, indent=2) + "\n")
        update_readme(text, "cold-path")
        print(f"\nwrote {RESULTS.relative_to(REPO)} and the table in README.md")
    return 0


if __name__ == "__main__":
    sys.exit(main())
