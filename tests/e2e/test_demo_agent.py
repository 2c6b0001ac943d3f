"""The Rust agent crate end to end, through `seedwatch-demo-agent`: its telemetry alone fills
the whole metric contract in a real Prometheus scraping seedwatch; pointed at Rotel (a foreign
OTLP receiver) it exports without error; with no collector at all it finishes its workflows
with bounded memory and says what it dropped."""

from __future__ import annotations

import json
import os
import re
import subprocess
import time
from pathlib import Path

import pytest
import requests

from conftest import BIN_DIR, free_port
from otel_clients import TRANSPORT_LABEL
from prometheus_server import PROMETHEUS, Prometheus
from test_rotel import start_rotel

DEMO = Path(os.environ.get("SEEDWATCH_DEMO_AGENT_BIN", BIN_DIR / "seedwatch-demo-agent"))

# Every series of the guide's metric contract (ARCHITECTURE.md), default namespace.
CONTRACT = [
    "modelseed_requests_total",
    "modelseed_request_duration_seconds_count",
    "modelseed_active_analyses",
    "modelseed_memory_usage_bytes",
    "modelseed_cpu_usage_percent",
    "modelseed_llm_requests_total",
    "modelseed_llm_duration_seconds_count",
    "modelseed_llm_errors_total",
    "modelseed_tool_executions_total",
    "modelseed_tool_duration_seconds_count",
    "modelseed_tool_errors_total",
]

SUMMARY = re.compile(
    r"(\d+) workflows \((\d+) failed\); telemetry: (\d+) spans exported, (\d+) dropped; "
    r"(\d+) log records exported, (\d+) dropped; (\d+) metric exports, (\d+) failed"
)


class AgentRun:
    def __init__(self, returncode: int, stdout: str, stderr: str, max_rss_kib: int):
        self.returncode, self.stdout, self.stderr, self.max_rss_kib = returncode, stdout, stderr, max_rss_kib
        m = SUMMARY.search(stderr)
        assert m, f"no summary line in the agent's stderr:\n{stderr[-3000:]}"
        (self.workflows, self.failed, self.spans_exported, self.spans_dropped, self.logs_exported,
         self.logs_dropped, self.metric_exports, self.metric_exports_failed) = map(int, m.groups())

    def json_lines(self) -> list[dict]:
        return [json.loads(line) for line in self.stdout.splitlines() if line.startswith("{")]


def run_agent(tmp_path: Path, endpoint: str, workflows: int, extra_env: dict | None = None, args: list[str] = ()) -> AgentRun:
    env = {
        **os.environ,
        "OTEL_EXPORTER_OTLP_ENDPOINT": endpoint,
        "OTEL_EXPORTER_OTLP_PROTOCOL": "http/protobuf",
        "OTEL_METRIC_EXPORT_INTERVAL": "1000",
        "OTEL_SERVICE_NAME": "modelseed-agent",
        **(extra_env or {}),
    }
    out, err = (tmp_path / "agent.out").open("w+"), (tmp_path / "agent.err").open("w+")
    proc = subprocess.Popen(
        [str(DEMO), "--workflows", str(workflows), "--fast", "--listen", f"127.0.0.1:{free_port()}", "--data-dir", str(tmp_path), *args],
        stdout=out, stderr=err, env=env,
    )
    deadline = time.monotonic() + 180
    while True:
        pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
        if pid:
            break
        if time.monotonic() > deadline:
            proc.kill()
            raise AssertionError("the demo agent did not finish in 180 s")
        time.sleep(0.05)
    proc.returncode = os.waitstatus_to_exitcode(status)
    out.seek(0)
    err.seek(0)
    return AgentRun(proc.returncode, out.read(), err.read(), usage.ru_maxrss)


