"""The built-in dashboard in a real headless Chromium (Debian's `chromium` + `chromium-driver`)
after the demo agent ran: no console errors, no failed requests, the figures it shows equal
what `/metrics` and `/api/v1/*` say, at 1280 and 390 px wide, agent-supplied names shown as
text (never as markup); its load time at 200 agents and 2,000 series is measured. And every
expression of the Grafana dashboard in deploy/grafana is run against a real Prometheus that
scraped seedwatch while the demo agent ran."""

from __future__ import annotations

import json
import os
import re
import shutil
import time
from pathlib import Path

import pytest
import requests
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
from opentelemetry.proto.resource.v1.resource_pb2 import Resource
from opentelemetry.proto.trace.v1.trace_pb2 import ResourceSpans, ScopeSpans, Span, Status

from conftest import parse_exposition, wait_until
from prometheus_server import PROMETHEUS, Prometheus
from test_demo_agent import run_agent

CHROMIUM = shutil.which("chromium")
CHROMEDRIVER = shutil.which("chromedriver")
ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "target" / "e2e-screenshots"
GRAFANA = ROOT / "deploy" / "grafana"

browser_needed = pytest.mark.skipif(
    CHROMIUM is None or CHROMEDRIVER is None, reason="chromium and chromium-driver not installed (tests/run.sh installs them)"
)

CONFIG = (
    "processors:\n  agent_metrics:\n    workflows: {idle_timeout: 1s}\n"
    "    budgets:\n      store: {path: '%s'}\n      limits: {global-daily: {limit_usd: 1}}\n"
    "ui: {trace_url_template: 'http://127.0.0.1:16686/trace/{trace_id}'}\n"
)
WORKFLOWS = 12
# Agent-supplied names end up on the page: this one must be shown as text, never run.
HOSTILE_TOOL = '<img src=x onerror="window.__injected=1">'


def browser(width: int, height: int = 900):
    from selenium import webdriver
    from selenium.webdriver.chrome.options import Options
    from selenium.webdriver.chrome.service import Service

    options = Options()
    options.binary_location = CHROMIUM
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", f"--window-size={width},{height}"):
        options.add_argument(arg)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    return webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)


def open_dashboard(driver, url: str) -> float:
    """Loads the page and waits for its first render; returns the render time in ms."""
    from selenium.webdriver.support.ui import WebDriverWait

    driver.get(url)
    WebDriverWait(driver, 30).until(lambda d: d.execute_script("return document.body.dataset.rendered === '1'"))
    return driver.execute_script("return window.seedwatch.renderedMs")


def page_problems(driver) -> list[str]:
    """Console errors, failed requests and the page's own fetch failures."""
    problems = [f"console: {e['message']}" for e in driver.get_log("browser") if e["level"] == "SEVERE"]
    entries = driver.execute_script(
        "return performance.getEntriesByType('navigation').concat(performance.getEntriesByType('resource'))"
        ".map(e => [e.name, e.responseStatus])"
    )
    problems += [f"request {name}: HTTP {status}" for name, status in entries if status != 200]
    problems += [f"fetch: {e}" for e in driver.execute_script("return window.seedwatch.errors")]
    return problems


def figures(driver) -> dict[str, float]:
    raw = driver.execute_script(
        "return Object.fromEntries([...document.querySelectorAll('[data-figure]')].map(e => [e.dataset.figure, e.dataset.value]))"
    )
    return {k: float(v) for k, v in raw.items() if v not in (None, "")}


def summed(samples: dict[str, float], name: str, **labels: str) -> float:
    total = 0.0
    for key, value in samples.items():
        if key.split("{")[0] == name and all(f'{k}="{v}"' in key for k, v in labels.items()):
            total += value
    return total


def tool_span_request(tool: str) -> bytes:
    span = Span(
        trace_id=os.urandom(16), span_id=os.urandom(8), name=f"execute_tool {tool}", kind=Span.SPAN_KIND_INTERNAL,
        start_time_unix_nano=time.time_ns() - 1_000_000, end_time_unix_nano=time.time_ns(),
        attributes=[KeyValue(key="gen_ai.operation.name", value=AnyValue(string_value="execute_tool")),
                    KeyValue(key="gen_ai.tool.name", value=AnyValue(string_value=tool))],
    )
    resource = Resource(attributes=[KeyValue(key="service.name", value=AnyValue(string_value="modelseed-agent"))])
    return ExportTraceServiceRequest(
        resource_spans=[ResourceSpans(resource=resource, scope_spans=[ScopeSpans(spans=[span])])]
    ).SerializeToString()


