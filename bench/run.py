"""`make bench`: cold start, warm latency and memory of the function against a bare fdk function.

Every function runs under the real fdk server on a Unix socket and is called the way the platform
calls; rounds rotate their order so machine drift hits all of them. A cold start varies far more
from one process to the next than a warm call does, so it gets extra rounds of its own (spawn,
one call, stop). Figures go to bench/results.json and to the table in README.md. A benchmark,
not a test: nothing here fails on a number."""

from __future__ import annotations

import argparse
import contextlib
import json
import platform
import re
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from bench import alarm
from localoci.harness import REPO, Call, FdkServer
from localoci.identity import create_identity
from localoci.tags import function_config

RESULTS = REPO / "bench" / "results.json"
README = REPO / "README.md"
SEED = REPO / "localoci" / "seed.json"
VOLUME = "ocid1.volume.oc1.iad.abuwcljrappdata000000000000000000000000000000000000000001"
BODY = json.dumps({"volumeId": VOLUME, "type": "INCREMENTAL", "displayName": "bench"}).encode()
# A backup-completed event for a backup this function made: GetVolumeBackup, a copy, the retention list.
FINISHED_EVENT = (REPO / "events" / "event-createvolumebackup-end.json").read_bytes()
TOPIC = json.loads(SEED.read_text())["topics"][0]["id"]
GOALS = {"cold_ratio": 5.0, "warm_p50_extra_ms": 2.5, "peak_rss_mb": 64.0, "rss_growth_mb": 2.0}


@contextlib.contextmanager
def emulator_process(issuer_key: Path, seed: Path = SEED) -> Iterator[str]:
    """The emulator in a process of its own, as OCI is a service of its own: in this process it
    would share the interpreter lock with the client timing the calls."""
    command = [sys.executable, "-m", "localoci.emulator", "--seed", str(seed), "--issuer-key", str(issuer_key)]
    process = subprocess.Popen([*command, "--creating-after", "0", "--available-after", "0"], cwd=REPO, stdout=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None
        found = re.search(r" on (http://\S+)", process.stdout.readline())
        if not found:
            raise RuntimeError(f"the emulator did not start (exit code {process.poll()})")
        yield found.group(1)
    finally:
        process.terminate()
        process.wait(timeout=10)


@dataclass
class Round:
    cold_start_ms: float
    warm_p50_ms: float
    warm_p99_ms: float
    peak_rss_mb: float
    rss_growth_mb: float


def _status_kb(pid: int, field: str) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return float(line.split()[1])
    raise KeyError(field)


def first_answer(server: FdkServer, body: bytes) -> float:
    """Milliseconds from the process's spawn to its first answer, which must be a success."""
    first = server.call(Call(body=body))
    cold = time.perf_counter() - server.started_at
    if first.status != 200 or b'"code"' in first.body:
        raise RuntimeError(f"{server.func_path.name} answered {first.status}: {first.body[:300]!r}")
    return cold * 1000


def measure(func: Path, workdir: Path, env: dict[str, str], warm_calls: int, leak_calls: int, body: bytes = BODY, name: str = "") -> Round:
    server = FdkServer(func, workdir, env, name=name or func.stem)
    server.start()
    try:
        cold = first_answer(server, body)
        latencies = [server.call(Call(body=body)).elapsed for _ in range(warm_calls)]
        assert server.process is not None
        pid = server.process.pid
        peak = _status_kb(pid, "VmHWM")
        before = _status_kb(pid, "VmRSS")
        for _ in range(leak_calls):
            server.call(Call(body=body))
        after = _status_kb(pid, "VmRSS")
    finally:
        server.stop()
    latencies.sort()
    return Round(
        cold_start_ms=cold,
        warm_p50_ms=statistics.median(latencies) * 1000,
        warm_p99_ms=latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))] * 1000,
        peak_rss_mb=peak / 1024,
        rss_growth_mb=(after - before) / 1024,
    )


def cold_start(func: Path, workdir: Path, env: dict[str, str], body: bytes, name: str) -> float:
    server = FdkServer(func, workdir, env, name=name)
    server.start()
    try:
        return first_answer(server, body)
    finally:
        server.stop()


def cold_samples(rounds: list[Round], cold_starts: list[float]) -> list[float]:
    """Every cold start of one function: the full rounds' and the cold-only rounds'."""
    return [r.cold_start_ms for r in rounds] + cold_starts


def summarise(rounds: list[Round], cold_starts: list[float]) -> dict[str, float]:
    summary = {key: round(statistics.median(getattr(r, key) for r in rounds), 2) for key in asdict(rounds[0])}
    summary["cold_start_ms"] = round(statistics.median(cold_samples(rounds, cold_starts)), 2)
    return summary


def rotated(names: tuple[str, ...], number: int) -> tuple[str, ...]:
    """Round `number`'s order: each round starts one function later, so drift hits them all alike."""
    shift = number % len(names)
    return names[shift:] + names[:shift]


