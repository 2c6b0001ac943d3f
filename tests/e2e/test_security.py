"""Locked doors end to end: TLS (certificates made by `openssl` per test) and credentials on
every listener, with real clients — the Python OpenTelemetry SDK configured only through its
environment variables, Rotel as an OTLP client, a second seedwatch as a TLS-serving OTLP peer —
plus tenants stamped from credentials, the admin API's doors, and certificate rotation."""

from __future__ import annotations

import hashlib
import json
import os
import socket
import ssl
import subprocess
import sys
from pathlib import Path

import pytest
import requests

from certs import Authority
from conftest import wait_until
from otel_clients import TRANSPORT_LABEL, exporters, send_traces
from otlp_raw import llm_call_request, tool_spans_request
from test_rotel import start_rotel

HERE = Path(__file__).resolve().parent
TOKEN_A = "token-for-agent-a-0001"  # tenant acme, write (configured as its SHA-256)
TOKEN_B = "token-for-agent-b-0002"  # tenant beta, write
TOKEN_OPS = "token-for-ops-00000003"  # read
SIGNALS = [("spans", "spans"), ("metric_points", "metric_points"), ("logs", "log_records")]


def credentials(path: Path, clients: str = "") -> Path:
    digest = hashlib.sha256(TOKEN_A.encode()).hexdigest()
    path.write_text(
        "tokens:\n"
        f"  - {{name: agent-a, token: 'sha256:{digest}', tenant: acme, roles: [write]}}\n"
        f"  - {{name: agent-b, token: {TOKEN_B}, tenant: beta, roles: [write]}}\n"
        f"  - {{name: ops, token: {TOKEN_OPS}, roles: [read]}}\n" + clients
    )
    return path


def session(ca: Authority, token: str | None = TOKEN_OPS, client=None) -> requests.Session:
    s = requests.Session()
    s.trust_env = False  # else REQUESTS_CA_BUNDLE, when set, wins over `verify`
    s.verify = str(ca.cert)
    if token:
        s.headers["authorization"] = f"Bearer {token}"
    if client:
        s.cert = (str(client.cert), str(client.key))
    return s


def secured_env(tmp_path: Path, ca: Authority, client_ca: bool = False, clients: str = "") -> dict:
    server = ca.server()
    env = {
        "SEEDWATCH_TLS_CERT_FILE": str(server.cert),
        "SEEDWATCH_TLS_KEY_FILE": str(server.key),
        "SEEDWATCH_AUTH_FILE": str(credentials(tmp_path / "credentials.yaml", clients)),
    }
    if client_ca:
        env["SEEDWATCH_TLS_CLIENT_CA_FILE"] = str(ca.cert)
    return env


