"""Three replicas sharing one Redis behind nginx (issue 18): budgets charged exactly once
whichever replica got which span, each workflow summarised once with its whole cost, one
health state per agent on every replica, each budget alert sent once; a replica SIGKILLed
mid-stream and Redis stopped for 30 s mid-stream."""

from __future__ import annotations

import subprocess
import threading
import time

import grpc
import pytest
import requests
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2, trace_service_pb2_grpc
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
from opentelemetry.proto.resource.v1.resource_pb2 import Resource
from opentelemetry.proto.trace.v1.trace_pb2 import ResourceSpans, ScopeSpans, Span, Status

from alertmanager_server import ALERTMANAGER, Alertmanager
from conftest import BIN_DIR, Collector, wait_until
from replicas import NGINX, Nginx, RedisServer, attribute, replica_config, summaries

pytestmark = pytest.mark.skipif(
    ALERTMANAGER is None or not __import__("os").path.exists(NGINX),
    reason="needs prometheus-alertmanager and nginx (tests/run.sh installs them)",
)


def kv(key: str, value) -> KeyValue:
    if isinstance(value, float):
        return KeyValue(key=key, value=AnyValue(double_value=value))
    return KeyValue(key=key, value=AnyValue(string_value=value))


def one_span(trace: int, span: int, parent: int, name: str, attrs: list, service: str, instance: str,
             error: bool = False) -> bytes:
    """One span in its own request, so that the spans of a trace go to different replicas."""
    now = time.time_ns()
    s = Span(
        trace_id=trace.to_bytes(16, "big"),
        span_id=span.to_bytes(8, "big"),
        parent_span_id=parent.to_bytes(8, "big") if parent else b"",
        name=name,
        start_time_unix_nano=now - 500_000_000,
        end_time_unix_nano=now,
        attributes=attrs,
        status=Status(code=Status.STATUS_CODE_ERROR if error else Status.STATUS_CODE_OK),
    )
    resource = Resource(attributes=[kv("service.name", service), kv("service.instance.id", instance)])
    return trace_service_pb2.ExportTraceServiceRequest(
        resource_spans=[ResourceSpans(resource=resource, scope_spans=[ScopeSpans(spans=[s])])]
    ).SerializeToString()


def llm(cost: float) -> list:
    return [kv("gen_ai.operation.name", "chat"), kv("gen_ai.provider.name", "openai"),
            kv("gen_ai.request.model", "gpt-4o"), kv("seedwatch.llm.cost_usd", cost)]


def workflow_requests(w: int, service: str = "replica-test", instance: str = "agent-a") -> tuple[list[bytes], float]:
    """A workflow trace as five requests: its root, three priced LLM calls, one tool call."""
    trace = 0x5EED_0000 + w
    root = [kv("gen_ai.operation.name", "invoke_workflow"), kv("gen_ai.workflow.name", "gapfill")]
    costs = [0.001_234_567 * (w % 5 + 1), 0.000_000_731 * (w + 1), 0.013_370_001]
    bodies = [one_span(trace, 1, 0, "invoke_workflow gapfill", root, service, instance)]
    bodies += [one_span(trace, 2 + i, 1, "chat gpt-4o", llm(c), service, instance) for i, c in enumerate(costs)]
    tool = [kv("gen_ai.operation.name", "execute_tool"), kv("gen_ai.tool.name", "run_metabolic_fba")]
    bodies.append(one_span(trace, 9, 1, "execute_tool run_metabolic_fba", tool, service, instance))
    return bodies, sum(costs)


class Sender:
    """Sends span requests through nginx, alternating OTLP/HTTP and OTLP/gRPC, retrying a
    refused request as an OTLP client does; records what was acknowledged, when, by whom."""

    def __init__(self, nginx: Nginx):
        self.nginx = nginx
        self.channel = grpc.insecure_channel(nginx.grpc)
        self.stub = trace_service_pb2_grpc.TraceServiceStub(self.channel)
        self.http = requests.Session()
        self.acked: list[tuple[float, str]] = []  # (monotonic time, replica http port or "grpc")
        self.failures = 0
        self.n = 0

    def send(self, body: bytes) -> None:
        for attempt in range(20):
            self.n += 1
            try:
                if self.n % 2:
                    r = self.http.post(f"{self.nginx.http}/v1/traces", data=body, timeout=10,
                                       headers={"content-type": "application/x-protobuf"})
                    if r.status_code == 200:
                        self.acked.append((time.monotonic(), r.headers.get("X-Upstream", "")))
                        return
                else:
                    self.stub.Export(trace_service_pb2.ExportTraceServiceRequest.FromString(body), timeout=10)
                    self.acked.append((time.monotonic(), "grpc"))
                    return
            except (requests.RequestException, grpc.RpcError):
                pass
            self.failures += 1
            time.sleep(0.05 * (attempt + 1))
        raise AssertionError("a request was refused 20 times")

    def close(self) -> None:
        self.channel.close()


