"""The container deployment (Dockerfile, .dockerignore, deploy/compose.yaml, deploy/k8s/) agrees with
the code: the topics the worker uses and their partition counts, its settings (streams/settings.py),
its web port and pages (streams/web/routes.py), and the alert rules of deploy/prometheus/alerts.yml.

Docker and kubectl are not needed: the files are parsed. deploy/k8s/prometheusrule.yaml is
generated from deploy/prometheus/alerts.yml; after changing the alerts, regenerate it with

    .venv/bin/python -m tests.test_deploy_manifests
"""

from __future__ import annotations

import fnmatch
import json
import re
import shlex
import tomllib
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml

from schemas.topics import INPUT_TOPICS, OUTPUT_TOPICS
from streams.reading import SIGNALS_TOPIC
from streams.settings import ENV_VARS, OPTIONS, Settings, values
from streams.web.access import TokenError, tokens_from_file

ROOT = Path(__file__).resolve().parent.parent
DEPLOY = ROOT / "deploy"
DOCKERFILE = ROOT / "Dockerfile"
DOCKERIGNORE = ROOT / ".dockerignore"
COMPOSE = DEPLOY / "compose.yaml"
K8S = DEPLOY / "k8s"
ALERTS = DEPLOY / "prometheus" / "alerts.yml"
PROMETHEUS_CONFIG = DEPLOY / "prometheus" / "prometheus.yml"
PROMETHEUS_RULE = K8S / "prometheusrule.yaml"
DASHBOARD_PROVIDER = DEPLOY / "grafana" / "provisioning" / "dashboards" / "kompensasi.yaml"
DATASOURCE = DEPLOY / "grafana" / "provisioning" / "datasources" / "prometheus.yaml"

WORKERS = ("worker-1", "worker-2")
DATA_DIR = "/var/lib/kompensasi"
UID = 10001
JOB = "kompensasi"  # the Prometheus job alerts.yml and the dashboard select on
DAY_MS = 24 * 3600 * 1000
# Records an audit reads back a year later (the Ombudsman's yearly evaluation).
AUDITED_TOPICS = (
    "compensation.decisions",
    "ombudsman.referrals",
    "claims.decisions",
    "queue.priority-tickets",
    "compensation.at-risk",
)


def web_port_default() -> int:
    (option,) = (o for o in OPTIONS if o.env == "KOMPENSASI_WEB_PORT")
    return int(option.default)


@cache
def faust_topics(partitions: int = 12) -> dict[str, tuple[int, bool]]:
    """The internal topics Faust itself declares for the worker's app with KOMPENSASI_PARTITIONS =
    partitions: name -> (partitions, compacted)."""
    from faust.assignor.leader_assignor import LeaderAssignor

    from streams.commands.policies import load_policies
    from streams.worker.app import create_app

    app = create_app(Settings(policies=load_policies(None), partitions=partitions))
    out = {}
    for table in app.tables.values():
        changelog = table.changelog_topic
        out[changelog.get_topic_name()] = (changelog.partitions, bool(changelog.compacting))
    leader = LeaderAssignor(app)._leader_topic
    out[leader.get_topic_name()] = (leader.partitions, False)
    return out


def registered_pages() -> set[str]:
    """The route patterns of the worker's web app, built as the worker builds it (not started)."""
    from streams.commands.policies import load_policies
    from streams.web.access import Access, Tokens
    from streams.web.audit import AuditLog
    from streams.web.board import Views
    from streams.web.routes import build_app

    app = build_app(Views(load_policies(None)), lambda: {"ready": False}, Access(Tokens([])),
                    AuditLog("127.0.0.1:1", {}, 1.0))  # fmt: skip
    return {r.resource.canonical for r in app.router.routes() if r.resource is not None}


# --- Dockerfile ---------------------------------------------------------------------------------


