"""The guide's security monitoring end to end: the demo agent (the Rust agent crate) is probed
with wrong API keys and hits the fake LLM's rate limits; its audit events become
`modelseed_security_events_total` in a real Prometheus, whose shipped rules fire
MultipleFailedLogins and UnusualAPIUsage into a real Alertmanager running the shipped config,
which routes them to the security receiver."""

from __future__ import annotations

import shutil
import subprocess

import pytest

from alertmanager_server import ALERTMANAGER, Alertmanager
from conftest import ROOT, wait_until
from prometheus_server import PROMETHEUS, Prometheus
from test_demo_agent import run_agent

pytestmark = pytest.mark.skipif(
    PROMETHEUS is None or ALERTMANAGER is None, reason="prometheus and alertmanager come from tests/run.sh"
)


def test_failed_logins_and_rate_limits_fire_the_security_alerts_through_alertmanager(collector, tmp_path):
    c = collector("processors:\n  agent_metrics: {}\n")
    alertmanager = Alertmanager(tmp_path, config=ROOT / "otel-config" / "alertmanager.yml")
    prom = Prometheus(
        tmp_path,
        target=c.admin.removeprefix("http://"),
        rule_files=[ROOT / "otel-config" / "prometheus" / "alerts.yml"],
        alertmanager=alertmanager.url.removeprefix("http://"),
    )
    try:
        run = run_agent(tmp_path, c.http, workflows=12, args=["--failed-logins", "12", "--llm-error-rate", "0.5"])
        assert run.returncode == 0, run.stderr
        lines = run.json_lines()
        logins = [l for l in lines if l.get("event.name") == "security.authentication_failure"]
        limits = [l for l in lines if l.get("event.name") == "security.rate_limit"]
        assert len(logins) == 12 and len(limits) > 5, (len(logins), len(limits))
        assert all(l["client.address"] == "127.0.0.1" and l["user.id"] == "mallory" for l in logins)

        series = 'modelseed_security_events_total{{service="modelseed-agent",event="{}",outcome="failure"}}'
        assert prom.wait_for(series.format("authentication_failure"), 12) == 12
        assert prom.wait_for(series.format("rate_limit"), len(limits)) == len(limits)
        usage = 'sum(modelseed_security_events_total{service="modelseed-agent",event="api_key_usage"})'
        assert prom.wait_for(usage, len([l for l in lines if l.get("event.name") == "security.api_key_usage"])) > 0

        def routed():
            found = {}
            for alert in alertmanager.alerts():
                name = alert["labels"].get("alertname")
                if name in ("MultipleFailedLogins", "UnusualAPIUsage"):
                    found[name] = [r["name"] for r in alert["receivers"]]
            return found

        found = wait_until(lambda: len(routed()) == 2 and routed(), timeout=60, interval=1)
        assert found == {"MultipleFailedLogins": ["security"], "UnusualAPIUsage": ["security"]}, routed()
    finally:
        prom.stop()
        alertmanager.stop()


def test_the_shipped_alertmanager_config_routes_security_alerts_to_the_security_receiver():
    amtool = shutil.which("amtool")
    assert amtool, "amtool comes with prometheus-alertmanager"
    config = ROOT / "otel-config" / "alertmanager.yml"
    for labels, receiver in [
        (["alertname=MultipleFailedLogins", "category=security", "severity=warning"], "security"),
        (["alertname=CollectorAuthenticationFailures", "category=security", "severity=warning"], "security"),
        (["alertname=AgentDown", "severity=critical"], "critical"),
        (["alertname=HighErrorRate", "severity=warning"], "web.hook"),
    ]:
        out = subprocess.run(
            [amtool, "config", "routes", "test", f"--config.file={config}", *labels], capture_output=True, text=True
        )
        assert out.stdout.strip() == receiver, (labels, out.stdout, out.stderr)
