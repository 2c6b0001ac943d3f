//! The roll-up's side of shared state (`redis`): each replica sends what its spans added to
//! each trace every sync, and closing is a claim in Redis — the script that takes an idle
//! workflow deletes it in the same step — so a workflow's totals are exact whichever replica
//! received which span, and its summary is emitted once, by the replica that claimed it.

use opentelemetry_proto::tonic::resource::v1::Resource;
use seedwatch_semconv::Tokens;
use serde::{Deserialize, Serialize};

use super::{Pending, Rollup, Root, Totals};
use crate::shared::{Claimed, WorkflowDelta, from_pico, to_pico};

/// A root as shared.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct SharedRoot {
    name: String,
    id: Option<String>,
    failed: bool,
    start_ns: u64,
    end_ns: u64,
    span_id: String,
    top_level: bool,
    resource: Option<Resource>,
}

const FIELDS: [&str; 11] = ["cost", "unpriced", "ti", "to", "tcr", "tcc", "tr", "tc", "te", "lc", "le"];

fn counts(t: &Totals) -> Vec<(&'static str, String)> {
    let values = [
        to_pico(t.cost),
        t.unpriced_llm_calls as i64,
        t.tokens.input as i64,
        t.tokens.output as i64,
        t.tokens.cache_read as i64,
        t.tokens.cache_creation as i64,
        t.tokens.reasoning as i64,
        t.tool_calls as i64,
        t.tool_errors as i64,
        t.llm_calls as i64,
        t.llm_errors as i64,
    ];
    FIELDS.iter().zip(values).filter(|(_, v)| *v != 0).map(|(f, v)| (*f, v.to_string())).collect()
}

/// Totals from the shared hash's fields.
fn totals(fields: &[(String, String)]) -> Totals {
    let get =
        |name: &str| -> i64 { fields.iter().find(|(k, _)| k == name).and_then(|(_, v)| v.parse().ok()).unwrap_or(0) };
    let n = |name: &str| get(name).max(0) as u64;
    Totals {
        cost: from_pico(get("cost")),
        unpriced_llm_calls: n("unpriced"),
        tokens: Tokens {
            input: n("ti"),
            output: n("to"),
            cache_read: n("tcr"),
            cache_creation: n("tcc"),
            reasoning: n("tr"),
            ..Default::default()
        },
        tool_calls: n("tc"),
        tool_errors: n("te"),
        llm_calls: n("lc"),
        llm_errors: n("le"),
    }
}

fn root_from(json: &str) -> Option<(Root, Option<Resource>)> {
    let r: SharedRoot = serde_json::from_str(json).ok()?;
    let root = Root {
        name: r.name,
        id: r.id,
        failed: r.failed,
        start_ns: r.start_ns,
        end_ns: r.end_ns,
        span_id: hex::decode(r.span_id).unwrap_or_default(),
        top_level: r.top_level,
    };
    Some((root, r.resource))
}

impl Rollup {
    /// From now on workflows are closed by claims in Redis (see the module docs); `tick`
    /// closes nothing.
    pub(crate) fn share(&self) {
        self.shared.store(true, std::sync::atomic::Ordering::Relaxed);
    }

    /// Everything held, taken out to be sent (give it back with [`Rollup::restore`] if it
    /// could not be).
    pub(crate) fn take_deltas(&self) -> Vec<WorkflowDelta> {
        let drained: Vec<([u8; 16], Pending)> = {
            let mut state = self.lock();
            state.order.clear();
            let mut all = std::mem::take(&mut state.handoff);
            all.extend(state.traces.drain());
            all
        };
        self.metrics.pending.set(&[], 0.0);
        drained
            .into_iter()
            .map(|(trace, p)| {
                let (root, top_level) = match p.root {
                    Some((root, resource)) => {
                        let shared = SharedRoot {
                            name: root.name,
                            id: root.id,
                            failed: root.failed,
                            start_ns: root.start_ns,
                            end_ns: root.end_ns,
                            span_id: hex::encode(&root.span_id),
                            top_level: root.top_level,
                            resource,
                        };
                        (serde_json::to_string(&shared).ok(), root.top_level)
                    }
                    None => (None, false),
                };
                WorkflowDelta { trace: hex::encode(trace), counts: counts(&p.totals), root, top_level }
            })
            .collect()
    }