class Fleet:
    def __init__(self, tmp_path, limits: str, alertmanager_url: str = ""):
        self.tmp = tmp_path
        self.redis = RedisServer(tmp_path)
        self.replicas = []
        for i in range(3):
            config = replica_config(tmp_path, i, self.redis.url, alertmanager_url, limits)
            self.replicas.append(Collector(tmp_path, config).start())
        self.nginx = Nginx(tmp_path, self.replicas)

    def live(self) -> list[Collector]:
        return [r for r in self.replicas if r.proc.poll() is None]

    def budget(self, replica: Collector, name: str) -> float:
        body = requests.get(f"{replica.admin}/api/v1/budgets", timeout=5).json()
        return next(b["spent_usd"] for b in body["budgets"] if b["name"] == name)

    def agreed_spend(self, name: str, expected: float, timeout: float = 15) -> list[float]:
        """Every live replica's view of a budget, once all agree on `expected` (or the timeout)."""
        def seen():
            values = [self.budget(r, name) for r in self.live()]
            return values if all(abs(v - expected) < 1e-9 for v in values) else None
        return wait_until(seen, timeout=timeout) or [self.budget(r, name) for r in self.live()]

    def stop(self) -> None:
        self.nginx.stop()
        for r in self.replicas:
            if r.proc.poll() is None:
                r.stop()
        self.redis.stop()


@pytest.fixture
def fleet(tmp_path):
    made = []

    def make(*args, **kw) -> Fleet:
        f = Fleet(tmp_path, *args, **kw)
        made.append(f)
        return f

    yield make
    for f in made:
        f.stop()


def agent_states(replica: Collector) -> dict:
    body = requests.get(f"{replica.admin}/api/v1/agents?limit=1000", timeout=5).json()
    return {(a["service"], a["instance"]): a["state"] for a in body["agents"]}


