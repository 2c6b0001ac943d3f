"""Hand-built OTLP/protobuf requests, for tests that need exact span ids (replays)."""

from __future__ import annotations

import requests
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
from opentelemetry.proto.resource.v1.resource_pb2 import Resource
from opentelemetry.proto.trace.v1.trace_pb2 import ResourceSpans, ScopeSpans, Span


def _kv(key: str, value) -> KeyValue:
    if isinstance(value, float):
        return KeyValue(key=key, value=AnyValue(double_value=value))
    return KeyValue(key=key, value=AnyValue(string_value=value))


def llm_call_request(
    n: int,
    cost_usd: float,
    service: str = "modelseed-agent",
    instance: str = "budget-1",
    end_ns: int | None = None,
    resource_attributes: dict[str, str] | None = None,
) -> bytes:
    """One LLM-call span (trace and span id derived from `n`) that states its own cost and
    ended at `end_ns` (default: now; budgets charge only spans that ended within their
    replay-protection window)."""
    import time

    end = time.time_ns() if end_ns is None else end_ns
    span = Span(
        trace_id=(n + 1).to_bytes(16, "big"),
        span_id=(n + 1).to_bytes(8, "big"),
        name="chat gpt-4o",
        kind=Span.SPAN_KIND_CLIENT,
        start_time_unix_nano=end - 1_000_000_000,
        end_time_unix_nano=end,
        attributes=[
            _kv("gen_ai.operation.name", "chat"),
            _kv("gen_ai.provider.name", "openai"),
            _kv("gen_ai.request.model", "gpt-4o"),
            _kv("seedwatch.llm.cost_usd", float(cost_usd)),
        ],
    )
    more = [_kv(k, v) for k, v in (resource_attributes or {}).items()]
    resource = Resource(attributes=[_kv("service.name", service), _kv("service.instance.id", instance), *more])
    request = ExportTraceServiceRequest(
        resource_spans=[ResourceSpans(resource=resource, scope_spans=[ScopeSpans(spans=[span])])]
    )
    return request.SerializeToString()


def post_traces(http_base: str, body: bytes) -> requests.Response:
    return requests.post(
        f"{http_base}/v1/traces", data=body, headers={"content-type": "application/x-protobuf"}, timeout=10
    )


def tool_spans_request(first: int, n: int, padding: int = 0) -> bytes:
    """`n` tool-execution spans numbered from `first` (ids derived from the number, so each
    is counted once by id), each carrying `padding` bytes of attribute to fill queues fast."""
    import time

    now = time.time_ns()
    spans = [
        Span(
            trace_id=(i + 1).to_bytes(16, "big"),
            span_id=(i + 1).to_bytes(8, "big"),
            name="execute_tool run_metabolic_fba",
            kind=Span.SPAN_KIND_INTERNAL,
            start_time_unix_nano=now,
            end_time_unix_nano=now + 1_000_000,
            attributes=[
                _kv("gen_ai.operation.name", "execute_tool"),
                _kv("gen_ai.tool.name", "run_metabolic_fba"),
                _kv("n", str(i)),
                _kv("padding", "x" * padding),
            ],
        )
        for i in range(first, first + n)
    ]
    resource = Resource(attributes=[_kv("service.name", "modelseed-agent"), _kv("service.instance.id", "es-1")])
    request = ExportTraceServiceRequest(
        resource_spans=[ResourceSpans(resource=resource, scope_spans=[ScopeSpans(spans=spans)])]
    )
    return request.SerializeToString()