@pytest.mark.skipif(PROMETHEUS is None, reason="prometheus not installed (tests/run.sh installs it)")
def test_agent_crate_alone_fills_the_metric_contract_in_prometheus(collector, tmp_path):
    c = collector("processors:\n  agent_metrics: {}\n")
    run = run_agent(tmp_path, c.http, workflows=20)
    assert run.returncode == 0, run.stderr
    assert (run.spans_dropped, run.logs_dropped, run.metric_exports_failed) == (0, 0, 0), run.stderr
    lines = run.json_lines()
    audits = [l for l in lines if l.get("event.name") == "audit.tool_execution"]
    tool_failures = [a for a in audits if a["success"] is False]
    assert audits and tool_failures, "the demo should run tools and fail some (10% failure rate)"

    prom = Prometheus(tmp_path, target=c.admin.removeprefix("http://"))
    try:
        for series in CONTRACT:
            assert prom.wait_for(f"count({series}) > bool 0", 1, timeout=30) == 1, f"{series} is missing in Prometheus"
        # Exact counts: what the agent did (its own audit log) is what Prometheus shows.
        assert prom.wait_for("sum(modelseed_tool_executions_total)", len(audits)) == len(audits)
        assert prom.wait_for("sum(modelseed_tool_errors_total)", len(tool_failures)) == len(tool_failures)
        assert prom.wait_for('sum(modelseed_requests_total{method="POST",endpoint="/api/v1/analyses"})', 20) == 20
        llm_calls = len([l for l in lines if l.get("event.name") == "security.api_key_usage"])
        assert prom.wait_for("sum(modelseed_llm_requests_total)", llm_calls) == llm_calls
        assert prom.wait_for('modelseed_active_analyses{service="modelseed-agent"}', 0) == 0
        assert prom.scalar('modelseed_memory_usage_bytes{service="modelseed-agent"}') > 1_000_000
        assert prom.scalar("sum(modelseed_llm_cost_usd_total)") > 0
        # The agent's own health checks reached the collector's view of the instance.
        agents = requests.get(f"{c.admin}/api/v1/agents", timeout=5).json()["agents"]
        agent = next(a for a in agents if a["service"] == "modelseed-agent")
        assert set(agent["checks"]) == {"llm_connectivity", "database", "file_system", "memory", "disk_space"}, agent
        for check in ["llm_connectivity", "database", "file_system"]:
            assert agent["checks"][check] == "healthy", agent
        # API keys never leave the agent: only fingerprints.
        assert "sk-demo-" not in run.stdout
    finally:
        prom.stop()
    assert c.stop() == 0


@pytest.mark.parametrize("protocol", ["grpc", "http/protobuf", "http/json"])
def test_every_otlp_protocol_delivers_every_record(collector, tmp_path, protocol):
    c = collector()
    endpoint = c.grpc if protocol == "grpc" else c.http
    run = run_agent(tmp_path, endpoint, workflows=5, extra_env={"OTEL_EXPORTER_OTLP_PROTOCOL": protocol})
    assert run.returncode == 0, run.stderr
    assert (run.spans_dropped, run.logs_dropped, run.metric_exports_failed) == (0, 0, 0), run.stderr
    label = TRANSPORT_LABEL[protocol]
    m = c.metrics()
    assert m[f'seedwatch_receiver_accepted_spans_total{{transport="{label}"}}'] == run.spans_exported > 0
    assert m[f'seedwatch_receiver_accepted_log_records_total{{transport="{label}"}}'] == run.logs_exported > 0
    assert m[f'seedwatch_receiver_accepted_metric_points_total{{transport="{label}"}}'] > 0
    for noun in ["spans", "metric_points", "log_records"]:
        assert m[f'seedwatch_receiver_refused_{noun}_total{{transport="{label}"}}'] == 0
    assert c.stop() == 0


def test_agent_exports_to_rotel_without_error(collector, tmp_path):
    """Rotel receives the agent's traces, metrics and logs over OTLP/HTTP and forwards them to a
    seedwatch that counts the spans."""
    sink = collector()
    proc, _, rotel_http = start_rotel(tmp_path, "rotel", "grpc", sink.grpc)
    try:
        run = run_agent(tmp_path, f"http://127.0.0.1:{rotel_http}", workflows=10)
        assert run.returncode == 0, run.stderr
        assert run.spans_exported > 0 and run.logs_exported > 0 and run.metric_exports > 0, run.stderr
        assert (run.spans_dropped, run.logs_dropped, run.metric_exports_failed) == (0, 0, 0), run.stderr
        got = sink.wait_for('seedwatch_receiver_accepted_spans_total{transport="grpc"}', run.spans_exported, timeout=30)
        assert got == run.spans_exported, f"seedwatch got {got} of {run.spans_exported} spans through Rotel"
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    assert sink.stop() == 0


def test_agent_without_collector_finishes_and_counts_what_it_dropped(tmp_path):
    closed = free_port()
    run = run_agent(
        tmp_path,
        f"http://127.0.0.1:{closed}",
        workflows=300,
        extra_env={"OTEL_BSP_MAX_QUEUE_SIZE": "256", "OTEL_BLRP_MAX_QUEUE_SIZE": "256", "OTEL_EXPORTER_OTLP_TIMEOUT": "500"},
    )
    assert run.returncode == 0, run.stderr
    assert run.workflows == 300
    assert run.spans_exported == 0 and run.logs_exported == 0
    assert run.spans_dropped > 300 and run.logs_dropped > 300, run.stderr
    assert run.metric_exports_failed >= 1
    # Nothing surfaced to the caller: every workflow ran its course (failures are the
    # simulated 10% tool failures, never telemetry errors).
    assert run.failed < run.workflows / 2
    assert len(run.stderr.strip().splitlines()) == 1, f"only the summary line, no errors:\n{run.stderr}"
    # Bounded: 300 workflows of ~10 spans and ~20 log records each, buffered at most 256 per signal.
    assert run.max_rss_kib < 150 * 1024, f"peak RSS {run.max_rss_kib} KiB"
