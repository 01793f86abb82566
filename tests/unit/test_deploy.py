"""deploy/: what can be checked without a container engine. Every `dlrhub` command the Dockerfile, compose file and
systemd units run exists in the CLI, every `DLRHUB_*` name they use is a setting, the image's health check works,
and the units pass `systemd-analyze verify`."""

from __future__ import annotations

import http.server
import json
import re
import shlex
import shutil
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import typer
import yaml

from dlrhub import cli, settings

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
DOCKERFILE = DEPLOY / "Dockerfile"
COMPOSE = DEPLOY / "compose.yaml"
UNITS = sorted((DEPLOY / "systemd").glob("*.service"))
#: Where the units expect the `dlrhub` script (a virtualenv at /opt/dlrhub).
UNIT_DLRHUB = "/opt/dlrhub/bin/dlrhub"
#: Every file that names settings: the deployment files and the how-to that explains them.
NAMING_SETTINGS = [
    DOCKERFILE,
    COMPOSE,
    DEPLOY / "dlrhub.env.example",
    *UNITS,
    ROOT / "docs" / "howto" / "deploy.md",
]


def _instructions(text: str) -> list[tuple[str, str]]:
    """A Dockerfile's instructions as (keyword, rest), continuation lines joined, comments dropped."""
    joined = re.sub(
        r"\\\n", " ", "\n".join(ln for ln in text.splitlines() if not ln.lstrip().startswith("#"))
    )
    found = []
    for line in joined.splitlines():
        if line.strip():
            keyword, _, rest = line.strip().partition(" ")
            found.append((keyword.upper(), rest.strip()))
    return found


def _stages() -> list[list[tuple[str, str]]]:
    stages: list[list[tuple[str, str]]] = []
    for keyword, rest in _instructions(DOCKERFILE.read_text(encoding="utf-8")):
        if keyword == "FROM":
            stages.append([])
        if stages:
            stages[-1].append((keyword, rest))
    return stages


def _final(keyword: str) -> str:
    values = [rest for kw, rest in _stages()[-1] if kw == keyword]
    assert values, f"the runtime stage has no {keyword}"
    return values[-1]


def _unit_lines(unit: Path) -> list[tuple[str, str, str]]:
    """(section, key, value) for every assignment; systemd allows a key more than once, so no configparser."""
    section, lines = "", []
    for raw in unit.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("["):
            section = line.strip("[]")
            continue
        key, _, value = line.partition("=")
        lines.append((section, key.strip(), value.strip()))
    return lines


def _compose() -> dict[str, dict[str, object]]:
    services: dict[str, dict[str, object]] = yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))["services"]
    return services


def _dlrhub_services() -> dict[str, dict[str, object]]:
    return {name: svc for name, svc in _compose().items() if str(svc.get("image", "")).startswith("dlrhub")}


def _command_lines() -> list[tuple[str, list[str]]]:
    """Every dlrhub command line the deployment files run, as (where, arguments after `dlrhub`)."""
    found: list[tuple[str, list[str]]] = []
    assert json.loads(_final("ENTRYPOINT")) == ["dlrhub"]
    found.append(("Dockerfile CMD", json.loads(_final("CMD"))))
    for name, svc in _dlrhub_services().items():
        command = svc["command"]
        assert isinstance(command, list)
        found.append((f"compose.yaml {name}", [str(a) for a in command]))
    for unit in UNITS:
        for _, key, value in _unit_lines(unit):
            if key.startswith("ExecStart"):
                argv = shlex.split(value)
                assert argv[0] == UNIT_DLRHUB, f"{unit.name} {key} runs {argv[0]}"
                found.append((f"{unit.name} {key}", argv[1:]))
    return found


def _resolves(argv: list[str]) -> bool:
    """Whether `dlrhub ARGV` names a registered command (through its groups) with options it declares."""
    # Duck-typed: typer carries its own copy of click, so `click.Group` is not the class to test against.
    command: Any = typer.main.get_command(cli.app)
    words = list(argv)
    while hasattr(command, "commands"):
        if not words or words[0] not in command.commands:
            return False
        command = command.commands[words.pop(0)]
    declared = {opt for param in command.params for opt in getattr(param, "opts", [])}
    return all(word in declared for word in words if word.startswith("-"))


def test_the_deployment_files_run_dlrhub_commands_that_exist():
    lines = _command_lines()
    assert {tuple(argv) for _, argv in lines} >= {("serve",), ("api",), ("worker",), ("migrate",)}
    for where, argv in lines:
        assert _resolves(argv), f"{where}: `dlrhub {' '.join(argv)}` is not a command of the CLI"


def test_the_command_check_can_tell_a_missing_command():
    assert _resolves(["accounts", "list", "--json"])
    assert not _resolves(["serve-forever"])
    assert not _resolves(["accounts"])
    assert not _resolves(["migrate", "--dry-run"])


