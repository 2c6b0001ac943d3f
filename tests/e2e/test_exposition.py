"""`/metrics` passes `promtool check metrics` (Prometheus's own linter) after real traffic."""

import shutil
import subprocess
import time

import pytest
import requests

from otel_clients import exporters, send_logs, send_traces

PROMTOOL = shutil.which("promtool")


@pytest.mark.skipif(PROMTOOL is None, reason="promtool not installed (tests/run.sh installs it)")
def test_promtool_check_metrics_passes(collector):
    c = collector("processors:\n  agent_metrics: {}\n")
    span_exp, _, log_exp = exporters("http/protobuf", c.grpc, c.http)
    send_traces(span_exp)  # workflow and tool spans: derived families get series
    send_logs(log_exp)
    # Derivation runs on the pipeline worker after acceptance: wait until it has caught up.
    deadline = time.monotonic() + 10
    while True:
        body = requests.get(f"{c.admin}/metrics", timeout=5)
        if 'modelseed_tool_executions_total{tool_name="tool_0"} 6' in body.text or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    assert body.headers["content-type"] == "text/plain; version=0.0.4; charset=utf-8"
    check = subprocess.run([PROMTOOL, "check", "metrics"], input=body.text, capture_output=True, text=True)
    assert check.returncode == 0, check.stdout + check.stderr
    for needle in ["seedwatch_receiver_accepted_spans_total", "seedwatch_queue_size", "seedwatch_queue_capacity",
                   "process_cpu_seconds_total", "process_resident_memory_bytes",
                   'modelseed_tool_executions_total{tool_name="tool_0"} 6', "modelseed_tool_duration_seconds_bucket",
                   "modelseed_workflow_duration_seconds_bucket", "seedwatch_derived_series_overflow_total"]:
        assert needle in body.text


@pytest.mark.skipif(PROMTOOL is None, reason="promtool not installed (tests/run.sh installs it)")
def test_promtool_is_not_lenient():
    """The check above can fail: promtool rejects a malformed exposition."""
    check = subprocess.run([PROMTOOL, "check", "metrics"], input="# TYPE x counter\nx{a=\"1\" 2\n",
                           capture_output=True, text=True)
    assert check.returncode != 0
