"""The load generator is a correct OTLP client: what it says was accepted is what seedwatch
counted, over both transports, and the derived series see its traffic."""

import json
import subprocess
import time

import pytest

from conftest import BIN_DIR

LOADGEN = BIN_DIR / "seedwatch-loadgen"


@pytest.mark.parametrize("protocol,label", [("grpc", "grpc"), ("http", "http_protobuf")])
def test_loadgen_counts_match_the_collector(collector, protocol, label):
    c = collector("processors:\n  agent_metrics: {}\n")
    endpoint = c.grpc if protocol == "grpc" else c.http
    out = subprocess.run(
        [str(LOADGEN), "--protocol", protocol, "--endpoint", endpoint, "--requests", "40", "--batch-size", "30",
         "--concurrency", "4", "--duration", "60s", "--json"],
        capture_output=True, text=True, timeout=120,
    )
    assert out.returncode == 0, out.stderr
    report = json.loads(out.stdout)
    assert report["requests_ok"] == 40 and report["spans_accepted"] == 1200
    assert report["latency_ms"]["p50"] > 0
    assert c.metric(f'seedwatch_receiver_accepted_spans_total{{transport="{label}"}}') == 1200
    # Derivation runs on the pipeline worker after acceptance: wait for it to catch up.
    deadline = time.monotonic() + 10
    while True:
        tools = sum(v for k, v in c.metrics().items() if k.startswith("modelseed_tool_executions_total{"))
        if tools == 40 * 3 * 6 or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    assert tools == 40 * 3 * 6, "6 tool calls in each of the 3 traces per request"
