"""The guide's alert rules in otel-config/prometheus: valid for Prometheus, unit-tested with
`promtool test rules`, and querying only series seedwatch really exposes."""

import re
import shutil
import subprocess

import pytest
import requests
import yaml

from conftest import ROOT

PROMTOOL = shutil.which("promtool")
PROM_DIR = ROOT / "otel-config" / "prometheus"
pytestmark = pytest.mark.skipif(PROMTOOL is None, reason="promtool not installed (tests/run.sh installs it)")


def promtool(*args, cwd=PROM_DIR):
    return subprocess.run([PROMTOOL, *args], capture_output=True, text=True, cwd=cwd)


def test_rules_and_config_are_valid():
    out = promtool("check", "rules", "alerts.yml", "fleet.yml")
    assert out.returncode == 0, out.stdout + out.stderr
    out = promtool("check", "config", "prometheus.yml")
    assert out.returncode == 0, out.stdout + out.stderr


def test_rules_fire_and_stay_quiet_as_the_unit_tests_say():
    out = promtool("test", "rules", "alerts_test.yml")
    assert out.returncode == 0, out.stdout + out.stderr


def test_fleet_rules_add_up_counters_and_take_shared_gauges_once():
    out = promtool("test", "rules", "fleet_test.yml")
    assert out.returncode == 0, out.stdout + out.stderr


def test_fleet_rule_tests_catch_a_shared_gauge_summed_over_replicas(tmp_path):
    """Summing the budget spend of three replicas would triple it: the unit test says so."""
    text = (PROM_DIR / "fleet.yml").read_text()
    (tmp_path / "fleet.yml").write_text(text.replace("max without (instance, pod) (modelseed_budget_spent_usd)",
                                                     "sum without (instance, pod) (modelseed_budget_spent_usd)"))
    shutil.copy(PROM_DIR / "fleet_test.yml", tmp_path / "fleet_test.yml")
    out = promtool("test", "rules", "fleet_test.yml", cwd=tmp_path)
    assert out.returncode != 0
    assert "budget_spent_usd" in out.stdout + out.stderr


def test_rule_tests_catch_a_changed_threshold(tmp_path):
    """The unit tests can fail: with HighMemoryUsage at 10 GB, the 9 GiB instance stays quiet."""
    (tmp_path / "alerts.yml").write_text((PROM_DIR / "alerts.yml").read_text().replace("> 8", "> 10"))
    shutil.copy(PROM_DIR / "alerts_test.yml", tmp_path / "alerts_test.yml")
    out = promtool("test", "rules", "alerts_test.yml", cwd=tmp_path)
    assert out.returncode != 0
    assert "HighMemoryUsage" in out.stdout + out.stderr


def test_the_guide_rules_use_the_guide_names_unchanged():
    rules = {r["alert"]: r["expr"] for g in yaml.safe_load((PROM_DIR / "alerts.yml").read_text())["groups"] for r in g["rules"]}
    assert rules["HighErrorRate"] == "rate(modelseed_tool_errors_total[5m]) > 0.1"
    assert rules["HighMemoryUsage"] == "modelseed_memory_usage_bytes / (1024*1024*1024) > 8"
    assert rules["LLMAPIFailures"] == "rate(modelseed_llm_errors_total[5m]) > 0.05"


def test_every_series_the_rules_query_is_exposed_by_seedwatch(collector, tmp_path):
    c = collector(
        "processors:\n  agent_metrics:\n    budgets:\n"
        f"      store: {{path: '{tmp_path}/budgets.redb'}}\n      limits: {{daily: {{limit_usd: 1}}}}\n"
    )
    body = requests.get(f"{c.admin}/metrics", timeout=5).text
    exposed = set(re.findall(r"^# TYPE (\S+) ", body, re.M))
    queried = set()
    for rules in ("alerts.yml", "fleet.yml"):
        for group in yaml.safe_load((PROM_DIR / rules).read_text())["groups"]:
            for rule in group["rules"]:
                queried |= {
                    re.sub(r"_bucket$", "", name)
                    for name in re.findall(r"(?<![:\w])(modelseed_[a-z_]+)", rule["expr"])
                }
    assert queried, "the rules query derived series"
    assert queried <= exposed, f"queried but not exposed: {queried - exposed}"