def test_three_replicas_count_everything_once_behind_a_round_robin_balancer(fleet, tmp_path):
    am = Alertmanager(tmp_path)
    workflows = [workflow_requests(w) for w in range(30)]
    raw_total = sum(cost for _, cost in workflows)
    # "raw" crosses 50% and 80% of its limit, not 100%.
    limits = f"{{all: {{limit_usd: 100000}}, raw: {{limit_usd: {raw_total / 0.9!r}, scope: {{service: replica-test}}}}}}"
    f = fleet(limits, am.url)
    sender = Sender(f.nginx)
    try:
        for bodies, _ in workflows:
            for body in bodies:
                sender.send(body)
        # Another instance whose LLM calls fail: unhealthy (0.05/s over 1 min = 3 errors).
        for i in range(8):
            sender.send(one_span(0xBAD_0000 + i, 1, 0, "chat gpt-4o", llm(0.0), "replica-test", "agent-b", error=True))
    finally:
        sender.close()
    upstreams = {u for _, u in sender.acked if u != "grpc"}
    assert len(upstreams) == 3, f"nginx spread the requests over every replica: {upstreams}"

    # The Python OpenTelemetry SDK, one export per span (so a trace's spans spread too).
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.resources import Resource as SdkResource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor

    provider = TracerProvider(resource=SdkResource.create({"service.name": "sdk-agent", "service.instance.id": "sdk-1"}))
    provider.add_span_processor(SimpleSpanProcessor(OTLPSpanExporter(endpoint=f"{f.nginx.http}/v1/traces")))
    tracer = provider.get_tracer("replicas-test")
    sdk_total = 0.0
    for w in range(6):
        with tracer.start_as_current_span("invoke_workflow model_analysis",
                                          attributes={"gen_ai.operation.name": "invoke_workflow",
                                                      "gen_ai.workflow.name": "model_analysis"}):
            for k in range(3):
                cost = 0.000_021_7 * (w + 1) + 0.000_000_003 * k
                sdk_total += cost
                with tracer.start_as_current_span("chat gpt-4o", attributes={
                        "gen_ai.operation.name": "chat", "gen_ai.provider.name": "openai",
                        "gen_ai.request.model": "gpt-4o", "seedwatch.llm.cost_usd": cost}):
                    pass
    provider.shutdown()

    # The load generator through nginx's gRPC port: whole traces, priced from their tokens.
    loadgen = subprocess.run(
        [str(BIN_DIR / "seedwatch-loadgen"), "--endpoint", f"http://{f.nginx.grpc}", "--protocol", "grpc",
         "--unique", "--requests", "60", "--batch-size", "50", "--concurrency", "3", "--duration", "60s", "--json"],
        capture_output=True, text=True, timeout=120,
    )
    assert loadgen.returncode == 0, loadgen.stderr

    # Every call's price, summed over the replicas that derived them (counters add up):
    # the loadgen's calls are priced by the collector, so their sum is read back from it.
    def cost_counters() -> float:
        return sum(v for r in f.replicas for k, v in r.metrics().items() if k.startswith("modelseed_llm_cost_usd_total"))

    derived = wait_until(lambda: (lambda c: c if c >= raw_total + sdk_total else None)(cost_counters()), timeout=10)
    assert derived, "cost derived on the replicas"
    time.sleep(1)  # the last derivations
    derived = cost_counters()
    spent = f.agreed_spend("all", derived)
    assert all(abs(v - derived) < 1e-9 for v in spent), (spent, derived)
    raw_spent = f.agreed_spend("raw", raw_total)
    assert all(abs(v - raw_total) < 1e-9 for v in raw_spent), (raw_spent, raw_total)
    assert sum(r.metrics().get('seedwatch_redis_charges_total{outcome="duplicate"}', 0) for r in f.replicas) == 0

    # Every workflow summarised exactly once, by one replica, with its whole cost.
    expected = {f"{0x5EED_0000 + w:032x}": cost for w, (_, cost) in enumerate(workflows)}

    def all_summarised():
        found = summaries(tmp_path, 3)
        ids = {rec["traceId"] for _, rec in found}
        return found if set(expected) <= ids else None

    found = wait_until(all_summarised, timeout=20)
    assert found, "every workflow of the raw traffic was summarised"
    time.sleep(3)  # a second summary of any of them would come by now
    found = summaries(tmp_path, 3)
    by_trace: dict[str, list] = {}
    for replica, record in found:
        by_trace.setdefault(record["traceId"], []).append((replica, record))
    twice = {t: [r for r, _ in v] for t, v in by_trace.items() if len(v) > 1}
    assert not twice, f"summarised more than once: {twice}"
    for trace, cost in expected.items():
        (_, record), = by_trace[trace]
        assert abs(attribute(record, "workflow.cost_usd") - cost) < 1e-9, (trace, record)
        assert int(attribute(record, "workflow.llm_calls")) == 3 and int(attribute(record, "workflow.tool_calls")) == 1
    closers = {replica for replica, _ in found}
    sdk = [rec for _, rec in found if rec["service"] == "sdk-agent"]
    assert len(sdk) == 6, sdk
    assert abs(sum(attribute(r, "workflow.cost_usd") for r in sdk) - sdk_total) < 1e-9

    # One state per agent, the same on every replica.
    def same_states():
        states = [agent_states(r) for r in f.replicas]
        return states[0] if states[0] and all(s == states[0] for s in states) else None

    states = wait_until(same_states, timeout=15)
    assert states, [agent_states(r) for r in f.replicas]
    assert states[("replica-test", "agent-a")] == "healthy"
    assert states[("replica-test", "agent-b")] == "unhealthy"
    assert len(states) > 10, "the load generator's instances are there too"

    # Budget thresholds: 50% and 80% of "raw", once each, from the lease holder alone.
    def raw_alerts():
        got = [a for a in am.alerts() if a["labels"].get("budget") == "raw"
               and a["labels"]["alertname"] == "LLMBudgetThreshold"]
        return got if len(got) >= 2 else None

    alerts = wait_until(raw_alerts, timeout=15)
    assert alerts and sorted(a["labels"]["threshold"] for a in alerts) == ["50%", "80%"], alerts
    active = [r.metrics().get('seedwatch_alerts_active{alertname="LLMBudgetThreshold"}', 0) for r in f.replicas]
    assert sorted(active) == [0, 0, 2], f"only the lease holder sends them: {active}"
    leaders = [r.metrics().get("seedwatch_redis_leader", 0) for r in f.replicas]
    assert sorted(leaders) == [0, 0, 1], leaders
    fired = sum(r.log.read_text().count('alert firing alert=LLMBudgetThreshold') for r in f.replicas)
    assert fired == 2, fired
    print(f"closed by replicas {sorted(closers)}; {len(found)} summaries; spend {spent[0]:.9f} USD")