@cache
def dockerfile() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments), continuation lines joined, comments dropped."""
    lines: list[str] = []
    pending = ""
    for raw in DOCKERFILE.read_text("utf-8").splitlines():
        stripped = raw.strip()
        if not pending and (not stripped or stripped.startswith("#")):
            continue
        if pending and stripped.startswith("#"):
            continue
        if stripped.endswith("\\"):
            pending += stripped[:-1] + " "
            continue
        lines.append(pending + stripped)
        pending = ""
    assert not pending, "Dockerfile ends in a line continuation"
    out = []
    for line in lines:
        instruction, _, args = line.partition(" ")
        out.append((instruction.upper(), args.strip()))
    return out


def stages() -> list[list[tuple[str, str]]]:
    """The instructions of each build stage (ARGs before the first FROM are left out)."""
    result: list[list[tuple[str, str]]] = []
    for instruction, args in dockerfile():
        if instruction == "FROM":
            result.append([])
        if result:
            result[-1].append((instruction, args))
    return result


def dockerfile_args() -> dict[str, str]:
    out = {}
    for instruction, args in dockerfile():
        if instruction == "FROM":
            break
        if instruction == "ARG" and "=" in args:
            name, _, default = args.partition("=")
            out[name] = default
    return out


def image_of(from_args: str) -> str:
    image = from_args.split()[0]
    for name, value in dockerfile_args().items():
        image = image.replace("${" + name + "}", value).replace("$" + name, value)
    return image


def env_pairs(args: str) -> dict[str, str]:
    """ENV in its key=value form (one or several pairs)."""
    pairs = {}
    for token in shlex.split(args):
        assert "=" in token, f"ENV {args!r}: use the KEY=value form"
        key, _, value = token.partition("=")
        pairs[key] = value
    return pairs


def final_stage() -> list[tuple[str, str]]:
    return stages()[-1]


def dockerfile_env() -> dict[str, str]:
    env: dict[str, str] = {}
    for instruction, args in final_stage():
        if instruction == "ENV":
            env.update(env_pairs(args))
    return env


def test_dockerfile_is_multi_stage_from_python_311_slim() -> None:
    all_stages = stages()
    assert len(all_stages) >= 2
    names = {}
    for stage in all_stages:
        from_args = stage[0][1]
        assert image_of(from_args) == "python:3.11-slim", from_args
        match = re.search(r"\bAS\s+(\S+)", from_args, re.IGNORECASE)
        if match:
            names[match.group(1)] = stage
    assert "builder" in names
    copies = [args for instruction, args in final_stage() if instruction == "COPY"]
    assert any(args.startswith("--from=builder") and "/opt/venv" in args for args in copies), copies
    assert not any(instruction == "RUN" and "pip install" in args for instruction, args in final_stage()), (
        "the final stage only copies the venv built in the builder"
    )
    assert "/opt/venv/bin" in dockerfile_env()["PATH"]


def test_dockerfile_builder_installs_the_project() -> None:
    builder = stages()[0]
    copied = " ".join(args for instruction, args in builder if instruction == "COPY")
    project = tomllib.loads((ROOT / "pyproject.toml").read_text("utf-8"))
    top_level = {p.split(".")[0] for p in project["tool"]["setuptools"]["packages"]}
    for needed in ("pyproject.toml", project["project"]["readme"], *sorted(top_level)):
        assert re.search(rf"(^|\s){re.escape(needed)}/?(\s|$)", copied), f"the builder does not copy {needed}"
    runs = " ".join(args for instruction, args in builder if instruction == "RUN")
    assert "python -m venv /opt/venv" in runs
    assert re.search(r"pip (wheel|install)\b", runs)


def test_dockerfile_runs_as_the_non_root_user() -> None:
    users = [args for instruction, args in final_stage() if instruction == "USER"]
    assert users, "the final stage sets no USER: it would run as root"
    user = users[-1].split(":")[0]
    assert user not in {"root", "0"}
    assert user in {"kompensasi", str(UID)}
    runs = " ".join(args for instruction, args in final_stage() if instruction == "RUN")
    assert re.search(rf"useradd\b.*--uid {UID}\b.*\bkompensasi\b", runs), runs
    assert DATA_DIR in runs and "chown" in runs, "the data folder must belong to the user"
    assert ("WORKDIR", "/app") in final_stage()


def test_dockerfile_environment_exposes_and_entrypoint() -> None:
    env = dockerfile_env()
    kompensasi = {k: v for k, v in env.items() if k.startswith("KOMPENSASI_")}
    assert set(kompensasi) <= ENV_VARS, set(kompensasi) - ENV_VARS
    assert kompensasi["KOMPENSASI_WEB_HOST"] == "0.0.0.0"
    assert kompensasi["KOMPENSASI_DATA_DIR"] == DATA_DIR
    values(kompensasi, {})  # every value parses as its option's type
    exposed = [args for instruction, args in final_stage() if instruction == "EXPOSE"]
    assert exposed == [str(web_port_default())]
    (entrypoint,) = [json.loads(args) for instruction, args in final_stage() if instruction == "ENTRYPOINT"]
    (cmd,) = [json.loads(args) for instruction, args in final_stage() if instruction == "CMD"]
    assert entrypoint == ["kompensasi"]
    assert cmd == ["worker"]
    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text("utf-8"))["project"]["scripts"]
    assert "kompensasi" in scripts


def test_dockerfile_healthcheck_gets_ready() -> None:
    (healthcheck,) = [args for instruction, args in final_stage() if instruction == "HEALTHCHECK"]
    command = json.loads(healthcheck[healthcheck.index("CMD") + len("CMD") :].strip())
    assert command[:2] == ["python", "-c"], "slim images have no curl: use python's urllib"
    code = command[2]
    assert "urllib.request" in code
    assert "http://127.0.0.1:" in code
    assert "'/ready'" in code and "/ready" in registered_pages()
    assert f"'{web_port_default()}'" in code
    compile(code, "HEALTHCHECK", "exec")


def test_dockerignore_keeps_the_build_inputs_and_drops_the_rest() -> None:
    patterns = [
        line.strip()
        for line in DOCKERIGNORE.read_text("utf-8").splitlines()
        if line.strip() and not line.startswith("#")
    ]
    for excluded in (".venv", ".git", "tests/artifacts", ".pytest_cache", ".ruff_cache", "**/__pycache__"):
        assert excluded in patterns
    copied = ["pyproject.toml", "README.md", "rules/policy.py", "schemas/topics.py", "streams/web/routes.py"]
    copied += [f"rules/policies/{p.name}" for p in (ROOT / "rules" / "policies").glob("*.toml")]
    for path in copied:
        for pattern in patterns:
            assert not (fnmatch.fnmatch(path, pattern) or path.startswith(pattern.rstrip("/") + "/")), (
                f".dockerignore {pattern!r} drops {path}, which the image needs"
            )


# --- Compose ------------------------------------------------------------------------------------


@cache
def compose() -> dict[str, Any]:
    return yaml.safe_load(COMPOSE.read_text("utf-8"))


def service(name: str) -> dict[str, Any]:
    return compose()["services"][name]


def environment(svc: dict[str, Any]) -> dict[str, str]:
    env = svc.get("environment") or {}
    if isinstance(env, list):
        env = dict(item.split("=", 1) for item in env)
    return {k: str(v) for k, v in env.items()}


def volume_mounts(svc: dict[str, Any]) -> dict[str, str]:
    """container path -> host path (resolved) or volume name, short syntax."""
    out = {}
    for volume in svc.get("volumes", []):
        source, target = volume.split(":")[:2]
        if source.startswith("."):
            source = str((COMPOSE.parent / source).resolve())
        out[target] = source
    return out


@cache
def created_topics() -> dict[str, dict[str, Any]]:
    """What the `topics` service creates: name -> {"partitions": n, "config": {...}}."""
    svc = service("topics")
    assert svc["image"] == service("kafka")["image"]
    command = svc["command"]
    script = "\n".join(command) if isinstance(command, list) else command
    script = script.replace("$$", "$")  # Compose's escape of a literal $
    (function,) = re.findall(r"create\(\)\s*\{(.*?)\}", script, re.DOTALL)
    assert "/opt/kafka/bin/kafka-topics.sh" in function
    assert "--create" in function and "--if-not-exists" in function
    assert "--bootstrap-server kafka:9092" in function
    assert '"$@"' in function
    topics: dict[str, dict[str, Any]] = {}
    for line in script.splitlines():
        words = shlex.split(line)
        if not words or words[0] != "create":
            continue
        options: dict[str, Any] = {"config": {}}
        for flag, value in zip(words[1::2], words[2::2], strict=True):
            if flag == "--config":
                key, _, val = value.partition("=")
                options["config"][key] = val
            else:
                options[flag.removeprefix("--")] = value
        name = options.pop("topic")
        assert name not in topics, f"{name} created twice"
        options["partitions"] = int(options["partitions"])
        topics[name] = options
    return topics


def test_compose_creates_every_topic_the_worker_uses() -> None:
    topics = created_topics()
    wanted = {*INPUT_TOPICS, SIGNALS_TOPIC, *OUTPUT_TOPICS, *faust_topics()}
    assert set(topics) == wanted, set(topics) ^ wanted
    # Auto-creation would give a topic the broker's own partition count.
    assert str(service("kafka")["environment"]["KAFKA_AUTO_CREATE_TOPICS_ENABLE"]).lower() == "false"


def test_compose_topics_are_co_partitioned_with_the_workers() -> None:
    topics = created_topics()
    co_partitioned = {topics[t]["partitions"] for t in (*INPUT_TOPICS, SIGNALS_TOPIC)}
    assert len(co_partitioned) == 1, "inputs and signals need one partition count"
    (partitions,) = co_partitioned
    for name in WORKERS:
        assert int(environment(service(name))["KOMPENSASI_PARTITIONS"]) == partitions
    for topic in OUTPUT_TOPICS:
        assert topics[topic]["partitions"] == partitions
    # The changelog has the table's partitions (KOMPENSASI_PARTITIONS), the leader topic one.
    for topic, (faust_partitions, compacted) in faust_topics(partitions).items():
        assert topics[topic]["partitions"] == faust_partitions, topic
        if compacted:
            assert topics[topic]["config"] == {"cleanup.policy": "compact"}, topic


def test_compose_topic_retention() -> None:
    topics = created_topics()
    retention = {name: int(t["config"].get("retention.ms", -1)) for name, t in topics.items()}
    for topic in INPUT_TOPICS:  # a period is reprocessed from its inputs: keep them as long as the decisions
        assert retention[topic] >= 366 * DAY_MS, topic
    for topic in AUDITED_TOPICS:
        assert retention[topic] >= 366 * DAY_MS, f"{topic} must outlive a yearly evaluation"
    assert retention["ops.office-status"] == 7 * DAY_MS


def test_compose_kafka_is_a_single_kraft_node() -> None:
    env = {k: str(v) for k, v in service("kafka")["environment"].items()}
    assert service("kafka")["image"] == "apache/kafka:3.9.0"
    assert set(env["KAFKA_PROCESS_ROLES"].split(",")) == {"broker", "controller"}
    assert env["KAFKA_CONTROLLER_QUORUM_VOTERS"] == f"{env['KAFKA_NODE_ID']}@kafka:9093"
    assert "PLAINTEXT://kafka:9092" in env["KAFKA_ADVERTISED_LISTENERS"].split(",")
    for key in ("KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR", "KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR"):
        assert env[key] == "1"
    assert "healthcheck" in service("kafka")
    assert service("topics")["depends_on"]["kafka"]["condition"] == "service_healthy"


def test_compose_workers() -> None:
    data_volumes = set()
    for name in WORKERS:
        svc = service(name)
        assert (COMPOSE.parent / svc["build"]["context"]).resolve() == ROOT
        assert (ROOT / svc["build"].get("dockerfile", "Dockerfile")).resolve() == DOCKERFILE
        assert svc["depends_on"]["topics"]["condition"] == "service_completed_successfully"
        env = environment(svc)
        assert set(env) <= ENV_VARS, set(env) - ENV_VARS
        chosen = values({**dockerfile_env(), **env}, {})
        assert chosen["broker"].split(";") == ["kafka://kafka:9092"]
        assert chosen["web_host"] == "0.0.0.0"
        assert chosen["web_port"] == web_port_default()
        assert int(env.get("KOMPENSASI_REPLICATION_FACTOR", "1")) == 1, "one Kafka node"
        ports = [str(p).split(":")[-1] for p in svc["ports"]]
        assert ports == [str(web_port_default())]
        test = " ".join(svc["healthcheck"]["test"])
        assert f"http://127.0.0.1:{web_port_default()}/ready" in test
        mounts = volume_mounts(svc)
        assert chosen["data_dir"] == DATA_DIR
        assert DATA_DIR in mounts and mounts[DATA_DIR] in compose()["volumes"]
        data_volumes.add(mounts[DATA_DIR])
    assert len(data_volumes) == len(WORKERS), "each worker needs its own data volume"


def test_compose_prometheus_and_grafana_mount_the_monitoring_folders() -> None:
    prometheus = service("prometheus")
    mounts = volume_mounts(prometheus)
    assert mounts["/etc/prometheus"] == str(PROMETHEUS_CONFIG.parent)
    assert "--config.file=/etc/prometheus/prometheus.yml" in prometheus["command"]
    rule_files = yaml.safe_load(PROMETHEUS_CONFIG.read_text("utf-8"))["rule_files"]
    assert all((PROMETHEUS_CONFIG.parent / f).is_file() for f in rule_files)

    grafana = service("grafana")
    mounts = volume_mounts(grafana)
    assert mounts["/etc/grafana/provisioning"] == str(DEPLOY / "grafana" / "provisioning")
    (provider,) = yaml.safe_load(DASHBOARD_PROVIDER.read_text("utf-8"))["providers"]
    assert mounts[provider["options"]["path"]] == str(DEPLOY / "grafana" / "dashboards")
    (source,) = yaml.safe_load(DATASOURCE.read_text("utf-8"))["datasources"]
    assert source["url"] == "http://prometheus:9090"
    assert "9090:9090" in prometheus["ports"]


def compose_hosts() -> dict[str, str]:
    """Every name a service answers to on the Compose network -> the service."""
    hosts = {}
    for name, svc in compose()["services"].items():
        hosts[name] = name
        for network in (svc.get("networks") or {}).values():
            for alias in (network or {}).get("aliases", []):
                hosts[alias] = name
    return hosts


def scrape_targets() -> list[str]:
    config = yaml.safe_load(PROMETHEUS_CONFIG.read_text("utf-8"))
    (job,) = [j for j in config["scrape_configs"] if j["job_name"] == JOB]
    return [t for static in job["static_configs"] for t in static["targets"]]


def test_prometheus_scrapes_workers_on_their_web_port() -> None:
    hosts = compose_hosts()
    for target in scrape_targets():
        host, _, port = target.partition(":")
        assert hosts.get(host) in WORKERS, f"prometheus.yml target {target} is no Compose worker"
        assert int(port) == web_port_default()


def test_prometheus_scrapes_every_compose_worker() -> None:
    hosts = compose_hosts()
    assert {hosts.get(t.partition(":")[0]) for t in scrape_targets()} == set(WORKERS)


# --- Kubernetes ---------------------------------------------------------------------------------


@cache
def manifests() -> dict[str, list[dict[str, Any]]]:
    return {
        path.name: [doc for doc in yaml.safe_load_all(path.read_text("utf-8")) if doc]
        for path in sorted(K8S.glob("*.yaml"))
    }


def k8s(kind: str, name: str | None = None) -> dict[str, Any]:
    found = [
        doc
        for docs in manifests().values()
        for doc in docs
        if doc["kind"] == kind and (name is None or doc["metadata"]["name"] == name)
    ]
    assert len(found) == 1, f"{len(found)} {kind} {name or ''}"
    return found[0]


def statefulset() -> dict[str, Any]:
    return k8s("StatefulSet")


def worker_container() -> dict[str, Any]:
    (container,) = statefulset()["spec"]["template"]["spec"]["containers"]
    return container


def pod_labels() -> dict[str, str]:
    return statefulset()["spec"]["template"]["metadata"]["labels"]


def selects_workers(selector: dict[str, str]) -> bool:
    return bool(selector) and selector.items() <= pod_labels().items()


def test_kustomization_lists_every_manifest_but_the_example_secrets() -> None:
    kustomization = manifests()["kustomization.yaml"][0]
    resources = kustomization["resources"]
    assert len(resources) == len(set(resources))
    examples = {"secret.example.yaml", "tokens-secret.example.yaml"}
    expected = set(manifests()) - {"kustomization.yaml"} - examples
    assert set(resources) == expected
    assert all(manifests()[name] for name in resources)
    (image,) = kustomization["images"]
    assert image["name"] == worker_container()["image"]


def test_configmap_and_statefulset_set_only_known_settings() -> None:
    config = k8s("ConfigMap")
    data = {k: str(v) for k, v in config["data"].items()}
    assert set(data) <= ENV_VARS, set(data) - ENV_VARS
    container = worker_container()
    (source,) = container["envFrom"]
    assert source["configMapRef"]["name"] == config["metadata"]["name"]
    env = {item["name"]: item for item in container.get("env", [])}
    assert set(env) <= ENV_VARS, set(env) - ENV_VARS
    assert not set(env) & set(data), "a variable set twice"
    assert "KOMPENSASI_SASL_PASSWORD" not in data, "the password belongs in the Secret"
    chosen = values(data, {})
    assert chosen["web_host"] == "0.0.0.0"
    assert chosen["web_port"] == web_port_default()
    assert chosen["data_dir"] == DATA_DIR
    assert chosen["partitions"] == created_topics()[INPUT_TOPICS[0]]["partitions"]
    assert all(url.startswith("kafka://") for url in chosen["broker"].split(";"))


def test_statefulset_reads_the_sasl_password_from_the_documented_secret() -> None:
    env = {item["name"]: item for item in worker_container()["env"]}
    ref = env["KOMPENSASI_SASL_PASSWORD"]["valueFrom"]["secretKeyRef"]
    (secret,) = manifests()["secret.example.yaml"]
    assert secret["kind"] == "Secret"
    assert ref["name"] == secret["metadata"]["name"]
    assert ref["key"] in secret["stringData"]


def test_the_tokens_file_is_mounted_from_the_documented_secret() -> None:
    path = Path(k8s("ConfigMap")["data"]["KOMPENSASI_TOKENS_FILE"])
    pod = statefulset()["spec"]["template"]["spec"]
    (mount,) = [m for m in worker_container()["volumeMounts"] if m["mountPath"] == str(path.parent)]
    assert mount["readOnly"] is True
    (volume,) = [v for v in pod["volumes"] if v["name"] == mount["name"]]
    (secret,) = manifests()["tokens-secret.example.yaml"]
    assert volume["secret"]["secretName"] == secret["metadata"]["name"]
    assert path.name in secret["stringData"]
    with pytest.raises(TokenError):  # the placeholders do not start a worker
        tokens_from_file(secret["stringData"][path.name], "example")


def test_statefulset_worker() -> None:
    spec = statefulset()["spec"]
    assert spec["replicas"] == 2
    assert spec["selector"]["matchLabels"].items() <= pod_labels().items()
    container = worker_container()
    assert container.get("args", ["worker"]) == ["worker"] and "command" not in container
    (port,) = container["ports"]
    assert port == {"name": "http", "containerPort": web_port_default(), "protocol": "TCP"}
    assert container["readinessProbe"]["httpGet"] == {"path": "/ready", "port": "http"}
    assert container["livenessProbe"]["httpGet"] == {"path": "/offices", "port": "http"}
    assert {"/ready", "/offices", "/metrics"} <= registered_pages()
    assert container["resources"] == {
        "requests": {"cpu": "500m", "memory": "512Mi"},
        "limits": {"cpu": "2", "memory": "1Gi"},
    }
    pod_security = spec["template"]["spec"]["securityContext"]
    assert pod_security["runAsNonRoot"] is True
    assert pod_security["runAsUser"] == UID
    assert container["securityContext"]["allowPrivilegeEscalation"] is False
    (claim,) = spec["volumeClaimTemplates"]
    mounts = {m["mountPath"]: m["name"] for m in container["volumeMounts"]}
    assert mounts[DATA_DIR] == claim["metadata"]["name"]


def test_services_select_the_workers() -> None:
    services = {doc["metadata"]["name"]: doc for doc in manifests()["service.yaml"]}
    headless = services[statefulset()["spec"]["serviceName"]]
    assert headless["spec"]["clusterIP"] == "None"
    pages = [s for s in services.values() if s["spec"].get("clusterIP") != "None"]
    assert len(pages) == 1 and pages[0]["spec"].get("type", "ClusterIP") == "ClusterIP"
    for svc in services.values():
        assert selects_workers(svc["spec"]["selector"])
        (port,) = svc["spec"]["ports"]
        assert port["targetPort"] == "http"


def test_pdb_allows_one_worker_down() -> None:
    pdb = k8s("PodDisruptionBudget")
    assert pdb["spec"]["maxUnavailable"] == 1
    assert selects_workers(pdb["spec"]["selector"]["matchLabels"])


def test_podmonitor_scrapes_metrics_as_the_alerts_job() -> None:
    monitor = k8s("PodMonitor")
    assert monitor["apiVersion"] == "monitoring.coreos.com/v1"
    assert selects_workers(monitor["spec"]["selector"]["matchLabels"])
    (endpoint,) = monitor["spec"]["podMetricsEndpoints"]
    assert endpoint["port"] == "http" and endpoint["path"] == "/metrics"
    assert pod_labels()[monitor["spec"]["jobLabel"]] == JOB


def render_prometheus_rule() -> str:
    """deploy/k8s/prometheusrule.yaml: alerts.yml's groups, comments and all, under spec."""
    text = ALERTS.read_text("utf-8")
    body = text[text.index("\ngroups:\n") + len("\ngroups:\n") :]
    indented = "".join(f"  {line}" if line.strip() else line for line in body.splitlines(keepends=True))
    return (
        "# GENERATED from deploy/prometheus/alerts.yml (Kustomize cannot embed a file into a\n"
        "# PrometheusRule): do not edit. Regenerate with `.venv/bin/python -m tests.test_deploy_manifests`;\n"
        "# tests/test_deploy_manifests.py fails when the two differ.\n"
        "# Your Prometheus' ruleSelector may need an extra label here (e.g. release: ...) in an overlay.\n"
        "apiVersion: monitoring.coreos.com/v1\n"
        "kind: PrometheusRule\n"
        "metadata:\n"
        "  name: kompensasi\n"
        "  labels:\n"
        "    app.kubernetes.io/name: kompensasi\n"
        "spec:\n"
        "  groups:\n" + indented
    )


def test_prometheusrule_groups_equal_alerts_yml() -> None:
    rule = k8s("PrometheusRule")
    assert rule["apiVersion"] == "monitoring.coreos.com/v1"
    alerts = yaml.safe_load(ALERTS.read_text("utf-8"))
    assert set(alerts) == {"groups"}
    assert rule["spec"]["groups"] == alerts["groups"], (
        "deploy/k8s/prometheusrule.yaml is stale: run `.venv/bin/python -m tests.test_deploy_manifests`"
    )
    assert yaml.safe_load(render_prometheus_rule()) == rule


if __name__ == "__main__":
    PROMETHEUS_RULE.write_text(render_prometheus_rule(), "utf-8")
    print(f"wrote {PROMETHEUS_RULE.relative_to(ROOT)}")
