"""What one careless or hostile client can do to a real collector on loopback, and what it
must not: huge agent identities, slow and idle connections, floods of new instances, replays
of LLM spans at the benchmark's rate. Each test is one breakage found by trying the product as
an attacker would (issue 14), and each bound it checks is documented in docs/operations.md."""

from __future__ import annotations

import json
import subprocess
import threading
import time

import pytest
import requests

from alertmanager_server import ALERTMANAGER, Alertmanager
from conftest import BIN_DIR, wait_until
from hostile import (
    ConnectionAttack,
    agent_resource,
    health_check_request,
    peak_rss_bytes,
    raise_fd_limit,
    rss_bytes,
    tool_spans,
    traces_request,
)

MIB = 1 << 20


def post(url: str, path: str, body: bytes) -> requests.Response:
    return requests.post(f"{url}{path}", data=body, headers={"content-type": "application/x-protobuf"}, timeout=30)


def agents_page(c, **params) -> dict:
    return requests.get(f"{c.admin}/api/v1/agents", params=params, timeout=10).json()


def test_three_hundred_agents_with_3_mib_ids_stay_in_bounded_memory_before_and_after_falling_silent(collector):
    c = collector("processors:\n  agent_metrics:\n    health: {down_after: 3s}\n")
    for i in range(300):
        instance = f"{i:04d}" + "i" * (3 * MIB)
        body = traces_request([(agent_resource("modelseed-agent", instance), tool_spans(1, 1000 + i, workflow=True))])
        assert post(c.http, "/v1/traces", body).status_code == 200
    assert wait_until(lambda: agents_page(c, limit=1)["counts"]["total"] == 300, timeout=10)
    seen = rss_bytes(c.proc.pid)

    # Silent: every one goes down, alerts fire, state-change records are made.
    assert wait_until(lambda: agents_page(c, limit=1)["counts"]["down"] == 300, timeout=15)
    time.sleep(2)
    down = rss_bytes(c.proc.pid)
    started = time.monotonic()
    answer = requests.get(f"{c.admin}/api/v1/agents", params={"limit": 1000}, timeout=10)
    took = time.monotonic() - started
    page = answer.json()
    assert len(page["agents"]) == 300 and "next" not in page, page.get("next")
    assert all(len(a["instance"].encode()) <= 256 and "…#" in a["instance"] for a in page["agents"])
    assert len({a["instance"] for a in page["agents"]}) == 300, "cut ids stay distinct"
    assert len(answer.content) < 1 * MIB, len(answer.content)
    peak = peak_rss_bytes(c.proc.pid)
    assert peak < 200 * MIB, f"peak RSS {peak / MIB:.0f} MiB (after seen {seen / MIB:.0f}, after down {down / MIB:.0f})"
    assert c.metric('seedwatch_strings_truncated_total{kind="agent"}') >= 300
    print(f"RSS seen {seen / MIB:.0f} MiB, down {down / MIB:.0f} MiB, peak {peak / MIB:.0f} MiB; "
          f"/api/v1/agents {len(answer.content)} bytes in {took * 1000:.0f} ms")


def test_slow_bodies_and_idle_connections_leave_a_python_sdk_client_exporting(collector):
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor, SpanExportResult

    raise_fd_limit()
    c = collector(http_extra="connections: {header_read_timeout: 4s, body_read_timeout: 6s, min_body_rate: 64KiB}")
    attack = ConnectionAttack(c.http_port, idle=2000, slow=200, trickle=0.5)
    try:
        results = []

        class Recording(OTLPSpanExporter):
            def export(self, spans):
                result = super().export(spans)
                results.append(result)
                return result

        provider = TracerProvider(resource=Resource.create({"service.name": "sdk-under-attack"}))
        provider.add_span_processor(SimpleSpanProcessor(Recording(endpoint=f"{c.http}/v1/traces", timeout=10)))
        tracer = provider.get_tracer("test")
        deadline = time.monotonic() + 12
        exported = 0
        while time.monotonic() < deadline:
            with tracer.start_as_current_span("execute_tool run_metabolic_fba") as span:
                span.set_attribute("gen_ai.operation.name", "execute_tool")
                span.set_attribute("gen_ai.tool.name", "run_metabolic_fba")
            exported += 1
            time.sleep(0.1)
        provider.shutdown()
    finally:
        attack.stop()
    assert exported >= 50 and results.count(SpanExportResult.SUCCESS) == exported, (exported, results[-5:])
    assert c.wait_for('seedwatch_receiver_accepted_spans_total{transport="http_protobuf"}', exported) == exported

    # Every slow client was cut: answered 408 after the 2 s start at the minimum rate, well
    # within the body timeout; the idle ones were closed after the header timeout.
    assert len(attack.slow_lasted) >= 200, len(attack.slow_lasted)
    assert max(attack.slow_lasted) < 6 + 1, max(attack.slow_lasted)
    assert all(a.startswith(b"HTTP/1.1 408") for a in attack.slow_answers), attack.slow_answers[:3]
    cut = c.metric('seedwatch_listener_bodies_cut_total{listener="otlp/http",reason="too_slow"}')
    assert cut >= 200, cut
    closed = c.metric('seedwatch_listener_connections_closed_total{listener="otlp/http",reason="header_timeout"}')
    assert closed >= 2000, closed
    assert attack.idle_closed >= 2000, attack.idle_closed
    print(f"{exported} SDK exports all succeeded; {len(attack.slow_lasted)} slow bodies cut after "
          f"{min(attack.slow_lasted):.1f}-{max(attack.slow_lasted):.1f} s; {attack.idle_closed} idle connections closed")


