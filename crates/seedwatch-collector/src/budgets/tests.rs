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
        dedupe_window: r.gauge("dedupe_window", "h", &[], l),
        dedupe_memory: r.gauge("dedupe_memory", "h", &[], l),
    }
}

fn config(yaml: &str) -> BudgetsConfig {
    serde_norway::from_str(yaml).expect("budgets yaml")
}

fn charge(n: u8, cost: f64, provider: &'static str) -> Charge<'static> {
    charge_ending(n, cost, provider, NOON)
}

fn charge_ending(n: u8, cost: f64, provider: &'static str, end: f64) -> Charge<'static> {
    Charge {
        key: [n; 24],
        end_unix_nano: (end * 1e9) as u64,
        cost,
        provider,
        model: "gpt-4o",
        service: "agent",
        workflow_type: None,
        resource: &[],
    }
}

/// 2026-11-25T12:00:00Z.
const NOON: f64 = 1_795_608_000.0;

#[test]
fn spend_is_charged_once_per_span_within_its_scope_and_survives_reopening() {
    let yaml = "limits:\n  all: {limit_usd: 10}\n  openai: {limit_usd: 10, scope: {provider: openai}}\n  acme: {limit_usd: 10, scope: {resource: {tenant: acme}}}\n";
    let store = Arc::new(MemoryStore::default());
    let registry = DerivedRegistry::default();
    let b = Budgets::open(config(yaml), Box::new(Shared(store.clone())), metrics(&registry), None, NOON).expect("open");
    assert!(b.needs_resource());
    let acme = [("tenant", "acme")];
    let with_tenant = Charge { resource: &acme, ..charge(3, 4.0, "anthropic") };
    b.charge_all(&[charge(1, 1.0, "openai"), charge(2, 2.0, "anthropic"), charge(1, 1.0, "openai"), with_tenant], NOON);
    let spent = |b: &Budgets| b.views(NOON).into_iter().map(|v| (v.name, v.spent_usd)).collect::<Vec<_>>();
    assert_eq!(spent(&b), [("acme".into(), 4.0), ("all".into(), 7.0), ("openai".into(), 1.0)]);
    b.flush(NOON);
    // A replay after a restart is not charged again either.
    let b = Budgets::open(config(yaml), Box::new(Shared(store)), metrics(&registry), None, NOON + 1.0).expect("reopen");
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

/// Lets a test keep a store across `Budgets` instances.
#[derive(Debug)]
struct Shared<T>(Arc<T>);

impl<T: SpendStore> SpendStore for Shared<T> {
    fn load(&self, max_marks: usize) -> Result<Snapshot, StoreError> {
        self.0.load(max_marks)
    }
    fn contains(&self, marks: &[Mark]) -> Result<Vec<bool>, StoreError> {
        self.0.contains(marks)
    }
    fn commit(&self, d: &[((String, i64), f64)], m: &[Mark], before: i64, max: u64) -> Result<i64, StoreError> {
        self.0.commit(d, m, before, max)
    }
}

/// Fails the first `n` commits, and every lookup while `fail_lookups` is set.
#[derive(Debug)]
struct Flaky(Arc<MemoryStore>, std::sync::Mutex<u32>, std::sync::atomic::AtomicBool);

impl Flaky {
    fn new(inner: Arc<MemoryStore>, failed_commits: u32) -> Self {
        Flaky(inner, std::sync::Mutex::new(failed_commits), std::sync::atomic::AtomicBool::new(false))
    }
}

impl SpendStore for Flaky {
    fn load(&self, max_marks: usize) -> Result<Snapshot, StoreError> {
        self.0.load(max_marks)
    }
    fn contains(&self, marks: &[Mark]) -> Result<Vec<bool>, StoreError> {
        if self.2.load(std::sync::atomic::Ordering::Relaxed) {
            return Err(StoreError { path: "flaky".into(), message: "read error".into() });
        }
        self.0.contains(marks)
    }
    fn commit(&self, d: &[((String, i64), f64)], m: &[Mark], before: i64, max: u64) -> Result<i64, StoreError> {
        let mut left = self.1.lock().unwrap_or_else(|p| p.into_inner());
        if *left > 0 {
            *left -= 1;
            return Err(StoreError { path: "flaky".into(), message: "disk full".into() });
        }
        self.0.commit(d, m, before, max)
    }
}

#[test]
fn a_failed_write_is_kept_and_written_with_the_next_flush() {
    let inner = Arc::new(MemoryStore::default());
    let registry = DerivedRegistry::default();
    let store = Flaky::new(inner.clone(), 1);
    let b = Budgets::open(config("limits:\n  d: {limit_usd: 10}\n"), Box::new(store), metrics(&registry), None, NOON)
        .expect("open");
    b.charge_all(&[charge(1, 1.0, "openai")], NOON);
    b.flush(NOON);
    assert!(inner.load(100).expect("load").spend.is_empty(), "the first write failed");
    b.charge_all(&[charge(2, 2.0, "openai")], NOON + 1.0);
    b.flush(NOON + 1.0);
    let snap = inner.load(100).expect("load");
    assert_eq!(snap.spend.values().copied().collect::<Vec<_>>(), [3.0]);
    assert_eq!(snap.recent.iter().map(|(_, f)| f.len()).sum::<usize>(), 2, "both spans' marks were written");
}

fn exposition(registry: &DerivedRegistry) -> String {
    use crate::telemetry::Exposition;
    let mut out = String::new();
    registry.encode(&mut out, crate::telemetry::ExpositionFormat::Text004);
    out
}

fn outcomes(registry: &DerivedRegistry) -> String {
    exposition(registry).lines().filter(|l| l.starts_with("spans_total{")).collect::<Vec<_>>().join(" ")
}

#[test]
fn spans_ending_outside_the_window_are_never_charged() {
    let registry = DerivedRegistry::default();
    let yaml = "limits:\n  d: {limit_usd: 1000}\nstore: {dedupe_window: 1h, max_clock_skew: 5m}\n";
    let b =
        Budgets::open(config(yaml), Box::new(MemoryStore::default()), metrics(&registry), None, NOON).expect("open");
    b.charge_all(
        &[
            charge_ending(1, 1.0, "openai", NOON - 3601.0),
            charge_ending(2, 2.0, "openai", NOON + 301.0),
            charge_ending(3, 4.0, "openai", 0.0),
            charge_ending(4, 8.0, "openai", NOON - 3599.0),
            charge_ending(5, 16.0, "openai", NOON + 299.0),
        ],
        NOON,
    );
    assert_eq!(b.views(NOON)[0].spent_usd, 24.0);
    let text = outcomes(&registry);
    for want in ["{outcome=\"charged\"} 2", "{outcome=\"too_old\"} 2", "{outcome=\"future\"} 1"] {
        assert!(text.contains(want), "{want} in {text}");
    }
    // An hour later span 4 ended before the window: sending it again charges nothing.
    b.charge_all(&[charge_ending(4, 8.0, "openai", NOON - 3599.0)], NOON + 3600.0);
    assert!(outcomes(&registry).contains("{outcome=\"too_old\"} 3"));
}

#[test]
fn replays_beyond_memory_are_found_on_disk_even_after_a_restart() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("budgets.redb");
    let registry = DerivedRegistry::default();
    // 64 KiB of memory holds 4096 marks; 20,000 spans over 200 s leave most of them on disk only.
    let yaml = "limits:\n  d: {limit_usd: 1000000}\nstore: {dedupe_memory: 64KiB}\n";
    let open = |now: f64| {
        let store = RedbStore::open(&path).expect("open store");
        Budgets::open(config(yaml), Box::new(store), metrics(&registry), None, now).expect("open")
    };
    let key = |n: u32| {
        let mut k = [1u8; 24];
        k[..4].copy_from_slice(&n.to_le_bytes());
        k
    };
    let charge_n = |n: u32| Charge {
        key: key(n),
        end_unix_nano: ((NOON - 200.0) as u64 + u64::from(n) / 100) * 1_000_000_000,
        ..charge(0, 0.001, "openai")
    };
    let b = open(NOON);
    for chunk in (0..20_000u32).collect::<Vec<_>>().chunks(500) {
        let charges: Vec<Charge<'_>> = chunk.iter().map(|n| charge_n(*n)).collect();
        b.charge_all(&charges, NOON);
        b.flush(NOON);
    }
    let spent = b.views(NOON)[0].spent_usd;
    assert!((spent - 20.0).abs() < 1e-6, "{spent}");
    let held = exposition(&registry);
    let held: f64 =
        held.lines().find_map(|l| l.strip_prefix("dedupe_memory ")).and_then(|v| v.parse().ok()).expect("gauge");
    assert!(held <= 4096.0, "memory stayed within its budget: {held}");
    let replay: Vec<Charge<'_>> = (0..20_000u32).step_by(7).map(charge_n).collect();
    b.charge_all(&replay, NOON + 10.0);
    assert_eq!(b.views(NOON + 10.0)[0].spent_usd, spent, "no replay was charged");
    drop(b);
    let b = open(NOON + 20.0);
    let reopened = b.views(NOON + 20.0)[0].spent_usd;
    assert!((reopened - spent).abs() < 1e-6, "spend survived the restart: {reopened}");
    b.charge_all(&replay, NOON + 20.0);
    assert_eq!(b.views(NOON + 20.0)[0].spent_usd, reopened, "nor after a restart");
    assert!(outcomes(&registry).contains(&format!("{{outcome=\"duplicate\"}} {}", 2 * replay.len())));
}

#[test]
fn a_failed_lookup_charges_nothing_and_is_counted() {
    let inner = Arc::new(MemoryStore::default());
    let registry = DerivedRegistry::default();
    let store = Arc::new(Flaky::new(inner.clone(), 0));
    let yaml = "limits:\n  d: {limit_usd: 1000}\nstore: {dedupe_memory: 64KiB}\n";
    let b = Budgets::open(config(yaml), Box::new(Shared(store.clone())), metrics(&registry), None, NOON).expect("open");
    // Fill memory past its budget so the oldest bucket leaves it.
    for n in 0..5000u32 {
        let mut k = [2u8; 24];
        k[..4].copy_from_slice(&n.to_le_bytes());
        let end = if n == 0 { NOON - 500.0 } else { NOON };
        b.charge_all(&[Charge { key: k, ..charge_ending(0, 0.0, "openai", end) }], NOON);
    }
    b.flush(NOON);
    store.2.store(true, std::sync::atomic::Ordering::Relaxed);
    b.charge_all(&[charge_ending(9, 5.0, "openai", NOON - 505.0)], NOON);
    assert_eq!(b.views(NOON)[0].spent_usd, 0.0);
    assert!(outcomes(&registry).contains("{outcome=\"lookup_failed\"} 1"), "{}", outcomes(&registry));
}

/// A shared store in memory, as Redis behaves: a span's cost is added only if its mark is new.
#[derive(Debug, Default)]
struct FakeShared {
    /// Marks seen, and picodollars per (budget, period start).
    inner: std::sync::Mutex<(std::collections::HashSet<Mark>, SpendByKey)>,
}

type SpendByKey = std::collections::HashMap<(String, i64), i64>;

impl SpendStore for Arc<FakeShared> {
    fn load(&self, _: usize) -> Result<Snapshot, StoreError> {
        Ok(Snapshot { seed: 7, cutoff: i64::MIN, recent_from: i64::MIN, ..Default::default() })
    }
    fn contains(&self, marks: &[Mark]) -> Result<Vec<bool>, StoreError> {
        Ok(vec![false; marks.len()])
    }
    fn commit(&self, _: &[((String, i64), f64)], _: &[Mark], _: i64, _: u64) -> Result<i64, StoreError> {
        Ok(i64::MIN)
    }
    fn is_shared(&self) -> bool {
        true
    }
    fn charge_shared(&self, charges: &[SharedCharge], keys: &[SpendKey]) -> Result<SharedOutcome, StoreError> {
        let mut inner = self.inner.lock().expect("lock");
        for c in charges {
            if inner.0.insert(c.mark) {
                for &t in &c.targets {
                    let k = &keys[t];
                    *inner.1.entry((k.budget.clone(), k.start)).or_default() += (c.cost * 1e12).round() as i64;
                }
            }
        }
        let totals = keys.iter().map(|k| inner.1.get(&(k.budget.clone(), k.start)).copied().unwrap_or(0) as f64 / 1e12);
        Ok(SharedOutcome::Applied(totals.collect()))
    }
}

#[derive(Debug)]
struct Leader(std::sync::atomic::AtomicBool);

impl crate::shared::Leadership for Leader {
    fn held(&self) -> bool {
        self.0.load(std::sync::atomic::Ordering::Relaxed)
    }
}

#[test]
fn replicas_sharing_a_store_show_every_charge_once_and_only_the_lease_holder_alerts() {
    let store = Arc::new(FakeShared::default());
    let yaml = "forecast_after: 1h\nlimits:\n  all: {limit_usd: 1, period: 1h}\n";
    let replica = |lead: bool| {
        let registry = DerivedRegistry::default();
        let alerts = AlertCenter::start(AlertingConfig::default(), &registry).expect("no destinations");
        let b = Budgets::open(config(yaml), Box::new(store.clone()), metrics(&registry), Some(alerts.clone()), NOON)
            .expect("open");
        let lease = Arc::new(Leader(std::sync::atomic::AtomicBool::new(lead)));
        b.share_alerts(lease.clone());
        (b, alerts, lease)
    };
    let (a, a_alerts, a_lease) = replica(true);
    let (b, b_alerts, b_lease) = replica(false);
    // Span 2 reached both replicas (a retry the balancer sent elsewhere).
    a.charge_all(&[charge(1, 0.25, "openai"), charge(2, 0.125, "openai")], NOON + 10.0);
    b.charge_all(&[charge(2, 0.125, "openai"), charge(3, 0.5, "openai")], NOON + 10.0);
    for r in [&a, &b, &a] {
        r.flush(NOON + 11.0);
    }
    let spent = |r: &Budgets| r.views(NOON + 11.0)[0].spent_usd;
    assert_eq!((spent(&a), spent(&b)), (0.875, 0.875));
    // Charged here after the flush: shown here at once, everywhere after the next flush.
    b.charge_all(&[charge(4, 0.0625, "openai")], NOON + 12.0);
    assert_eq!((spent(&a), spent(&b)), (0.875, 0.9375));
    for r in [&a, &b] {
        r.flush(NOON + 12.0);
        r.tick(NOON + 12.0);
    }
    let names = |c: &AlertCenter| {
        let mut v: Vec<String> = c.active().into_iter().filter_map(|a| a.labels.get("threshold").cloned()).collect();
        v.sort();
        v
    };
    assert_eq!(names(&a_alerts), ["50%", "80%"]);
    assert!(names(&b_alerts).is_empty(), "only the lease holder sends budget alerts");
    assert_eq!(b.views(NOON + 12.0)[0].alerts.len(), 2, "every replica shows what fires");
    // The lease moves: the new holder sends what fires, the old one drops it unresolved.
    a_lease.0.store(false, std::sync::atomic::Ordering::Relaxed);
    b_lease.0.store(true, std::sync::atomic::Ordering::Relaxed);
    a.tick(NOON + 13.0);
    b.tick(NOON + 13.0);
    assert!(names(&a_alerts).is_empty());
    assert_eq!(names(&b_alerts), ["50%", "80%"]);
}
