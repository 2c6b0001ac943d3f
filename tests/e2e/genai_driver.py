"""Drives one real GenAI instrumentation library (run inside that library's own venv).

    python genai_driver.py LIBRARY FAKE_OPENAI_URL OTLP_HTTP_ENDPOINT [--dump FILE]

LIBRARY is one of `openllmetry`, `openinference`, `openlit`, `pydantic-ai`. The official
`openai` client, instrumented by the library, calls the fake OpenAI server (tests/e2e/
fake_openai.py) through a fixed script of calls; the spans go to seedwatch over OTLP/HTTP
(protobuf). `--dump FILE` also writes every span's name, attributes and events as JSON lines
(what the mapping table in seedwatch-semconv was written from).

The script (each call's usage is what the fake server is told to answer):
  chat gpt-4o            in=1200 out=300 cached=1000 reasoning=64
  chat gpt-4o-mini       streaming with usage, in=50 out=7
  chat gpt-4o            answered 429 (rate limit)
  chat gpt-4o-mini       answered 500
  embeddings text-embedding-3-small  in=8
  chat house-model-1     in=10 out=2 (a model no pricing table lists)
  responses o3-mini      in=100 out=400 reasoning=256 (not for openinference/pydantic-ai)
pydantic-ai instead runs an agent whose model asks for one tool, then answers: two chat
calls under one agent-run span that sums their usage.
"""

from __future__ import annotations

import json
import sys

from opentelemetry import trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SimpleSpanProcessor, SpanExporter, SpanExportResult

LIBRARY, FAKE_URL, OTLP = sys.argv[1], sys.argv[2], sys.argv[3]
DUMP = sys.argv[sys.argv.index("--dump") + 1] if "--dump" in sys.argv else None


class DumpExporter(SpanExporter):
    def __init__(self, path: str):
        self.file = open(path, "w")

    def export(self, spans):
        for s in spans:
            self.file.write(
                json.dumps(
                    {
                        "name": s.name,
                        "parent": bool(s.parent),
                        "status": s.status.status_code.name,
                        "attributes": {k: v if not isinstance(v, tuple) else list(v) for k, v in s.attributes.items()},
                        "events": [{"name": e.name, "attributes": dict(e.attributes or {})} for e in s.events],
                    }
                )
                + "\n"
            )
        self.file.flush()
        return SpanExportResult.SUCCESS

    def shutdown(self):
        self.file.close()


def provider() -> TracerProvider:
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

    tp = TracerProvider(resource=Resource.create({"service.name": f"genai-{LIBRARY}", "service.instance.id": LIBRARY}))
    tp.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=f"{OTLP}/v1/traces")))
    if DUMP:
        tp.add_span_processor(SimpleSpanProcessor(DumpExporter(DUMP)))
    return tp


def instrument() -> TracerProvider | None:
    if LIBRARY == "openllmetry":
        from opentelemetry.instrumentation.openai import OpenAIInstrumentor

        tp = provider()
        OpenAIInstrumentor().instrument(tracer_provider=tp)
        return tp
    if LIBRARY == "openinference":
        from openinference.instrumentation.openai import OpenAIInstrumentor

        tp = provider()
        OpenAIInstrumentor().instrument(tracer_provider=tp)
        return tp
    if LIBRARY == "openlit":
        import openlit

        tp = provider()
        trace.set_tracer_provider(tp)
        # An SDK provider already set is reused by openlit; its price list cannot be fetched offline.
        openlit.init(disable_metrics=True, disable_events=True, application_name=f"genai-{LIBRARY}")
        return tp
    if LIBRARY == "pydantic-ai":
        tp = provider()
        trace.set_tracer_provider(tp)
        return tp
    raise SystemExit(f"unknown library {LIBRARY}")


def run_openai_script():
    import openai

    client = openai.OpenAI(base_url=FAKE_URL, api_key="sk-fake", max_retries=0)

    def chat(model: str, text: str, **kw):
        try:
            r = client.chat.completions.create(model=model, messages=[{"role": "user", "content": text}], **kw)
            if kw.get("stream"):
                for _ in r:
                    pass
        except openai.APIStatusError as e:
            print(f"{model}: {e.status_code}", file=sys.stderr)

    chat("gpt-4o", "Summarise the model. usage: in=1200 out=300 cached=1000 reasoning=64")
    chat("gpt-4o-mini", "Stream it. usage: in=50 out=7", stream=True, stream_options={"include_usage": True})
    chat("gpt-4o", "Again. fail: 429")
    chat("gpt-4o-mini", "Once more. fail: 500")
    client.embeddings.create(model="text-embedding-3-small", input="glucose usage: in=8")
    chat("house-model-1", "Unpriced. usage: in=10 out=2")
    if LIBRARY not in ("openinference",):
        client.responses.create(model="o3-mini", input="Think. usage: in=100 out=400 reasoning=256")


def run_pydantic_agent():
    from pydantic_ai import Agent
    from pydantic_ai.models.instrumented import InstrumentationSettings
    from pydantic_ai.models.openai import OpenAIChatModel
    from pydantic_ai.providers.openai import OpenAIProvider

    model = OpenAIChatModel("gpt-4o", provider=OpenAIProvider(base_url=FAKE_URL, api_key="sk-fake"))
    Agent.instrument_all(InstrumentationSettings(tracer_provider=trace.get_tracer_provider()))
    agent = Agent(model, name="modelseed")

    @agent.tool_plain
    def run_fba() -> str:
        """Runs flux balance analysis."""
        return "growth 0.87"

    agent.run_sync("Analyse the model. usage: in=300 out=40 cached=100")


tp = instrument()
if LIBRARY == "pydantic-ai":
    run_pydantic_agent()
else:
    run_openai_script()
tp.force_flush()
tp.shutdown()
