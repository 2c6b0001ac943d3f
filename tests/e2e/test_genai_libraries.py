"""Real GenAI instrumentation libraries, exactly counted.

Each library runs in its own venv (tests/genai/<library>.txt, pinned whole; tests/run.sh makes
them) or npm folder (tests/genai/vercel-ai), instruments the official client, and calls a fake
OpenAI-compatible server (fake_openai.py) through a fixed script (genai_driver.py / .mjs): chat
with cached and reasoning tokens, streaming with usage, a 429, a 500, an embedding, a model no
pricing table lists, the Responses API; Pydantic AI and the Vercel AI SDK also run a tool loop
whose outer span (agent run / ai.generateText) carries the summed usage. The collector's
series must equal what the fake server answered, call by call, and what the prices below say:
requests per model, errors per type, tokens by type, cost to 1e-9 USD, unknown-cost calls —
and no call counted twice.
"""

from __future__ import annotations

import os
import re
import subprocess
from collections import Counter, defaultdict
from pathlib import Path

import pytest

from conftest import ROOT, free_port, wait_until
from fake_openai import FakeOpenAI

HERE = Path(__file__).resolve().parent

# USD per million tokens (input, cache read, output), as OpenAI lists them and as
# otel-config/pricing.yaml carries them; restated so the test does not trust the table.
PRICES = {
    "gpt-4o": (2.50, 1.25, 10.00),
    "gpt-4o-mini": (0.15, 0.075, 0.60),
    "o3-mini": (1.10, 0.55, 4.40),
    "text-embedding-3-small": (0.02, 0.02, 0.0),
}

# What each library calls the fake server's 429 and 500 (the exception classes of the
# `openai` client, with or without their module; the Vercel AI SDK has one class for both).
ERROR_TYPES = {
    "openllmetry": {429: "RateLimitError", 500: "InternalServerError"},
    "openinference": {429: "openai.RateLimitError", 500: "openai.InternalServerError"},
    "openlit": {429: "RateLimitError", 500: "InternalServerError"},
    "pydantic-ai": {},
    "vercel-ai": {429: "AI_APICallError", 500: "AI_APICallError"},
}

# Tokens a library does not report although the server answered them: (call kind, token type).
# OpenLIT 1.45 writes reasoning tokens for the Responses API only, not for chat completions.
NOT_REPORTED = {"openlit": {("chat", "reasoning")}}

# Tool executions each script makes.
TOOLS = {"pydantic-ai": {"run_fba": 1}, "vercel-ai": {"run_fba": 1}}


def runner(library: str) -> list[str] | None:
    if library == "vercel-ai":
        folder = ROOT / "tests" / "genai" / "vercel-ai"
        return ["node", str(HERE / "genai_driver.mjs")] if (folder / "node_modules").is_dir() else None
    python = ROOT / f".venv-genai-{library}" / "bin" / "python"
    return [str(python), str(HERE / "genai_driver.py"), library] if python.exists() else None


def expectations(library: str, calls: list[dict]):
    """The series the collector must show, from what the fake server answered."""
    requests, errors, tokens, cost, unknown = Counter(), Counter(), Counter(), defaultdict(float), Counter()
    for call in calls:
        model = call["model"]  # the model asked for names the series
        requests[model] += 1
        if call["status"] != 200:
            errors[ERROR_TYPES[library][call["status"]]] += 1
            continue
        for kind, key in (("input", "input"), ("output", "output"), ("cache_read", "cached"), ("reasoning", "reasoning")):
            if (call["kind"], kind) not in NOT_REPORTED.get(library, ()):
                tokens[(model, kind)] += call[key]
        if model not in PRICES:
            unknown[model] += 1
            continue
        p_in, p_cached, p_out = PRICES[model]
        cost[model] += ((call["input"] - call["cached"]) * p_in + call["cached"] * p_cached + call["output"] * p_out) / 1e6
    return requests, errors, tokens, cost, unknown


def series(metrics: dict[str, float], name: str) -> dict[tuple, float]:
    """`name`'s samples as {(label values...): value}."""
    out = {}
    for key, value in metrics.items():
        if key.startswith(name + "{"):
            out[tuple(re.findall(r'="([^"]*)"', key))] = value
    return out


@pytest.mark.parametrize("library", ["openllmetry", "openinference", "openlit", "pydantic-ai", "vercel-ai"])
def test_a_real_instrumentation_library_is_counted_exactly(library, collector, tmp_path):
    command = runner(library)
    if command is None:
        # tests/run.sh always installs them: outside it, say what is missing instead of passing.
        pytest.fail(f"{library} is not installed: run ./tests/run.sh (it makes .venv-genai-* and tests/genai/vercel-ai)")
    fake = FakeOpenAI(free_port()).start()
    c = collector("processors:\n  agent_metrics: {genai_metrics: auto}\n")
    try:
        dump = tmp_path / f"{library}.jsonl"
        env = {**os.environ, "OTEL_SDK_DISABLED": "false"}
        env.pop("OTEL_EXPORTER_OTLP_ENDPOINT", None)
        done = subprocess.run(
            [*command, fake.url, c.http, "--dump", str(dump)],
            cwd=ROOT / "tests" / "genai" / "vercel-ai" if library == "vercel-ai" else tmp_path,
            env=env, capture_output=True, text=True, timeout=180,
        )
        assert done.returncode == 0, done.stderr[-4000:]
        calls = fake.calls
        spans = sum(1 for _ in dump.open())
        got = c.wait_for('seedwatch_receiver_accepted_spans_total{transport="http_protobuf"}', spans, timeout=30)
        assert got == spans, (got, spans, done.stderr[-2000:])
    finally:
        fake.stop()

    requests, errors, tokens, cost, unknown = expectations(library, calls)
    assert requests, "the script made no call"
    m = c.metrics()
    provider_model = {(p, mdl): v for (p, mdl), v in series(m, "modelseed_llm_requests_total").items()}
    assert provider_model == {("openai", model): n for model, n in requests.items()}, dump.read_text()[:3000]
    assert series(m, "modelseed_llm_errors_total") == {("openai", t): n for t, n in errors.items()}
    counted_tokens = {(mdl, kind): v for (_, mdl, kind), v in series(m, "modelseed_llm_tokens_total").items()}
    assert counted_tokens == {k: v for k, v in tokens.items() if v}, dump.read_text()[:3000]
    counted_cost = {mdl: v for (_, mdl), v in series(m, "modelseed_llm_cost_usd_total").items()}
    # Failed calls cost nothing; their series may show 0.
    assert {k: v for k, v in counted_cost.items() if v} == pytest.approx(dict(cost), abs=1e-9)
    assert {mdl: v for (_, mdl), v in series(m, "modelseed_llm_cost_unknown_total").items()} == dict(unknown)
    tools = {name: v for (name,), v in series(m, "modelseed_tool_executions_total").items()}
    assert tools == TOOLS.get(library, {})
    # The conventions' histograms, derived from the same spans (these libraries send no metrics).
    durations = series(m, "gen_ai_client_operation_duration_seconds_count")
    assert sum(durations.values()) == sum(requests.values()), durations
    assert {mdl for (_, _, mdl, _) in durations} == set(requests)
    usage = series(m, "gen_ai_client_token_usage_sum")
    assert sum(v for (_, _, _, kind), v in usage.items() if kind == "input") == sum(
        v for (_, kind), v in tokens.items() if kind == "input"
    )
    tool_durations = series(m, "gen_ai_execute_tool_duration_seconds_count")
    assert {name: v for (name, _), v in tool_durations.items()} == TOOLS.get(library, {})
