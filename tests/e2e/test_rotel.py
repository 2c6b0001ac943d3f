"""Rotel, a Rust OpenTelemetry collector, as an independent OTLP peer: it forwards spans to
seedwatch over OTLP gRPC and OTLP HTTP, and seedwatch's `otlp` exporter forwards to it; every
span must arrive."""

import os
import socket
import subprocess
import time
from pathlib import Path

import pytest
import rotel

from conftest import free_ports
from otel_clients import exporters, send_traces

ROTEL_AGENT = Path(rotel.__file__).parent / "rotel-agent"


def wait_for_port(port: int, proc: subprocess.Popen, timeout: float = 15) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert proc.poll() is None, "rotel-agent exited"
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise TimeoutError(f"rotel-agent did not listen on {port}")


def start_rotel(
    tmp_path, name: str, protocol: str, forward_to: str, extra: tuple[str, ...] = (), env: dict | None = None
) -> tuple[subprocess.Popen, int, int]:
    """Rotel receiving OTLP on two free ports and exporting over OTLP `protocol` to `forward_to`
    (with `extra` arguments and `env` variables); returns it once both ports listen, with the
    gRPC and HTTP ports. Logs to `{name}.log`."""
    rotel_grpc, rotel_http = free_ports(2)
    log = (tmp_path / f"{name}.log").open("w")
    proc = subprocess.Popen(
        [
            str(ROTEL_AGENT), "start",
            "--otlp-grpc-endpoint", f"127.0.0.1:{rotel_grpc}",
            "--otlp-http-endpoint", f"127.0.0.1:{rotel_http}",
            "--pid-file", str(tmp_path / f"{name}.pid"),
            "--exporter", "otlp",
            "--otlp-exporter-protocol", protocol,
            "--otlp-exporter-endpoint", forward_to,
            *extra,
        ],
        stdout=log, stderr=subprocess.STDOUT, env={**os.environ, "RUST_LOG": "info", **(env or {})},
    )
    try:
        wait_for_port(rotel_grpc, proc)
        wait_for_port(rotel_http, proc)
    except BaseException:
        proc.terminate()
        raise
    return proc, rotel_grpc, rotel_http


@pytest.mark.parametrize("protocol,endpoint_attr,label", [("grpc", "grpc", "grpc"), ("http", "http", "http_protobuf")])
def test_rotel_forwards_every_span(collector, tmp_path, protocol, endpoint_attr, label):
    assert ROTEL_AGENT.exists(), f"the rotel wheel should carry {ROTEL_AGENT}"
    c = collector()
    proc, rotel_grpc, _ = start_rotel(tmp_path, "rotel", protocol, getattr(c, endpoint_attr))
    try:
        span_exp, _, _ = exporters("grpc", f"http://127.0.0.1:{rotel_grpc}", "", False)
        sent = send_traces(span_exp, spans_per_workflow=5, workflows=40)
        assert sent.items == 200
        got = c.wait_for(f'seedwatch_receiver_accepted_spans_total{{transport="{label}"}}', 200, timeout=30)
        assert got == 200, f"seedwatch got {got} of 200 spans; rotel log:\n{(tmp_path / 'rotel.log').read_text()}"
        assert c.metric(f'seedwatch_receiver_refused_spans_total{{transport="{label}"}}') == 0
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    assert c.stop() == 0


@pytest.mark.parametrize("protocol,endpoint_of", [("grpc", "grpc"), ("http/protobuf", "http")])
def test_seedwatch_forwards_every_span_to_rotel(collector, tmp_path, protocol, endpoint_of):
    """SDK -> seedwatch (otlp exporter) -> Rotel -> a second seedwatch that counts."""
    sink = collector()
    proc, rotel_grpc, rotel_http = start_rotel(tmp_path, "rotel-downstream", "grpc", sink.grpc)
    try:
        rotel_endpoint = {"grpc": f"http://127.0.0.1:{rotel_grpc}", "http": f"http://127.0.0.1:{rotel_http}"}[endpoint_of]
        forwarder = collector(
            f"exporters:\n  otlp/rotel: {{endpoint: '{rotel_endpoint}', protocol: {protocol}, compression: gzip}}\n"
        )
        span_exp, _, _ = exporters("grpc", forwarder.grpc, "", False)
        sent = send_traces(span_exp, spans_per_workflow=5, workflows=40)
        assert sent.items == 200
        got = sink.wait_for('seedwatch_receiver_accepted_spans_total{transport="grpc"}', 200, timeout=30)
        assert got == 200, f"got {got} of 200 spans; rotel log:\n{(tmp_path / 'rotel-downstream.log').read_text()}"
        assert forwarder.metric('seedwatch_exporter_sent_spans_total{exporter="otlp/rotel"}') == 200
        assert forwarder.metric('seedwatch_exporter_send_failed_spans_total{exporter="otlp/rotel"}') == 0
    finally:
        proc.terminate()
        proc.wait(timeout=10)