def run_sdk(protocol: str, endpoint: str, ca: Path, headers: str | None = None, client=None) -> dict:
    """The SDK in its own process, configured only through OTEL_EXPORTER_OTLP_* variables."""
    # requests lets REQUESTS_CA_BUNDLE / CURL_CA_BUNDLE override a session's `verify`, which is
    # how the SDK's http/protobuf exporter applies OTEL_EXPORTER_OTLP_CERTIFICATE.
    dropped = ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE")
    env = {k: v for k, v in os.environ.items() if not k.startswith("OTEL_") and k not in dropped}
    env.update(OTEL_EXPORTER_OTLP_ENDPOINT=endpoint, OTEL_EXPORTER_OTLP_CERTIFICATE=str(ca), OTEL_EXPORTER_OTLP_TIMEOUT="5")
    if headers:
        env["OTEL_EXPORTER_OTLP_HEADERS"] = headers
    if client:
        env.update(OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE=str(client.cert), OTEL_EXPORTER_OTLP_CLIENT_KEY=str(client.key))
    done = subprocess.run(
        [sys.executable, str(HERE / "sdk_env_client.py"), protocol],
        env=env, cwd=HERE, capture_output=True, text=True, timeout=180,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def accepted(c, label: str) -> dict[str, float]:
    m = c.metrics()
    return {key: m.get(f'seedwatch_receiver_accepted_{name}_total{{transport="{label}"}}', 0) for key, name in SIGNALS}


@pytest.mark.parametrize("protocol", ["grpc", "http/protobuf", "http/json"])
def test_the_sdk_exports_exactly_over_tls_with_a_token_and_nothing_without_one(collector, tmp_path, protocol):
    ca = Authority(tmp_path / "pki")
    c = collector(env=secured_env(tmp_path, ca), embedded=True, session=session(ca))
    endpoint = c.grpc if protocol == "grpc" else c.http
    label = TRANSPORT_LABEL[protocol]
    listener = "otlp/grpc" if protocol == "grpc" else "otlp/http"

    sent = run_sdk(protocol, endpoint, ca.cert, headers=f"authorization=Bearer%20{TOKEN_A}")
    assert all(sent[f"{key}_ok"] for key, _ in SIGNALS), sent
    expected = {key: sent[key] for key, _ in SIGNALS}
    assert wait_until(lambda: accepted(c, label) == expected, timeout=15), (accepted(c, label), expected)

    for headers, reason in [(f"authorization=Bearer%20{TOKEN_A}x", "invalid"), (None, "missing")]:
        refused = run_sdk(protocol, endpoint, ca.cert, headers=headers)
        assert not any(refused[f"{key}_ok"] for key, _ in SIGNALS), refused
        failures = c.metric(f'seedwatch_receiver_auth_failures_total{{receiver="{listener}",reason="{reason}"}}')
        assert failures >= 3, failures
    assert accepted(c, label) == expected
    # A read-only credential cannot send.
    forbidden = run_sdk(protocol, endpoint, ca.cert, headers=f"authorization=Bearer%20{TOKEN_OPS}")
    assert not forbidden["spans_ok"], forbidden
    assert accepted(c, label) == expected


def handshake(port: int, cafile: Path, client=None) -> bytes:
    """A TLS handshake with 127.0.0.1:`port` trusting `cafile`: the server's certificate (DER),
    or raises."""
    context = ssl.create_default_context(cafile=str(cafile))
    if client:
        context.load_cert_chain(str(client.cert), str(client.key))
    with socket.create_connection(("127.0.0.1", port), timeout=5) as raw:
        with context.wrap_socket(raw, server_hostname="127.0.0.1") as tls:
            tls.do_handshake()
            # TLS 1.3 reports a refused client certificate only on the first read.
            tls.settimeout(0.5)
            try:
                tls.recv(1)
            except TimeoutError:
                pass
            return tls.getpeercert(binary_form=True)


def test_a_client_that_does_not_trust_the_ca_fails_the_handshake(collector, tmp_path):
    ca, stranger = Authority(tmp_path / "pki"), Authority(tmp_path / "other", "stranger-ca")
    c = collector(env=secured_env(tmp_path, ca), embedded=True, session=session(ca))
    for port in (c.grpc_port, c.http_port, c.admin_port):
        handshake(port, ca.cert)
        with pytest.raises(ssl.SSLCertVerificationError):
            handshake(port, stranger.cert)
    with pytest.raises(requests.exceptions.SSLError):
        requests.post(f"{c.http}/v1/traces", data=b"", verify=str(stranger.cert), timeout=5)
    m = c.metrics()
    for listener in ("otlp/grpc", "otlp/http", "admin"):
        assert m[f'seedwatch_listener_tls_handshake_failures_total{{listener="{listener}"}}'] >= 1
    assert sum(accepted(c, "http_protobuf").values()) == 0


@pytest.mark.parametrize("protocol", ["grpc", "http/protobuf"])
def test_required_client_certificates_authenticate_and_stamp_their_tenant(collector, tmp_path, protocol):
    ca = Authority(tmp_path / "pki")
    agent, ops = ca.client("agent-c", "agent-c.acme.internal"), ca.client("ops", "ops.internal")
    clients = "clients:\n  - {name: agent-c, subject_alt_name: agent-c.acme.internal, tenant: acme, roles: [write]}\n"
    env = secured_env(tmp_path, ca, client_ca=True, clients=clients)
    c = collector(env=env, embedded=True, session=session(ca, client=ops))
    endpoint = c.grpc if protocol == "grpc" else c.http
    sent = run_sdk(protocol, endpoint, ca.cert, client=agent)
    assert all(sent[f"{key}_ok"] for key, _ in SIGNALS), sent
    label = TRANSPORT_LABEL[protocol]
    expected = {key: sent[key] for key, _ in SIGNALS}
    assert wait_until(lambda: accepted(c, label) == expected, timeout=15), (accepted(c, label), expected)
    # A trusted certificate that names no credential authenticates nothing.
    refused = run_sdk(protocol, endpoint, ca.cert, client=ops)
    assert not refused["spans_ok"], refused
    # No certificate at all: no handshake.
    with pytest.raises((ssl.SSLError, ConnectionResetError, BrokenPipeError)):
        handshake(c.http_port, ca.cert)
    assert accepted(c, label) == expected


def test_rotel_delivers_every_span_over_tls_with_a_token(collector, tmp_path):
    ca = Authority(tmp_path / "pki")
    c = collector(env=secured_env(tmp_path, ca), embedded=True, session=session(ca))
    headers = ("--otlp-exporter-custom-headers", f"authorization=Bearer {TOKEN_B}")
    # Rotel 0.0.1a15 (the newest on PyPI) refuses to start with --otlp-exporter-tls-ca-file
    # ("Either both or neither of cert and key must be provided", whatever cert and key flags
    # are added); it verifies servers against the system's trust store, which SSL_CERT_FILE
    # points at our CA. Without it, Rotel does not trust the collector and delivers nothing.
    untrusting, untrusting_grpc, _ = start_rotel(tmp_path, "rotel-untrusting", "grpc", c.grpc, extra=headers)
    try:
        span_exp, _, _ = exporters("grpc", f"http://127.0.0.1:{untrusting_grpc}", "", False)
        assert send_traces(span_exp, spans_per_workflow=5, workflows=2).items == 10
        handshakes = 'seedwatch_listener_tls_handshake_failures_total{listener="otlp/grpc"}'
        assert wait_until(lambda: c.metric(handshakes) >= 1, timeout=15)
        assert c.metric('seedwatch_receiver_accepted_spans_total{transport="grpc"}') == 0
    finally:
        untrusting.kill()
        untrusting.wait(timeout=10)
    proc, rotel_grpc, _ = start_rotel(
        tmp_path, "rotel", "grpc", c.grpc, extra=headers, env={"SSL_CERT_FILE": str(ca.cert)}
    )
    try:
        span_exp, _, _ = exporters("grpc", f"http://127.0.0.1:{rotel_grpc}", "", False)
        assert send_traces(span_exp, spans_per_workflow=5, workflows=40).items == 200
        got = c.wait_for('seedwatch_receiver_accepted_spans_total{transport="grpc"}', 200, timeout=30)
        assert got == 200, f"got {got} of 200 spans; rotel log:\n{(tmp_path / 'rotel.log').read_text()}"
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    assert c.metric('seedwatch_receiver_refused_spans_total{transport="grpc"}') == 0


def test_a_rotated_certificate_is_served_without_a_restart(collector, tmp_path):
    first, second = Authority(tmp_path / "first", "first-ca"), Authority(tmp_path / "second", "second-ca")
    old, new = first.server(), second.server()
    cert, key = tmp_path / "server.pem", tmp_path / "server.key"
    cert.write_bytes(old.cert.read_bytes())
    key.write_bytes(old.key.read_bytes())
    c = collector(
        f"security: {{tls: {{cert_file: '{cert}', key_file: '{key}'}}, reload_interval: 200ms}}\n",
        session=session(first, token=None),
    )
    pid = c.proc.pid
    der = lambda pair: ssl.PEM_cert_to_DER_cert(pair.cert.read_text())  # noqa: E731
    assert handshake(c.http_port, first.cert) == der(old)
    # Rotate: the key first, then the certificate (a reload in between fails and is retried).
    key.write_bytes(new.key.read_bytes())
    cert.write_bytes(new.cert.read_bytes())
    applied = 'seedwatch_security_reloads_total{file="tls",outcome="applied"}'
    c.session = session(second, token=None)
    assert wait_until(lambda: handshake_ok(c.admin_port, second.cert) and c.metrics().get(applied, 0) >= 1, timeout=15)
    for port in (c.grpc_port, c.http_port, c.admin_port):
        assert handshake(port, second.cert) == der(new)
        with pytest.raises(ssl.SSLCertVerificationError):
            handshake(port, first.cert)
    assert c.proc.pid == pid and c.proc.poll() is None


def handshake_ok(port: int, cafile: Path) -> bool:
    try:
        handshake(port, cafile)
        return True
    except (ssl.SSLError, OSError):
        return False


def test_spend_lands_in_the_tenant_of_the_credential_whatever_the_client_claims(collector, tmp_path):
    ca = Authority(tmp_path / "pki")
    server = ca.server()
    creds = credentials(tmp_path / "credentials.yaml")
    c = collector(
        f"security: {{tls: {{cert_file: '{server.cert}', key_file: '{server.key}'}}, auth: {{credentials_file: '{creds}'}}}}\n"
        "processors:\n  agent_metrics:\n    budgets:\n"
        f"      store: {{path: '{tmp_path / 'budgets.redb'}', flush_interval: 200ms}}\n"
        "      limits:\n"
        "        acme: {limit_usd: 100, scope: {resource: {seedwatch.tenant: acme}}}\n"
        "        beta: {limit_usd: 100, scope: {resource: {seedwatch.tenant: beta}}}\n",
        session=session(ca),
    )

    def post(token: str, n: int, cost: float, claimed: dict | None = None):
        body = llm_call_request(n, cost, instance=f"tenant-{n}", resource_attributes=claimed)
        headers = {"content-type": "application/x-protobuf", "authorization": f"Bearer {token}"}
        r = requests.post(f"{c.http}/v1/traces", data=body, headers=headers, verify=str(ca.cert), timeout=10)
        assert r.status_code == 200, r.text

    post(TOKEN_A, 1, 1.25)
    post(TOKEN_B, 2, 2.5)
    post(TOKEN_B, 3, 4.0, claimed={"seedwatch.tenant": "acme"})  # B claims to be acme
    # The same over gRPC: the tenant comes from the credential there too.
    import grpc
    from opentelemetry.proto.collector.trace.v1 import trace_service_pb2, trace_service_pb2_grpc

    channel = grpc.secure_channel(
        f"127.0.0.1:{c.grpc_port}", grpc.ssl_channel_credentials(root_certificates=ca.cert.read_bytes())
    )
    request = trace_service_pb2.ExportTraceServiceRequest.FromString(
        llm_call_request(4, 8.0, instance="tenant-4", resource_attributes={"seedwatch.tenant": "acme"})
    )
    trace_service_pb2_grpc.TraceServiceStub(channel).Export(
        request, metadata=[("authorization", f"Bearer {TOKEN_B}")], timeout=10
    )
    channel.close()

    def spent():
        body = c.session.get(f"{c.admin}/api/v1/budgets", timeout=5).json()
        return {b["name"]: b["spent_usd"] for b in body["budgets"]}

    assert wait_until(lambda: spent() == {"acme": 1.25, "beta": 14.5}, timeout=15), spent()


def test_the_admin_api_needs_a_read_credential_and_a_known_host_but_probes_stay_open(collector, tmp_path):
    ca = Authority(tmp_path / "pki")
    c = collector(env=secured_env(tmp_path, ca), embedded=True, session=session(ca))
    anonymous = session(ca, token=None)
    r = anonymous.get(f"{c.admin}/api/v1/budgets", timeout=5)
    assert r.status_code == 401 and r.headers["www-authenticate"].startswith("Bearer"), (r.status_code, r.headers)
    for path in ("/api/v1/agents", "/metrics", "/health", "/health/detailed"):
        assert anonymous.get(f"{c.admin}{path}", timeout=5).status_code == 401, path
    assert session(ca, token=TOKEN_A).get(f"{c.admin}/api/v1/budgets", timeout=5).status_code == 403
    assert c.session.get(f"{c.admin}/api/v1/budgets", timeout=5).status_code == 200
    for probe in ("/health/live", "/health/ready"):
        assert anonymous.get(f"{c.admin}{probe}", timeout=5).status_code == 200, probe
    rebound = c.session.get(f"{c.admin}/api/v1/budgets", headers={"host": "attacker.example"}, timeout=5)
    assert rebound.status_code == 421
    assert "access-control-allow-origin" not in c.session.get(
        f"{c.admin}/api/v1/budgets", headers={"origin": "https://attacker.example"}, timeout=5
    ).headers
    m = c.metrics()
    assert m['seedwatch_receiver_auth_failures_total{receiver="admin",reason="missing"}'] == 5
    assert m['seedwatch_receiver_auth_failures_total{receiver="admin",reason="forbidden"}'] == 1
    assert m['seedwatch_receiver_auth_failures_total{receiver="admin",reason="host"}'] == 1


def test_otlp_forward_over_grpc_with_tls_reaches_a_tls_peer_with_every_span(collector, tmp_path):
    ca = Authority(tmp_path / "pki")
    sink = collector(env=secured_env(tmp_path, ca), embedded=True, session=session(ca))
    forwarder = collector(
        "exporters:\n  otlp/forward:\n"
        f"    endpoint: '{sink.grpc}'\n    protocol: grpc\n    compression: gzip\n"
        f"    tls: {{ca_file: '{ca.cert}'}}\n    headers: {{authorization: 'Bearer {TOKEN_A}'}}\n"
    )
    span_exp, _, _ = exporters("grpc", forwarder.grpc, "", False)
    assert send_traces(span_exp, spans_per_workflow=5, workflows=40).items == 200
    got = sink.wait_for('seedwatch_receiver_accepted_spans_total{transport="grpc"}', 200, timeout=30)
    assert got == 200
    assert forwarder.wait_for('seedwatch_exporter_sent_spans_total{exporter="otlp/forward"}', 200) == 200


def test_validate_warns_about_exposed_listeners_and_refuses_bad_tls_files(tmp_path):
    from conftest import BIN

    exposed = tmp_path / "exposed.yaml"
    exposed.write_text("receivers: {otlp: {grpc: {endpoint: '0.0.0.0:4317'}}}\n")
    out = subprocess.run([str(BIN), "validate", "-c", str(exposed)], capture_output=True, text=True)
    assert out.returncode == 0 and "receivers.otlp.grpc.endpoint` 0.0.0.0:4317 is reachable" in out.stdout, out
    broken = tmp_path / "broken.yaml"
    not_pem = tmp_path / "cert.pem"
    not_pem.write_text("hello")
    broken.write_text(f"security: {{tls: {{cert_file: '{not_pem}', key_file: '{not_pem}'}}}}\n")
    out = subprocess.run([str(BIN), "validate", "-c", str(broken)], capture_output=True, text=True)
    assert out.returncode != 0 and "security.tls.cert_file" in out.stderr and str(not_pem) in out.stderr, out.stderr


def test_rate_limits_per_credential_and_per_address_answer_429_and_resource_exhausted(collector, tmp_path):
    import grpc
    from opentelemetry.proto.collector.trace.v1 import trace_service_pb2, trace_service_pb2_grpc

    creds = credentials(tmp_path / "credentials.yaml")
    c = collector(
        f"security: {{auth: {{credentials_file: '{creds}'}}, rate_limits: {{"
        "per_credential: {requests_per_second: 1, burst: 1s}, per_address: {bytes_per_second: 1KiB, burst: 1s}}}\n",
        session=session_plain(),
    )
    headers = {"content-type": "application/x-protobuf", "authorization": f"Bearer {TOKEN_A}"}
    body = llm_call_request(1, 0.01)
    first = requests.post(f"{c.http}/v1/traces", data=body, headers=headers, timeout=5)
    second = requests.post(f"{c.http}/v1/traces", data=body, headers=headers, timeout=5)
    assert first.status_code == 200, first.text
    assert second.status_code == 429 and int(second.headers["retry-after"]) >= 1, (second.status_code, second.headers)
    # agent-b is not limited by agent-a's requests; its 8 KiB from this address put the address
    # into debt against its 1 KiB/s, so the next request from here is refused, whoever sends it.
    other = {**headers, "authorization": f"Bearer {TOKEN_B}"}
    padded = tool_spans_request(10, 1, padding=8192)
    assert requests.post(f"{c.http}/v1/traces", data=padded, headers=other, timeout=5).status_code == 200
    stub = trace_service_pb2_grpc.TraceServiceStub(grpc.insecure_channel(f"127.0.0.1:{c.grpc_port}"))
    with pytest.raises(grpc.RpcError) as refused:
        stub.Export(
            trace_service_pb2.ExportTraceServiceRequest.FromString(body),
            metadata=[("authorization", f"Bearer {TOKEN_B}")],
            timeout=5,
        )
    assert refused.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED, refused.value
    m = c.metrics()
    assert m['seedwatch_receiver_rate_limited_total{receiver="otlp/http",by="credential",limit="requests"}'] == 1
    assert m['seedwatch_receiver_rate_limited_total{receiver="otlp/grpc",by="address",limit="bytes"}'] == 1


def session_plain() -> requests.Session:
    s = requests.Session()
    s.headers["authorization"] = f"Bearer {TOKEN_OPS}"
    return s


@pytest.mark.parametrize("protocol", ["grpc", "http/protobuf"])
def test_the_agent_crate_exports_over_tls_with_a_token_or_a_client_certificate(collector, tmp_path, protocol):
    from test_demo_agent import run_agent

    ca = Authority(tmp_path / "pki")
    agent, ops = ca.client("agent-c", "agent-c.acme.internal"), ca.client("ops", "ops.internal")
    clients = "clients:\n  - {name: agent-c, subject_alt_name: agent-c.acme.internal, tenant: acme, roles: [write]}\n"
    env = secured_env(tmp_path, ca, client_ca=True, clients=clients)
    env["SEEDWATCH_TLS_CLIENT_AUTH"] = "optional"
    c = collector(env=env, embedded=True, session=session(ca, client=ops))
    endpoint = c.grpc if protocol == "grpc" else c.http
    label = TRANSPORT_LABEL[protocol]
    tls = {"OTEL_EXPORTER_OTLP_PROTOCOL": protocol, "OTEL_EXPORTER_OTLP_CERTIFICATE": str(ca.cert)}
    with_token = {**tls, "OTEL_EXPORTER_OTLP_HEADERS": f"authorization=Bearer%20{TOKEN_A}"}
    with_cert = {**tls, "OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE": str(agent.cert), "OTEL_EXPORTER_OTLP_CLIENT_KEY": str(agent.key)}
    exported = 0
    for extra in (with_token, with_cert):
        (tmp_path / "run").mkdir(exist_ok=True)
        run = run_agent(tmp_path / "run", endpoint, workflows=3, extra_env=extra)
        assert run.returncode == 0, run.stderr
        assert run.spans_exported > 0 and (run.spans_dropped, run.logs_dropped, run.metric_exports_failed) == (0, 0, 0), run.stderr
        exported += run.spans_exported
        assert c.wait_for(f'seedwatch_receiver_accepted_spans_total{{transport="{label}"}}', exported) == exported
    # Without a credential the agent's exports are refused and counted as dropped, not lost silently.
    run = run_agent(tmp_path / "run", endpoint, workflows=1, extra_env=tls)
    assert run.returncode == 0 and run.spans_dropped > 0 and run.spans_exported == 0, run.stderr


def test_cors_is_off_by_default_and_on_for_configured_origins_only(collector, tmp_path):
    ca = Authority(tmp_path / "pki")
    env = secured_env(tmp_path, ca)
    c = collector(
        "security: {tls: {cert_file: '%s', key_file: '%s'}, auth: {credentials_file: '%s'}}\n"
        % (env["SEEDWATCH_TLS_CERT_FILE"], env["SEEDWATCH_TLS_KEY_FILE"], env["SEEDWATCH_AUTH_FILE"]),
        admin_extra="cors_allowed_origins: ['https://grafana.example.com']",
        session=session(ca),
    )
    allowed = c.session.get(f"{c.admin}/health/detailed", headers={"origin": "https://grafana.example.com"}, timeout=5)
    assert allowed.status_code == 200
    assert allowed.headers["access-control-allow-origin"] == "https://grafana.example.com"
    other = c.session.get(f"{c.admin}/health/detailed", headers={"origin": "https://attacker.example"}, timeout=5)
    assert "access-control-allow-origin" not in other.headers
    # A browser's preflight is answered without a credential, and only for the allowed origin.
    preflight = session(ca, token=None).options(
        f"{c.admin}/health/detailed",
        headers={"origin": "https://grafana.example.com", "access-control-request-method": "GET",
                 "access-control-request-headers": "authorization"},
        timeout=5,
    )
    assert preflight.headers.get("access-control-allow-origin") == "https://grafana.example.com", preflight.headers


def test_validate_names_a_bad_tls_file_of_the_otlp_exporter(tmp_path):
    from conftest import BIN

    not_pem = tmp_path / "ca.pem"
    not_pem.write_text("not a certificate")
    config = tmp_path / "forward.yaml"
    config.write_text(
        f"exporters:\n  otlp/forward: {{endpoint: 'https://jaeger:4317', tls: {{ca_file: '{not_pem}'}}}}\n"
        "  otlp/plain: {endpoint: 'http://jaeger:4317', tls: {ca_file: '%s'}}\n" % not_pem
    )
    out = subprocess.run([str(BIN), "validate", "-c", str(config)], capture_output=True, text=True)
    assert out.returncode != 0
    assert "exporters.otlp/forward.tls.ca_file" in out.stderr and "no `CERTIFICATE` PEM block" in out.stderr, out.stderr
    assert "exporters.otlp/plain.endpoint" in out.stderr and "https://" in out.stderr, out.stderr
