//! Counter and histogram families.

use std::sync::Mutex;
use std::time::Instant;

use super::encode;
use super::series::{Series, SeriesLimits};
use crate::limits::StringCap;
use crate::telemetry::ExpositionFormat;

/// One buffered counter update: label values and the amount.
pub type Increment<'a, const N: usize> = ([&'a str; N], f64);
/// One buffered histogram observation: label values, the value and the trace it came from.
pub type Observation<'a, const N: usize> = ([&'a str; N], f64, Option<&'a [u8]>);

/// The monotonic clock (series expiry) and the wall clock (exemplars), read once per update
/// call.
fn clocks() -> (Instant, f64) {
    (Instant::now(), crate::clock::unix_now())
}

/// A counter family.
#[derive(Debug)]
pub struct CounterFamily {
    name: String,
    help: String,
    labels: &'static [&'static str],
    series: Mutex<Series<f64>>,
}

impl CounterFamily {
    /// The full metric name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The label names.
    pub fn labels(&self) -> &'static [&'static str] {
        self.labels
    }

    pub(super) fn new(
        name: String,
        help: &str,
        labels: &'static [&'static str],
        limits: SeriesLimits,
        strings: StringCap,
    ) -> Self {
        let series = Mutex::new(Series::new(labels.len(), limits, strings));
        CounterFamily { name, help: help.to_owned(), labels, series }
    }

    /// Adds `by` (ignored unless finite and positive) to the series for `labels`.
    pub fn inc(&self, labels: &[&str], by: f64) {
        if !(by.is_finite() && by > 0.0) {
            return;
        }
        let mut s = self.series.lock().unwrap_or_else(|p| p.into_inner());
        s.update(labels, Instant::now(), || 0.0, |v| *v += by);
    }

    /// Applies many [`inc`](Self::inc)s under one lock.
    pub fn inc_all<const N: usize>(&self, updates: &[Increment<'_, N>]) {
        if updates.is_empty() {
            return;
        }
        let now = Instant::now();
        let mut s = self.series.lock().unwrap_or_else(|p| p.into_inner());
        for (labels, by) in updates {
            if by.is_finite() && *by > 0.0 {
                s.update(labels, now, || 0.0, |v| *v += by);
            }
        }
    }

    /// The value for `labels`, if that series exists.
    pub fn get(&self, labels: &[&str]) -> Option<f64> {
        self.series.lock().unwrap_or_else(|p| p.into_inner()).get(labels).copied()
    }

    /// Every series' label values and value.
    pub fn snapshot(&self) -> Vec<(Vec<String>, f64)> {
        self.series.lock().unwrap_or_else(|p| p.into_inner()).snapshot(|v| *v)
    }

    pub(super) fn encode(&self, out: &mut String, format: ExpositionFormat) -> (String, u64, usize) {
        let mut s = self.series.lock().unwrap_or_else(|p| p.into_inner());
        s.expire(Instant::now());
        encode::counter_header(out, &self.name, &self.help, format);
        let total = format!("{}_total", self.name);
        for (key, value) in s.sorted() {
            let labels: Vec<(&str, &str)> = self.labels.iter().copied().zip(key.values()).collect();
            encode::sample(out, &total, &labels, *value);
        }
        (self.name.clone(), s.overflowed, s.len())
    }
}

/// A gauge family: the last value set wins.
#[derive(Debug)]
pub struct GaugeFamily {
    name: String,
    help: String,
    labels: &'static [&'static str],
    series: Mutex<Series<f64>>,
}

impl GaugeFamily {
    /// The full metric name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The label names.
    pub fn labels(&self) -> &'static [&'static str] {
        self.labels
    }

    pub(super) fn new(
        name: String,
        help: &str,
        labels: &'static [&'static str],
        limits: SeriesLimits,
        strings: StringCap,
    ) -> Self {
        let series = Mutex::new(Series::new(labels.len(), limits, strings));
        GaugeFamily { name, help: help.to_owned(), labels, series }
    }

    /// Removes the series for `labels` (when what it describes is gone).
    pub fn remove(&self, labels: &[&str]) {
        self.series.lock().unwrap_or_else(|p| p.into_inner()).remove(labels);
    }

    /// Sets the series for `labels` (ignored unless finite).
    pub fn set(&self, labels: &[&str], value: f64) {
        if !value.is_finite() {
            return;
        }
        let mut s = self.series.lock().unwrap_or_else(|p| p.into_inner());
        s.update(labels, Instant::now(), || 0.0, |v| *v = value);
    }

    /// The value for `labels`, if that series exists.
    pub fn get(&self, labels: &[&str]) -> Option<f64> {
        self.series.lock().unwrap_or_else(|p| p.into_inner()).get(labels).copied()
    }

    pub(super) fn encode(&self, out: &mut String, _format: ExpositionFormat) -> (String, u64, usize) {
        let mut s = self.series.lock().unwrap_or_else(|p| p.into_inner());
        s.expire(Instant::now());
        encode::header(out, &self.name, &self.help, "gauge");
        for (key, value) in s.sorted() {
            let labels: Vec<(&str, &str)> = self.labels.iter().copied().zip(key.values()).collect();
            encode::sample(out, &self.name, &labels, *value);
        }
        (self.name.clone(), s.overflowed, s.len())
    }
}

