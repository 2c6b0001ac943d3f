use std::sync::Arc;
use std::time::Duration;

use super::*;
use crate::alerting::{AlertCenter, AlertingConfig};
use crate::derived_metrics::{DerivedRegistry, SeriesLimits};

fn metrics(r: &DerivedRegistry) -> BudgetMetrics {
    let l = SeriesLimits { max_series: 100, ttl: Duration::from_secs(86_400) };
    BudgetMetrics {
        spent: r.gauge("spent", "h", &["budget"], l),
        limit: r.gauge("limit", "h", &["budget"], l),
        ratio: r.gauge("ratio", "h", &["budget"], l),
        forecast: r.gauge("forecast", "h", &["budget"], l),
        spans: r.counter("spans", "h", &["outcome"], l),
        store_errors: r.counter("errors", "h", &[], l),
    }
}

fn config(yaml: &str) -> BudgetsConfig {
    serde_norway::from_str(yaml).expect("budgets yaml")
}

fn charge(n: u8, cost: f64, provider: &'static str) -> Charge<'static> {
    Charge { key: [n; 24], cost, provider, model: "gpt-4o", service: "agent", workflow_type: None, resource: &[] }
}

/// 2026-11-25T12:00:00Z.
const NOON: f64 = 1_795_608_000.0;

#[test]
fn spend_is_charged_once_per_span_within_its_scope_and_survives_reopening() {
    let yaml = "limits:\n  all: {limit_usd: 10}\n  openai: {limit_usd: 10, scope: {provider: openai}}\n  acme: {limit_usd: 10, scope: {resource: {tenant: acme}}}\n";
    let store = Arc::new(MemoryStore::default());
    let registry = DerivedRegistry::default();
    let b = Budgets::open(config(yaml), Box::new(SharedStore(store.clone())), metrics(&registry), None, NOON)
        .expect("open");
    assert!(b.needs_resource());
    let acme = [("tenant", "acme")];
    let with_tenant = Charge { resource: &acme, ..charge(3, 4.0, "anthropic") };
    b.charge_all(&[charge(1, 1.0, "openai"), charge(2, 2.0, "anthropic"), charge(1, 1.0, "openai"), with_tenant], NOON);
    let spent = |b: &Budgets| b.views(NOON).into_iter().map(|v| (v.name, v.spent_usd)).collect::<Vec<_>>();
    assert_eq!(spent(&b), [("acme".into(), 4.0), ("all".into(), 7.0), ("openai".into(), 1.0)]);
    b.flush(NOON);
    // A replay after a restart is not charged again either.
    let b = Budgets::open(config(yaml), Box::new(SharedStore(store)), metrics(&registry), None, NOON + 1.0)
        .expect("reopen");
    b.charge_all(&[charge(2, 2.0, "anthropic")], NOON + 1.0);
    assert_eq!(spent(&b), [("acme".into(), 4.0), ("all".into(), 7.0), ("openai".into(), 1.0)]);
}

#[test]
fn thresholds_fire_once_and_resolve_when_the_period_rolls_over() {
    let registry = DerivedRegistry::default();
    let alerts = AlertCenter::start(AlertingConfig::default(), &registry).expect("no destinations");
    let yaml = "forecast_after: 0s\nlimits:\n  small: {limit_usd: 1, period: 1h}\n";
    let b =
        Budgets::open(config(yaml), Box::new(MemoryStore::default()), metrics(&registry), Some(alerts.clone()), NOON)
            .expect("open");
    b.charge_all(&[charge(1, 0.85, "openai")], NOON + 60.0);
    b.tick(NOON + 60.0);
    let firing = |a: &AlertCenter| {
        let mut v: Vec<_> = a
            .active()
            .into_iter()
            .map(|a| (a.labels["alertname"].clone(), a.labels.get("threshold").cloned()))
            .collect();
        v.sort();
        v
    };
    assert_eq!(
        firing(&alerts),
        [
            (FORECAST_ALERT.to_owned(), None),
            (THRESHOLD_ALERT.to_owned(), Some("50%".into())),
            (THRESHOLD_ALERT.to_owned(), Some("80%".into()))
        ]
    );
    let eighty =
        alerts.active().into_iter().find(|a| a.labels.get("threshold").is_some_and(|t| t == "80%")).expect("80%");
    assert_eq!((eighty.labels["severity"].as_str(), eighty.labels["scope"].as_str()), ("warning", "global"));
    assert!(eighty.annotations["description"].contains("$0.8500 spent of $1.00"), "{:?}", eighty.annotations);

    b.charge_all(&[charge(2, 0.20, "openai")], NOON + 120.0);
    b.tick(NOON + 120.0);
    let hundred =
        alerts.active().into_iter().find(|a| a.labels.get("threshold").is_some_and(|t| t == "100%")).expect("100%");
    assert_eq!(hundred.labels["severity"], "critical");
    assert!(firing(&alerts).iter().all(|(name, _)| name != FORECAST_ALERT), "exhausted: no forecast alert");
    let view = &b.views(NOON + 120.0)[0];
    assert!((view.ratio - 1.05).abs() < 1e-9 && view.alerts.len() == 3, "{view:?}");

    // The hour ends: spend starts again from zero, every alert is resolved.
    b.tick(NOON + 3600.0);
    assert!(alerts.active().is_empty(), "{:?}", alerts.active());
    assert_eq!(b.views(NOON + 3600.0)[0].spent_usd, 0.0);
}

#[test]
fn the_forecast_is_the_period_average_rate_run_to_the_limit() {
    let registry = DerivedRegistry::default();
    let b = Budgets::open(
        config("limits:\n  d: {limit_usd: 10}\n"),
        Box::new(MemoryStore::default()),
        metrics(&registry),
        None,
        NOON,
    )
    .expect("open");
    // Noon UTC: half the day gone, $2 spent, so $4/day: $10 is reached 2 days after midnight.
    b.charge_all(&[charge(1, 2.0, "openai")], NOON);
    let v = &b.views(NOON)[0];
    let midnight = NOON - 12.0 * 3600.0;
    assert!((v.forecast_exhaustion.expect("forecast") - (midnight + 2.5 * 86_400.0)).abs() < 1.0, "{v:?}");
}

/// Lets a test keep the store across `Budgets` instances.
#[derive(Debug)]
struct SharedStore(Arc<MemoryStore>);

impl SpendStore for SharedStore {
    fn load(&self, now: i64) -> Result<Snapshot, StoreError> {
        self.0.load(now)
    }
    fn commit(&self, d: &[((String, i64), f64)], c: &[(SpanKey, i64)], now: i64) -> Result<(), StoreError> {
        self.0.commit(d, c, now)
    }
}

/// Fails the first `n` commits.
#[derive(Debug)]
struct Flaky(Arc<MemoryStore>, std::sync::Mutex<u32>);

impl SpendStore for Flaky {
    fn load(&self, now: i64) -> Result<Snapshot, StoreError> {
        self.0.load(now)
    }
    fn commit(&self, d: &[((String, i64), f64)], c: &[(SpanKey, i64)], now: i64) -> Result<(), StoreError> {
        let mut left = self.1.lock().unwrap_or_else(|p| p.into_inner());
        if *left > 0 {
            *left -= 1;
            return Err(StoreError { path: "flaky".into(), message: "disk full".into() });
        }
        self.0.commit(d, c, now)
    }
}

#[test]
fn a_failed_write_is_kept_and_written_with_the_next_flush() {
    let inner = Arc::new(MemoryStore::default());
    let registry = DerivedRegistry::default();
    let store = Flaky(inner.clone(), std::sync::Mutex::new(1));
    let b = Budgets::open(config("limits:\n  d: {limit_usd: 10}\n"), Box::new(store), metrics(&registry), None, NOON)
        .expect("open");
    b.charge_all(&[charge(1, 1.0, "openai")], NOON);
    b.flush(NOON);
    assert!(inner.load(NOON as i64).expect("load").spend.is_empty(), "the first write failed");
    b.charge_all(&[charge(2, 2.0, "openai")], NOON + 1.0);
    b.flush(NOON + 1.0);
    let snap = inner.load(NOON as i64).expect("load");
    assert_eq!(snap.spend.values().copied().collect::<Vec<_>>(), [3.0]);
    assert_eq!(snap.charged.len(), 2);
}
