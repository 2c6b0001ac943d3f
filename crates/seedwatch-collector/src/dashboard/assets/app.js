// seedwatch dashboard: reads the collector's JSON API every 10 s and renders it. Every value
// from the data is written with textContent (tool names, alert texts... come from agents).
"use strict";
(function () {
  const REFRESH_MS = 10000;
  const state = { range: "1h", charts: {}, errors: [], rendered: false, traceUrl: null };
  window.seedwatch = state;

  const $ = (sel) => document.querySelector(sel);
  function el(tag, attrs, ...children) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (k === "class") e.className = v; else e.setAttribute(k, v);
    }
    for (const c of children) e.append(c instanceof Node ? c : document.createTextNode(c == null ? "" : String(c)));
    return e;
  }
  const fmt = {
    int: (n) => (n == null ? "–" : Math.round(n).toLocaleString("en-US")),
    num: (n, d = 2) => (n == null ? "–" : Number(n).toLocaleString("en-US", { maximumFractionDigits: d })),
    usd: (n) => (n == null ? "–" : "$" + Number(n).toLocaleString("en-US", { minimumFractionDigits: 2, maximumFractionDigits: 6 })),
    pct: (r) => (r == null ? "–" : (100 * r).toFixed(1) + "%"),
    secs: (s) => (s == null ? "–" : s < 1 ? (1000 * s).toFixed(1) + " ms" : s.toFixed(2) + " s"),
    bytes: (b) => (b == null ? "–" : b >= 1 << 30 ? (b / (1 << 30)).toFixed(2) + " GiB" : (b / (1 << 20)).toFixed(1) + " MiB"),
    time: (t) => (t ? new Date(t * 1000).toLocaleTimeString() : "–"),
    ago: (t) => {
      if (!t) return "–";
      const s = Math.max(0, Date.now() / 1000 - t);
      return s < 90 ? Math.round(s) + " s ago" : s < 5400 ? Math.round(s / 60) + " min ago" : Math.round(s / 3600) + " h ago";
    },
  };

  async function api(path) {
    const response = await fetch(path, { headers: { Accept: "application/json" }, credentials: "same-origin" });
    if (response.status === 404) return null; // a part that is not configured (no budgets, no processor)
    if (!response.ok) throw new Error(path + ": HTTP " + response.status);
    return response.json();
  }

  function figure(name, text, value) {
    const e = document.querySelector(`[data-figure="${name}"]`);
    if (!e) return;
    e.textContent = text;
    e.dataset.value = value == null ? "" : String(value);
  }

  function fillTable(id, rows) {
    const body = document.querySelector(`#${id} tbody`);
    body.replaceChildren(...rows);
  }

  // ---- charts (uPlot) ----
  const PALETTE = ["#3366cc", "#dc3912", "#ff9900", "#109618", "#990099", "#0099c6", "#dd4477", "#66aa00", "#b82e2e", "#316395", "#994499"];

  function chart(id, range, opts = {}) {
    const host = document.getElementById(id);
    if (!range || !range.series.length) {
      if (state.charts[id]) { state.charts[id].destroy(); delete state.charts[id]; }
      host.replaceChildren(el("div", { class: "empty" }, "no data yet"));
      return;
    }
    const transform = opts.transform || ((v) => v);
    const data = [range.timestamps];
    for (const s of range.series) data.push(transform(s.values, range.step));
    const names = range.series.map((s) => (s.labels.length ? s.labels.filter((l) => l !== "").join(" / ") : opts.single || "value"));
    const key = names.join("\u0000");
    const existing = state.charts[id];
    if (existing && existing.seedwatchKey === key) {
      existing.setData(data);
      return;
    }
    if (existing) existing.destroy();
    host.replaceChildren();
    const u = new uPlot(
      {
        width: Math.max(host.clientWidth, 200),
        height: 220,
        scales: { x: { time: true } },
        axes: [{}, { size: 60, values: (_, ticks) => ticks.map((t) => (opts.axis ? opts.axis(t) : fmt.num(t, 3))) }],
        series: [{}, ...names.map((n, i) => ({ label: n, stroke: PALETTE[i % PALETTE.length], width: 1.5, spanGaps: false, points: { show: false } }))],
        legend: { live: false },
      },
      data,
      host,
    );
    u.seedwatchKey = key;
    state.charts[id] = u;
  }

  const perSecond = (values, step) => values.map((v) => (v == null ? null : v / step));
  const cumulative = (values) => {
    let sum = 0;
    return values.map((v) => (v == null ? null : (sum += v)));
  };

  function sparkline(values) {
    const w = 120, h = 24, c = el("canvas", { class: "spark", width: String(w), height: String(h) });
    const points = values.map((v) => v || 0);
    const max = Math.max(1, ...points);
    const ctx = c.getContext("2d");
    ctx.strokeStyle = "#3366cc";
    ctx.beginPath();
    points.forEach((v, i) => {
      const x = points.length > 1 ? (i / (points.length - 1)) * (w - 2) + 1 : 1;
      const y = h - 2 - (v / max) * (h - 4);
      if (i === 0) ctx.moveTo(x, y); else ctx.lineTo(x, y);
    });
    ctx.stroke();
    return c;
  }

  // ---- sections ----
  function renderOverview(o) {
    if (!o) return;
    state.traceUrl = o.trace_url_template;
    for (const s of ["total", "healthy", "degraded", "unhealthy", "down"]) figure("agents-" + s, fmt.int(o.agents[s]), o.agents[s]);
    figure("llm-rate", fmt.num(o.rates.llm_requests_per_second), o.rates.llm_requests_per_second);
    figure("llm-error-ratio", fmt.pct(o.rates.llm_error_ratio), o.rates.llm_error_ratio);
    figure("tool-rate", fmt.num(o.rates.tool_executions_per_second), o.rates.tool_executions_per_second);
    figure("alerts", fmt.int(o.alerts.length), o.alerts.length);
    const t = o.totals;
    figure("llm-requests", fmt.int(t.llm_requests), t.llm_requests);
    figure("llm-errors", fmt.int(t.llm_errors), t.llm_errors);
    figure("llm-cost", fmt.usd(t.llm_cost_usd), t.llm_cost_usd);
    figure("tool-executions", fmt.int(t.tool_executions), t.tool_executions);
    figure("tool-errors", fmt.int(t.tool_errors), t.tool_errors);
    figure("requests", fmt.int(t.requests), t.requests);
    $("#tokens").replaceChildren(
      ...Object.entries(t.tokens).map(([type, n]) =>
        el("span", {}, type + " tokens: ", el("b", { "data-figure": "tokens-" + type, "data-value": String(n) }, fmt.int(n))),
      ),
    );
    const budgets = o.budgets.map((b) => {
      const ratio = b.limit_usd > 0 ? b.spent_usd / b.limit_usd : 0;
      const level = ratio >= 1 ? "bad" : b.thresholds.some((th) => ratio >= th) ? "warn" : "";
      const forecast = b.forecast_exhaustion
        ? b.forecast_exhaustion <= b.period_end
          ? "at this rate the limit is reached " + new Date(b.forecast_exhaustion * 1000).toLocaleString()
          : "on track: the limit is not reached this period"
        : "no spend yet";
      return el(
        "div",
        { class: "budget", "data-budget": b.name },
        el("b", {}, b.name), " · ", b.scope, " · per ", b.period,
        el("div", { class: "bar" }, el("div", { class: level, style: `width:${Math.min(100, 100 * ratio).toFixed(1)}%` })),
        el("span", { "data-figure": "budget-spent", "data-value": String(b.spent_usd) }, fmt.usd(b.spent_usd)),
        " of ", fmt.usd(b.limit_usd), " (", fmt.pct(ratio), ") — ", forecast,
        b.alerts.length ? el("div", { class: "bad" }, "alerts: " + b.alerts.join(", ")) : "",
      );
    });
    $("#budgets").replaceChildren(...(budgets.length ? budgets : [el("p", { class: "note" }, "no budgets configured")]));
    fillTable(
      "alerts-table",
      o.alerts.map((a) => el("tr", {}, el("td", {}, a.name), el("td", {}, a.severity), el("td", { class: "wrap" }, a.summary), el("td", {}, fmt.ago(a.starts_at)))),
    );
  }

  function renderTools(t) {
    if (!t) return;
    $("#tools-count").textContent = t.total > t.tools.length ? `Showing the ${t.tools.length} busiest of ${t.total} tools.` : `${t.total} tools.`;
    fillTable(
      "tools-table",
      t.tools.map((r) =>
        el(
          "tr",
          { "data-tool": r.tool_name },
          el("td", { class: "wrap" }, r.tool_name),
          el("td", { class: "num", "data-col": "executions", "data-value": String(r.executions) }, fmt.int(r.executions)),
          el("td", { class: "num", "data-col": "errors", "data-value": String(r.errors) }, fmt.int(r.errors)),
          el("td", { class: "num" }, fmt.pct(r.error_ratio)),
          el("td", { class: "num" }, fmt.secs(r.p50_seconds)),
          el("td", { class: "num" }, fmt.secs(r.p95_seconds)),
          el("td", {}, sparkline(r.trend)),
        ),
      ),
    );
    const top = t.tools.slice(0, 8);
    chart(
      "chart-tools",
      top.length ? { timestamps: t.timestamps, step: t.step, series: top.map((r) => ({ labels: [r.tool_name], values: r.trend })) } : null,
      { transform: perSecond },
    );
  }

  function traceCell(traceId) {
    if (!state.traceUrl) return el("td", {}, el("code", {}, traceId.slice(0, 16) + "…"));
    const a = el("a", { href: state.traceUrl.replace("{trace_id}", encodeURIComponent(traceId)), target: "_blank", rel: "noopener noreferrer" }, traceId.slice(0, 16) + "…");
    return el("td", {}, a);
  }

  const withFailed = (calls, failed) => `${calls}${failed ? ` (${failed} failed)` : ""}`;

  function renderWorkflows(w) {
    if (!w) return;
    if (w.trace_url_template) state.traceUrl = w.trace_url_template;
    fillTable(
      "workflows-table",
      w.workflows.map((r) =>
        el(
          "tr",
          { "data-trace": r.trace_id },
          el("td", {}, fmt.time(r.ended_at)),
          el("td", { class: "wrap" }, r.workflow_type),
          el("td", {}, el("span", { class: "state " + (r.status === "completed" ? "healthy" : "down") }, r.status)),
          el("td", { class: "num" }, fmt.secs(r.duration_seconds)),
          el("td", { class: "num" }, fmt.usd(r.cost_usd) + (r.cost_complete ? "" : " +?")),
          el("td", { class: "num" }, fmt.int(r.tokens)),
          el("td", { class: "num" }, withFailed(r.tool_calls, r.tool_errors)),
          el("td", { class: "num" }, withFailed(r.llm_calls, r.llm_errors)),
          el("td", { class: "wrap" }, [r.service, r.instance].filter(Boolean).join(" / ")),
          traceCell(r.trace_id),
        ),
      ),
    );
  }

  function renderAgents(page) {
    if (!page) return;
    const c = page.counts;
    $("#agents-count").textContent = `${c.total} instances tracked` + (page.agents.length < c.total ? `, showing the ${page.agents.length} in the worst state first` : "") + (c.untracked ? `; ${c.untracked} arrivals untracked (tracker full)` : "");
    fillTable(
      "agents-table",
      page.agents.map((a) =>
        el(
          "tr",
          { "data-instance": a.instance },
          el("td", { class: "wrap" }, a.service),
          el("td", { class: "wrap" }, a.instance),
          el("td", {}, el("span", { class: "state " + a.state }, a.state)),
          el("td", { class: "wrap" }, a.reasons.join("; ")),
          el("td", {}, fmt.ago(a.last_seen)),
          el("td", { class: "wrap" }, Object.entries(a.checks).map(([k, v]) => `${k}: ${v}`).join(", ")),
          el("td", { class: "num" }, fmt.bytes(a.memory_bytes)),
          el("td", { class: "num", "data-col": "cpu", "data-value": a.cpu_percent == null ? "" : String(a.cpu_percent) }, a.cpu_percent == null ? "–" : fmt.num(a.cpu_percent, 1) + "%"),
          el("td", { class: "num" }, fmt.num(a.tool_call_rate)),
          el("td", { class: "num" }, fmt.num(a.llm_call_rate)),
        ),
      ),
    );
  }

  async function refresh() {
    const r = state.range;
    const h = (name, limit) => api(`api/v1/history/${name}?range=${r}` + (limit ? `&limit=${limit}` : ""));
    try {
      const [overview, states, spend, requests, errors, tokens, cost, tools, workflows, agents] = await Promise.all([
        api("api/v1/overview"), h("agent_states"), h("budget_spend"), h("llm_requests", 8), h("llm_errors", 8),
        h("llm_tokens"), h("llm_cost", 8), api(`api/v1/tools?limit=100&range=${r}`), api("api/v1/workflows?limit=50"),
        api("api/v1/agents?limit=200"),
      ]);
      renderOverview(overview);
      chart("chart-agent-states", states, { single: "agents" });
      chart("chart-budget-spend", spend, { axis: (v) => fmt.usd(v) });
      chart("chart-llm-requests", requests, { transform: perSecond });
      chart("chart-llm-errors", errors, { transform: perSecond });
      chart("chart-llm-tokens", tokens, { axis: (v) => fmt.int(v) });
      chart("chart-llm-cost", cost, { transform: cumulative, axis: (v) => fmt.usd(v) });
      renderTools(tools);
      renderWorkflows(workflows);
      renderAgents(agents);
      const status = $("#status");
      status.className = "";
      status.textContent = overview ? "updated " + new Date().toLocaleTimeString() : "no agent_metrics processor: nothing to show";
    } catch (err) {
      state.errors.push(String(err));
      const status = $("#status");
      status.className = "error";
      status.textContent = "update failed: " + err.message;
    }
    if (!state.rendered) {
      state.rendered = true;
      state.renderedMs = performance.now();
      document.body.dataset.rendered = "1";
    }
  }

  $("#range").addEventListener("change", (e) => {
    state.range = e.target.value;
    refresh();
  });
  window.addEventListener("resize", () => {
    for (const [id, u] of Object.entries(state.charts)) {
      const w = Math.max(document.getElementById(id).clientWidth, 200);
      if (w !== u.width) u.setSize({ width: w, height: 220 });
    }
  });
  refresh();
  setInterval(refresh, REFRESH_MS);
})();
