"""The image's bytecode step. OCI Functions lets a function write only to /tmp, so the package's
bytecode must be in the image: the Dockerfile's compileall line, run as written on a copy of the
function, must leave every module the first call imports loadable from bytecode that the
function cannot write itself."""

from __future__ import annotations

import json
import re
import shlex
import subprocess
import sys
from pathlib import Path

import yaml

from localoci.emulator import CoreEmulator
from localoci.harness import REPO, Call, FdkServer, copy_function
from localoci.identity import LocalIdentity

COMPILE_STEP = re.compile(r"^RUN (python3 -m compileall [^&\n]+?)\s*&&", re.M)
# What `python -v` says for a module read from bytecode, and for one compiled from its source.
FROM_BYTECODE = re.compile(r"^# (\S+\.pyc) matches (\S+\.py)$", re.M)
FROM_SOURCE = re.compile(r"^# code object from '?(\S+?\.py)'?$", re.M)


def _dockerfile_compile_step(function_dir: Path) -> list[str]:
    found = COMPILE_STEP.search((REPO / "Dockerfile").read_text())
    assert found, "the Dockerfile has no compileall step"
    words = shlex.split(found.group(1))
    assert words[:3] == ["python3", "-m", "compileall"]
    return [sys.executable, *words[1:3], *(word.replace("/function", str(function_dir)) for word in words[3:])]


def _first_call_imports(function_dir: Path, workdir: Path, identity: LocalIdentity, emulator: CoreEmulator) -> tuple[set[str], set[str]]:
    """The package's modules the first call read from bytecode and those it compiled, with /function unwritable."""
    env = {**identity.env(), "OCI_CORE_ENDPOINT": emulator.url, "PYTHONDONTWRITEBYTECODE": "1", "PYTHONVERBOSE": "1"}
    with FdkServer(function_dir / "func.py", workdir, env, name=function_dir.name) as server:
        reply = server.call(Call(body=(REPO / "events" / "request-volume.json").read_bytes()))
        assert reply.status == 200, reply.body
        log = server.log_text()
    ours = str(function_dir)
    from_bytecode = {source for _, source in FROM_BYTECODE.findall(log) if source.startswith(ours)}
    from_source = {source for source in FROM_SOURCE.findall(log) if source.startswith(ours)}
    return from_bytecode, from_source


def test_the_dockerfile_compiles_what_the_first_call_imports(tmp_path: Path, identity: LocalIdentity, emulator: CoreEmulator) -> None:
    built = copy_function(tmp_path / "image" / "function")
    subprocess.run(_dockerfile_compile_step(built), check=True)

    from_bytecode, from_source = _first_call_imports(built, tmp_path / "run", identity, emulator)

    assert from_source == set()
    assert str(built / "func.py") in from_bytecode
    first_call = ("handler.py", "models.py", "runner.py", "usecases/backup.py", "clients/base.py")
    assert {str(built / "backup_fn" / name) for name in first_call} <= from_bytecode


def test_without_the_step_every_cold_start_compiles_the_package(tmp_path: Path, identity: LocalIdentity, emulator: CoreEmulator) -> None:
    bare = copy_function(tmp_path / "bare" / "function")

    from_bytecode, from_source = _first_call_imports(bare, tmp_path / "run", identity, emulator)

    assert from_bytecode == set()
    package = bare / "backup_fn"
    assert {str(bare / "func.py"), str(package / "handler.py"), str(package / "usecases" / "backup.py")} <= from_source


def test_the_dockerfile_builds_what_func_yaml_names() -> None:
    """fn builds with the Dockerfile whenever there is one, so it must hold func.yaml's images and entry point."""
    func = yaml.safe_load((REPO / "func.yaml").read_text())
    dockerfile = (REPO / "Dockerfile").read_text()
    stages = re.findall(r"^FROM (\S+)", dockerfile, re.M)
    entrypoint = re.search(r"^ENTRYPOINT (\[.*\])$", dockerfile, re.M)

    assert stages == [func["build_image"], func["run_image"]]
    assert entrypoint and json.loads(entrypoint.group(1)) == func["entrypoint"].split()