def spread(ours: list[float], floor: list[float]) -> list[float]:
    """The middle half of the cold-start ratios, each against the floor measured beside it."""
    quartiles = statistics.quantiles([o / f for o, f in zip(ours, floor, strict=True)], n=4)
    return [round(quartiles[0], 2), round(quartiles[2], 2)]


def ratios(ours: dict[str, float], floor: dict[str, float]) -> dict[str, float]:
    return {key: round(ours[key] / floor[key], 2) for key in ("cold_start_ms", "warm_p50_ms", "warm_p99_ms", "peak_rss_mb") if floor[key]}


def goals(ours: dict[str, float], floor: dict[str, float]) -> dict[str, bool]:
    return {
        f"cold start <= {GOALS['cold_ratio']}x floor": ours["cold_start_ms"] <= GOALS["cold_ratio"] * floor["cold_start_ms"],
        f"warm p50 <= floor + {GOALS['warm_p50_extra_ms']} ms": ours["warm_p50_ms"] <= floor["warm_p50_ms"] + GOALS["warm_p50_extra_ms"],
        f"peak RSS <= {GOALS['peak_rss_mb']} MB": ours["peak_rss_mb"] <= GOALS["peak_rss_mb"],
        f"RSS growth over the leak calls <= {GOALS['rss_growth_mb']} MB": ours["rss_growth_mb"] <= GOALS["rss_growth_mb"],
    }


