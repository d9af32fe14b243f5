"""Shared fixtures: a local resource-principal identity, the Core Services emulator, and the
function served by the real fdk on a Unix socket (one process per test that asks for it)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from localoci.emulator import CoreEmulator
from localoci.harness import REPO, FdkServer
from localoci.identity import LocalIdentity, create_identity
from localoci.tags import function_config
from tests.helpers import SEED


@pytest.fixture
def identity(tmp_path: Path) -> LocalIdentity:
    return create_identity(tmp_path / "identity")


@pytest.fixture
def emulator(identity: LocalIdentity) -> Iterator[CoreEmulator]:
    with CoreEmulator(SEED, identity.issuer_public_key_pem, creating_after=0.2, available_after=0.6) as running:
        yield running


FunctionFactory = Callable[..., FdkServer]


@pytest.fixture
def start_function(tmp_path: Path, identity: LocalIdentity, emulator: CoreEmulator) -> Iterator[FunctionFactory]:
    """Starts the function with the identity and emulator of the test, plus extra config."""
    servers: list[FdkServer] = []

    def start(name: str = "fn", **config: str) -> FdkServer:
        endpoints = {name: emulator.url for name in ("OCI_CORE_ENDPOINT", "OCI_NOTIFICATIONS_ENDPOINT", "OCI_TELEMETRY_ENDPOINT")}
        env = {**identity.env(), **endpoints, **function_config(emulator.url), **config}
        server = FdkServer(REPO / "func.py", tmp_path / "fn", env, name=name).start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()


@pytest.fixture
def function(start_function: FunctionFactory) -> FdkServer:
    return start_function()