def post(c, body: bytes) -> None:
    r = requests.post(f"{c.http}/v1/traces", data=body, headers={"Content-Type": "application/x-protobuf"}, timeout=10)
    assert r.status_code == 200, r.text


def demo_collector(collector, tmp_path):
    c = collector(CONFIG % (tmp_path / "budgets.redb"))
    run = run_agent(tmp_path, c.http, WORKFLOWS, args=["--llm-error-rate", "0.2"])
    assert run.returncode == 0 and run.workflows == WORKFLOWS, run.stderr[-2000:]
    post(c, tool_span_request(HOSTILE_TOOL))
    # Every workflow closed by the roll-up and every span counted before the page is read.
    assert wait_until(lambda: requests.get(f"{c.admin}/api/v1/workflows", timeout=5).json()["held"] == WORKFLOWS, timeout=30)
    return c


@browser_needed
def test_the_dashboard_shows_what_the_collector_knows_at_desktop_and_phone_widths(collector, tmp_path):
    c = demo_collector(collector, tmp_path)
    samples = parse_exposition(requests.get(f"{c.admin}/metrics", timeout=5).text)
    agents = requests.get(f"{c.admin}/api/v1/agents", timeout=5).json()
    budgets = requests.get(f"{c.admin}/api/v1/budgets", timeout=5).json()["budgets"]
    assert summed(samples, "modelseed_llm_errors_total") > 0, "the demo run had failed LLM calls to show"
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)

    for width in (1280, 390):
        driver = browser(width)
        try:
            rendered_ms = open_dashboard(driver, f"{c.admin}/")
            print(f"\ndashboard at {width} px: first render {rendered_ms:.0f} ms after navigation start")
            assert page_problems(driver) == []
            shown = figures(driver)
            assert shown["llm-requests"] == summed(samples, "modelseed_llm_requests_total")
            assert shown["llm-errors"] == summed(samples, "modelseed_llm_errors_total")
            assert abs(shown["llm-cost"] - summed(samples, "modelseed_llm_cost_usd_total")) < 1e-9
            assert shown["tool-executions"] == summed(samples, "modelseed_tool_executions_total")
            assert shown["tool-errors"] == summed(samples, "modelseed_tool_errors_total")
            for token_type in ("input", "output"):
                assert shown[f"tokens-{token_type}"] == summed(samples, "modelseed_llm_tokens_total", type=token_type)
            for state in ("healthy", "degraded", "unhealthy", "down"):
                assert shown[f"agents-{state}"] == agents["counts"][state], state
            assert shown["agents-total"] == agents["counts"]["total"] >= 1
            assert abs(shown["budget-spent"] - budgets[0]["spent_usd"]) < 1e-9 and budgets[0]["spent_usd"] > 0

            tools = driver.execute_script(
                "return [...document.querySelectorAll('#tools-table tbody tr')]"
                ".map(r => [r.dataset.tool, Number(r.querySelector('[data-col=executions]').dataset.value)])"
            )
            assert dict(tools) == {
                m.group(1).replace('\\"', '"'): v
                for k, v in samples.items()
                if (m := re.fullmatch(r'modelseed_tool_executions_total\{tool_name="(.*)"\}', k))
            }
            # The hostile tool name is a row whose text is the name itself, and nothing ran.
            assert HOSTILE_TOOL in driver.execute_script("return document.querySelector('#tools-table').textContent")
            assert driver.execute_script("return window.__injected === undefined && !document.querySelector('#tools-table img')")

            rows = driver.execute_script(
                "return [...document.querySelectorAll('#workflows-table tbody tr')].map(r => [r.dataset.trace, r.querySelector('a')?.href])"
            )
            assert len(rows) == WORKFLOWS
            assert all(href == f"http://127.0.0.1:16686/trace/{trace}" for trace, href in rows), rows[:2]
            assert driver.execute_script("return document.querySelectorAll('#agents-table tbody tr').length") == agents["counts"]["total"]
            cpu_shown = dict(driver.execute_script(
                "return [...document.querySelectorAll('#agents-table tbody tr')].map(r => [r.dataset.instance, r.querySelector('[data-col=cpu]').dataset.value])"
            ))
            for a in agents["agents"]:
                shown_cpu = cpu_shown[a["instance"]]
                assert (None if shown_cpu == "" else float(shown_cpu)) == a["cpu_percent"], a
            reporting = [a for a in agents["agents"] if a["cpu_percent"] is not None]
            assert reporting, "the demo agent reports its CPU"
            for a in reporting:
                assert a["cpu_percent"] == summed(samples, "modelseed_cpu_usage_percent", service=a["service"], instance=a["instance"])
            charts = driver.execute_script("return document.querySelectorAll('.chart canvas').length")
            assert charts >= 7, f"{charts} charts drawn"
            overflow = driver.execute_script("return document.documentElement.scrollWidth - window.innerWidth")
            assert overflow <= 0, f"the page is {overflow} px wider than a {width} px window"

            height = driver.execute_script("return document.documentElement.scrollHeight")
            driver.set_window_size(width, min(height + 100, 8000))
            time.sleep(0.5)
            path = SCREENSHOTS / f"dashboard-{width}.png"
            assert driver.save_screenshot(str(path)) and path.stat().st_size > 10_000
        finally:
            driver.quit()


@browser_needed
def test_load_time_with_200_agents_and_2000_series_is_measured(collector, tmp_path):
    """Fills the collector with 200 agent instances and ~2,000 derived series, then records how
    long the page takes to load and render (printed; docs/dashboard.md quotes it)."""
    c = collector("processors:\n  agent_metrics: {cardinality: {max_series_per_metric: 5000}}\n")
    spans_per_request = 10
    tools = [f"tool_{i:04d}" for i in range(1000)]
    models = [f"model-{i:03d}" for i in range(150)]
    now = time.time_ns()
    for agent in range(200):
        spans = []
        for k in range(spans_per_request):
            n = agent * spans_per_request + k
            tool = tools[n % len(tools)]
            attrs = [KeyValue(key="gen_ai.operation.name", value=AnyValue(string_value="execute_tool")),
                     KeyValue(key="gen_ai.tool.name", value=AnyValue(string_value=tool))]
            status = Status(code=Status.STATUS_CODE_ERROR) if n % 7 == 0 else Status()
            if n % 7 == 0:
                attrs.append(KeyValue(key="error.type", value=AnyValue(string_value="ToolError")))
            spans.append(Span(trace_id=os.urandom(16), span_id=os.urandom(8), name=f"execute_tool {tool}",
                              start_time_unix_nano=now - 5_000_000, end_time_unix_nano=now, attributes=attrs, status=status))
            model = models[n % len(models)]
            spans.append(Span(
                trace_id=os.urandom(16), span_id=os.urandom(8), name=f"chat {model}",
                start_time_unix_nano=now - 50_000_000, end_time_unix_nano=now,
                attributes=[KeyValue(key="gen_ai.operation.name", value=AnyValue(string_value="chat")),
                            KeyValue(key="gen_ai.provider.name", value=AnyValue(string_value="openai")),
                            KeyValue(key="gen_ai.request.model", value=AnyValue(string_value=model)),
                            KeyValue(key="gen_ai.usage.input_tokens", value=AnyValue(int_value=100)),
                            KeyValue(key="gen_ai.usage.output_tokens", value=AnyValue(int_value=10))]))
        resource = Resource(attributes=[KeyValue(key="service.name", value=AnyValue(string_value="modelseed-agent")),
                                        KeyValue(key="service.instance.id", value=AnyValue(string_value=f"agent-{agent:03d}"))])
        post(c, ExportTraceServiceRequest(resource_spans=[ResourceSpans(resource=resource, scope_spans=[ScopeSpans(spans=spans)])]).SerializeToString())
    samples = parse_exposition(requests.get(f"{c.admin}/metrics", timeout=5).text)
    series = sum(1 for k in samples if k.startswith("modelseed_") and not k.startswith(("modelseed_tool_duration_seconds_bucket", "modelseed_llm_duration_seconds_bucket")))
    assert requests.get(f"{c.admin}/api/v1/agents", timeout=5).json()["counts"]["total"] == 200
    assert series >= 2000, series

    driver = browser(1280)
    try:
        timings = []
        for _ in range(3):
            rendered_ms = open_dashboard(driver, f"{c.admin}/")
            assert page_problems(driver) == []
            timings.append(rendered_ms)
        assert driver.execute_script("return document.querySelectorAll('#agents-table tbody tr').length") == 200
        assert driver.execute_script("return document.querySelectorAll('#tools-table tbody tr').length") == 100
        print(f"\n200 agents, {series} series: first render {', '.join(f'{t:.0f}' for t in timings)} ms after navigation start")
        (SCREENSHOTS).mkdir(parents=True, exist_ok=True)
        (SCREENSHOTS / "load-time.json").write_text(json.dumps({"agents": 200, "series": series, "render_ms": timings}))
    finally:
        driver.quit()


def grafana_queries() -> list[tuple[str, str]]:
    dashboard = json.loads((GRAFANA / "dashboards" / "seedwatch.json").read_text())
    out = []
    for panel in dashboard["panels"]:
        for target in panel.get("targets", []):
            out.append((panel["title"], target["expr"]))
    return out


def test_grafana_dashboard_has_what_provisioning_needs():
    dashboard = json.loads((GRAFANA / "dashboards" / "seedwatch.json").read_text())
    assert dashboard["uid"] and dashboard["title"] and isinstance(dashboard["schemaVersion"], int)
    variables = {v["name"] for v in dashboard["templating"]["list"]}
    assert {"datasource", "service", "agent"} <= variables
    ids = [p["id"] for p in dashboard["panels"]]
    assert len(ids) == len(set(ids)), "panel ids are unique"
    for panel in dashboard["panels"]:
        pos = panel["gridPos"]
        assert {"h", "w", "x", "y"} <= pos.keys() and pos["x"] + pos["w"] <= 24, panel["title"]
        if panel["type"] != "row":
            assert panel["datasource"] == {"type": "prometheus", "uid": "${datasource}"}, panel["title"]
            assert panel["targets"], panel["title"]
            for t in panel["targets"]:
                assert t["datasource"]["uid"] == "${datasource}" and t["refId"], panel["title"]
    titles = {p["title"] for p in dashboard["panels"]}
    assert {"Request Rate", "Response Time", "System Resources", "Tool Execution Success Rate"} <= titles, "the guide's panels"
    provider = (GRAFANA / "provisioning" / "dashboards" / "seedwatch.yaml").read_text()
    assert "type: file" in provider and "path:" in provider
    assert "type: prometheus" in (GRAFANA / "provisioning" / "datasources" / "prometheus.yaml").read_text()
    # Counters are summed over replicas: no bare rate() of a counter outside an aggregation.
    for title, expr in grafana_queries():
        for m in re.finditer(r"(rate|increase)\(", expr):
            assert re.search(r"(sum|max|count)( by \([^)]*\))? ?\($", expr[: m.start()]) or "histogram_quantile" in expr[: m.start()], (title, expr)


def substitute(expr: str) -> str:
    return (expr.replace("$__rate_interval", "1m").replace("$__range", "10m")
            .replace('"$service"', '".*"').replace('"$agent"', '".*"'))


@pytest.mark.skipif(PROMETHEUS is None, reason="prometheus not installed (tests/run.sh installs it)")
def test_every_grafana_expression_parses_and_returns_data_from_a_real_prometheus(collector, tmp_path):
    c = collector(CONFIG % (tmp_path / "budgets.redb"))
    prom = Prometheus(tmp_path, f"127.0.0.1:{c.admin_port}")
    try:
        # The demo agent runs while Prometheus scrapes (from its first scrape on), in two rounds
        # a few scrapes apart, so every rate sees an increase.
        assert prom.wait_for('up{job="seedwatch"}', 1.0) == 1.0
        for _ in range(2):
            run = run_agent(tmp_path, c.http, WORKFLOWS, args=["--llm-error-rate", "0.2", "--failed-logins", "2"])
            assert run.returncode == 0, run.stderr[-2000:]
            time.sleep(3)
        empty = []
        deadline = time.monotonic() + 30
        queries = grafana_queries()
        while True:
            empty = []
            for title, expr in queries:
                body = requests.get(f"{prom.url}/api/v1/query", params={"query": substitute(expr)}, timeout=10).json()
                assert body["status"] == "success", (title, expr, body)
                values = [float(r["value"][1]) for r in body["data"]["result"]]
                if not values or all(v != v for v in values):  # no series, or only NaN (0/0)
                    empty.append((title, expr, values))
            if not empty or time.monotonic() > deadline:
                break
            time.sleep(2)
        assert empty == [], f"expressions that returned no data: {empty}"
        # The fixed guide expression gives a percentage (not NaN: checked above).
        rate = float(requests.get(f"{prom.url}/api/v1/query", params={"query": substitute(next(
            e for t, e in queries if t == "Tool Execution Success Rate"))}, timeout=10).json()["data"]["result"][0]["value"][1])
        assert 0 <= rate <= 100, rate
    finally:
        prom.stop()