def table(results: dict[str, Any]) -> str:
    floor, ours, generated = results["floor"], results["function"], results["generated_clients"]
    ratio, generated_ratio = results["ratio"], results["generated_clients_ratio"]
    libraries = results["libraries"]
    rows = [
        ("cold start (spawn to first answer)", "cold_start_ms", "ms"),
        ("warm latency p50", "warm_p50_ms", "ms"),
        ("warm latency p99", "warm_p99_ms", "ms"),
        ("peak RSS (VmHWM)", "peak_rss_mb", "MB"),
        (f"RSS growth over {results['config']['leak_calls']} more calls", "rss_growth_mb", "MB"),
    ]

    def times(ratios: dict[str, float], key: str) -> str:
        return f"{ratios[key]:.2f}x" if key in ratios else "-"

    lines = [
        "| figure | bare fdk (floor) | this function | ratio | sample-style `oci.core` function | ratio |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for label, key, unit in rows:
        lines.append(
            f"| {label} | {floor[key]:.2f} {unit} | {ours[key]:.2f} {unit} | {times(ratio, key)} "
            f"| {generated[key]:.2f} {unit} | {times(generated_ratio, key)} |"
        )
    met = ", ".join(f"{name}: {'met' if ok else 'MISSED'}" for name, ok in results["goals"].items())
    config = results["config"]
    low, high = results["cold_ratio_middle_half"]
    lines.append("")
    lines.append(
        f"Cold start, each round's ratio to the floor measured beside it: middle half {low:.2f}x to {high:.2f}x. "
        f"The libraries alone (pydantic, the SDK's `SecurityTokenSigner` over the platform's token and key loaded as the function "
        f"loads them, the same two calls, no code of ours): "
        f"{libraries['cold_start_ms']:.2f} ms, {results['libraries_ratio']['cold_start_ms']:.2f}x the floor, "
        f"{libraries['peak_rss_mb']:.2f} MB; our own code adds {ours['cold_start_ms'] - libraries['cold_start_ms']:+.2f} ms "
        f"and {ours['peak_rss_mb'] - libraries['peak_rss_mb']:+.2f} MB to them."
    )
    lines.append("")
    lines.append("| this function, warm | p50 | p99 | peak RSS |")
    lines.append("|---|---:|---:|---:|")
    for label, key in (
        ("backup request, alerting off", "function"),
        ("backup request, `FAILURE_TOPIC_ID` and `METRICS_NAMESPACE` set (one PostMetricData a call)", "alerting"),
        ("backup-completed event: GetVolumeBackup, a copy to one region, retention's list (`KEEP_LAST=2`)", "lifecycle"),
    ):
        row = results[key]
        lines.append(f"| {label} | {row['warm_p50_ms']:.2f} ms | {row['warm_p99_ms']:.2f} ms | {row['peak_rss_mb']:.2f} MB |")
    lines += ["", alarm.line(results["alarm"]), ""]
    lines.append(
        f"Medians of {config['rounds']} rounds (the six rotate their order each round), {config['warm_calls']} warm calls each; "
        f"cold starts over those and {config['cold_rounds']} more rounds of cold starts alone; "
        f"measured {results['measured']} on {results['machine']}. Goals for this function: {met}."
    )
    return "\n".join(lines)


def update_readme(text: str, section: str = "bench") -> None:
    """Replaces what README.md holds between `<!-- {section}:start -->` and `<!-- {section}:end -->`."""
    start, end = f"<!-- {section}:start -->", f"<!-- {section}:end -->"
    readme = README.read_text()
    if start in readme and end in readme:
        head, rest = readme.split(start, 1)
        README.write_text(f"{head}{start}\n{text}\n{end}{rest.split(end, 1)[1]}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=9)
    parser.add_argument("--warm-calls", type=int, default=300)
    parser.add_argument("--leak-calls", type=int, default=1500)
    parser.add_argument("--cold-rounds", type=int, default=21, help="extra rounds of cold starts alone")
    parser.add_argument("--no-write", action="store_true", help="print only; leave results.json and README alone")
    args = parser.parse_args(argv)

    names = ("floor", "function", "libraries", "generated_clients", "alerting", "lifecycle")
    cold_names = ("floor", "function", "libraries", "generated_clients")
    funcs = {
        "floor": REPO / "bench" / "floor_func.py",
        "function": REPO / "func.py",
        "libraries": REPO / "bench" / "libraries_func.py",
        "generated_clients": REPO / "bench" / "sample_style_func.py",
        "alerting": REPO / "func.py",
        "lifecycle": REPO / "func.py",
    }
    bodies = {name: FINISHED_EVENT if name == "lifecycle" else BODY for name in names}
    rounds: dict[str, list[Round]] = {name: [] for name in names}
    cold_starts: dict[str, list[float]] = {name: [] for name in names}
    with tempfile.TemporaryDirectory(prefix="backup-fn-bench-") as tmp:
        workdir = Path(tmp)
        identity = create_identity(workdir / "identity")
        issuer_key = workdir / "issuer.pem"
        issuer_key.write_bytes(identity.issuer_public_key_pem)
        with emulator_process(issuer_key) as url:
            # The function as the stack deploys it: its mark on (each backup tagged after its create).
            env = {**identity.env(), "OCI_CORE_ENDPOINT": url, **function_config(url)}
            endpoints = {"OCI_NOTIFICATIONS_ENDPOINT": url, "OCI_TELEMETRY_ENDPOINT": url}
            envs = {name: {} if name == "floor" else env for name in names}
            envs["alerting"] = {**env, **endpoints, "FAILURE_TOPIC_ID": TOPIC, "METRICS_NAMESPACE": "volume_backup"}
            envs["lifecycle"] = {**env, "COPY_TO_REGIONS": "us-phoenix-1", "KEEP_LAST": "2"}
            for name in names:  # unmeasured: leaves every function's bytecode cached, as the SDK's already is
                measure(funcs[name], workdir, envs[name], 1, 0, bodies[name], name)
            for number in range(args.rounds):
                for name in rotated(names, number):
                    result = measure(funcs[name], workdir, envs[name], args.warm_calls, args.leak_calls, bodies[name], name)
                    rounds[name].append(result)
                    print(
                        f"round {number + 1} {name:<17} cold {result.cold_start_ms:7.1f} ms  p50 {result.warm_p50_ms:6.2f} ms  "
                        f"p99 {result.warm_p99_ms:6.2f} ms  peak {result.peak_rss_mb:5.1f} MB  growth {result.rss_growth_mb:+5.2f} MB",
                        flush=True,
                    )
            for number in range(args.cold_rounds):
                for name in rotated(cold_names, number):
                    cold_starts[name].append(cold_start(funcs[name], workdir, envs[name], bodies[name], name))
                print(
                    f"cold round {number + 1}  " + "  ".join(f"{name} {cold_starts[name][-1]:6.1f} ms" for name in cold_names),
                    flush=True,
                )
        fanout = alarm.measure(emulator_process(issuer_key, alarm.write_seed(workdir, SEED)), identity.env(), workdir)
    floor, ours, libraries, generated, alerting, lifecycle = (summarise(rounds[name], cold_starts[name]) for name in names)

    results = {
        "measured": time.strftime("%Y-%m-%d"),
        "machine": f"{platform.machine()}, Python {platform.python_version()}",
        "config": {"rounds": args.rounds, "cold_rounds": args.cold_rounds, "warm_calls": args.warm_calls, "leak_calls": args.leak_calls},
        "floor": floor,
        "function": ours,
        "generated_clients": generated,
        "libraries": libraries,
        "ratio": ratios(ours, floor),
        "cold_ratio_middle_half": spread(
            cold_samples(rounds["function"], cold_starts["function"]), cold_samples(rounds["floor"], cold_starts["floor"])
        ),
        "libraries_ratio": ratios(libraries, floor),
        "generated_clients_ratio": ratios(generated, floor),
        "alerting": alerting,
        "lifecycle": lifecycle,
        "alarm": fanout,
        "goals": goals(ours, floor),
        "rounds": {name: [asdict(r) for r in rounds[name]] for name in names},
        "cold_rounds": cold_starts,
    }
    text = table(results)
    print("\n" + text)
    if not args.no_write:
        RESULTS.write_text(json.dumps(results, indent=2) + "\n")
        update_readme(text)
        print(f"\nwrote {RESULTS.relative_to(REPO)} and the table in README.md")
    return 0


if __name__ == "__main__":
    sys.exit(main())
