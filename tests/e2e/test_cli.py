"""The `seedwatch` command line as an operator uses it: validate, health, run errors."""

import json
import subprocess
import time

import requests

from conftest import BIN, ROOT, Collector, free_port, free_ports
from otel_clients import exporters, send_traces


def sw(*args, **kw) -> subprocess.CompletedProcess:
    return subprocess.run([str(BIN), *args], capture_output=True, text=True, timeout=30, **kw)


def health_until(c, code: int, timeout: float = 10) -> subprocess.CompletedProcess:
    """Runs `seedwatch health` until it exits with `code` (or the timeout) and returns that run."""
    deadline = time.monotonic() + timeout
    while True:
        out = sw("health", "--url", c.admin)
        if out.returncode == code or time.monotonic() > deadline:
            assert out.returncode == code, out
            return out
        time.sleep(0.1)


def test_version():
    out = sw("--version")
    assert out.returncode == 0
    assert out.stdout.strip().startswith("seedwatch ")


def test_validate_accepts_every_shipped_collector_config():
    configs = sorted((ROOT / "otel-config").glob("seedwatch*.yaml"))
    assert configs
    for config in configs:
        out = sw("validate", "-c", str(config))
        assert out.returncode == 0, out.stderr
        assert "valid" in out.stdout


def test_validate_rejects_misspelt_key_naming_file_key_found_and_expected(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("receivers:\n  otlp:\n    http:\n      endpont: 127.0.0.1:4318\npipeline:\n  queue_capacity: 0\n")
    out = sw("validate", "-c", str(bad))
    assert out.returncode == 1
    assert f"{bad}: `receivers.otlp.http.endpont`: unknown field `endpont`" in out.stderr
    assert "expected one of" in out.stderr and "`endpoint`" in out.stderr
    assert "`pipeline.queue_capacity`: found `0`, expected a number greater than 0" in out.stderr


def test_validate_missing_file(tmp_path):
    out = sw("validate", "-c", str(tmp_path / "nope.yaml"))
    assert out.returncode == 1
    assert "nope.yaml: cannot read the config file" in out.stderr


def test_run_refuses_an_invalid_config_before_binding_anything(tmp_path):
    port = free_port()
    bad = tmp_path / "bad.yaml"
    bad.write_text(f"admin: {{endpoint: '127.0.0.1:{port}'}}\nexporters:\n  file: {{}}\n")
    out = sw("run", "-c", str(bad))
    assert out.returncode == 1
    assert "`exporters.file`: missing field `path`" in out.stderr
    # Nothing was bound: the port is still free.
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", port))


def test_run_reports_a_busy_port_with_its_config_key(collector, tmp_path):
    a = collector()
    b = Collector(tmp_path, "")
    b.config.write_text(b.config.read_text().replace(f"127.0.0.1:{b.admin_port}", f"127.0.0.1:{a.admin_port}"))
    out = sw("run", "-c", str(b.config))
    assert out.returncode == 1
    assert f"cannot listen on 127.0.0.1:{a.admin_port} (config key `admin.endpoint`)" in out.stderr


def test_health_healthy_text_and_json(collector):
    c = collector()
    out = sw("health", "--url", c.admin)
    assert out.returncode == 0, out
    assert ": healthy" in out.stdout
    out = sw("health", "--url", c.admin, "--detailed", "--format", "json")
    assert out.returncode == 0
    report = json.loads(out.stdout)
    assert report["status"] == "healthy" and report["ready"] is True
    assert report["components"]["receivers"]["otlp/grpc"]["status"] == "ok"
    assert report["queues"]["traces"]["capacity"] == 100000
    out = sw("health", "--url", c.admin, "--detailed")
    assert "otlp/http" in out.stdout and "QUEUE" in out.stdout


def test_health_degraded_when_an_exporter_keeps_failing(collector):
    # /dev/full accepts the open and fails every write with ENOSPC: a real failing exporter.
    c = collector("exporters:\n  file/full: {path: /dev/full}\nservice: {shutdown_timeout: 2s}\n")
    span_exp, _, _ = exporters("grpc", c.grpc, c.http)
    send_traces(span_exp, spans_per_workflow=2, workflows=1)
    out = health_until(c, 1)
    assert "degraded" in out.stdout and "file/full" in out.stdout and "No space left" in out.stdout
    # Shutdown cannot deliver the queued span; it says so and exits non-zero.
    assert c.stop() == 1
    assert "items still queued" in c.log.read_text()


def test_health_unhealthy_when_an_exporter_cannot_start(collector):
    c = collector("exporters:\n  file: {path: /nonexistent-dir/otlp.jsonl}\n", wait_ready=False)
    out = health_until(c, 2)
    assert "unhealthy" in out.stdout and "cannot start" in out.stdout
    ready = requests.get(f"{c.admin}/health/ready", timeout=5)
    assert ready.status_code == 503 and "file failed" in ready.text


def test_health_unreachable_exits_2():
    out = sw("health", "--url", f"http://127.0.0.1:{free_port()}", "--timeout", "2s")
    assert out.returncode == 2
    assert "unreachable" in out.stderr
    out = sw("health", "--url", f"http://127.0.0.1:{free_port()}", "--format", "json")
    assert out.returncode == 2 and json.loads(out.stdout)["status"] == "unreachable"


def agents_until(c, code: int, timeout: float = 10) -> subprocess.CompletedProcess:
    """Runs `seedwatch health --agents` until it exits with `code` (or the timeout)."""
    deadline = time.monotonic() + timeout
    while True:
        out = sw("health", "--agents", "--url", c.admin)
        if out.returncode == code or time.monotonic() > deadline:
            assert out.returncode == code, out
            return out
        time.sleep(0.2)


def test_health_agents_table_follows_an_agent_from_healthy_to_down(collector):
    c = collector("processors:\n  agent_metrics: {health: {down_after: 2s}}\n")
    out = sw("health", "--agents", "--url", c.admin)
    assert out.returncode == 0 and "0 agents" in out.stdout, out
    span_exporter, _, _ = exporters("grpc", c.grpc, c.http)
    send_traces(span_exporter, workflows=1)
    out = agents_until(c, 0)
    assert "1 agents: 1 healthy" in out.stdout, out.stdout
    row = next(line for line in out.stdout.splitlines() if line.startswith("modelseed-agent"))
    assert row.split()[:3] == ["modelseed-agent", "e2e-1", "healthy"], row
    out = agents_until(c, 2)
    assert "1 down" in out.stdout and "no telemetry for" in out.stdout, out.stdout
    report = json.loads(sw("health", "--agents", "--url", c.admin, "--format", "json").stdout)
    assert report["agents"][0]["state"] == "down" and report["counts"]["down"] == 1


def test_health_agents_says_why_when_agents_are_not_tracked(collector):
    c = collector("processors: {}\n")
    out = sw("health", "--agents", "--url", c.admin)
    assert out.returncode == 2 and "enable the agent_metrics processor" in out.stderr, out


def test_run_refuses_to_start_when_the_budget_store_cannot_be_opened(tmp_path):
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("a file where the store's directory should be")
    config = tmp_path / "budgets.yaml"
    grpc, http, admin = free_ports(3)
    config.write_text(
        f"receivers:\n  otlp:\n    grpc: {{endpoint: '127.0.0.1:{grpc}'}}\n"
        f"    http: {{endpoint: '127.0.0.1:{http}'}}\n"
        f"admin: {{endpoint: '127.0.0.1:{admin}'}}\n"
        "processors:\n  agent_metrics:\n    budgets:\n"
        f"      store: {{path: '{blocker}/budgets.redb'}}\n"
        "      limits: {daily: {limit_usd: 10}}\n"
    )
    out = sw("run", "-c", str(config))
    assert out.returncode != 0, out
    assert "budgets.store.path" in out.stderr and "budgets.redb" in out.stderr, out.stderr
