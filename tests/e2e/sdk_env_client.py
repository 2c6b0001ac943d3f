"""Run as `python sdk_env_client.py PROTOCOL`: the Python OpenTelemetry SDK configured only
through the environment (OTEL_EXPORTER_OTLP_ENDPOINT, _CERTIFICATE, _CLIENT_KEY,
_CLIENT_CERTIFICATE, _HEADERS) sends traces, metrics and logs; prints a JSON line with what
it handed over and whether every export succeeded."""

from __future__ import annotations

import json
import sys


def build(protocol: str):
    if protocol == "grpc":
        from opentelemetry.exporter.otlp.proto.grpc._log_exporter import OTLPLogExporter
        from opentelemetry.exporter.otlp.proto.grpc.metric_exporter import OTLPMetricExporter
        from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter
    elif protocol == "http/protobuf":
        from opentelemetry.exporter.otlp.proto.http._log_exporter import OTLPLogExporter
        from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    elif protocol == "http/json":
        from opentelemetry.exporter.otlp.json.http._log_exporter import OTLPLogExporter
        from opentelemetry.exporter.otlp.json.http.metric_exporter import OTLPMetricExporter
        from opentelemetry.exporter.otlp.json.http.trace_exporter import OTLPSpanExporter
    else:
        raise SystemExit(f"unknown protocol {protocol}")
    return OTLPSpanExporter(), OTLPMetricExporter(), OTLPLogExporter()


def main() -> None:
    from otel_clients import send_logs, send_metrics, send_traces

    span_exporter, metric_exporter, log_exporter = build(sys.argv[1])
    report = {}
    for signal, send, exporter in [
        ("spans", send_traces, span_exporter),
        ("metric_points", send_metrics, metric_exporter),
        ("logs", send_logs, log_exporter),
    ]:
        try:
            report[signal] = send(exporter).items
            report[f"{signal}_ok"] = True
        except AssertionError:
            report[f"{signal}_ok"] = False
    print(json.dumps(report))


if __name__ == "__main__":
    main()
