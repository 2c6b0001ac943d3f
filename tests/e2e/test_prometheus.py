"""A real Prometheus scrapes seedwatch while the Python OpenTelemetry SDK sends agent spans in
every GenAI dialect; PromQL answers equal what was sent: counts, errors, tokens, cost to the
cent, and trace-id exemplars that point at the spans."""

import json

import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.trace import Status, StatusCode

from otel_clients import RESOURCE, Counting, exporters
from prometheus_server import PROMETHEUS, Prometheus

pytestmark = pytest.mark.skipif(PROMETHEUS is None, reason="prometheus not installed (tests/run.sh installs it)")

# USD per million tokens, from the providers' price lists (the same figures the shipped
# otel-config/pricing.yaml carries; restated here so the test does not trust the table).
GPT_4O = {"input": 2.50, "cached": 1.25, "output": 10.00}
GPT_4O_MINI = {"input": 0.15, "output": 0.60}
CLAUDE_35_SONNET = {"input": 3.00, "output": 15.00}

# (span name, attributes, error) for every call the "agent" makes.
TOOL_SPANS = (
    [("execute_tool run_metabolic_fba", {"gen_ai.operation.name": "execute_tool", "gen_ai.tool.name": "run_metabolic_fba"}, None)] * 4
    + [("execute_tool run_metabolic_fba", {"gen_ai.operation.name": "execute_tool", "gen_ai.tool.name": "run_metabolic_fba", "error.type": "SolverError"}, "SolverError")]
    + [("gapfill_model.tool", {"traceloop.span.kind": "tool", "traceloop.entity.name": "gapfill_model"}, None)] * 3
    + [("find_minimal_media", {"openinference.span.kind": "TOOL", "tool.name": "find_minimal_media"}, None)] * 2
)
GENAI_CHAT = {
    "gen_ai.operation.name": "chat", "gen_ai.provider.name": "openai", "gen_ai.request.model": "gpt-4o",
    "gen_ai.response.model": "gpt-4o-2024-08-06", "gen_ai.usage.input_tokens": 100_000,
    "gen_ai.usage.output_tokens": 20_000, "gen_ai.usage.cache_read.input_tokens": 50_000,
}
OPENLLMETRY_CHAT = {
    "llm.request.type": "chat", "gen_ai.system": "openai", "gen_ai.request.model": "gpt-4o-mini",
    "gen_ai.usage.prompt_tokens": 20_000, "gen_ai.usage.completion_tokens": 4_000, "llm.usage.total_tokens": 24_000,
}
OPENINFERENCE_LLM = {
    "openinference.span.kind": "LLM", "llm.provider": "anthropic", "llm.model_name": "claude-3-5-sonnet-20241022",
    "llm.token_count.prompt": 1_000, "llm.token_count.completion": 500, "llm.token_count.total": 1_500,
}
OPENLIT_CHAT = {
    "gen_ai.operation.name": "chat", "gen_ai.system": "mistral", "gen_ai.request.model": "mistral-large-latest",
    "gen_ai.usage.input_tokens": 10, "gen_ai.usage.output_tokens": 10, "gen_ai.usage.cost": 0.5,
}
UNKNOWN_MODEL = {"gen_ai.operation.name": "chat", "gen_ai.provider.name": "openai", "gen_ai.request.model": "gpt-99", "gen_ai.usage.input_tokens": 7}
RATE_LIMITED = {"gen_ai.operation.name": "chat", "gen_ai.provider.name": "openai", "gen_ai.request.model": "gpt-4o", "error.type": "RateLimitError"}
LLM_SPANS = (
    [("chat gpt-4o", GENAI_CHAT, None)] * 2
    + [("openai.chat", OPENLLMETRY_CHAT, None)] * 3
    + [("ChatAnthropic", OPENINFERENCE_LLM, None)] * 2
    + [("chat mistral", OPENLIT_CHAT, None)]
    + [("chat gpt-99", UNKNOWN_MODEL, None)]
    + [("chat gpt-4o", RATE_LIMITED, "RateLimitError")]
)


def expected_cost() -> float:
    gpt4o = ((100_000 - 50_000) * GPT_4O["input"] + 50_000 * GPT_4O["cached"] + 20_000 * GPT_4O["output"]) / 1e6
    mini = (20_000 * GPT_4O_MINI["input"] + 4_000 * GPT_4O_MINI["output"]) / 1e6
    claude = (1_000 * CLAUDE_35_SONNET["input"] + 500 * CLAUDE_35_SONNET["output"]) / 1e6
    return 2 * gpt4o + 3 * mini + 2 * claude + 0.5  # + the OpenLIT cost on the span


def send(span_exporter) -> list[str]:
    counting = Counting(span_exporter, len)
    provider = TracerProvider(resource=RESOURCE)
    provider.add_span_processor(SimpleSpanProcessor(counting))
    tracer = provider.get_tracer("modelseed-agent")
    trace_ids = []
    with tracer.start_as_current_span("invoke_workflow model_analysis", attributes={"gen_ai.operation.name": "invoke_workflow", "gen_ai.workflow.name": "model_analysis"}) as root:
        trace_ids.append(format(root.get_span_context().trace_id, "032x"))
        for name, attrs, error in TOOL_SPANS + LLM_SPANS:
            with tracer.start_as_current_span(name, attributes=attrs) as span:
                if error:
                    span.set_status(Status(StatusCode.ERROR, error))
    provider.shutdown()
    assert counting.items == 1 + len(TOOL_SPANS) + len(LLM_SPANS)
    return trace_ids


