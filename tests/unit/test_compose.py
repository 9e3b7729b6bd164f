"""docker-compose.yml cannot be run here (no Docker engine), so it is checked by reading it."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

from shared.host.settings import DEFAULT_PORTS

ROOT = Path(__file__).resolve().parents[2]


def _compose() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    return loaded


def test_every_service_runs_its_own_app_on_the_launchers_port() -> None:
    services = _compose()["services"]
    for name, port in DEFAULT_PORTS.items():
        command = " ".join(services[name]["command"])
        assert f"services.{name}.main:create_app" in command
        assert f"--port {port}" in command
        assert f"{port}:{port}" in services[name]["ports"]
        assert (ROOT / "services" / name / "main.py").exists()


def test_services_get_the_same_variables_as_make_run() -> None:
    services = _compose()["services"]
    for name in DEFAULT_PORTS:
        env = services[name]["environment"]
        assert set(env) >= {"NATS_URL", "DATABASE_URL"}
        assert env["NATS_URL"].startswith("nats://nats:")
        assert re.match(r"postgresql://\w+:\w+@postgres:5432/motcua$", env["DATABASE_URL"])
        assert set(services[name]["depends_on"]) == {"nats", "postgres"}


def test_nats_keeps_jetstream_on_disk_and_fsyncs() -> None:
    nats = _compose()["services"]["nats"]
    assert any("nats.conf" in v for v in nats["volumes"])
    conf = (ROOT / "deploy" / "nats.conf").read_text()
    assert "jetstream" in conf and "store_dir" in conf and "sync_interval: always" in conf


def test_dockerfile_installs_the_pinned_requirements() -> None:
    dockerfile = (ROOT / "deploy" / "Dockerfile").read_text()
    assert "requirements.txt" in dockerfile
    assert _compose()["services"]["intake"]["build"]["dockerfile"] == "deploy/Dockerfile"
