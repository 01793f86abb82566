"""deploy/grafana and deploy/prometheus: the alert rules parse (with promtool when it is installed, else YAML and
a bracket check), their unit tests pass, and every metric a rule or a dashboard panel uses is one dlrhub exports."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from dlrhub.adapters import metrics

ROOT = Path(__file__).resolve().parents[2]
ALERTS = ROOT / "deploy" / "prometheus" / "alerts.yml"
ALERT_TESTS = ROOT / "deploy" / "prometheus" / "alerts.test.yml"
DASHBOARD = ROOT / "deploy" / "grafana" / "dlrhub.json"
PROMTOOL = shutil.which("promtool")
#: The series names a scrape shows for a family of each type.
SUFFIXES = {"counter": ("_total",), "histogram": ("_bucket", "_sum", "_count"), "gauge": ("",)}
METRIC = re.compile(r"\bdlrhub_[a-z0-9_]+\b")
#: Grafana's variables in a panel's query, and what stands for them when promtool parses it.
GRAFANA_VARIABLES = {"$__rate_interval": "5m", "$__interval": "1m", "$__range": "1h"}


def exported_series() -> set[str]:
    """Every series name a dlrhub scrape shows."""
    families = {f.name: f.type for f in metrics.Metrics().registry.collect()}
    return {name + suffix for name, kind in families.items() for suffix in SUFFIXES.get(kind, ("",))}


def rules() -> list[dict[str, Any]]:
    data = yaml.safe_load(ALERTS.read_text(encoding="utf-8"))
    return [rule for group in data["groups"] for rule in group["rules"]]


def panel_exprs() -> list[str]:
    """Every Prometheus query of the dashboard's panels, Grafana's variables replaced."""
    dashboard = json.loads(DASHBOARD.read_text(encoding="utf-8"))
    found = []
    for panel in dashboard["panels"]:
        for target in panel.get("targets", ()):
            expr = target["expr"]
            for variable, value in GRAFANA_VARIABLES.items():
                expr = expr.replace(variable, value)
            found.append(expr)
    return found


def balanced(expr: str) -> bool:
    """Whether `expr`'s brackets pair up outside its quoted strings (the check when promtool is not installed)."""
    pairs = {")": "(", "]": "[", "}": "{"}
    stack: list[str] = []
    for char in re.sub(r'"(?:[^"\\]|\\.)*"', '""', expr):
        if char in "([{":
            stack.append(char)
        elif char in pairs and (not stack or stack.pop() != pairs[char]):
            return False
    return not stack


def test_every_rule_is_an_alert_with_a_severity_and_a_summary() -> None:
    found = rules()
    assert len(found) >= 8
    for rule in found:
        assert rule["alert"].startswith("Dlrhub"), rule
        assert rule["labels"]["severity"] in ("warning", "critical"), rule["alert"]
        assert rule["annotations"]["summary"], rule["alert"]
        assert balanced(rule["expr"]), rule["alert"]
    assert len({r["alert"] for r in found}) == len(found), "alert names are unique"


def test_rules_and_panels_use_only_exported_metrics() -> None:
    used_by_rules = {name for rule in rules() for name in METRIC.findall(rule["expr"])}
    used_by_panels = {name for expr in panel_exprs() for name in METRIC.findall(expr)}
    exported = exported_series()
    assert used_by_rules - exported == set()
    assert used_by_panels - exported == set()
    # The questions issue 14 asks the dashboard to answer, each by its metric.
    wanted = {
        "dlrhub_callback_attempts_total",
        "dlrhub_callback_backlog",
        "dlrhub_callback_oldest_due_age_seconds",
        "dlrhub_endpoints",
        "dlrhub_endpoint_failing",
        "dlrhub_zalo_sends_total",
        "dlrhub_zalo_refresh_token_expiry_seconds",
        "dlrhub_zalo_quota_remaining",
        "dlrhub_callback_attempt_duration_seconds_bucket",
    }
    assert wanted - used_by_panels == set()


def test_the_dashboard_is_grafana_json_with_a_datasource_variable() -> None:
    dashboard = json.loads(DASHBOARD.read_text(encoding="utf-8"))
    assert dashboard["uid"] == "dlrhub"
    assert [v["name"] for v in dashboard["templating"]["list"]] == ["datasource"]
    ids = [p["id"] for p in dashboard["panels"]]
    assert len(ids) == len(set(ids))
    for panel in dashboard["panels"]:
        if panel["type"] != "row":
            assert panel["datasource"]["uid"] == "${datasource}", panel["title"]
            assert panel["targets"], panel["title"]
    assert all(balanced(e) for e in panel_exprs())


@pytest.mark.skipif(PROMTOOL is None, reason="promtool is not installed (Debian: apt-get install prometheus)")
def test_promtool_accepts_the_rules_and_their_unit_tests_pass() -> None:
    checked = subprocess.run(
        [str(PROMTOOL), "check", "rules", str(ALERTS)], capture_output=True, text=True, check=False
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr
    tested = subprocess.run(
        [str(PROMTOOL), "test", "rules", str(ALERT_TESTS)], capture_output=True, text=True, check=False
    )
    assert tested.returncode == 0, tested.stdout + tested.stderr


@pytest.mark.skipif(PROMTOOL is None, reason="promtool is not installed (Debian: apt-get install prometheus)")
def test_promtool_parses_every_panel_query(tmp_path: Path) -> None:
    recording = [{"record": f"dlrhub_panel:{i}", "expr": e} for i, e in enumerate(panel_exprs())]
    path = tmp_path / "panels.yml"
    path.write_text(yaml.safe_dump({"groups": [{"name": "panels", "rules": recording}]}), encoding="utf-8")
    checked = subprocess.run(
        [str(PROMTOOL), "check", "rules", str(path)], capture_output=True, text=True, check=False
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr
