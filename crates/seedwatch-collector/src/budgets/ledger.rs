//! The budgets' running spend: charged from LLM calls as they are derived, written to the
//! store every flush interval, evaluated every tick against thresholds and the burn-rate
//! forecast, which raise and resolve alerts.

use std::sync::{Arc, Mutex, MutexGuard};

use hashbrown::HashMap;
use jiff::tz::TimeZone;
use serde::{Deserialize, Serialize};

use super::config::{BudgetConfig, BudgetsConfig, Scope};
use super::dedupe::{Check, Dedupe, Verdict};
use super::period::Window;
use super::store::{
    BUCKET_SECS, Mark, SharedCharge, SharedOutcome, SpanKey, SpendKey, SpendStore, StoreError, bucket_of,
};
use crate::alerting::{Alert, AlertCenter, severity};
use crate::derived_metrics::{CounterFamily, GaugeFamily};

/// `alertname` of a budget crossing one of its thresholds.
pub const THRESHOLD_ALERT: &str = "LLMBudgetThreshold";
/// `alertname` of a budget forecast to be exhausted before its period ends.
pub const FORECAST_ALERT: &str = "LLMBudgetForecastExhaustion";

/// One LLM call's cost, with what budget scopes filter on.
#[derive(Debug, Clone, Copy)]
pub struct Charge<'a> {
    /// Trace and span id: a span is charged once.
    pub key: SpanKey,
    /// When the span ended (Unix nanoseconds): the window of replay protection is by end time.
    pub end_unix_nano: u64,
    /// USD.
    pub cost: f64,
    /// Provider.
    pub provider: &'a str,
    /// Model as priced.
    pub model: &'a str,
    /// The agent's `service.name`.
    pub service: &'a str,
    /// The workflow type the span names, if any.
    pub workflow_type: Option<&'a str>,
    /// The resource's string attributes (only filled when some budget filters on them).
    pub resource: &'a [(&'a str, &'a str)],
}

/// The series the budgets keep.
#[derive(Debug)]
pub struct BudgetMetrics {
    /// `{ns}_budget_spent_usd{budget}`.
    pub spent: Arc<GaugeFamily>,
    /// `{ns}_budget_limit_usd{budget}`.
    pub limit: Arc<GaugeFamily>,
    /// `{ns}_budget_ratio{budget}`.
    pub ratio: Arc<GaugeFamily>,
    /// `{ns}_budget_forecast_exhaustion_timestamp_seconds{budget}` (absent without a forecast).
    pub forecast: Arc<GaugeFamily>,
    /// `seedwatch_budget_spans_total{outcome}`: charged, duplicate, too_old, future,
    /// lookup_failed.
    pub spans: Arc<CounterFamily>,
    /// `seedwatch_budget_store_errors_total`.
    pub store_errors: Arc<CounterFamily>,
    /// `seedwatch_budget_dedupe_window_seconds`: how far back (by end time) spans are charged
    /// at most once now.
    pub dedupe_window: Arc<GaugeFamily>,
    /// `seedwatch_budget_dedupe_memory_marks`: marks of charged spans held in memory.
    pub dedupe_memory: Arc<GaugeFamily>,
}

/// One budget as `GET /api/v1/budgets` shows it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct BudgetView {
    /// Name (the `budget` label).
    pub name: String,
    /// `global` or the filters.
    pub scope: String,
    /// `day`, `week`, `month` or a duration.
    pub period: String,
    /// Unix seconds.
    pub period_start: i64,
    /// Unix seconds.
    pub period_end: i64,
    /// USD per period.
    pub limit_usd: f64,
    /// USD spent this period.
    pub spent_usd: f64,
    /// spent / limit.
    pub ratio: f64,
    /// Fractions of the limit that alert.
    pub thresholds: Vec<f64>,
    /// When the limit is reached at the period's average rate so far (Unix seconds).
    pub forecast_exhaustion: Option<f64>,
    /// Alerts firing for this budget.
    pub alerts: Vec<String>,
}

#[derive(Debug)]
struct Budget {
    name: String,
    cfg: BudgetConfig,
    scope: String,
    window: Window,
    spent: f64,
    /// Alerts firing, by fingerprint-less name: threshold labels and the forecast.
    firing: Vec<String>,
}

/// A span charged here, for the shared store: its mark, its cost, and the (index into
/// `budgets`, period start) it was charged to.
type Outgoing = (Mark, f64, Vec<(usize, i64)>);

