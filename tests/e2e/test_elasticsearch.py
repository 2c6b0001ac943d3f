"""The elasticsearch exporter against a real Elasticsearch-compatible server (noida-db):
the Python SDK's spans and logs and the collector's workflow summaries are searchable with
the expected fields and exact counts; an outage of the server mid-stream and a SIGKILLed
collector with a full durable queue lose nothing and duplicate nothing (counted by id)."""

from __future__ import annotations

import logging
import os
import signal
import threading
import time

import pytest
from opentelemetry.sdk._logs import LoggerProvider, LoggingHandler
from opentelemetry.sdk._logs.export import BatchLogRecordProcessor
from opentelemetry.sdk.trace import TracerProvider

from conftest import wait_until
from elasticsearch_server import Elasticsearch
from otel_clients import RESOURCE, exporters, send_traces
from otlp_raw import post_traces, tool_spans_request

SENT = 'seedwatch_exporter_sent_spans_total{exporter="elasticsearch"}'


@pytest.fixture
def es(tmp_path):
    server = Elasticsearch(tmp_path).start()
    yield server
    server.stop()


def es_config(url: str, queue_dir, extra: str = "", max_size: str = "64MiB") -> str:
    return (
        "exporters:\n  elasticsearch:\n"
        f"    endpoint: '{url}'\n"
        "    batch: {flush_interval: 100ms, max_docs: 500}\n"
        "    retry: {initial_interval: 50ms, max_interval: 500ms}\n"
        f"    persistent_queue: {{directory: '{queue_dir}', max_size: {max_size}}}\n" + extra
    )


def send_guide_logs(endpoint_grpc: str, records: int) -> None:
    """The guide's structured log, through the SDK's logging handler, inside a span so the
    records carry trace and span ids; thread and process as the guide's formatter has them."""
    _, _, log_exporter = exporters("grpc", endpoint_grpc, "")
    provider = LoggerProvider(resource=RESOURCE.merge(type(RESOURCE)({"process.pid": os.getpid()})))
    provider.add_log_record_processor(BatchLogRecordProcessor(log_exporter, max_export_batch_size=5))
    logger = logging.getLogger("modelseed.tools")
    logger.propagate = False
    logger.setLevel(logging.INFO)
    handler = LoggingHandler(logger_provider=provider)
    logger.addHandler(handler)
    tracer = TracerProvider(resource=RESOURCE).get_tracer("e2e-logs")  # ids only; spans not exported
    with tracer.start_as_current_span("execute_tool run_metabolic_fba"):
        for i in range(records):
            thread = threading.current_thread()
            extra = {"tool_name": "run_metabolic_fba", "workflow_id": "wf-es", "thread.name": thread.name}
            logger.info("fba step %d", i, extra=extra)
    provider.force_flush()
    logger.removeHandler(handler)
    provider.shutdown()


def test_sdk_spans_logs_and_workflow_summaries_are_searchable_with_exact_counts(collector, es, tmp_path):
    c = collector(
        "processors:\n  agent_metrics:\n    workflows: {idle_timeout: 1s}\n"
        + es_config(es.url, tmp_path / "queue")
    )
    span_exporter, _, _ = exporters("grpc", c.grpc, c.http)
    spans = send_traces(span_exporter, spans_per_workflow=4, workflows=6)
    send_guide_logs(c.grpc, 17)
    assert c.wait_for(SENT, 24.0) == 24.0

    assert wait_until(lambda: es.count("modelseed-workflows-*") == 6), es.count("modelseed-workflows-*")
    assert es.count("modelseed-traces-*") == spans.items == 24
    guide = {"term": {"labels.workflow_id": "wf-es"}}
    assert wait_until(lambda: es.count("modelseed-logs-*", guide) == 17)

    log = es.search("modelseed-logs-*", guide, size=1)[0]["_source"]
    assert log["message"].startswith("fba step ")
    assert log["log"]["level"] == "INFO"
    assert log["log"]["logger"] == "modelseed.tools"
    assert log["log"]["origin"]["file"]["name"] == "test_elasticsearch.py"  # the guide's module
    assert log["log"]["origin"]["function"] == "send_guide_logs"
    assert isinstance(log["log"]["origin"]["file"]["line"], int)
    assert log["process"]["thread"]["name"] == "MainThread"
    assert log["process"]["pid"] == os.getpid()
    assert log["labels"]["tool_name"] == "run_metabolic_fba"
    assert len(log["trace"]["id"]) == 32 and len(log["span"]["id"]) == 16
    assert log["service"]["name"] == "modelseed-agent"

    span = es.search("modelseed-traces-*", {"term": {"span.name": "execute_tool tool_0"}}, size=1)[0]["_source"]
    assert span["gen_ai"]["tool"]["name"] == "tool_0"
    assert span["event"]["outcome"] in ("unknown", "success")
    assert span["event"]["duration"] >= 0

    wf = es.search("modelseed-workflows-*", size=1)[0]
    assert wf["_id"] == f"wf-{wf['_source']['trace']['id']}"
    summary = wf["_source"]["workflow"]
    assert summary["type"] == "model_analysis"
    assert summary["status"] == "completed"
    assert summary["tool_calls"] == 3
    assert summary["tool_errors"] == 0
    assert summary["duration_seconds"] >= 0
    assert "cost_usd" in summary and "input" in summary["tokens"]


def test_server_outage_mid_stream_delivers_every_span_exactly_once(collector, es, tmp_path):
    c = collector(es_config(es.url, tmp_path / "queue"))
    total, per_request = 600, 20
    sent = 0

    def send(until: int) -> None:
        nonlocal sent
        while sent < until:
            assert post_traces(c.http, tool_spans_request(sent, per_request)).status_code == 200
            sent += per_request
            time.sleep(0.02)

    send(200)
    es.stop()
    send(400)  # accepted while the server is down: they wait on disk
    time.sleep(2)
    assert c.metric(SENT) <= 200
    es.start()
    send(total)
    assert c.wait_for(SENT, float(total), timeout=60) == total
    hits = es.search("modelseed-traces-*")
    ids = {h["_id"] for h in hits}
    assert len(hits) == total and len(ids) == total, (len(hits), len(ids))
    assert es.count("modelseed-traces-*") == total


def test_sigkill_with_a_full_queue_loses_nothing_it_accepted(collector, es, tmp_path):
    es.stop()
    queue = tmp_path / "queue"
    extra = "pipeline: {persist_timeout: 300ms}\n"
    c = collector(es_config(es.url, queue, extra, max_size="1MiB"))
    accepted, refused, n = [], 0, 0
    while refused < 3 and n < 20_000:
        resp = post_traces(c.http, tool_spans_request(n, 10, padding=2000))
        if resp.status_code == 200:
            accepted.extend(range(n, n + 10))
        else:
            assert resp.status_code in (429, 503), resp.status_code
            refused += 1
        n += 10
    assert refused == 3, "the queue never filled"
    assert len(accepted) > 100
    c.stop(signal.SIGKILL)

    es.start()
    c2 = collector(es_config(es.url, queue, extra, max_size="1MiB"))
    want = {f"{i + 1:032x}{i + 1:016x}" for i in accepted}
    def delivered():
        return {h["_id"] for h in es.search("modelseed-traces-*")}
    got = wait_until(lambda: want <= delivered() and delivered(), timeout=60)
    assert want <= got, f"{len(want - got)} accepted spans lost"
    hits = es.search("modelseed-traces-*")
    assert len(hits) == len({h["_id"] for h in hits}), "no duplicates"
    assert c2.metric("seedwatch_exporter_send_failed_spans_total{exporter=\"elasticsearch\"}") == 0