def test_a_replica_killed_mid_stream_loses_at_most_its_flush_window(fleet, tmp_path):
    f = fleet("{all: {limit_usd: 100000}}")
    sender = Sender(f.nginx)
    cost = 0.01
    # The replica that holds the lease: its duties (agent health, shared alerts) must move.
    leader = wait_until(lambda: next((r for r in f.replicas if r.metrics().get("seedwatch_redis_leader") == 1), None))
    assert leader, "one replica holds the lease"
    victim = leader
    killed_at = None
    started = time.monotonic()
    n = 0
    try:
        while time.monotonic() - started < 6:
            if killed_at is None and time.monotonic() - started > 3:
                victim.proc.kill()
                victim.proc.wait()
                killed_at = time.monotonic()
            body = one_span(0xC0DE_0000 + n, 1, 0, "chat gpt-4o", llm(cost), "replica-test", "kill-1")
            sender.send(body)
            n += 1
    finally:
        sender.close()
    total = cost * len(sender.acked)
    # What the victim acknowledged in its last flush window (200 ms) plus derivation lag may
    # be lost; gRPC acknowledgements do not say which replica answered, so count them all.
    at_risk = cost * sum(1 for t, u in sender.acked
                         if killed_at - 0.7 <= t <= killed_at and (u.endswith(f":{victim.http_port}") or u == "grpc"))
    time.sleep(2)
    spends = [f.budget(r, "all") for r in f.live()]
    assert len(set(round(s, 9) for s in spends)) == 1, spends
    assert total - at_risk - 1e-9 <= spends[0] <= total + 1e-9, (spends, total, at_risk)
    after = [t for t, _ in sender.acked if t > killed_at + 0.5]
    assert len(after) > 50, "the other replicas kept serving through nginx"
    # Within lease_ttl (3 s) of the kill another replica holds the lease.
    took_over = wait_until(lambda: sum(r.metrics().get("seedwatch_redis_leader", 0) for r in f.live()) == 1, timeout=5)
    assert took_over, [r.metrics().get("seedwatch_redis_leader") for r in f.live()]
    print(f"sent {len(sender.acked)} ({sender.failures} retries), spent {spends[0]:.2f} of {total:.2f}, at risk {at_risk:.2f}")


def test_redis_stopped_for_30s_loses_and_doubles_nothing(fleet, tmp_path):
    f = fleet("{all: {limit_usd: 100000}}")
    sender = Sender(f.nginx)
    cost = 0.001
    stop = threading.Event()
    health_during, detailed_during, buffered_during = [], [], []

    def stream():
        n = 0
        while not stop.is_set():
            sender.send(one_span(0xF00D_0000 + n, 1, 0, "chat gpt-4o", llm(cost), "replica-test", "outage-1"))
            # Every request once more (a client retry, sent elsewhere by the balancer).
            if n % 10 == 0:
                sender.send(one_span(0xF00D_0000 + n, 1, 0, "chat gpt-4o", llm(cost), "replica-test", "outage-1"))
                sender.acked.pop()
            n += 1
            time.sleep(0.01)

    thread = threading.Thread(target=stream)
    thread.start()
    try:
        time.sleep(3)
        f.redis.stop()
        outage_started = time.monotonic()
        while time.monotonic() - outage_started < 30:
            time.sleep(2)
            health_during.append([requests.get(f"{r.admin}/health", timeout=5).json() for r in f.replicas])
            detailed_during.append(requests.get(f"{f.replicas[1].admin}/health/detailed", timeout=5).text)
            buffered_during.append(sum(r.metrics().get("seedwatch_redis_buffered_charges", 0) for r in f.replicas))
        f.redis.start()
        restarted = time.monotonic()
        time.sleep(3)
    finally:
        stop.set()
        thread.join()
        sender.close()
    # During the outage every replica said degraded, naming Redis.
    late = health_during[2:]
    assert late and all(h["status"] == "degraded" for snapshot in late for h in snapshot), health_during[-1]
    assert "redis unreachable" in detailed_during[-1], detailed_during[-1]
    assert max(buffered_during) > 100, f"charges waited in the local buffers: {buffered_during}"
    detailed = requests.get(f"{f.replicas[0].admin}/health/detailed", timeout=5).json()
    total = cost * len(sender.acked)
    spends = f.agreed_spend("all", total, timeout=20)
    agreed_after = time.monotonic() - restarted
    assert all(abs(s - total) < 1e-9 for s in spends), (spends, total, len(sender.acked))
    healthy = wait_until(lambda: all(requests.get(f"{r.admin}/health", timeout=5).json()["status"] == "healthy"
                                     for r in f.replicas), timeout=10)
    assert healthy, [requests.get(f"{r.admin}/health", timeout=5).json() for r in f.replicas]
    buffered = [r.metrics().get("seedwatch_redis_buffered_charges", -1) for r in f.replicas]
    assert buffered == [0, 0, 0], buffered
    print(f"{len(sender.acked)} charges, {total:.3f} USD on every replica {agreed_after:.1f} s after the restart "
          f"(streaming stopped 3 s after it); most buffered at once: {max(buffered_during):.0f}; "
          f"retries {sender.failures}; detailed after: {detailed['status']}")
