//! The set of active alerts, and their delivery: a new alert goes out at once; active alerts
//! are re-sent to Alertmanager every `resend_interval`; a resolved one goes out once with its
//! `endsAt`. Nothing here blocks: deliveries that find a destination's queue full are dropped
//! and counted (the alert stays active and goes out with the next re-send). Bounded: at most
//! `max_active` alerts (new ones beyond are dropped and counted), label values cut to
//! `limits.max_string_bytes` and annotations to four times that.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};
use std::time::{Instant, SystemTime};

use super::alert::Alert;
use super::config::AlertingConfig;
use super::records::alert_records;
use super::sinks::{self, Sink, SinkHandle};
use crate::derived_metrics::{CounterFamily, DerivedRegistry, GaugeFamily, SeriesLimits};
use crate::limits::{StringCap, StringKind};
use crate::processors::LogEmitter;

/// Annotations (summary, description with reasons) may be this many times the string cap.
const ANNOTATION_CAP_FACTOR: usize = 4;

/// Raises, re-sends and resolves alerts.
#[derive(Debug)]
pub struct AlertCenter {
    config: AlertingConfig,
    active: Mutex<BTreeMap<String, Alert>>,
    sinks: Vec<SinkHandle>,
    logs: OnceLock<LogEmitter>,
    last_resend: Mutex<Instant>,
    active_gauge: Arc<GaugeFamily>,
    notifications: Arc<CounterFamily>,
    dropped: Arc<CounterFamily>,
    last_full_warning: Mutex<Option<Instant>>,
    strings: StringCap,
}

impl AlertCenter {
    /// Starts a delivery task per configured destination (call inside the runtime).
    pub fn start(config: AlertingConfig, registry: &DerivedRegistry) -> Result<Arc<AlertCenter>, reqwest::Error> {
        let limits = SeriesLimits { max_series: 200, ttl: std::time::Duration::from_secs(86_400 * 365) };
        let notifications = registry.counter(
            "seedwatch_alert_notifications",
            "Alert deliveries by destination and outcome (sent, failed after retries, dropped: queue full)",
            &["destination", "outcome"],
            limits,
        );
        let active_gauge =
            registry.gauge("seedwatch_alerts_active", "Alerts firing, by alertname", &["alertname"], limits);
        let dropped = registry.counter(
            "seedwatch_alerts_dropped",
            "New alerts not raised because alerting.max_active alerts were already active, by alertname",
            &["alertname"],
            limits,
        );
        let mut sinks = Vec::new();
        let am = &config.alertmanager;
        if !am.url.is_empty() {
            let sink = Sink::Alertmanager {
                client: sinks::client(am.timeout, &am.headers)?,
                endpoint: format!("{}/api/v2/alerts", am.url.trim_end_matches('/')),
                valid_for: am.resend_interval * 3,
            };
            sinks.push(sinks::spawn(sink, config.queue_capacity, config.retry.clone(), notifications.clone()));
        }
        let wh = &config.webhook;
        if !wh.url.is_empty() {
            let sink = Sink::Webhook { client: sinks::client(wh.timeout, &wh.headers)?, url: wh.url.clone() };
            sinks.push(sinks::spawn(sink, config.queue_capacity, config.retry.clone(), notifications.clone()));
        }
        Ok(Arc::new(AlertCenter {
            config,
            active: Mutex::new(BTreeMap::new()),
            sinks,
            logs: OnceLock::new(),
            last_resend: Mutex::new(Instant::now()),
            active_gauge,
            notifications,
            dropped,
            last_full_warning: Mutex::new(None),
            strings: registry.strings().clone(),
        }))
    }

    /// Where alert log records go, once the logs pipeline exists.
    pub fn attach_logs(&self, emitter: LogEmitter) {
        let _ = self.logs.set(emitter);
    }

    fn lock(&self) -> MutexGuard<'_, BTreeMap<String, Alert>> {
        self.active.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Cuts label values and annotations to their caps.
    fn bounded(&self, mut alert: Alert) -> Alert {
        let annotation_cap = self.strings.max().saturating_mul(ANNOTATION_CAP_FACTOR);
        for value in alert.labels.values_mut() {
            if value.len() > self.strings.max() {
                *value = self.strings.owned(value, StringKind::Alert);
            }
        }
        for value in alert.annotations.values_mut() {
            if value.len() > annotation_cap {
                *value = self.strings.cap_to(value, annotation_cap, StringKind::Alert).into_owned();
            }
        }
        alert
    }