#[derive(Debug)]
struct State {
    budgets: Vec<Budget>,
    dedupe: Dedupe,
    /// Spend not yet written, by (index into `budgets`, period start).
    pending: HashMap<(usize, i64), f64>,
    /// The bucket before which marks were last forgotten on disk.
    forgotten_before: i64,
    /// Shared store: the spans charged since the last flush, with their (budget, period).
    outgoing: Vec<Outgoing>,
    /// Whether this replica's alert center has the budgets' firing alerts (with a lease:
    /// only while it holds it).
    announced: bool,
}

/// The budgets with their spend.
#[derive(Debug)]
pub struct Budgets {
    config: BudgetsConfig,
    tz: TimeZone,
    store: Box<dyn SpendStore>,
    state: Mutex<State>,
    flushing: Mutex<()>,
    metrics: BudgetMetrics,
    alerts: Option<Arc<AlertCenter>>,
    needs_resource: bool,
    /// With shared state: alerts go out only from the replica holding the lease.
    lease: std::sync::OnceLock<Arc<dyn crate::shared::Leadership>>,
}

fn matches(scope: &Scope, c: &Charge<'_>) -> bool {
    let eq = |want: &Option<String>, have: &str| want.as_deref().is_none_or(|w| w == have);
    eq(&scope.provider, c.provider)
        && eq(&scope.model, c.model)
        && eq(&scope.service, c.service)
        && scope.workflow_type.as_deref().is_none_or(|w| c.workflow_type == Some(w))
        && scope.resource.iter().all(|(k, v)| c.resource.iter().any(|(rk, rv)| rk == k && rv == v))
}

fn percent(t: f64) -> String {
    format!("{}%", (t * 100.0).round())
}