@pytest.mark.parametrize("path", NAMING_SETTINGS, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_dlrhub_name_used_is_a_setting(path: Path):
    known = {settings.ENV_PREFIX + name.upper() for name in settings.field_names()}
    known.add(settings.ENV_PREFIX + "CONFIG")  # names the TOML file (settings.load)
    used = set(re.findall(r"\bDLRHUB_[A-Z0-9_]+\b", path.read_text(encoding="utf-8")))
    assert used <= known, sorted(used - known)


def test_the_image_is_multi_stage_and_runs_unprivileged():
    stages = _stages()
    assert len(stages) >= 2
    builder = stages[0][0][1].split()[-1]
    runtime = stages[-1]
    assert any(f"from={builder}" in rest for kw, rest in runtime if kw in ("COPY", "RUN"))
    assert not any("build" in rest.split() for kw, rest in runtime if kw == "RUN"), "the runtime stage builds"
    user = _final("USER").split(":")[0]
    assert user not in ("", "root", "0")


def test_the_compose_file_runs_postgres_one_api_two_workers_a_migration_and_optional_redis():
    services = _compose()
    dlrhub = _dlrhub_services()
    assert "postgres" in str(services["postgres"]["image"])
    by_command = {str(svc["command"][0]): name for name, svc in dlrhub.items()}  # type: ignore[index]
    assert set(by_command) == {"api", "worker", "migrate"}
    worker = dlrhub[by_command["worker"]]
    assert worker["deploy"] == {"replicas": 2}
    assert dlrhub[by_command["api"]].get("deploy", {"replicas": 1}) == {"replicas": 1}
    assert dlrhub[by_command["migrate"]]["restart"] == "no"
    for name in (by_command["api"], by_command["worker"]):
        depends = dlrhub[name]["depends_on"]
        assert isinstance(depends, dict)
        assert depends[by_command["migrate"]] == {"condition": "service_completed_successfully"}
    assert services["redis"]["profiles"] == ["redis"]
    for svc in dlrhub.values():
        env = svc["environment"]
        assert isinstance(env, dict)
        assert str(env["DLRHUB_DATABASE_URL"]).startswith("postgresql://")


@pytest.mark.parametrize("unit", UNITS, ids=lambda p: p.name)
def test_the_units_are_hardened_and_read_the_env_file(unit: Path):
    assigned = {(key, value) for _, key, value in _unit_lines(unit)}
    assert ("EnvironmentFile", "/etc/dlrhub/dlrhub.env") in assigned
    assert ("DynamicUser", "yes") in assigned or any(key == "User" for key, _ in assigned)
    for setting in [
        ("ProtectSystem", "strict"),
        ("NoNewPrivileges", "yes"),
        ("ProtectHome", "yes"),
        ("PrivateTmp", "yes"),
        ("CapabilityBoundingSet", ""),
    ]:
        assert setting in assigned, setting


@pytest.fixture
def health_server() -> Iterator[int]:
    """A stand-in for dlrhub's /healthz on a free loopback port."""

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200 if self.path == "/healthz" else 404)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()


def _healthcheck(port: int) -> int:
    argv = json.loads(_final("HEALTHCHECK").split("CMD", 1)[1])
    assert argv[0] == "python"
    assert "curl" not in " ".join(argv)
    env = {"DLRHUB_PORT": str(port)}
    return subprocess.run([sys.executable, *argv[1:]], env=env, capture_output=True, check=False).returncode


def test_the_image_health_check_asks_healthz(health_server: int):
    assert _healthcheck(health_server) == 0
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        closed = sock.getsockname()[1]
    assert _healthcheck(closed) != 0


SYSTEMD_ANALYZE = shutil.which("systemd-analyze")


def _units_here(tmp_path: Path) -> list[str]:
    """The units, copied with ExecStart pointing at a stub: verify refuses a unit whose program is missing."""
    stub = tmp_path / "dlrhub"
    stub.write_text("#!/bin/sh\n")
    stub.chmod(0o755)
    for unit in UNITS:
        (tmp_path / unit.name).write_text(unit.read_text(encoding="utf-8").replace(UNIT_DLRHUB, str(stub)))
    return [unit.name for unit in UNITS]


@pytest.mark.skipif(SYSTEMD_ANALYZE is None, reason="systemd-analyze is not installed")
def test_systemd_analyze_verifies_the_units(tmp_path: Path):
    names = _units_here(tmp_path)
    result = subprocess.run(
        [str(SYSTEMD_ANALYZE), "verify", *names], cwd=tmp_path, capture_output=True, text=True, check=False
    )
    # verify only warns (status 0) about a value it cannot parse, so any output counts as a failure.
    assert (result.returncode, result.stdout + result.stderr) == (0, "")


@pytest.mark.skipif(SYSTEMD_ANALYZE is None, reason="systemd-analyze is not installed")
def test_systemd_rates_the_units_exposure_low(tmp_path: Path):
    for name in _units_here(tmp_path):
        result = subprocess.run(
            [str(SYSTEMD_ANALYZE), "security", "--offline=true", "--threshold=20", name],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            check=False,
        )
        assert result.returncode == 0, result.stdout[-400:]


def test_the_build_context_holds_what_the_image_copies():
    ignore = (DEPLOY / "Dockerfile.dockerignore").read_text(encoding="utf-8").splitlines()
    kept = {line[1:].rstrip("/") for line in ignore if line.startswith("!")}
    copied = [
        source.rstrip("/")
        for keyword, rest in _instructions(DOCKERFILE.read_text(encoding="utf-8"))
        if keyword == "COPY" and "--from" not in rest
        for source in rest.split()[:-1]
    ]
    assert copied
    assert set(copied) <= kept, sorted(set(copied) - kept)
    assert all((ROOT / source).exists() for source in copied)