    /// Raises `alert`; if it is already active only its annotations are updated (they go out
    /// with the next re-send). While `max_active` alerts are active a new one is dropped and
    /// counted.
    pub fn fire(&self, alert: Alert) {
        let alert = self.bounded(alert);
        let key = alert.fingerprint();
        {
            let mut active = self.lock();
            if let Some(existing) = active.get_mut(&key) {
                existing.annotations = alert.annotations;
                return;
            }
            if active.len() >= self.config.max_active {
                drop(active);
                self.dropped.inc(&[alert.name()], 1.0);
                self.warn_full(&alert);
                return;
            }
            active.insert(key, alert.clone());
            self.count_active(&active, alert.name());
        }
        tracing::warn!(alert = %alert.name(), labels = ?alert.labels, "alert firing");
        self.deliver(vec![alert], false);
    }

    /// Logs that alerts are being dropped, at most once a minute.
    fn warn_full(&self, alert: &Alert) {
        let mut last = self.last_full_warning.lock().unwrap_or_else(|p| p.into_inner());
        if last.is_none_or(|at| at.elapsed() >= std::time::Duration::from_secs(60)) {
            *last = Some(Instant::now());
            tracing::warn!(alert = %alert.name(), labels = ?alert.labels, max_active = self.config.max_active,
                "alerts not raised: alerting.max_active alerts are active (counted in seedwatch_alerts_dropped_total)");
        }
    }

    /// Resolves every active alert whose labels include all of `matchers`; returns how many.
    pub fn resolve(&self, matchers: &[(&str, &str)], why: &str) -> usize {
        let mut resolved = self.take_matching(matchers);
        for alert in &mut resolved {
            alert.ends_at = Some(SystemTime::now());
            alert.annotations.insert("resolution".into(), why.to_owned());
        }
        let n = resolved.len();
        if n > 0 {
            for a in &resolved {
                tracing::info!(alert = %a.name(), labels = ?a.labels, why, "alert resolved");
            }
            self.deliver(resolved, false);
        }
        n
    }

    /// Drops matching alerts without resolving them: another replica sends them now (it took
    /// the shared-state lease). Returns how many were dropped.
    pub fn forget(&self, matchers: &[(&str, &str)]) -> usize {
        self.take_matching(matchers).len()
    }

    /// Removes the active alerts whose labels include all of `matchers`, keeping the gauge.
    fn take_matching(&self, matchers: &[(&str, &str)]) -> Vec<Alert> {
        let mut active = self.lock();
        let keys: Vec<String> = active
            .iter()
            .filter(|(_, a)| matchers.iter().all(|(k, v)| a.labels.get(*k).is_some_and(|x| x == v)))
            .map(|(k, _)| k.clone())
            .collect();
        let mut taken = Vec::with_capacity(keys.len());
        for key in keys {
            if let Some(alert) = active.remove(&key) {
                self.count_active(&active, alert.name());
                taken.push(alert);
            }
        }
        taken
    }

    /// Every active alert.
    pub fn active(&self) -> Vec<Alert> {
        self.lock().values().cloned().collect()
    }

    /// Re-sends the active alerts to Alertmanager when `resend_interval` has passed.
    pub fn tick(&self, now: Instant) {
        {
            let mut last = self.last_resend.lock().unwrap_or_else(|p| p.into_inner());
            if now.saturating_duration_since(*last) < self.config.alertmanager.resend_interval {
                return;
            }
            *last = now;
        }
        let active = self.active();
        if !active.is_empty() {
            self.deliver(active, true);
        }
    }

    fn count_active(&self, active: &BTreeMap<String, Alert>, name: &str) {
        let n = active.values().filter(|a| a.name() == name).count();
        self.active_gauge.set(&[name], n as f64);
    }

    /// Queues the alerts for every destination (re-sends: Alertmanager only) and as log records.
    fn deliver(&self, alerts: Vec<Alert>, resend: bool) {
        if !resend
            && self.config.log_records
            && let Some(emitter) = self.logs.get()
            && !emitter.try_emit(alert_records(&alerts))
        {
            self.notifications.inc(&["log", "dropped"], alerts.len() as f64);
        }
        for sink in &self.sinks {
            if resend && sink.name != "alertmanager" {
                continue;
            }
            if sink.tx.try_send(alerts.clone()).is_err() {
                tracing::warn!(destination = sink.name, "alert delivery queue full; dropped (re-sent while active)");
                self.notifications.inc(&[sink.name, "dropped"], alerts.len() as f64);
            }
        }
    }
}
