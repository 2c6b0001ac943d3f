"""seedwatch's own alerts in a real Alertmanager: an agent that falls silent raises AgentDown
with the right labels; its return resolves it. Also: the shipped alertmanager.yml is valid."""

import shutil
import subprocess

import pytest

from alertmanager_server import ALERTMANAGER, Alertmanager
from conftest import ROOT, wait_until
from otel_clients import exporters, send_traces

pytestmark = pytest.mark.skipif(ALERTMANAGER is None, reason="prometheus-alertmanager is not installed")


@pytest.fixture
def alertmanager(tmp_path):
    am = Alertmanager(tmp_path)
    yield am
    am.stop()


def agent_alerts(am, state: str = "active"):
    return [a for a in am.alerts() if a["labels"].get("scope") == "agent" and a["status"]["state"] == state]


def test_shipped_alertmanager_config_passes_amtool():
    amtool = shutil.which("amtool")
    assert amtool, "amtool comes with prometheus-alertmanager"
    out = subprocess.run([amtool, "check-config", str(ROOT / "otel-config" / "alertmanager.yml")],
                         capture_output=True, text=True)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "SUCCESS" in out.stdout


def test_amtool_rejects_a_broken_alertmanager_config(tmp_path):
    broken = tmp_path / "alertmanager.yml"
    text = (ROOT / "otel-config" / "alertmanager.yml").read_text().replace("receiver: 'web.hook'", "receiver: 'nobody'")
    broken.write_text(text)
    out = subprocess.run([shutil.which("amtool"), "check-config", str(broken)], capture_output=True, text=True)
    assert out.returncode != 0, out.stdout


def start_with_alertmanager(collector, alertmanager, resend_interval: str):
    return collector(
        "processors:\n  agent_metrics: {health: {down_after: 2s}}\n"
        f"alerting:\n  alertmanager: {{url: '{alertmanager.url}', resend_interval: {resend_interval}}}\n"
    )


def agent_goes_down(c, alertmanager) -> dict:
    send_traces(exporters("grpc", c.grpc, c.http)[0], workflows=1)
    firing = wait_until(lambda: agent_alerts(alertmanager), timeout=15)
    assert firing, f"no agent alert in Alertmanager: {alertmanager.alerts()}"
    assert len(firing) == 1, firing
    return firing[0]


def test_a_silent_agent_raises_agent_down_in_alertmanager_and_its_return_resolves_it(collector, alertmanager):
    # Re-sent every 30 s, so each post keeps the alert valid for 90 s: it can only leave
    # Alertmanager's active list within the 15 s below through seedwatch's resolution.
    c = start_with_alertmanager(collector, alertmanager, "30s")
    alert = agent_goes_down(c, alertmanager)
    labels = alert["labels"]
    assert labels["alertname"] == "AgentDown"
    assert labels["severity"] == "critical"
    assert labels["scope"] == "agent"
    assert (labels["service"], labels["instance"]) == ("modelseed-agent", "e2e-1")
    assert alert["annotations"]["summary"] == "Agent modelseed-agent/e2e-1 is down"
    assert "no telemetry for" in alert["annotations"]["description"]
    assert c.metric('seedwatch_alerts_active{alertname="AgentDown"}') == 1

    # The agent comes back: the alert is resolved (gone from the active list).
    send_traces(exporters("grpc", c.grpc, c.http)[0], workflows=1)
    assert wait_until(lambda: not agent_alerts(alertmanager), timeout=15), alertmanager.alerts()
    assert c.metric('seedwatch_alerts_active{alertname="AgentDown"}') == 0
    assert c.metric('seedwatch_alert_notifications_total{destination="alertmanager",outcome="sent"}') == 2


def test_active_alerts_are_re_sent_to_alertmanager(collector, alertmanager):
    c = start_with_alertmanager(collector, alertmanager, "1s")
    first = agent_goes_down(c, alertmanager)["updatedAt"]
    assert wait_until(lambda: [a for a in agent_alerts(alertmanager) if a["updatedAt"] != first], timeout=10)
    assert c.metric('seedwatch_alert_notifications_total{destination="alertmanager",outcome="sent"}') >= 2
