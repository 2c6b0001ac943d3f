//! `seedwatch health`: asks a running collector, like the guide's `modelseed-agent health`.
//! Exit 0 healthy, 1 degraded, 2 unhealthy or unreachable.

use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use seedwatch_collector::health::{DetailedReport, OverallStatus, SummaryReport};

use super::OutputFormat;

pub(super) fn health(url: &str, detailed: bool, format: OutputFormat, timeout: Duration) -> ExitCode {
    match fetch(url, detailed, timeout) {
        Ok((status, body)) => {
            match format {
                OutputFormat::Json => println!("{body}"),
                OutputFormat::Text => print_text(&body, detailed),
            }
            ExitCode::from(match status {
                OverallStatus::Healthy => 0,
                OverallStatus::Degraded => 1,
                OverallStatus::Unhealthy => 2,
            })
        }
        Err(err) => {
            match format {
                OutputFormat::Json => {
                    println!("{}", serde_json::json!({ "status": "unreachable", "error": format!("{err:#}") }))
                }
                OutputFormat::Text => eprintln!("seedwatch at {url} is unreachable: {err:#}"),
            }
            ExitCode::from(2)
        }
    }
}

fn fetch(url: &str, detailed: bool, timeout: Duration) -> anyhow::Result<(OverallStatus, String)> {
    // reqwest is built without a default TLS provider; ring is ours.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let path = if detailed { "/health/detailed" } else { "/health" };
    let endpoint = format!("{}{path}", url.trim_end_matches('/'));
    let client =
        reqwest::blocking::Client::builder().timeout(timeout).build().context("cannot build the HTTP client")?;
    let body = client
        .get(&endpoint)
        .send()
        .with_context(|| format!("GET {endpoint}"))?
        .text()
        .with_context(|| format!("reading {endpoint}"))?;
    let summary: SummaryReport = serde_json::from_str(&body)
        .with_context(|| format!("{endpoint} did not answer with a seedwatch health report"))?;
    Ok((summary.status, body))
}

fn status_word(status: OverallStatus) -> &'static str {
    match status {
        OverallStatus::Healthy => "healthy",
        OverallStatus::Degraded => "degraded",
        OverallStatus::Unhealthy => "unhealthy",
    }
}

fn print_text(body: &str, detailed: bool) {
    if detailed && let Ok(report) = serde_json::from_str::<DetailedReport>(body) {
        print_summary(&report.summary);
        println!("ready: {}", if report.ready { "yes" } else { "no" });
        let groups = [
            ("receiver", &report.components.receivers),
            ("processor", &report.components.processors),
            ("exporter", &report.components.exporters),
        ];
        println!("\n{:<10} {:<28} {:<10} detail", "ROLE", "NAME", "STATUS");
        for (role, components) in groups {
            for (name, c) in components {
                let detail = c.reason.as_deref().or(c.detail.as_deref()).unwrap_or("");
                println!("{role:<10} {name:<28} {:<10} {detail}", c.status);
            }
        }
        println!("\n{:<39} {:>10} {:>10}", "QUEUE", "SIZE", "CAPACITY");
        for (name, q) in &report.queues {
            println!("{name:<39} {:>10} {:>10}", q.size, q.capacity);
        }
        println!("\n{:<39} {:>10} {:>10}", "LISTENER", "OPEN", "MAX");
        for (name, l) in &report.listeners {
            println!("{name:<39} {:>10} {:>10}", l.connections, l.max_connections);
        }
        if let Some(m) = &report.memory {
            let mib = |b: u64| b as f64 / 1048576.0;
            println!(
                "\nmemory: {:.1} MiB of data held (refused above {:.1} MiB), {:.1} MiB resident (refused above {:.1} MiB)",
                mib(m.accounted_bytes),
                mib(m.soft_limit_bytes),
                mib(m.resident_bytes),
                mib(m.limit_bytes)
            );
        }
        return;
    }
    if let Ok(summary) = serde_json::from_str::<SummaryReport>(body) {
        print_summary(&summary);
    }
}

fn print_summary(s: &SummaryReport) {
    println!("seedwatch {}: {} (up {:.0}s)", s.version, status_word(s.status), s.uptime_seconds);
    for reason in &s.reasons {
        println!("  - {reason}");
    }
}
