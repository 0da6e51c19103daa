"""The monitoring deployment (deploy/): Prometheus alerting rules and their promtool unit tests, the
scrape configuration, the on-call runbook and the Grafana dashboard agree with each other and with
the metrics the worker exports (streams/metrics.py).

The YAML files are read with a small reader of the block-style subset they are written in (the
project has no YAML dependency); promtool, which reads them with a real YAML parser, must accept
them too, and the reader's results are cross-checked against the raw text."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml

from streams.metrics import REGISTRY

ROOT = Path(__file__).resolve().parent.parent
DEPLOY = ROOT / "deploy"
ALERTS = DEPLOY / "prometheus" / "alerts.yml"
ALERT_TESTS = DEPLOY / "prometheus" / "alerts.test.yml"
PROMETHEUS_CONFIG = DEPLOY / "prometheus" / "prometheus.yml"
RUNBOOK = DEPLOY / "RUNBOOK.md"
DASHBOARD = DEPLOY / "grafana" / "dashboards" / "kompensasi.json"
DASHBOARD_PROVIDER = DEPLOY / "grafana" / "provisioning" / "dashboards" / "kompensasi.yaml"
DATASOURCE = DEPLOY / "grafana" / "provisioning" / "datasources" / "prometheus.yaml"

REQUIRED_ALERTS = {
    "KompensasiWorkerDown",
    "KompensasiConsumerLagGrowing",
    "KompensasiDeadLetters",
    "KompensasiOutageTooLong",
    "KompensasiApplicantsAtRiskUncalled",
    "KompensasiEligibleRateHigh",
    "KompensasiOfficeClockStalled",
    "KompensasiDecisionLatencyHigh",
}
SEVERITIES = {"page", "ticket", "info"}
# Labels an alert may carry: bounded, never a ticket or applicant id.
ALERT_LABELS = {"alertname", "severity", "office", "topic", "partition", "error_code", "instance", "job"}
# Labels a query may group or match on.
GROUPING_LABELS = ALERT_LABELS | {"outcome", "action", "type", "le"}

# Dashboard panels that must exist: a title pattern each.
REQUIRED_PANELS = {
    "waits vs threshold": r"wait.*threshold",
    "decisions per outcome": r"decisions.*outcome",
    "at risk now": r"at risk",
    "waiting now": r"waiting",
    "outages active": r"outage",
    "dead letters": r"dead letter",
    "consumer lag": r"consumer lag",
    "processing latency": r"latency",
    "late events": r"late event",
    "claims": r"claim",
}

METRIC = re.compile(r"(?<![\w:$])kompensasi_[A-Za-z0-9_]+(?![\w:])")
RECORDED = re.compile(r"(?<![\w:$])[A-Za-z_]\w*:[\w:]*\w(?![\w:])")
GROUPING = re.compile(r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\(([^)]*)\)")
STRING = re.compile(r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'|`[^`]*`')


def load_yaml(path: Path) -> Any:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


# --- the files ---------------------------------------------------------------------------------


@cache
def rule_groups() -> list[dict[str, Any]]:
    document = load_yaml(ALERTS)
    assert isinstance(document, dict) and isinstance(document.get("groups"), list), "alerts.yml: no groups"
    return document["groups"]


def rules() -> list[dict[str, Any]]:
    return [rule for group in rule_groups() for rule in group["rules"]]


def alerts() -> list[dict[str, Any]]:
    return [rule for rule in rules() if "alert" in rule]


@cache
def alert_tests() -> dict[str, Any]:
    document = load_yaml(ALERT_TESTS)
    assert isinstance(document, dict) and isinstance(document.get("tests"), list), "alerts.test.yml: no tests"
    return document


@cache
def dashboard() -> dict[str, Any]:
    return json.loads(DASHBOARD.read_text(encoding="utf-8"))


def panels() -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    for panel in dashboard()["panels"]:
        found.append(panel)
        found.extend(panel.get("panels", []))
    return [panel for panel in found if panel.get("type") != "row"]


def dashboard_queries() -> list[str]:
    queries = [str(target.get("expr", "")) for panel in panels() for target in panel.get("targets", [])]
    for variable in dashboard().get("templating", {}).get("list", []):
        if variable.get("type") == "query":
            query = variable.get("query")
            queries.append(str(query.get("query", "")) if isinstance(query, dict) else str(query))
    return queries


@cache
def exported_names() -> frozenset[str]:
    """The sample names the worker's registry exposes: counters with `_total`, histograms as
    `_bucket`/`_count`/`_sum`, info as `_info` (also for metrics that have no labelled child yet)."""
    suffixes = {
        "counter": ("_total", "_created"),
        "histogram": ("_bucket", "_count", "_sum", "_created"),
        "summary": ("", "_count", "_sum", "_created"),
        "info": ("_info",),
        "gauge": ("",),
    }
    names: set[str] = set()
    for family in REGISTRY.collect():
        names.update(sample.name for sample in family.samples)
        names.update(family.name + suffix for suffix in suffixes.get(family.type, ("",)))
    return frozenset(names)


def metric_names(expr: str) -> set[str]:
    return set(METRIC.findall(STRING.sub('""', expr)))


def recorded_names(expr: str) -> set[str]:
    return {name for name in RECORDED.findall(STRING.sub('""', expr)) if not name.startswith("__")}


def grouping_labels(expr: str) -> set[str]:
    return {
        label.strip() for labels in GROUPING.findall(expr) for label in labels.split(",") if label.strip()
    }


def runbook_anchors() -> set[str]:
    text = RUNBOOK.read_text(encoding="utf-8")
    anchors = set(re.findall(r'<a\s+(?:id|name)="([^"]+)"', text))
    for heading in re.findall(r"^#{1,6}\s+(.+?)\s*$", text, flags=re.MULTILINE):
        anchors.add(re.sub(r"[^\w\- ]", "", heading.lower()).replace(" ", "-"))
    return anchors


def promtool(*args: str) -> subprocess.CompletedProcess[str]:
    binary = shutil.which("promtool")
    if binary is None:
        pytest.fail(
            "promtool is not on PATH: install Debian's `prometheus` package "
            "(apt-get install prometheus, which provides /usr/bin/promtool) to check the alerting rules"
        )
    return subprocess.run([binary, *args], cwd=ROOT, capture_output=True, text=True, timeout=120, check=False)


# --- promtool ----------------------------------------------------------------------------------


def test_promtool_accepts_the_rules() -> None:
    result = promtool("check", "rules", str(ALERTS.relative_to(ROOT)))
    assert result.returncode == 0, result.stdout + result.stderr


def test_promtool_unit_tests_of_the_rules_pass() -> None:
    result = promtool("test", "rules", str(ALERT_TESTS.relative_to(ROOT)))
    assert result.returncode == 0, result.stdout + result.stderr


def test_promtool_accepts_the_prometheus_config() -> None:
    result = promtool("check", "config", str(PROMETHEUS_CONFIG.relative_to(ROOT)))
    assert result.returncode == 0, result.stdout + result.stderr


# --- alerts.yml ---------------------------------------------------------------------------------


def test_the_reader_sees_every_rule_of_the_file() -> None:
    text = ALERTS.read_text(encoding="utf-8")
    assert len(alerts()) == len(re.findall(r"^\s*- alert:", text, flags=re.MULTILINE))
    assert len(rules()) == len(re.findall(r"^\s*- (?:alert|record):", text, flags=re.MULTILINE))
    assert [group["name"] for group in rule_groups()] == ["kompensasi"]


def test_the_required_alerts_exist_once() -> None:
    names = [alert["alert"] for alert in alerts()]
    assert len(names) == len(set(names)), "duplicate alert names"
    assert set(names) >= REQUIRED_ALERTS, f"missing: {sorted(REQUIRED_ALERTS - set(names))}"


@pytest.mark.parametrize("name", sorted(REQUIRED_ALERTS))
def test_each_alert_has_severity_annotations_and_runbook(name: str) -> None:
    (alert,) = [alert for alert in alerts() if alert["alert"] == name]
    assert alert.get("expr", "").strip()
    assert alert.get("labels", {}).get("severity") in SEVERITIES
    annotations = alert.get("annotations", {})
    for key in ("summary", "description", "runbook_url"):
        assert str(annotations.get(key, "")).strip(), f"{name}: no {key}"
    url = annotations["runbook_url"]
    assert url.startswith("deploy/RUNBOOK.md#"), url
    anchor = url.split("#", 1)[1]
    assert anchor in runbook_anchors(), f"{name}: no section #{anchor} in {RUNBOOK.name}"


def test_alerts_carry_no_personal_data() -> None:
    for alert in alerts():
        assert set(alert.get("labels", {})) == {"severity"}, alert["alert"]
    for rule in rules():
        assert grouping_labels(rule["expr"]) <= GROUPING_LABELS, rule.get("alert", rule.get("record"))
    for test in alert_tests()["tests"]:
        for case in test.get("alert_rule_test", []):
            for expected in case.get("exp_alerts") or []:
                assert set(expected.get("exp_labels", {})) <= ALERT_LABELS, case["alertname"]


def test_every_alert_is_tested_firing_and_not_firing() -> None:
    assert alert_tests().get("rule_files") == ["alerts.yml"]
    firing: set[str] = set()
    quiet: set[str] = set()
    for test in alert_tests()["tests"]:
        assert test.get("input_series"), "a test without input series"
        for case in test.get("alert_rule_test", []):
            expected = case.get("exp_alerts") or []
            (firing if expected else quiet).add(case["alertname"])
            for alert in expected:
                assert alert.get("exp_labels", {}).get("severity") in SEVERITIES, case["alertname"]
                assert alert.get("exp_annotations", {}).get("runbook_url"), case["alertname"]
    names = {alert["alert"] for alert in alerts()}
    assert names - firing == set(), f"never tested firing: {sorted(names - firing)}"
    assert names - quiet == set(), f"never tested not firing: {sorted(names - quiet)}"
    assert (firing | quiet) - names == set(), "tests of unknown alerts"


def test_alert_rules_use_only_exported_metrics() -> None:
    recorded = {rule["record"] for rule in rules() if "record" in rule}
    for rule in rules():
        expr = rule["expr"]
        unknown = metric_names(expr) - exported_names()
        assert not unknown, f"{rule.get('alert', rule.get('record'))}: not exported by the worker: {unknown}"
        assert recorded_names(expr) <= recorded, rule.get("alert", rule.get("record"))
        used = metric_names(expr) | recorded_names(expr) | ({"up"} if re.search(r"\bup\b", expr) else set())
        assert used, f"{rule.get('alert', rule.get('record'))}: uses no metric"
    for record in recorded:
        assert re.fullmatch(r"\w+:\w+:\w+", record), f"recording rule name {record!r} is not level:metric:ops"


def test_the_metric_name_check_catches_unknown_names() -> None:
    assert metric_names('sum(rate(kompensasi_decisions_total{office="kompensasi_x"}[5m]))') == {
        "kompensasi_decisions_total"
    }
    assert metric_names("office:kompensasi_eligible_ratio:1h > 0.1") == set()
    assert "kompensasi_wait_seconds_bucket" in exported_names()
    assert "kompensasi_wait_seconds" not in exported_names()
    assert "kompensasi_decisions" not in exported_names()
    assert "kompensasi_decisions_total" in exported_names()


# --- prometheus.yml and the runbook -------------------------------------------------------------


def test_prometheus_scrapes_the_worker_and_loads_the_rules() -> None:
    config = load_yaml(PROMETHEUS_CONFIG)
    assert config["rule_files"] == ["alerts.yml"]
    (job,) = [job for job in config["scrape_configs"] if job["job_name"] == "kompensasi"]
    assert job.get("metrics_path", "/metrics") == "/metrics"
    targets = [target for static in job["static_configs"] for target in static["targets"]]
    assert targets == ["worker-1:6066", "worker-2:6066"]  # the workers of deploy/compose.yaml


def test_the_runbook_has_one_section_per_alert() -> None:
    text = RUNBOOK.read_text(encoding="utf-8")
    for alert in alerts():
        assert re.search(rf"^## {alert['alert']}\s*$", text, flags=re.MULTILINE), alert["alert"]


# --- Grafana --------------------------------------------------------------------------------------


def test_the_dashboard_has_identity_and_the_required_panels() -> None:
    board = dashboard()
    assert board["uid"] == "kompensasi"
    assert board["title"].strip()
    assert 36 <= board["schemaVersion"] <= 41
    titles = [panel["title"].lower() for panel in panels()]
    for name, pattern in REQUIRED_PANELS.items():
        assert any(re.search(pattern, title) for title in titles), f"no panel for {name}"
    ids = [panel["id"] for panel in board["panels"]]
    assert len(ids) == len(set(ids)), "duplicate panel ids"


def test_every_panel_has_a_query_and_the_prometheus_datasource() -> None:
    for panel in panels():
        targets = panel.get("targets", [])
        assert targets, f"{panel['title']}: no query"
        for target in targets:
            assert str(target.get("expr", "")).strip(), f"{panel['title']}: empty query"
            datasource = target.get("datasource", panel.get("datasource"))
            assert datasource["uid"] in {"${DS_PROMETHEUS}", "prometheus"}, panel["title"]


def test_the_wait_panel_shows_the_two_hour_threshold() -> None:
    (panel,) = [panel for panel in panels() if re.search(r"wait.*threshold", panel["title"].lower())]
    exprs = " ".join(target["expr"] for target in panel["targets"])
    assert "kompensasi_wait_seconds_bucket" in exprs and "histogram_quantile" in exprs
    steps = panel["fieldConfig"]["defaults"]["thresholds"]["steps"]
    assert 7200 in [step["value"] for step in steps]
    assert panel["fieldConfig"]["defaults"]["custom"]["thresholdsStyle"]["mode"] != "off"


def test_dashboard_queries_use_only_exported_metrics() -> None:
    recorded = {rule["record"] for rule in rules() if "record" in rule}
    for query in dashboard_queries():
        assert query.strip()
        unknown = metric_names(query) - exported_names()
        assert not unknown, f"not exported by the worker: {unknown} in {query}"
        assert recorded_names(query) <= recorded, query
        assert grouping_labels(query) <= GROUPING_LABELS, query


def test_grafana_provisioning_points_at_prometheus_and_the_dashboards() -> None:
    (source,) = load_yaml(DATASOURCE)["datasources"]
    assert source["type"] == "prometheus"
    assert source["url"] == "http://prometheus:9090"
    variables = {variable["name"]: variable for variable in dashboard()["templating"]["list"]}
    assert variables["DS_PROMETHEUS"]["current"]["value"] == source["uid"]
    (provider,) = load_yaml(DASHBOARD_PROVIDER)["providers"]
    assert provider["type"] == "file"
    assert provider["options"]["path"] == "/var/lib/grafana/dashboards"
