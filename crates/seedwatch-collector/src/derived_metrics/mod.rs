//! Metrics the collector derives from agents' telemetry: counters and histograms whose label
//! values come from the data (tool names, models...), so every family is bounded in series,
//! idle series expire, label values are escaped, and histograms carry trace-id exemplars in
//! OpenMetrics. Rendered by its own encoder next to the prometheus-client registries.

mod encode;
mod families;
mod labels;
mod series;

use std::sync::{Arc, Mutex};

pub use families::{CounterFamily, GaugeFamily, HistogramFamily, Increment, Observation};
pub use labels::OVERFLOW;
pub use series::SeriesLimits;

use crate::limits::{StringCap, StringKind};
use crate::telemetry::{Exposition, ExpositionFormat};

/// Every derived metric family of the collector, rendered once on `/metrics`.
#[derive(Debug, Default)]
pub struct DerivedRegistry {
    families: Mutex<Vec<Family>>,
    strings: StringCap,
}

#[derive(Debug, Clone)]
enum Family {
    Counter(Arc<CounterFamily>),
    Gauge(Arc<GaugeFamily>),
    Histogram(Arc<HistogramFamily>),
}

impl DerivedRegistry {
    /// An empty registry whose label values are cut at the default length.
    pub fn new() -> Self {
        DerivedRegistry::default()
    }

    /// An empty registry whose label values are cut by `strings`; its counters of cut strings
    /// are rendered with the families (`seedwatch_strings_truncated_total{kind}`).
    pub fn with_strings(strings: StringCap) -> Self {
        DerivedRegistry { families: Mutex::default(), strings }
    }

    /// The cap on strings kept beyond a request, shared by everything that keeps them.
    pub fn strings(&self) -> &StringCap {
        &self.strings
    }

    /// Registers a counter `name` (exposed as `name_total`). Registering a name again with
    /// the same labels returns the same family, so two processors writing one metric share it.
    pub fn counter(
        &self,
        name: &str,
        help: &str,
        labels: &'static [&'static str],
        limits: SeriesLimits,
    ) -> Arc<CounterFamily> {
        self.get_or_register(
            name,
            labels,
            |f| if let Family::Counter(c) = f { Some(c.clone()) } else { None },
            || Arc::new(CounterFamily::new(name.to_owned(), help, labels, limits, self.strings.clone())),
            Family::Counter,
        )
    }

    /// Registers a gauge `name` (shared like [`DerivedRegistry::counter`]).
    pub fn gauge(
        &self,
        name: &str,
        help: &str,
        labels: &'static [&'static str],
        limits: SeriesLimits,
    ) -> Arc<GaugeFamily> {
        self.get_or_register(
            name,
            labels,
            |f| if let Family::Gauge(g) = f { Some(g.clone()) } else { None },
            || Arc::new(GaugeFamily::new(name.to_owned(), help, labels, limits, self.strings.clone())),
            Family::Gauge,
        )
    }

    /// Registers a histogram `name` with the given upper bounds (shared like counters).
    pub fn histogram(
        &self,
        name: &str,
        help: &str,
        labels: &'static [&'static str],
        buckets: &[f64],
        limits: SeriesLimits,
    ) -> Arc<HistogramFamily> {
        self.get_or_register(
            name,
            labels,
            |f| if let Family::Histogram(h) = f { Some(h.clone()) } else { None },
            || Arc::new(HistogramFamily::new(name.to_owned(), help, labels, buckets, limits, self.strings.clone())),
            Family::Histogram,
        )
    }

    /// The family of that name, kind and labels if registered; else a new one, registered
    /// unless its name is taken by another kind or labels (a clash only code can cause:
    /// logged, and the new family is left unexposed rather than exposing the name twice).
    fn get_or_register<F>(
        &self,
        name: &str,
        labels: &'static [&'static str],
        same_kind: impl Fn(&Family) -> Option<Arc<F>>,
        make: impl FnOnce() -> Arc<F>,
        wrap: fn(Arc<F>) -> Family,
    ) -> Arc<F> {
        let mut families = self.lock();
        if let Some(existing) =
            families.iter().filter(|f| f.name() == name && f.labels() == labels).find_map(&same_kind)
        {
            return existing;
        }
        let family = make();
        if families.iter().any(|f| f.name() == name) {
            tracing::error!(
                metric = name,
                "a derived metric name is registered twice with different kinds or labels; the second is not exposed"
            );
        } else {
            families.push(wrap(family.clone()));
        }
        family
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<Family>> {
        self.families.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl Family {
    fn name(&self) -> &str {
        match self {
            Family::Counter(c) => c.name(),
            Family::Gauge(g) => g.name(),
            Family::Histogram(h) => h.name(),
        }
    }

    fn labels(&self) -> &'static [&'static str] {
        match self {
            Family::Counter(c) => c.labels(),
            Family::Gauge(g) => g.labels(),
            Family::Histogram(h) => h.labels(),
        }
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
        encode::counter_header(
            out,
            "seedwatch_strings_truncated",
            "Strings cut to limits.max_string_bytes before being kept (label values, agent ids, check names, alert texts, workflow names, resource attributes)",
            format,
        );
        for kind in StringKind::ALL {
            let cut = self.strings.truncations().get(kind) as f64;
            encode::sample(out, "seedwatch_strings_truncated_total", &[("kind", kind.as_str())], cut);
        }
    }
}

#[cfg(test)]
mod tests;
