//! Metrics the collector derives from agents' telemetry: counters and histograms whose label
//! values come from the data (tool names, models...), so every family is bounded in series,
//! idle series expire, label values are escaped, and histograms carry trace-id exemplars in
//! OpenMetrics. Rendered by its own encoder next to the prometheus-client registries.

mod encode;
mod families;
mod labels;
mod series;

use std::sync::{Arc, Mutex};

pub use families::{CounterFamily, GaugeFamily, HistogramFamily};
pub use labels::{MAX_LABEL_VALUE_BYTES, OVERFLOW};
pub use series::SeriesLimits;

use crate::telemetry::{Exposition, ExpositionFormat};

/// A set of derived metric families sharing a namespace and limits.
#[derive(Debug)]
pub struct DerivedRegistry {
    namespace: String,
    limits: SeriesLimits,
    families: Mutex<Vec<Family>>,
}

#[derive(Debug, Clone)]
enum Family {
    Counter(Arc<CounterFamily>),
    Gauge(Arc<GaugeFamily>),
    Histogram(Arc<HistogramFamily>),
}

impl DerivedRegistry {
    /// An empty registry; family names are prefixed with `namespace_`.
    pub fn new(namespace: &str, limits: SeriesLimits) -> Self {
        DerivedRegistry { namespace: namespace.to_owned(), limits, families: Mutex::new(Vec::new()) }
    }

    fn full_name(&self, name: &str) -> String {
        format!("{}_{name}", self.namespace)
    }

    /// Registers a counter `namespace_name` (exposed as `..._total`).
    pub fn counter(&self, name: &str, help: &str, labels: &'static [&'static str]) -> Arc<CounterFamily> {
        let family = Arc::new(CounterFamily::new(self.full_name(name), help, labels, self.limits));
        self.lock().push(Family::Counter(family.clone()));
        family
    }

    /// Registers a gauge `namespace_name`.
    pub fn gauge(&self, name: &str, help: &str, labels: &'static [&'static str]) -> Arc<GaugeFamily> {
        let family = Arc::new(GaugeFamily::new(self.full_name(name), help, labels, self.limits));
        self.lock().push(Family::Gauge(family.clone()));
        family
    }

    /// Registers a histogram `namespace_name` with the given upper bounds.
    pub fn histogram(
        &self,
        name: &str,
        help: &str,
        labels: &'static [&'static str],
        buckets: &[f64],
    ) -> Arc<HistogramFamily> {
        let family = Arc::new(HistogramFamily::new(self.full_name(name), help, labels, buckets, self.limits));
        self.lock().push(Family::Histogram(family.clone()));
        family
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<Family>> {
        self.families.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl Exposition for DerivedRegistry {
    fn encode(&self, out: &mut String, format: ExpositionFormat) {
        let families = self.lock().clone();
        let mut overflow = Vec::new();
        for family in &families {
            let (name, overflowed, series) = match family {
                Family::Counter(c) => c.encode(out, format),
                Family::Gauge(g) => g.encode(out, format),
                Family::Histogram(h) => h.encode(out, format),
            };
            overflow.push((name, overflowed, series));
        }
        encode::counter_header(
            out,
            "seedwatch_derived_series_overflow",
            "Updates sent to the overflow series because a derived metric reached its series limit",
            format,
        );
        for (name, overflowed, _) in &overflow {
            encode::sample(out, "seedwatch_derived_series_overflow_total", &[("metric", name)], *overflowed as f64);
        }
        encode::header(out, "seedwatch_derived_series", "Series held by each derived metric", "gauge");
        for (name, _, series) in &overflow {
            encode::sample(out, "seedwatch_derived_series", &[("metric", name)], *series as f64);
        }
    }
}

#[cfg(test)]
mod tests;
