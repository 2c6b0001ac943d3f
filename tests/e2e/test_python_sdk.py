"""The Python OpenTelemetry SDK, a foreign OTLP client, exports all three signals over gRPC,
HTTP/protobuf and HTTP/JSON; the collector's accepted counters equal exactly what was sent."""

import pytest

from otel_clients import TRANSPORT_LABEL, exporters, send_logs, send_metrics, send_traces


@pytest.mark.parametrize(
    "protocol,gzip",
    [("grpc", False), ("grpc", True), ("http/protobuf", False), ("http/protobuf", True), ("http/json", False)],
)
def test_sdk_signals_arrive_with_exact_counts(collector, protocol, gzip):
    c = collector()
    span_exp, metric_exp, log_exp = exporters(protocol, c.grpc, c.http, gzip)
    label = TRANSPORT_LABEL[protocol]

    spans = send_traces(span_exp)
    points = send_metrics(metric_exp)
    logs = send_logs(log_exp)

    assert spans.items == 24
    assert logs.items == 17
    m = c.metrics()
    assert m[f'seedwatch_receiver_accepted_spans_total{{transport="{label}"}}'] == spans.items
    assert m[f'seedwatch_receiver_accepted_metric_points_total{{transport="{label}"}}'] == points.items
    assert m[f'seedwatch_receiver_accepted_log_records_total{{transport="{label}"}}'] == logs.items
    for noun in ["spans", "metric_points", "log_records"]:
        assert m[f'seedwatch_receiver_refused_{noun}_total{{transport="{label}"}}'] == 0
    others = [t for t in TRANSPORT_LABEL.values() if t != label]
    for other in others:
        assert m[f'seedwatch_receiver_accepted_spans_total{{transport="{other}"}}'] == 0
    assert c.stop() == 0