    /// Takes back contributions that could not be sent (Redis unreachable); they go with the
    /// next sync. Bounded like any contribution: by `max_traces`.
    pub(crate) fn restore(&self, deltas: Vec<WorkflowDelta>) {
        for d in deltas {
            let Ok(trace) = hex::decode(&d.trace) else { continue };
            let fields: Vec<(String, String)> = d.counts.iter().map(|(k, v)| ((*k).to_owned(), v.clone())).collect();
            self.contribute(&trace, &totals(&fields));
            if let Some((root, resource)) = d.root.as_deref().and_then(root_from) {
                self.root(&trace, root, || resource);
            }
        }
    }

    /// Closes workflows claimed from Redis: the cost histogram, the dashboard's table and the
    /// summary record, as for a workflow closed here.
    pub(crate) fn close_claimed(&self, claimed: Vec<Claimed>) {
        let now = std::time::Instant::now();
        let closed = claimed
            .into_iter()
            .filter_map(|(trace, fields)| {
                let trace: [u8; 16] = hex::decode(&trace).ok()?.try_into().ok()?;
                let root = fields.iter().find(|(k, _)| k == "root").and_then(|(_, v)| root_from(v));
                if root.is_none() {
                    self.metrics.evicted.inc(&["no_root"], 1.0);
                }
                let totals = totals(&fields);
                Some((trace, Pending { root, totals, first_seen: now, last_update: now }))
            })
            .collect();
        self.close(closed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::derived_metrics::{DerivedRegistry, SeriesLimits};
    use crate::processors::agent_metrics::config::WorkflowConfig;

    fn rollup(max_traces: usize) -> (Rollup, DerivedRegistry) {
        let r = DerivedRegistry::default();
        let l = SeriesLimits { max_series: 100, ttl: std::time::Duration::from_secs(3600) };
        let metrics = super::super::RollupMetrics {
            workflow_cost: r.histogram("cost", "h", &["workflow_type"], &[1.0], l),
            evicted: r.counter("evicted", "h", &["reason"], l),
            pending: r.gauge("pending", "h", &[], l),
            summaries: r.counter("summaries", "h", &["outcome"], l),
        };
        let config = WorkflowConfig { max_traces, ..Default::default() };
        let recent = std::sync::Arc::new(crate::dashboard::RecentWorkflows::new(10));
        (Rollup::new(config, metrics, None, crate::limits::StringCap::new(256), recent), r)
    }

    #[test]
    fn with_shared_state_a_full_table_hands_traces_to_redis_instead_of_closing_them() {
        let (r, registry) = rollup(2);
        r.share();
        let one = {
            let mut t = Totals::default();
            t.add(super::super::Contribution::Tool { error: false });
            t
        };
        for trace in 1..=5u8 {
            r.contribute(&[trace; 16], &one);
        }
        let mut text = String::new();
        crate::telemetry::Exposition::encode(&registry, &mut text, crate::telemetry::ExpositionFormat::Text004);
        // Two in the table, two handed off, the fifth dropped: none closed with part of its spans.
        assert!(text.contains("evicted_total{reason=\"dropped\"} 1"), "{text}");
        assert!(!text.contains("reason=\"capacity\""), "{text}");
        let deltas = r.take_deltas();
        let mut traces: Vec<_> = deltas.iter().map(|d| d.trace[..2].to_owned()).collect();
        traces.sort();
        assert_eq!(traces, ["01", "02", "04", "05"]);
        assert!(r.take_deltas().is_empty());
    }

    #[test]
    fn totals_go_out_as_integers_and_come_back_equal() {
        let mut t = Totals::default();
        t.add(super::super::Contribution::Llm {
            error: true,
            tokens: Tokens { input: 120, output: 30, cache_read: 5, reasoning: 7, ..Default::default() },
            cost: Some(0.000_431_25),
        });
        t.add(super::super::Contribution::Tool { error: false });
        t.add(super::super::Contribution::Llm { error: false, tokens: Tokens::default(), cost: None });
        let sent = counts(&t);
        assert!(sent.iter().all(|(_, v)| v.parse::<i64>().is_ok()), "{sent:?}");
        let back = totals(&sent.iter().map(|(k, v)| ((*k).to_owned(), v.clone())).collect::<Vec<_>>());
        assert!((back.cost - t.cost).abs() < 1e-12);
        assert_eq!(
            (back.tokens.input, back.tokens.reasoning, back.llm_calls, back.llm_errors, back.unpriced_llm_calls),
            (120, 7, 2, 1, 1)
        );
        assert_eq!((back.tool_calls, back.tool_errors), (1, 0));
    }
}
