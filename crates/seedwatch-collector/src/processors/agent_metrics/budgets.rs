//! Setting up the cost budgets this processor charges: the store, the series, the flusher.

use std::sync::Arc;

use super::Namespaced;
use crate::budgets::{BudgetMetrics, Budgets, BudgetsConfig, RedbStore, SpendStore};
use crate::clock::unix_now;
use crate::derived_metrics::SeriesLimits;
use crate::processors::BuildContext;
use crate::shared::RedisSpendStore;

/// Opens the budgets' store and starts writing to it every flush interval; `None` without
/// budgets, or (with the reason in `ctx.errors`) when the store cannot be opened.
pub(super) fn build(config: &BudgetsConfig, ns: &Namespaced<'_>, ctx: &mut BuildContext) -> Option<Arc<Budgets>> {
    if config.limits.is_empty() {
        return None;
    }
    let opened: Result<Box<dyn SpendStore>, _> = match &ctx.shared {
        None => RedbStore::open(&config.store.path).map(|s| Box::new(s) as Box<dyn SpendStore>),
        // With Redis the local file is only the buffer for outages.
        Some(state) => RedisSpendStore::open(
            state.link().clone(),
            &config.store.path.with_extension("redis-buffer.redb"),
            (config.store.dedupe_window + config.store.max_clock_skew).as_secs() as i64,
            &ctx.derived,
        )
        .map(|s| Box::new(s) as Box<dyn SpendStore>),
    };
    let store = match opened {
        Ok(store) => store,
        Err(err) => {
            ctx.errors.push(format!("{err} (config key `processors.agent_metrics.budgets.store.path`: point it at a file in a writable directory)"));
            return None;
        }
    };
    let meta = SeriesLimits { max_series: 16, ttl: std::time::Duration::from_secs(86_400 * 365) };
    let metrics = BudgetMetrics {
        spent: ns.gauge("budget_spent_usd", "LLM cost charged to each budget this period, USD", &["budget"]),
        limit: ns.gauge("budget_limit_usd", "Each budget's limit per period, USD", &["budget"]),
        ratio: ns.gauge("budget_ratio", "Spent / limit of each budget this period", &["budget"]),
        forecast: ns.gauge(
            "budget_forecast_exhaustion_timestamp_seconds",
            "When each budget runs out at this period's average rate (unix seconds)",
            &["budget"],
        ),
        spans: ctx.derived.counter(
            "seedwatch_budget_spans",
            "LLM spans seen by the budgets: charged, duplicate (already charged), too_old or future (end time outside the replay-protection window: not charged), lookup_failed (store unreadable: not charged)",
            &["outcome"],
            meta,
        ),
        store_errors: ctx.derived.counter(
            "seedwatch_budget_store_errors",
            "Failed writes of budget spend (kept and retried)",
            &[],
            meta,
        ),
        dedupe_window: ctx.derived.gauge(
            "seedwatch_budget_dedupe_window_seconds",
            "How far back, by span end time, LLM spans are charged at most once (dedupe_window, less once dedupe_max_disk made the store forget early)",
            &[],
            meta,
        ),
        dedupe_memory: ctx.derived.gauge(
            "seedwatch_budget_dedupe_memory_marks",
            "Marks of charged spans held in memory (older ones are looked up on disk)",
            &[],
            meta,
        ),
    };
    let budgets = match Budgets::open(config.clone(), store, metrics, ctx.alerts.clone(), unix_now()) {
        Ok(b) => Arc::new(b),
        Err(err) => {
            ctx.errors.push(format!("{err} (config key `processors.agent_metrics.budgets.store.path`: point it at a file in a writable directory)"));
            return None;
        }
    };
    if let Some(state) = &ctx.shared {
        budgets.share_alerts(state.lease().clone());
    }
    if let Ok(runtime) = tokio::runtime::Handle::try_current() {
        let flusher = budgets.clone();
        runtime.spawn(async move {
            let mut ticks = tokio::time::interval(flusher.flush_interval());
            ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                ticks.tick().await;
                // A flush writes to disk (and syncs): not on the async workers.
                let budgets = flusher.clone();
                let _ = tokio::task::spawn_blocking(move || budgets.flush(unix_now())).await;
            }
        });
    }
    ctx.budgets = Some(budgets.clone());
    Some(budgets)
}