/// One histogram series.
#[derive(Debug, Clone)]
struct Histogram {
    counts: Vec<u64>,
    sum: f64,
    count: u64,
    /// Latest exemplar per bucket (index into `counts`, the last being +Inf).
    exemplars: Vec<Option<Exemplar>>,
}

#[derive(Debug, Clone, Copy)]
struct Exemplar {
    trace_id: [u8; 16],
    value: f64,
    timestamp: f64,
}

/// A histogram family with fixed bucket bounds.
#[derive(Debug)]
pub struct HistogramFamily {
    name: String,
    help: String,
    labels: &'static [&'static str],
    bounds: Vec<f64>,
    series: Mutex<Series<Histogram>>,
}

impl HistogramFamily {
    /// The full metric name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The label names.
    pub fn labels(&self) -> &'static [&'static str] {
        self.labels
    }

    pub(super) fn new(
        name: String,
        help: &str,
        labels: &'static [&'static str],
        bounds: &[f64],
        limits: SeriesLimits,
        strings: StringCap,
    ) -> Self {
        HistogramFamily {
            name,
            help: help.to_owned(),
            labels,
            bounds: {
                let mut sorted = bounds.to_vec();
                sorted.sort_by(f64::total_cmp);
                sorted
            },
            series: Mutex::new(Series::new(labels.len(), limits, strings)),
        }
    }

    /// Records `value` (ignored unless finite and not negative), with the trace it came from.
    pub fn observe(&self, labels: &[&str], value: f64, trace_id: Option<&[u8]>) {
        let (now, wall) = clocks();
        let mut s = self.series.lock().unwrap_or_else(|p| p.into_inner());
        self.record(&mut s, labels, value, trace_id, now, wall);
    }

    /// Applies many [`observe`](Self::observe)s under one lock.
    pub fn observe_all<const N: usize>(&self, observations: &[Observation<'_, N>]) {
        if observations.is_empty() {
            return;
        }
        let (now, wall) = clocks();
        let mut s = self.series.lock().unwrap_or_else(|p| p.into_inner());
        for (labels, value, trace_id) in observations {
            self.record(&mut s, labels, *value, *trace_id, now, wall);
        }
    }

    fn record(
        &self,
        s: &mut Series<Histogram>,
        labels: &[&str],
        value: f64,
        trace_id: Option<&[u8]>,
        now: Instant,
        wall: f64,
    ) {
        if !(value.is_finite() && value >= 0.0) {
            return;
        }
        // The bounds are sorted: the first bucket whose bound is >= value.
        let bucket = self.bounds.partition_point(|b| *b < value);
        let slots = self.bounds.len() + 1;
        let exemplar = trace_id.and_then(|t| <[u8; 16]>::try_from(t).ok()).map(|trace_id| Exemplar {
            trace_id,
            value,
            timestamp: wall,
        });
        s.update(
            labels,
            now,
            || Histogram { counts: vec![0; slots], sum: 0.0, count: 0, exemplars: vec![None; slots] },
            |h| {
                h.counts[bucket] += 1;
                h.sum += value;
                h.count += 1;
                if exemplar.is_some() {
                    h.exemplars[bucket] = exemplar;
                }
            },
        );
    }

    /// (count, sum) for `labels`, if that series exists.
    pub fn get(&self, labels: &[&str]) -> Option<(u64, f64)> {
        self.series.lock().unwrap_or_else(|p| p.into_inner()).get(labels).map(|h| (h.count, h.sum))
    }

    /// The upper bounds of the buckets (the last bucket, +Inf, has none).
    pub fn bounds(&self) -> &[f64] {
        &self.bounds
    }

    /// Every series' label values and per-bucket counts (not cumulative; one more than
    /// [`bounds`](Self::bounds), the last for +Inf).
    pub fn snapshot(&self) -> Vec<(Vec<String>, Vec<u64>)> {
        self.series.lock().unwrap_or_else(|p| p.into_inner()).snapshot(|h| h.counts.clone())
    }

    pub(super) fn encode(&self, out: &mut String, format: ExpositionFormat) -> (String, u64, usize) {
        let mut s = self.series.lock().unwrap_or_else(|p| p.into_inner());
        s.expire(Instant::now());
        encode::header(out, &self.name, &self.help, "histogram");
        let bucket_name = format!("{}_bucket", self.name);
        for (key, h) in s.sorted() {
            let labels: Vec<(&str, &str)> = self.labels.iter().copied().zip(key.values()).collect();
            let mut cumulative = 0;
            for (i, count) in h.counts.iter().enumerate() {
                cumulative += count;
                let le = match self.bounds.get(i) {
                    Some(b) => format!("{b:?}"),
                    None => "+Inf".to_owned(),
                };
                let mut with_le = labels.clone();
                with_le.push(("le", &le));
                encode::sample_start(out, &bucket_name, &with_le, cumulative as f64);
                if format == ExpositionFormat::OpenMetrics
                    && let Some(e) = h.exemplars[i]
                {
                    encode::exemplar(out, &e.trace_id, e.value, e.timestamp);
                }
                out.push('\n');
            }
            encode::sample(out, &format!("{}_sum", self.name), &labels, h.sum);
            encode::sample(out, &format!("{}_count", self.name), &labels, h.count as f64);
        }
        (self.name.clone(), s.overflowed, s.len())
    }
}