@pytest.mark.skipif(ALERTMANAGER is None, reason="prometheus-alertmanager is not installed")
def test_a_flood_of_new_instances_leaves_a_live_agent_tracked_and_its_alert_alone(collector, tmp_path):
    am = Alertmanager(tmp_path)
    try:
        c = collector(
            "processors:\n  agent_metrics: {}\n"
            f"alerting:\n  alertmanager: {{url: '{am.url}', resend_interval: 2s}}\n"
        )

        def report():
            body = health_check_request("modelseed-agent", "real-1", "database", 2)
            assert post(c.http, "/v1/metrics", body).status_code == 200

        def real_alert():
            return [
                a for a in am.alerts()
                if a["labels"].get("instance") == "real-1" and a["labels"]["alertname"] == "AgentUnhealthy"
            ]

        report()
        assert wait_until(real_alert, timeout=15), am.alerts()
        started_at = real_alert()[0]["startsAt"]

        # 100 requests of 1,000 new instances each, over about ten seconds.
        answers = []

        def flood():
            for batch in range(100):
                resources = [
                    (agent_resource("flood", f"bot-{batch}-{i}"), tool_spans(1, batch * 1000 + i + 1))
                    for i in range(1000)
                ]
                answers.append(post(c.http, "/v1/traces", traces_request(resources)).status_code)
                time.sleep(0.1)

        flooding = threading.Thread(target=flood)
        flooding.start()
        samples = 0
        while flooding.is_alive() or samples < 3:
            report()
            page = agents_page(c, state="unhealthy", limit=10)
            assert [a["instance"] for a in page["agents"]] == ["real-1"], (samples, page["agents"])
            alert = real_alert()
            assert alert and alert[0]["startsAt"] == started_at and alert[0]["status"]["state"] == "active", alert
            samples += 1
            time.sleep(1)
        flooding.join()
        assert answers == [200] * 100, answers
        report()
        counts = agents_page(c, limit=1)["counts"]
        assert counts["total"] == 10_000 and counts["untracked"] >= 100_000 - 9_999, counts
        assert c.metric("seedwatch_agents_untracked_total") == counts["untracked"]
        assert samples >= 8, samples
        # After the flood, still there, still alerting, never resolved in between.
        assert [a["instance"] for a in agents_page(c, state="unhealthy")["agents"]] == ["real-1"]
        assert real_alert()[0]["startsAt"] == started_at
        print(f"{samples} samples during the flood; {counts['untracked']} arrivals untracked")
    finally:
        am.stop()


def test_replays_at_50k_llm_spans_per_second_are_never_charged_twice(collector, tmp_path):
    config = (
        "processors:\n  agent_metrics:\n    budgets:\n"
        f"      store: {{path: '{tmp_path / 'budgets.redb'}'}}\n"
        "      limits: {all: {limit_usd: 1000000000}}\n"
    )
    c = collector(config)
    end = int(time.time())
    loadgen = BIN_DIR / "seedwatch-loadgen"

    def send(*args, to=None) -> dict:
        """The loadgen's unique, replayable traffic: request n is the same whenever it is sent."""
        out = subprocess.run(
            [str(loadgen), "--endpoint", (to or c).grpc, "--unique", "--end-time", str(end), "--json", *args],
            capture_output=True, text=True, timeout=300, check=True,
        )
        return json.loads(out.stdout)

    def charged() -> float:
        return c.metrics().get('seedwatch_budget_spans_total{outcome="charged"}', 0)

    def spent(coll) -> float:
        return requests.get(f"{coll.admin}/api/v1/budgets", timeout=5).json()["budgets"][0]["spent_usd"]

    run = send("--duration", "60s", "--concurrency", "8")
    assert run["requests_refused"] == 0 and run["requests_failed"] == 0, run
    llm_spans = run["spans_accepted"] * 3 // 10  # 3 of every 10 spans are LLM calls
    assert wait_until(lambda: charged() == llm_spans, timeout=30), (charged(), llm_spans)
    rate = llm_spans / run["seconds"]
    assert rate >= 50_000, f"{rate:.0f} LLM spans/s"
    before = spent(c)
    assert c.metric("seedwatch_budget_dedupe_window_seconds") == 86_400, "the whole window was kept"

    # Replay the first, middle and last requests: nothing is charged again.
    total = run["requests_ok"]
    replayed = 0
    for start in (0, total // 2, total - 300):
        r = send("--start-at", str(start), "--requests", "300")
        assert r["requests_refused"] == 0, r
        replayed += r["spans_accepted"] * 3 // 10
    duplicates = lambda: c.metrics().get('seedwatch_budget_spans_total{outcome="duplicate"}', 0)  # noqa: E731
    assert wait_until(lambda: duplicates() == replayed, timeout=30), (duplicates(), replayed)
    assert charged() == llm_spans and spent(c) == before

    # And after a restart (spend and the marks of charged spans are on disk).
    c.stop()
    again = collector(config)
    restarted = spent(again)
    assert restarted == pytest.approx(before, rel=1e-9)
    r = send("--start-at", str(total // 3), "--requests", "300", to=again)
    assert r["requests_ok"] == 300, r
    assert wait_until(
        lambda: again.metrics().get('seedwatch_budget_spans_total{outcome="duplicate"}', 0) == r["spans_accepted"] * 3 // 10,
        timeout=30,
    )
    assert spent(again) == restarted
    print(f"{llm_spans} LLM spans charged at {rate:.0f}/s; {replayed} replayed: none charged again")
