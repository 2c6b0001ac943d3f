//! `seedwatch health --agents`: every agent instance the collector tracks, as a table (or the
//! `/api/v1/agents` JSON, every page joined). Exit 0 when all are healthy, 1 when the worst is
//! degraded, 2 when one is unhealthy or down, or the collector is unreachable.

use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context, bail};
use seedwatch_collector::agents::HealthState;
use seedwatch_collector::agents::{AgentPage, MAX_PAGE};
use seedwatch_collector::clock::unix_now;

use super::OutputFormat;

pub(super) fn agents(url: &str, format: OutputFormat, timeout: Duration) -> ExitCode {
    match fetch(url, timeout) {
        Ok(report) => {
            match format {
                OutputFormat::Json => println!("{}", serde_json::to_string(&report).unwrap_or_default()),
                OutputFormat::Text => print_table(&report),
            }
            ExitCode::from(match report.counts.worst() {
                HealthState::Healthy => 0,
                HealthState::Degraded => 1,
                HealthState::Unhealthy | HealthState::Down => 2,
            })
        }
        Err(err) => {
            match format {
                OutputFormat::Json => {
                    println!("{}", serde_json::json!({ "status": "unreachable", "error": format!("{err:#}") }))
                }
                OutputFormat::Text => eprintln!("cannot list agents from seedwatch at {url}: {err:#}"),
            }
            ExitCode::from(2)
        }
    }
}

/// Every page of `/api/v1/agents`, joined; the counts are those of the last page read.
fn fetch(url: &str, timeout: Duration) -> anyhow::Result<AgentPage> {
    // reqwest is built without a default TLS provider; ring is ours.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let endpoint = format!("{}/api/v1/agents", url.trim_end_matches('/'));
    let client =
        reqwest::blocking::Client::builder().timeout(timeout).build().context("cannot build the HTTP client")?;
    let mut all: Option<AgentPage> = None;
    let mut after: Option<String> = None;
    loop {
        // Cursors are URL-safe base64: nothing to escape.
        let page_url = match after.take() {
            Some(cursor) => format!("{endpoint}?limit={MAX_PAGE}&after={cursor}"),
            None => format!("{endpoint}?limit={MAX_PAGE}"),
        };
        let resp = client.get(&page_url).send().with_context(|| format!("GET {page_url}"))?;
        let status = resp.status();
        let body = resp.text().with_context(|| format!("reading {endpoint}"))?;
        if !status.is_success() {
            let why = serde_json::from_str::<serde_json::Value>(&body)
                .ok()
                .and_then(|v| v["error"].as_str().map(str::to_owned))
                .unwrap_or(body);
            bail!("{endpoint} answered {status}: {why}");
        }
        let page: AgentPage =
            serde_json::from_str(&body).with_context(|| format!("{endpoint} did not answer with an agent list"))?;
        after = page.next.clone();
        match &mut all {
            Some(all) => {
                all.counts = page.counts;
                all.agents.extend(page.agents);
            }
            None => all = Some(AgentPage { next: None, ..page }),
        }
        if after.is_none() {
            return all.context("no page read");
        }
    }
}

fn print_table(report: &AgentPage) {
    let c = &report.counts;
    println!(
        "{} agents: {} healthy, {} degraded, {} unhealthy, {} down",
        c.total, c.healthy, c.degraded, c.unhealthy, c.down
    );
    if c.untracked > 0 {
        println!("{} telemetry arrivals from instances not tracked: the tracker was full (max_agents)", c.untracked);
    }
    if report.agents.is_empty() {
        return;
    }
    let now = unix_now();
    println!(
        "\n{:<24} {:<24} {:<10} {:>9} {:>10} {:>10} {:>9}  reasons",
        "SERVICE", "INSTANCE", "STATE", "SEEN", "TOOL ERR/s", "LLM ERR/s", "MEM GiB"
    );
    for a in &report.agents {
        let memory = a.memory_bytes.map_or("-".to_owned(), |b| format!("{:.2}", b / 1024f64.powi(3)));
        println!(
            "{:<24} {:<24} {:<10} {:>8.0}s {:>10.3} {:>10.3} {:>9}  {}",
            a.service,
            a.instance,
            a.state.as_str(),
            (now - a.last_seen).max(0.0),
            a.tool_error_rate,
            a.llm_error_rate,
            memory,
            a.reasons.join("; ")
        );
    }
}