# docs/dashboard.md: at most ui.max_series series of at most this many bytes each (2,592 of
# points, label values cut to 256 bytes, the key and the map entry).
HISTORY_BYTES_PER_SERIES = 3_400


def varint(n: int) -> bytes:
    out = bytearray()
    while n >= 0x80:
        out.append(n & 0x7F | 0x80)
        n >>= 7
    out.append(n)
    return bytes(out)


def field(number: int, payload: bytes) -> bytes:
    """A length-delimited protobuf field."""
    return varint(number << 3 | 2) + varint(len(payload)) + payload


def test_the_history_stays_within_its_bound_under_a_million_tool_names(collector):
    """Issue 8's cardinality attack: a million distinct tool names, each 200 bytes long. The
    families hold their default 2,000 series each (the rest go to their overflow series), which
    with the LLM and agent series is more than the history's 2,000."""
    c = collector("processors:\n  agent_metrics: {}\nui: {max_series: 2000}\n")
    # Encoded by hand, span by span: a million protobuf objects would grow this process by
    # gigabytes, and a child forked from it inherits that peak in its rusage (see
    # test_demo_agent's RSS bound).
    template = Span(name="execute_tool", start_time_unix_nano=time.time_ns() - 1_000_000, end_time_unix_nano=time.time_ns(),
                    attributes=[KeyValue(key="gen_ai.operation.name", value=AnyValue(string_value="execute_tool"))]).SerializeToString()
    resource = Resource(attributes=[KeyValue(key="service.name", value=AnyValue(string_value="attacker"))]).SerializeToString()
    per_request, total = 10_000, 1_000_000
    for first in range(0, total, per_request):
        spans = bytearray()
        for n in range(first, first + per_request):
            tool = KeyValue(key="gen_ai.tool.name", value=AnyValue(string_value=f"{n:08d}" + "t" * 192)).SerializeToString()
            span = (template + field(1, n.to_bytes(16, "big")) + field(2, (n + 1).to_bytes(8, "big")) + field(9, tool))
            spans += field(2, span)
        resource_spans = field(1, resource) + field(2, bytes(spans))
        post(c, field(1, resource_spans))
        if first % 200_000 == 0:
            requests.get(f"{c.admin}/api/v1/tools", params={"limit": 1}, timeout=30)  # samples the history now
    requests.get(f"{c.admin}/api/v1/tools", params={"limit": 1}, timeout=30)
    m = parse_exposition(requests.get(f"{c.admin}/metrics", timeout=30).text)
    held, held_bytes = m["seedwatch_dashboard_history_series"], m["seedwatch_dashboard_history_bytes"]
    print(f"\nhistory under 1M tool names: {held:.0f} series, {held_bytes / 2**20:.2f} MiB, "
          f"{m['seedwatch_dashboard_history_series_dropped_total']:.0f} samples of series not kept")
    assert held == 2000
    assert held_bytes <= 2000 * HISTORY_BYTES_PER_SERIES
    assert m["seedwatch_dashboard_history_series_dropped_total"] > 0
    # The dashboard still answers, with the busiest tools, in bounded size.
    answer = requests.get(f"{c.admin}/api/v1/tools", params={"limit": 100}, timeout=30)
    assert answer.status_code == 200 and len(answer.json()["tools"]) == 100
    assert len(answer.content) < 2 * 2**20, len(answer.content)
