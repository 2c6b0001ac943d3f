"""The Python OpenTelemetry SDK as a foreign OTLP client, in each protocol it speaks.

Every exporter is wrapped so the test knows exactly how many items the SDK handed over and
whether each export succeeded; the collector's counters must match those numbers.
"""

from __future__ import annotations

import logging

from opentelemetry.sdk._logs import LoggerProvider, LoggingHandler
from opentelemetry.sdk._logs.export import BatchLogRecordProcessor, LogRecordExportResult
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import MetricExporter, MetricExportResult, PeriodicExportingMetricReader
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExportResult

PROTOCOLS = ["grpc", "http/protobuf", "http/json"]
TRANSPORT_LABEL = {"grpc": "grpc", "http/protobuf": "http_protobuf", "http/json": "http_json"}


def exporters(protocol: str, grpc_url: str, http_url: str, gzip: bool = False):
    """(span, metric, log) exporters for a protocol, pointed at a collector."""
    if protocol == "grpc":
        from grpc import Compression
        from opentelemetry.exporter.otlp.proto.grpc._log_exporter import OTLPLogExporter
        from opentelemetry.exporter.otlp.proto.grpc.metric_exporter import OTLPMetricExporter
        from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter

        kw = {"endpoint": grpc_url, "insecure": True}
        if gzip:
            kw["compression"] = Compression.Gzip
        return OTLPSpanExporter(**kw), OTLPMetricExporter(**kw), OTLPLogExporter(**kw)
    if protocol == "http/protobuf":
        from opentelemetry.exporter.otlp.proto.http import Compression
        from opentelemetry.exporter.otlp.proto.http._log_exporter import OTLPLogExporter
        from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        comp = Compression.Gzip if gzip else Compression.NoCompression
        return (
            OTLPSpanExporter(endpoint=f"{http_url}/v1/traces", compression=comp),
            OTLPMetricExporter(endpoint=f"{http_url}/v1/metrics", compression=comp),
            OTLPLogExporter(endpoint=f"{http_url}/v1/logs", compression=comp),
        )
    if protocol == "http/json":
        from opentelemetry.exporter.otlp.json.http._log_exporter import OTLPLogExporter
        from opentelemetry.exporter.otlp.json.http.metric_exporter import OTLPMetricExporter
        from opentelemetry.exporter.otlp.json.http.trace_exporter import OTLPSpanExporter

        return (
            OTLPSpanExporter(endpoint=f"{http_url}/v1/traces"),
            OTLPMetricExporter(endpoint=f"{http_url}/v1/metrics"),
            OTLPLogExporter(endpoint=f"{http_url}/v1/logs"),
        )
    raise ValueError(protocol)


class Counting:
    """Wraps an exporter: counts items handed to it and remembers every result."""

    def __init__(self, inner, count):
        self.inner = inner
        self.count_items = count
        self.items = 0
        self.results = []

    def export(self, batch, *args, **kwargs):
        self.items += self.count_items(batch)
        result = self.inner.export(batch, *args, **kwargs)
        self.results.append(result)
        return result

    def __getattr__(self, name):
        return getattr(self.inner, name)


class CountingMetricExporter(MetricExporter):
    """MetricExporter subclass (the reader checks the type) that counts data points."""

    def __init__(self, inner):
        super().__init__(
            preferred_temporality=inner._preferred_temporality,
            preferred_aggregation=inner._preferred_aggregation,
        )
        self.inner = inner
        self.items = 0
        self.results = []

    def export(self, metrics_data, timeout_millis: float = 10_000, **kwargs):
        self.items += sum(
            len(m.data.data_points)
            for rm in metrics_data.resource_metrics
            for sm in rm.scope_metrics
            for m in sm.metrics
        )
        result = self.inner.export(metrics_data, timeout_millis=timeout_millis, **kwargs)
        self.results.append(result)
        return result

    def force_flush(self, timeout_millis: float = 10_000) -> bool:
        return self.inner.force_flush(timeout_millis)

    def shutdown(self, timeout_millis: float = 30_000, **kwargs) -> None:
        self.inner.shutdown(timeout_millis=timeout_millis)


RESOURCE = Resource.create({"service.name": "modelseed-agent", "service.instance.id": "e2e-1"})


def send_traces(span_exporter, spans_per_workflow: int = 4, workflows: int = 6) -> Counting:
    counting = Counting(span_exporter, len)
    provider = TracerProvider(resource=RESOURCE)
    provider.add_span_processor(BatchSpanProcessor(counting, max_export_batch_size=7))
    tracer = provider.get_tracer("e2e")
    for w in range(workflows):
        workflow = {"gen_ai.operation.name": "invoke_workflow", "gen_ai.workflow.name": "model_analysis"}
        with tracer.start_as_current_span("invoke_workflow model_analysis", attributes=workflow):
            for t in range(spans_per_workflow - 1):
                tool = {"gen_ai.operation.name": "execute_tool", "gen_ai.tool.name": f"tool_{t}"}
                with tracer.start_as_current_span(f"execute_tool tool_{t}", attributes=tool):
                    pass
    provider.force_flush()
    provider.shutdown()
    assert all(r == SpanExportResult.SUCCESS for r in counting.results), counting.results
    return counting


def send_metrics(metric_exporter) -> CountingMetricExporter:
    counting = CountingMetricExporter(metric_exporter)
    reader = PeriodicExportingMetricReader(counting, export_interval_millis=3_600_000)
    provider = MeterProvider(resource=RESOURCE, metric_readers=[reader])
    meter = provider.get_meter("e2e")
    counter = meter.create_counter("modelseed.tool.executions")
    hist = meter.create_histogram("modelseed.tool.duration", unit="s")
    gauge = meter.create_up_down_counter("modelseed.active_analyses")
    for tool in ["run_metabolic_fba", "find_minimal_media", "gapfill_model"]:
        counter.add(2, {"tool_name": tool})
    for tool in ["run_metabolic_fba", "gapfill_model"]:
        hist.record(1.5, {"tool_name": tool})
    gauge.add(1)
    provider.force_flush()
    provider.shutdown()
    assert counting.items > 0
    assert all(r == MetricExportResult.SUCCESS for r in counting.results), counting.results
    return counting


def send_logs(log_exporter, records: int = 17) -> Counting:
    counting = Counting(log_exporter, len)
    provider = LoggerProvider(resource=RESOURCE)
    provider.add_log_record_processor(BatchLogRecordProcessor(counting, max_export_batch_size=5))
    logger = logging.getLogger(f"modelseed.e2e.{id(counting)}")
    logger.propagate = False
    logger.setLevel(logging.INFO)
    handler = LoggingHandler(logger_provider=provider)
    logger.addHandler(handler)
    for i in range(records):
        logger.info("tool step %d", i, extra={"tool_name": "run_metabolic_fba", "workflow_id": "wf-1"})
    provider.force_flush()
    logger.removeHandler(handler)
    provider.shutdown()
    assert all(r == LogRecordExportResult.SUCCESS for r in counting.results), counting.results
    return counting