def test_promql_answers_equal_what_was_sent(collector, tmp_path):
    summaries = tmp_path / "summaries.jsonl"
    c = collector(
        "processors:\n  agent_metrics: {workflows: {idle_timeout: 1s}}\n"
        f"exporters:\n  file/summaries: {{path: '{summaries}', signals: [logs]}}\n"
    )
    prom = Prometheus(tmp_path, f"127.0.0.1:{c.admin_port}")
    try:
        span_exp, _, _ = exporters("http/protobuf", c.grpc, c.http)
        trace_ids = send(span_exp)

        assert prom.wait_for("sum(modelseed_tool_executions_total)", len(TOOL_SPANS)) == len(TOOL_SPANS)
        assert prom.wait_for("sum(modelseed_llm_requests_total)", len(LLM_SPANS)) == len(LLM_SPANS)
        assert prom.scalar('up{job="seedwatch"}') == 1.0, "Prometheus parsed seedwatch's exposition"
        assert prom.scalar('modelseed_tool_executions_total{tool_name="run_metabolic_fba"}') == 5
        assert prom.scalar('modelseed_tool_executions_total{tool_name="gapfill_model"}') == 3
        assert prom.scalar('modelseed_tool_executions_total{tool_name="find_minimal_media"}') == 2
        assert prom.scalar('modelseed_tool_errors_total{tool_name="run_metabolic_fba",error_type="SolverError"}') == 1
        assert prom.scalar("sum(modelseed_tool_duration_seconds_count)") == len(TOOL_SPANS)
        assert prom.scalar('modelseed_llm_errors_total{provider="openai",error_type="RateLimitError"}') == 1
        # Two successes (answered by gpt-4o-2024-08-06) and the rate-limited call: one series.
        assert prom.scalar('modelseed_llm_requests_total{provider="openai",model="gpt-4o"}') == 3
        assert prom.scalar('modelseed_llm_cost_unknown_total{provider="openai",model="gpt-99"}') == 1
        tokens = {r["metric"]["type"]: float(r["value"][1]) for r in prom.query("sum by (type) (modelseed_llm_tokens_total)")}
        assert tokens == {
            "input": 2 * 100_000 + 3 * 20_000 + 2 * 1_000 + 10 + 7,
            "output": 2 * 20_000 + 3 * 4_000 + 2 * 500 + 10,
            "cache_read": 2 * 50_000,
        }
        cost = prom.scalar("sum(modelseed_llm_cost_usd_total)")
        assert abs(cost - expected_cost()) < 0.005, (cost, expected_cost())
        assert round(cost, 2) == round(expected_cost(), 2)
        assert prom.scalar('modelseed_workflow_duration_seconds_count{workflow_type="model_analysis",status="completed"}') == 1
        # The guide's dashboard query shape; the test's tool spans last well under 5 ms.
        p50 = prom.scalar("histogram_quantile(0.50, sum by (le) (modelseed_tool_duration_seconds_bucket))")
        assert p50 is not None and 0 <= p50 <= 0.005, p50

        # Prometheus scraped OpenMetrics, so it stored the exemplars: they name the agent's trace.
        exemplar_traces = {
            e["labels"]["trace_id"]
            for series in prom.exemplars("modelseed_tool_duration_seconds_bucket")
            for e in series["exemplars"]
        }
        assert exemplar_traces == set(trace_ids), exemplar_traces

        # The workflow roll-up: every LLM call above sits under the one workflow root.
        workflow_cost = prom.wait_for('modelseed_workflow_cost_usd_sum{workflow_type="model_analysis"}', expected_cost(), tolerance=0.005)
        assert round(workflow_cost, 2) == round(expected_cost(), 2)
        assert c.stop() == 0
        records = [
            r
            for line in summaries.read_text().splitlines()
            for rl in json.loads(line)["resourceLogs"]
            for sl in rl["scopeLogs"]
            for r in sl["logRecords"]
        ]
        assert len(records) == 1
        attrs = {a["key"]: next(iter(a["value"].values())) for a in records[0]["attributes"]}
        assert records[0]["traceId"] == trace_ids[0]
        assert attrs["event.name"] == "seedwatch.workflow.summary"
        assert attrs["workflow.type"] == "model_analysis" and attrs["workflow.status"] == "completed"
        assert int(attrs["workflow.tool_calls"]) == len(TOOL_SPANS) and int(attrs["workflow.tool_errors"]) == 1
        assert int(attrs["workflow.llm_calls"]) == len(LLM_SPANS) and int(attrs["workflow.llm_errors"]) == 1
        assert abs(attrs["workflow.cost_usd"] - expected_cost()) < 0.005
        assert attrs["workflow.cost_complete"] is False, "the gpt-99 call could not be priced"
    finally:
        prom.stop()
