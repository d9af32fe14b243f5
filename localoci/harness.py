"""Runs a function the way OCI Functions does: the real fdk server on a Unix socket, called
with `POST /call` and the platform's headers. Used by the tests, `make run` and `make bench`."""

from __future__ import annotations

import http.client
import json
import os
import shutil
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Literal

from .identity import FUNCTION_ID

REPO = Path(__file__).resolve().parent.parent
Delivery = Literal["direct", "events", "notifications", "api-gateway"]
HOST_ENV_KEPT = ("PATH", "HOME", "LANG", "LC_ALL", "TZ", "TMPDIR")
PLATFORM_ENV = {
    "FN_APP_ID": "ocid1.fnapp.oc1.iad.aaaaaaaalocalapp000000000000000000000000000000000000000001",
    "FN_FN_ID": FUNCTION_ID,
    "FN_APP_NAME": "backups",
    "FN_FN_NAME": "volume-backup",
    "FN_MEMORY": "128",
    "FN_TYPE": "sync",
}


class _UnixConnection(http.client.HTTPConnection):
    def __init__(self, path: str, timeout: float) -> None:
        super().__init__("localhost", timeout=timeout)
        self._path = path

    def connect(self) -> None:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(self.timeout)
        sock.connect(self._path)
        self.sock = sock


@dataclass
class CallResult:
    status: int
    headers: dict[str, str]
    body: bytes
    elapsed: float

    @property
    def json(self) -> Any:
        return json.loads(self.body)

    @property
    def http_status(self) -> int:
        """What an API Gateway client would see (`Fn-Http-Status`), else the wire status."""
        return int(self.headers.get("fn-http-status", self.status))


@dataclass
class Call:
    body: bytes
    delivery: Delivery = "direct"
    message_id: str | None = None
    method: str = "POST"
    request_url: str = "/backups/v1/backup"
    # The caller's own headers: through API Gateway they arrive as Fn-Http-H-<Name>, otherwise as sent.
    client_headers: Mapping[str, str] = field(default_factory=dict)
    call_id: str = field(default_factory=lambda: uuid.uuid4().hex.upper())
    deadline_seconds: float = 30.0

    def headers(self) -> dict[str, str]:
        deadline = datetime.now(UTC) + timedelta(seconds=self.deadline_seconds)
        headers = {
            "Fn-Call-Id": self.call_id,
            "Fn-Deadline": deadline.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "Content-Type": "application/json",
        }
        if self.delivery == "notifications":
            headers["X-OCI-NS-MessageId"] = self.message_id or uuid.uuid4().hex
        if self.delivery == "api-gateway":
            headers.update(
                {
                    "Fn-Intent": "httprequest",
                    "Fn-Http-Method": self.method,
                    "Fn-Http-Request-Url": self.request_url,
                    "Fn-Http-H-Content-Type": "application/json",
                    "Fn-Http-H-Host": "abcdefghijklmnop.apigateway.us-ashburn-1.oci.customer-oci.com",
                }
            )
            headers.update({f"Fn-Http-H-{name}": value for name, value in self.client_headers.items()})
        else:
            headers.update(self.client_headers)  # without API Gateway, a caller's headers reach the function as they are
        return headers


def copy_function(target: Path) -> Path:
    """func.py and the package, without their bytecode: what an image built with no compile step holds in /function."""
    target.mkdir(parents=True)
    shutil.copy2(REPO / "func.py", target / "func.py")
    shutil.copytree(REPO / "backup_fn", target / "backup_fn", ignore=shutil.ignore_patterns("__pycache__"))
    return target


def fdk_command(func_path: Path, entrypoint: str = "handler") -> list[str]:
    fdk = shutil.which("fdk", path=str(Path(sys.executable).parent)) or "fdk"
    return [fdk, str(func_path), entrypoint]


class FdkServer:
    """One function container: `FN_FORMAT=http-stream FN_LISTENER=unix:<sock> fdk <func.py> handler`."""

    def __init__(self, func_path: Path, workdir: Path, env: Mapping[str, str] | None = None, name: str = "fn") -> None:
        self.func_path = func_path.resolve()
        self.workdir = workdir.resolve()
        self.socket_path = self.workdir / f"{name}.sock"
        self.log_path = self.workdir / f"{name}.log"
        self.env = dict(env or {})
        self.process: subprocess.Popen[bytes] | None = None
        self.started_at = 0.0

    def start(self, timeout: float = 20.0) -> FdkServer:
        self.workdir.mkdir(parents=True, exist_ok=True)
        # fdk binds phony<name> and links <name> to it; a previous run's pair would look like a listener.
        for stale in (self.socket_path, self.socket_path.with_name(f"phony{self.socket_path.name}")):
            stale.unlink(missing_ok=True)
        # A container's environment as the platform makes it: no proxies or CA bundles from this machine.
        env = {key: value for key, value in os.environ.items() if key in HOST_ENV_KEPT}
        env.update(PLATFORM_ENV)
        env.update(self.env)
        env.update({"FN_FORMAT": "http-stream", "FN_LISTENER": f"unix:{self.socket_path}"})
        self.started_at = time.perf_counter()
        log = self.log_path.open("ab")
        self.process = subprocess.Popen(fdk_command(self.func_path), env=env, cwd=self.workdir, stdout=log, stderr=log)
        log.close()
        end = time.monotonic() + timeout
        while not self.socket_path.exists():
            if self.process.poll() is not None:
                raise RuntimeError(f"fdk exited with {self.process.returncode}: {self.log_text()[-2000:]}")
            if time.monotonic() > end:
                raise TimeoutError(f"fdk did not listen on {self.socket_path} within {timeout} s")
            time.sleep(0.002)
        return self

    def call(self, call: Call, timeout: float = 60.0) -> CallResult:
        connection = _UnixConnection(str(self.socket_path), timeout)
        started = time.perf_counter()
        try:
            connection.request("POST", "/call", body=call.body, headers=call.headers())
            response = connection.getresponse()
            body = response.read()
            headers = {name.lower(): value for name, value in response.getheaders()}
            return CallResult(response.status, headers, body, time.perf_counter() - started)
        finally:
            connection.close()

    def log_text(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def log_records(self) -> list[dict[str, Any]]:
        records = []
        for line in self.log_text().splitlines():
            if line.startswith("{"):
                try:
                    records.append(json.loads(line))
                except ValueError:
                    continue
        return records

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def __enter__(self) -> FdkServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
