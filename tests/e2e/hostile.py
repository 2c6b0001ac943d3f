"""Helpers for the hostile-input tests: clients that hold connections open or trickle bytes,
hand-built OTLP requests, a sampler of a process's resident memory, and a scripted fake OTLP
sink (a slow one, to make the collector hold data)."""

from __future__ import annotations

import asyncio
import gzip
import resource
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import ExportMetricsServiceRequest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
from opentelemetry.proto.metrics.v1.metrics_pb2 import Gauge, Metric, NumberDataPoint, ResourceMetrics, ScopeMetrics
from opentelemetry.proto.resource.v1.resource_pb2 import Resource
from opentelemetry.proto.trace.v1.trace_pb2 import ResourceSpans, ScopeSpans, Span

from conftest import free_port


def raise_fd_limit() -> None:
    """Lets this process hold thousands of sockets."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def kv(key: str, value: str) -> KeyValue:
    return KeyValue(key=key, value=AnyValue(string_value=value))


def agent_resource(service: str, instance: str) -> Resource:
    return Resource(attributes=[kv("service.name", service), kv("service.instance.id", instance)])


def tool_spans(n: int, first_id: int, padding: int = 0, workflow: bool = False) -> list[Span]:
    """`n` tool spans (ids from `first_id`), each with `padding` bytes of attribute; with a
    workflow root first when asked. Ids start at 1: an all-zero trace id is invalid and the
    collector would reject the spans."""
    if first_id < 1:
        raise ValueError("first_id must be at least 1 (an all-zero trace id is invalid)")
    now = time.time_ns()
    spans = []
    if workflow:
        spans.append(
            Span(
                trace_id=first_id.to_bytes(16, "big"),
                span_id=(first_id + 10**9).to_bytes(8, "big"),
                name="invoke_workflow model_analysis",
                start_time_unix_nano=now - 2_000_000,
                end_time_unix_nano=now,
                attributes=[kv("gen_ai.operation.name", "invoke_workflow"), kv("gen_ai.workflow.name", "model_analysis")],
            )
        )
    for i in range(first_id, first_id + n):
        attributes = [kv("gen_ai.operation.name", "execute_tool"), kv("gen_ai.tool.name", "run_metabolic_fba")]
        if padding:
            attributes.append(kv("padding", "x" * padding))
        spans.append(
            Span(
                trace_id=first_id.to_bytes(16, "big"),
                span_id=(i + 1).to_bytes(8, "big"),
                parent_span_id=(first_id + 10**9).to_bytes(8, "big") if workflow else b"",
                name="execute_tool run_metabolic_fba",
                start_time_unix_nano=now - 1_000_000,
                end_time_unix_nano=now,
                attributes=attributes,
            )
        )
    return spans


def traces_request(resources: list[tuple[Resource, list[Span]]]) -> bytes:
    return ExportTraceServiceRequest(
        resource_spans=[ResourceSpans(resource=r, scope_spans=[ScopeSpans(spans=s)]) for r, s in resources]
    ).SerializeToString()


def health_check_request(service: str, instance: str, check: str, status: int) -> bytes:
    """An agent's own check result: the gauge `seedwatch.health.status` (2: unhealthy)."""
    point = NumberDataPoint(time_unix_nano=time.time_ns(), as_int=status, attributes=[kv("seedwatch.health.check", check)])
    metric = Metric(name="seedwatch.health.status", gauge=Gauge(data_points=[point]))
    return ExportMetricsServiceRequest(
        resource_metrics=[
            ResourceMetrics(resource=agent_resource(service, instance), scope_metrics=[ScopeMetrics(metrics=[metric])])
        ]
    ).SerializeToString()


def status_bytes(pid: int, field: str) -> int:
    """A size from /proc/PID/status (`VmRSS`, `VmHWM`: resident now, at its peak), in bytes."""
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(f"{field}:"):
                return int(line.split()[1]) * 1024
    return 0


def rss_bytes(pid: int) -> int:
    return status_bytes(pid, "VmRSS")


def peak_rss_bytes(pid: int) -> int:
    return status_bytes(pid, "VmHWM")


