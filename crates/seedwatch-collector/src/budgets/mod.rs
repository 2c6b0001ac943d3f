//! LLM cost budgets: any number, each with a scope (global, or filters on provider, model,
//! service, workflow type and resource attributes such as a tenant), a period (day, week,
//! month in a time zone, or a fixed duration), a limit in USD and alert thresholds. Spend comes
//! from the derived LLM cost, persists in an embedded store (redb) every flush interval, and a
//! span is charged at most once even when a client sends it again (see [`dedupe`] for the
//! promise and its window). Alerts: `LLMBudgetThreshold` per
//! threshold crossed (warning below 100%, critical from 100%) and
//! `LLMBudgetForecastExhaustion` when the period's average rate runs out before the period
//! ends; both resolve when the condition clears or the period rolls over.

mod config;
mod dedupe;
mod ledger;
mod period;
mod store;

pub use config::{BudgetConfig, BudgetsConfig, Scope, StoreConfig};
pub use dedupe::Verdict;
pub use ledger::{BudgetMetrics, BudgetView, Budgets, Charge, FORECAST_ALERT, THRESHOLD_ALERT};
pub use period::{Period, Window};
pub(crate) use store::open_database;
pub use store::{
    BUCKET_SECS, Mark, MemoryStore, RedbStore, SharedCharge, SharedOutcome, Snapshot, SpanKey, SpendKey, SpendStore,
    StoreError, bucket_of,
};

#[cfg(test)]
mod tests;
