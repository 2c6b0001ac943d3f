"""Cost budgets end to end: spend that survives SIGKILL and is never counted twice, and budget
alerts in a real Alertmanager that the period rollover resolves."""

import time

import pytest
import requests

from alertmanager_server import ALERTMANAGER, Alertmanager
from conftest import wait_until
from otlp_raw import llm_call_request, post_traces


def budgets(c) -> dict:
    body = requests.get(f"{c.admin}/api/v1/budgets", timeout=5).json()
    return {b["name"]: b for b in body["budgets"]}


def budget_config(store, limits: str, extra: str = "") -> str:
    return (
        "processors:\n  agent_metrics:\n    budgets:\n"
        f"      store: {{path: '{store}', flush_interval: 200ms}}\n"
        "      forecast_after: 1h\n"
        f"      limits: {limits}\n" + extra
    )


def test_spend_survives_sigkill_and_replayed_spans_are_not_counted_twice(collector, tmp_path):
    config = budget_config(tmp_path / "budgets.redb", "{all: {limit_usd: 1000}}")
    c = collector(config)
    cost = 0.01
    acked = []  # (when acknowledged, request body)
    deadline = time.monotonic() + 3
    n = 0
    while time.monotonic() < deadline:
        body = llm_call_request(n, cost)
        assert post_traces(c.http, body).status_code == 200
        acked.append((time.monotonic(), body))
        n += 1
        time.sleep(0.005)
    killed_at = time.monotonic()
    c.proc.kill()
    c.proc.wait(timeout=10)

    total = cost * len(acked)
    # At most the last flush interval (200 ms) of spend may be lost; allow for derivation lag.
    recent = cost * sum(1 for t, _ in acked if t > killed_at - 0.7)
    restarted = collector(config)
    spent = budgets(restarted)["all"]["spent_usd"]
    assert total - recent - 1e-9 <= spent <= total + 1e-9, (spent, total, recent, len(acked))
    assert spent > 0.5 * total, "most of the acknowledged spend was kept"

    # Every request sent again (as a client retrying would): each span counted exactly once.
    for _, body in acked:
        assert post_traces(restarted.http, body).status_code == 200
    final = wait_until(lambda: abs(budgets(restarted)["all"]["spent_usd"] - total) < 1e-6, timeout=10)
    assert final, (budgets(restarted)["all"], total)
    duplicates = restarted.metric('seedwatch_budget_spans_total{outcome="duplicate"}')
    assert duplicates >= len(acked) - round(recent / cost), duplicates


@pytest.mark.skipif(ALERTMANAGER is None, reason="prometheus-alertmanager is not installed")
def test_budget_thresholds_reach_alertmanager_and_the_period_rollover_resolves_them(collector, tmp_path):
    am = Alertmanager(tmp_path)
    try:
        period = 20
        config = budget_config(
            tmp_path / "budgets.redb",
            f"{{small: {{limit_usd: 1, period: {period}s}}}}",
            # Re-sent every 30 s, each post valid for 90 s: only seedwatch's resolution can
            # clear the alerts within the wait below.
            f"alerting:\n  alertmanager: {{url: '{am.url}', resend_interval: 30s}}\n",
        )
        c = collector(config)
        # Start right after a period begins, so that it does not roll over mid-test.
        while time.time() % period > 1:
            time.sleep(0.1)

        def budget_alerts():
            return {a["labels"]["threshold"]: a for a in am.alerts() if a["labels"].get("budget") == "small"}

        assert post_traces(c.http, llm_call_request(1, 0.85)).status_code == 200
        alerts = wait_until(lambda: "80%" in budget_alerts() and budget_alerts(), timeout=10)
        assert alerts and set(alerts) == {"50%", "80%"}, am.alerts()
        labels = alerts["80%"]["labels"]
        assert labels["alertname"] == "LLMBudgetThreshold"
        assert (labels["severity"], labels["scope"]) == ("warning", "global")
        assert "$0.8500 spent of $1.00" in alerts["80%"]["annotations"]["description"]

        assert post_traces(c.http, llm_call_request(2, 0.20)).status_code == 200
        alerts = wait_until(lambda: "100%" in budget_alerts() and budget_alerts(), timeout=10)
        assert alerts and alerts["100%"]["labels"]["severity"] == "critical", am.alerts()
        assert budgets(c)["small"]["ratio"] == pytest.approx(1.05)
        assert c.metric('modelseed_budget_ratio{budget="small"}') == pytest.approx(1.05)

        # The period rolls over: spend starts from zero and every budget alert is resolved.
        assert wait_until(lambda: not budget_alerts(), timeout=period + 10), am.alerts()
        assert budgets(c)["small"]["spent_usd"] == 0
    finally:
        am.stop()