class RssSampler:
    """Samples a process's resident memory every 20 ms in a thread, keeping the largest."""

    def __init__(self, pid: int):
        self.pid = pid
        self.max = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self):
        while not self._stop.is_set():
            try:
                self.max = max(self.max, rss_bytes(self.pid))
            except OSError:
                return
            time.sleep(0.02)

    def stop(self) -> int:
        self._stop.set()
        self._thread.join()
        return self.max


class SlowSink:
    """A scripted fake OTLP/HTTP trace receiver that takes `delay` seconds per request and
    records every span id it was given (a slow downstream the real peers cannot imitate)."""

    def __init__(self, delay: float):
        sink = self
        self.delay = delay
        self.span_ids: set[bytes] = set()
        self.spans = 0
        self.lock = threading.Lock()

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("content-length", 0)))
                if self.headers.get("content-encoding") == "gzip":
                    body = gzip.decompress(body)
                request = ExportTraceServiceRequest()
                request.ParseFromString(body)
                time.sleep(sink.delay)
                with sink.lock:
                    for rs in request.resource_spans:
                        for ss in rs.scope_spans:
                            for span in ss.spans:
                                sink.spans += 1
                                sink.span_ids.add(span.trace_id + span.span_id)
                answer = ExportTraceServiceResponse().SerializeToString()
                self.send_response(200)
                self.send_header("content-type", "application/x-protobuf")
                self.send_header("content-length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, *args):
                pass

        self.port = free_port()
        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def stop(self):
        self.server.shutdown()


class ConnectionAttack:
    """In a thread of its own: `idle` connections that never send a byte and `slow` ones that
    send request headers, then one body byte every `trickle` seconds. A connection the server
    closes is opened again until `stop`; how long each slow one lasted is recorded."""

    def __init__(self, port: int, idle: int, slow: int, trickle: float = 0.5, body_length: int = 100_000):
        self.port, self.idle, self.slow, self.trickle, self.body_length = port, idle, slow, trickle, body_length
        self.slow_lasted: list[float] = []
        self.slow_answers: list[bytes] = []
        self.idle_closed = 0
        self.open_idle = 0
        self.errors = 0
        self._stop = threading.Event()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=lambda: asyncio.run(self._main()), daemon=True)
        self._thread.start()
        if not self._ready.wait(60):
            raise RuntimeError("the attack did not get its connections open")

    async def _idle_one(self):
        while not self._stop.is_set():
            try:
                reader, writer = await asyncio.open_connection("127.0.0.1", self.port)
            except OSError:
                self.errors += 1
                await asyncio.sleep(0.2)
                continue
            self.open_idle += 1
            try:
                while not self._stop.is_set():
                    try:
                        if await asyncio.wait_for(reader.read(1), 0.5) == b"":
                            self.idle_closed += 1
                            break
                    except asyncio.TimeoutError:
                        continue
            except OSError:
                self.idle_closed += 1
            finally:
                self.open_idle -= 1
                writer.close()

    async def _slow_one(self):
        head = (
            "POST /v1/traces HTTP/1.1\r\nHost: seedwatch\r\nContent-Type: application/x-protobuf\r\n"
            f"Content-Length: {self.body_length}\r\n\r\n"
        ).encode()
        while not self._stop.is_set():
            try:
                reader, writer = await asyncio.open_connection("127.0.0.1", self.port)
                writer.write(head)
                await writer.drain()
            except OSError:
                self.errors += 1
                await asyncio.sleep(0.2)
                continue
            started = time.monotonic()
            answer = b""
            try:
                while not self._stop.is_set():
                    try:
                        answer = await asyncio.wait_for(reader.read(4096), self.trickle)
                        break
                    except asyncio.TimeoutError:
                        writer.write(b"\x0a")
                        await writer.drain()
            except OSError:
                pass
            if not self._stop.is_set():
                self.slow_lasted.append(time.monotonic() - started)
                self.slow_answers.append(answer)
            writer.close()

    async def _main(self):
        tasks = [asyncio.create_task(self._idle_one()) for _ in range(self.idle)]
        tasks += [asyncio.create_task(self._slow_one()) for _ in range(self.slow)]
        while self.open_idle < self.idle and not self._stop.is_set():
            await asyncio.sleep(0.05)
        self._ready.set()
        while not self._stop.is_set():
            await asyncio.sleep(0.1)
        await asyncio.gather(*tasks, return_exceptions=True)

    def stop(self):
        self._stop.set()
        self._thread.join(30)