impl Budgets {
    /// Loads the stored spend of the current periods (at `now`, Unix seconds).
    pub fn open(
        config: BudgetsConfig,
        store: Box<dyn SpendStore>,
        metrics: BudgetMetrics,
        alerts: Option<Arc<AlertCenter>>,
        now: f64,
    ) -> Result<Budgets, StoreError> {
        let tz = TimeZone::get(&config.timezone).unwrap_or(TimeZone::UTC);
        let snapshot = store.load(config.store.max_memory_marks() / 2)?;
        let budgets = config
            .limits
            .iter()
            .map(|(name, cfg)| {
                let window = cfg.period.window(now as i64, &tz);
                let spent = snapshot.spend.get(&(name.clone(), window.start)).copied().unwrap_or(0.0);
                metrics.limit.set(&[name], cfg.limit_usd);
                Budget {
                    name: name.clone(),
                    cfg: cfg.clone(),
                    scope: cfg.scope.describe(),
                    window,
                    spent,
                    firing: Vec::new(),
                }
            })
            .collect();
        let dedupe = Dedupe::new(
            &snapshot,
            config.store.dedupe_window.as_secs() as i64,
            config.store.max_clock_skew.as_secs() as i64,
            config.store.max_memory_marks(),
        );
        let needs_resource = config.limits.values().any(|b| !b.scope.resource.is_empty());
        let state = State {
            budgets,
            dedupe,
            pending: HashMap::new(),
            forgotten_before: i64::MIN,
            outgoing: Vec::new(),
            announced: false,
        };
        let budgets = Budgets {
            config,
            tz,
            store,
            state: Mutex::new(state),
            flushing: Mutex::new(()),
            metrics,
            alerts,
            needs_resource,
            lease: std::sync::OnceLock::new(),
        };
        budgets.publish(&budgets.lock(), now);
        Ok(budgets)
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Shares the budgets' alerts with other replicas: only the holder of `lease` sends them.
    pub fn share_alerts(&self, lease: Arc<dyn crate::shared::Leadership>) {
        let _ = self.lease.set(lease);
    }

    /// Whether charges need the resource's attributes.
    pub fn needs_resource(&self) -> bool {
        self.needs_resource
    }

    /// How often spend is written.
    pub fn flush_interval(&self) -> std::time::Duration {
        self.config.store.flush_interval
    }

    /// Charges LLM calls at `now` (Unix seconds). A span charged before is not charged again;
    /// one outside the replay-protection window is not charged at all (see `dedupe`).
    pub fn charge_all(&self, charges: &[Charge<'_>], now: f64) {
        if charges.is_empty() {
            return;
        }
        let mut outcomes = [0u64; Verdict::ALL.len()];
        let mut lookup_failed = 0u64;
        let mut count = |v: Verdict| outcomes[v as usize] += 1;
        let mut state = self.lock();
        let mut fresh: Vec<(usize, Mark)> = Vec::new();
        let mut ask: Vec<(usize, Mark)> = Vec::new();
        for (i, c) in charges.iter().enumerate() {
            match state.dedupe.check(&c.key, c.end_unix_nano, now as i64) {
                Check::Decided(Verdict::Fresh, Some(mark)) if state.dedupe.record(mark) => fresh.push((i, mark)),
                Check::Decided(Verdict::Fresh, _) => count(Verdict::Duplicate),
                Check::Decided(verdict, _) => count(verdict),
                Check::AskStore(mark) => ask.push((i, mark)),
            }
        }
        if !ask.is_empty() {
            let marks: Vec<Mark> = ask.iter().map(|(_, m)| *m).collect();
            match self.store.contains(&marks) {
                Ok(stored) => {
                    for ((i, mark), stored) in ask.into_iter().zip(stored) {
                        if !stored && state.dedupe.record(mark) {
                            fresh.push((i, mark));
                        } else {
                            count(Verdict::Duplicate);
                        }
                    }
                }
                Err(err) => {
                    // Charging without knowing could charge twice; these are counted instead.
                    tracing::error!(error = %err, spans = ask.len(), "cannot look up charged spans; not charging them");
                    lookup_failed = ask.len() as u64;
                }
            }
        }
        let shared = self.store.is_shared();
        let State { budgets, pending, outgoing, .. } = &mut *state;
        for (c, mark) in fresh.iter().map(|&(i, mark)| (&charges[i], mark)) {
            if !(c.cost.is_finite() && c.cost > 0.0) {
                continue;
            }
            let mut targets = Vec::new();
            for (i, b) in budgets.iter_mut().enumerate().filter(|(_, b)| matches(&b.cfg.scope, c)) {
                self.roll(b, now);
                b.spent += c.cost;
                *pending.entry((i, b.window.start)).or_insert(0.0) += c.cost;
                targets.push((i, b.window.start));
            }
            if shared && !targets.is_empty() {
                outgoing.push((mark, c.cost, targets));
            }
        }
        outcomes[Verdict::Fresh as usize] += fresh.len() as u64;
        self.publish(&state, now);
        drop(state);
        for (verdict, n) in Verdict::ALL.into_iter().zip(outcomes) {
            self.metrics.spans.inc(&[verdict.as_str()], n as f64);
        }
        self.metrics.spans.inc(&["lookup_failed"], lookup_failed as f64);
    }

    /// Starts the next period when the current one has ended.
    fn roll(&self, b: &mut Budget, now: f64) {
        if now as i64 >= b.window.end {
            b.window = b.cfg.period.window(now as i64, &self.tz);
            b.spent = 0.0;
        }
    }

    fn publish(&self, state: &State, now: f64) {
        for b in &state.budgets {
            self.metrics.spent.set(&[&b.name], b.spent);
            self.metrics.ratio.set(&[&b.name], b.spent / b.cfg.limit_usd);
        }
        self.metrics.dedupe_window.set(&[], state.dedupe.effective_window(now as i64) as f64);
        self.metrics.dedupe_memory.set(&[], state.dedupe.entries() as f64);
    }

    /// Writes what was charged since the last flush, with the marks of the spans charged, and
    /// forgets marks that left the window; on failure it is kept for the next one. Blocks on
    /// disk: call it off the async workers.
    pub fn flush(&self, now: f64) {
        let _one_at_a_time = self.flushing.lock().unwrap_or_else(|p| p.into_inner());
        if self.store.is_shared() {
            return self.flush_shared(now);
        }
        let (pending, named, marks, forget_before) = {
            let mut state = self.lock();
            let forget_before = bucket_of(state.dedupe.oldest_charged(now as i64));
            // Idle: forget expired marks about once a minute, not at every flush.
            let expiry_due = forget_before >= state.forgotten_before.saturating_add(6 * BUCKET_SECS);
            let marks = state.dedupe.pending();
            if state.pending.is_empty() && marks.is_empty() && !expiry_due {
                return;
            }
            let pending = std::mem::take(&mut state.pending);
            let named: Vec<_> =
                pending.iter().map(|((i, start), v)| ((state.budgets[*i].name.clone(), *start), *v)).collect();
            (pending, named, marks, forget_before)
        };
        match self.store.commit(&named, &marks, forget_before, self.config.store.max_disk_marks()) {
            Ok(cutoff) => {
                let mut state = self.lock();
                state.forgotten_before = forget_before;
                state.dedupe.committed(&marks, cutoff, now as i64);
                self.publish(&state, now);
            }
            Err(err) => {
                tracing::error!(error = %err, "budget spend not written; kept for the next flush");
                self.metrics.store_errors.inc(&[], 1.0);
                let mut state = self.lock();
                for (k, v) in pending {
                    *state.pending.entry(k).or_insert(0.0) += v;
                }
                // The marks stay pending in `dedupe` and go with the next commit.
            }
        }
    }

    /// The shared store's flush: the spans charged since the last one go to it (each charged
    /// once there, whichever replicas received it), and every budget's spend is read back, so
    /// each replica shows what all of them charged.
    fn flush_shared(&self, now: f64) {
        let (outgoing, marks) = {
            let mut state = self.lock();
            state.budgets.iter_mut().for_each(|b| self.roll(b, now));
            state.pending.clear();
            (std::mem::take(&mut state.outgoing), state.dedupe.pending())
        };
        let mut keys: Vec<SpendKey> = Vec::new();
        let mut index: HashMap<(usize, i64), usize> = HashMap::new();
        let mut key_of = |keys: &mut Vec<SpendKey>, (i, start): (usize, i64), budgets: &[Budget]| {
            *index.entry((i, start)).or_insert_with(|| {
                let b = &budgets[i];
                let length = (b.window.end - b.window.start).max(1);
                keys.push(SpendKey { budget: b.name.clone(), start, keep_secs: length.saturating_mul(2) + 86_400 });
                keys.len() - 1
            })
        };
        let charges: Vec<SharedCharge> = {
            let state = self.lock();
            for i in 0..state.budgets.len() {
                key_of(&mut keys, (i, state.budgets[i].window.start), &state.budgets);
            }
            outgoing
                .iter()
                .map(|(mark, cost, targets)| SharedCharge {
                    mark: *mark,
                    cost: *cost,
                    targets: targets.iter().map(|t| key_of(&mut keys, *t, &state.budgets)).collect(),
                })
                .collect()
        };
        match self.store.charge_shared(&charges, &keys) {
            Ok(outcome) => {
                let mut state = self.lock();
                state.dedupe.committed(&marks, i64::MIN, now as i64);
                if let SharedOutcome::Applied(totals) = outcome {
                    let State { budgets, pending, .. } = &mut *state;
                    for (i, b) in budgets.iter_mut().enumerate() {
                        let Some(&k) = index.get(&(i, b.window.start)) else { continue };
                        // Charged here since the batch was taken: not in the totals yet.
                        let since = pending.get(&(i, b.window.start)).copied().unwrap_or(0.0);
                        b.spent = totals.get(k).copied().unwrap_or(b.spent) + since;
                    }
                }
                self.publish(&state, now);
            }
            Err(err) => {
                tracing::error!(error = %err, "budget charges not written to the local buffer; kept for the next flush");
                self.metrics.store_errors.inc(&[], 1.0);
                let mut state = self.lock();
                let mut back = outgoing;
                back.append(&mut state.outgoing);
                state.outgoing = back;
            }
        }
    }

    /// Rolls periods, updates the forecast and raises or resolves alerts, at `now`.
    pub fn tick(&self, now: f64) {
        let mut fire = Vec::new();
        let mut resolve = Vec::new();
        let mut forget = Vec::new();
        let lead = self.lease.get().is_none_or(|l| l.held());
        {
            let mut state = self.lock();
            let announce = lead && !state.announced;
            let withdraw = !lead && state.announced;
            state.announced = lead;
            for b in state.budgets.iter_mut() {
                let rolled = now as i64 >= b.window.end;
                self.roll(b, now);
                let ratio = b.spent / b.cfg.limit_usd;
                let forecast = self.forecast(b, now);
                match forecast {
                    Some(at) => self.metrics.forecast.set(&[&b.name], at),
                    None => self.metrics.forecast.remove(&[&b.name]),
                }
                let mut want: Vec<(String, Alert)> = b
                    .cfg
                    .thresholds
                    .iter()
                    .filter(|t| ratio >= **t)
                    .map(|t| (percent(*t), self.threshold_alert(b, *t, ratio)))
                    .collect();
                let early = forecast.is_some_and(|at| at < b.window.end as f64)
                    && b.spent < b.cfg.limit_usd
                    && b.window.elapsed(now) >= self.config.forecast_after.as_secs_f64();
                if let (true, Some(at)) = (early, forecast) {
                    want.push(("forecast".into(), self.forecast_alert(b, at)));
                }
                let why = if rolled { "the budget period rolled over" } else { "spend is below the threshold" };
                for gone in b.firing.iter().filter(|f| !want.iter().any(|(w, _)| w == *f)) {
                    resolve.push((b.name.clone(), gone.clone(), why));
                }
                for (id, alert) in &want {
                    if announce || !b.firing.contains(id) {
                        fire.push(alert.clone());
                    }
                }
                if withdraw {
                    forget.extend(b.firing.iter().map(|id| (b.name.clone(), id.clone())));
                }
                b.firing = want.into_iter().map(|(id, _)| id).collect();
            }
            self.publish(&state, now);
        }
        if let Some(alerts) = &self.alerts {
            // Another replica took the lease: it sends these now.
            for (budget, id) in forget {
                alerts.forget(&alert_matchers(&budget, &id));
            }
            if !lead {
                return;
            }
            for (budget, id, why) in resolve {
                alerts.resolve(&alert_matchers(&budget, &id), why);
            }
            for alert in fire {
                alerts.fire(alert);
            }
        }
    }

    /// When the limit is reached at the period's average rate so far.
    fn forecast(&self, b: &Budget, now: f64) -> Option<f64> {
        let elapsed = b.window.elapsed(now);
        if b.spent <= 0.0 || elapsed <= 0.0 {
            return None;
        }
        let rate = b.spent / elapsed;
        Some(now + ((b.cfg.limit_usd - b.spent) / rate).max(0.0))
    }

    fn describe_period(&self, b: &Budget) -> String {
        let start = jiff::Timestamp::from_second(b.window.start).map(|t| t.to_zoned(self.tz.clone()).to_string());
        format!("the {} period that began {}", b.cfg.period, start.unwrap_or_default())
    }

    fn threshold_alert(&self, b: &Budget, t: f64, ratio: f64) -> Alert {
        let sev = if t >= 1.0 { severity::CRITICAL } else { severity::WARNING };
        let pct = percent(t);
        Alert::new(
            THRESHOLD_ALERT,
            sev,
            &b.scope,
            &[("budget", &b.name), ("threshold", &pct)],
            format!("LLM budget {} reached {pct} of ${:.2}", b.name, b.cfg.limit_usd),
            format!(
                "${:.4} spent of ${:.2} ({:.1}%) in {} (scope {})",
                b.spent,
                b.cfg.limit_usd,
                ratio * 100.0,
                self.describe_period(b),
                b.scope
            ),
        )
    }

    fn forecast_alert(&self, b: &Budget, at: f64) -> Alert {
        let when = jiff::Timestamp::from_second(at as i64).map(|t| t.to_zoned(self.tz.clone()).to_string());
        Alert::new(
            FORECAST_ALERT,
            severity::WARNING,
            &b.scope,
            &[("budget", &b.name)],
            format!("LLM budget {} will run out before its period ends", b.name),
            format!(
                "at this period's average rate, ${:.2} is reached at {} (period ends {}); ${:.4} spent so far",
                b.cfg.limit_usd,
                when.unwrap_or_default(),
                jiff::Timestamp::from_second(b.window.end)
                    .map(|t| t.to_zoned(self.tz.clone()).to_string())
                    .unwrap_or_default(),
                b.spent
            ),
        )
    }

    /// Every budget, by name.
    pub fn views(&self, now: f64) -> Vec<BudgetView> {
        let state = self.lock();
        state
            .budgets
            .iter()
            .map(|b| {
                // A period that ended since the last tick: the next one has spent nothing yet.
                let ended = now as i64 >= b.window.end;
                let spent = if ended { 0.0 } else { b.spent };
                BudgetView {
                    name: b.name.clone(),
                    scope: b.scope.clone(),
                    period: b.cfg.period.to_string(),
                    period_start: b.window.start,
                    period_end: b.window.end,
                    limit_usd: b.cfg.limit_usd,
                    spent_usd: spent,
                    ratio: spent / b.cfg.limit_usd,
                    thresholds: b.cfg.thresholds.clone(),
                    forecast_exhaustion: self.forecast(b, now),
                    alerts: b.firing.clone(),
                }
            })
            .collect()
    }
}

/// The labels that pick out one of a budget's alerts (`id`: a threshold or `forecast`).
fn alert_matchers<'a>(budget: &'a str, id: &'a str) -> Vec<(&'a str, &'a str)> {
    if id == "forecast" {
        vec![("alertname", FORECAST_ALERT), ("budget", budget)]
    } else {
        vec![("alertname", THRESHOLD_ALERT), ("budget", budget), ("threshold", id)]
    }
}
