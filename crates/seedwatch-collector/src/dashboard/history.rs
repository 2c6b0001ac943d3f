//! The dashboard's history: a bounded, downsampled in-memory store of the series it charts.
//!
//! Every series keeps two rings of `f32`: [`FINE`] (10-second points for the last hour) and
//! [`COARSE`] (5-minute points for the last day), [`BYTES_PER_SERIES`] in all. Counters are
//! stored as the increase within each point, gauges as the last value. At most `max_series`
//! series are kept; a series beyond that is not kept and is counted. A series nothing has
//! moved for a day is dropped.

use std::collections::HashMap;
use std::collections::hash_map::Entry;

use serde::Serialize;

/// A resolution: seconds per point and points kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tier {
    /// Seconds per point.
    pub step: u64,
    /// Points kept.
    pub points: usize,
}

/// 10-second points for an hour.
pub const FINE: Tier = Tier { step: 10, points: 360 };
/// 5-minute points for a day.
pub const COARSE: Tier = Tier { step: 300, points: 288 };
/// Memory of one series' points (its key and map entry come on top).
pub const BYTES_PER_SERIES: usize = (FINE.points + COARSE.points) * size_of::<f32>();
/// A series not moved for this long is dropped (seconds).
const IDLE_DROP: u64 = 24 * 3600;

/// What a series describes; the labels that go with each are fixed by the sampler.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Metric {
    /// LLM requests, by provider and model.
    LlmRequests,
    /// Failed LLM requests, by provider and error type.
    LlmErrors,
    /// LLM tokens, by type.
    LlmTokens,
    /// LLM cost in USD, by provider and model.
    LlmCost,
    /// Tool executions, by tool.
    ToolExecutions,
    /// Failed tool executions, by tool.
    ToolErrors,
    /// Agents' HTTP requests (one series).
    Requests,
    /// Agent instances in each health state (gauge).
    AgentStates,
    /// Spend of each budget this period in USD (gauge).
    BudgetSpend,
}

impl Metric {
    /// Gauges keep the last value of a point; counters the increase.
    fn is_gauge(self) -> bool {
        matches!(self, Metric::AgentStates | Metric::BudgetSpend)
    }
}

#[derive(Debug)]
struct Ring {
    tier: Tier,
    values: Box<[f32]>,
    /// The newest slot written (`time / step`) and the first ever written.
    newest: u64,
    first: u64,
}

impl Ring {
    fn new(tier: Tier, slot: u64) -> Self {
        Ring { tier, values: vec![0.0; tier.points].into_boxed_slice(), newest: slot, first: slot }
    }

    fn index(&self, slot: u64) -> usize {
        (slot % self.tier.points as u64) as usize
    }

    /// Adds `v` to the point of `time` (or sets it, for a gauge); points skipped since the
    /// newest become zero. A time older than the newest point is added to the newest.
    fn record(&mut self, time: u64, v: f32, gauge: bool) {
        let slot = (time / self.tier.step).max(self.newest);
        if slot > self.newest {
            let skipped = (slot - self.newest).min(self.tier.points as u64);
            for s in slot + 1 - skipped..=slot {
                let i = self.index(s);
                self.values[i] = 0.0;
            }
            self.newest = slot;
        }
        let i = self.index(slot);
        if gauge { self.values[i] = v } else { self.values[i] += v }
    }

    /// The points of the `count` slots ending at `last`: `None` before the series began or
    /// beyond what the ring holds, zero for slots after the newest written.
    fn points(&self, last: u64, count: usize) -> impl Iterator<Item = Option<f32>> + '_ {
        let oldest_held = self.newest.saturating_sub(self.tier.points as u64 - 1).max(self.first);
        (0..count as u64).map(move |k| {
            let slot = (last + 1).checked_sub(count as u64 - k)?;
            if slot < oldest_held {
                None
            } else if slot > self.newest {
                Some(0.0)
            } else {
                Some(self.values[self.index(slot)])
            }
        })
    }
}

#[derive(Debug)]
struct Track {
    fine: Ring,
    coarse: Ring,
    /// The counter's total at the last sample (to take increases).
    last_total: f64,
    /// When the series last moved (Unix seconds).
    moved: u64,
}

/// One series' points for a range.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct SeriesPoints {
    /// Label values, in the metric's label order; `["other"]`-like for the rest.
    pub labels: Vec<String>,
    /// One per timestamp; `null` where the series has no data.
    pub values: Vec<Option<f32>>,
    /// The sum of the values (counters) or the last value (gauges).
    pub total: f64,
}

/// Points of every series of one metric over a range.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Range {
    /// The metric.
    pub metric: Metric,
    /// Seconds per point.
    pub step: u64,
    /// Unix seconds of each point's start.
    pub timestamps: Vec<u64>,
    /// The largest series by total, then one summing the rest (labels all `other`) if any.
    pub series: Vec<SeriesPoints>,
    /// Series of this metric in the store.
    pub series_held: usize,
}

/// A series' identity: what it describes and its label values.
type SeriesKey = (Metric, Box<[Box<str>]>);

/// The store.
#[derive(Debug)]
pub struct History {
    tracks: HashMap<SeriesKey, Track>,
    max_series: usize,
    /// Series not kept because the store was full.
    pub dropped: u64,
    /// The newest sample time (Unix seconds).
    newest: u64,
}

impl History {
    /// An empty store for at most `max_series` series.
    pub fn new(max_series: usize) -> Self {
        History { tracks: HashMap::new(), max_series, dropped: 0, newest: 0 }
    }

    /// Series held.
    pub fn len(&self) -> usize {
        self.tracks.len()
    }

    /// Whether no series is held.
    pub fn is_empty(&self) -> bool {
        self.tracks.is_empty()
    }

    /// Approximate memory held: points, keys and map entries.
    pub fn bytes(&self) -> usize {
        let entry = size_of::<(SeriesKey, Track)>() + 8;
        self.tracks
            .keys()
            .map(|(_, labels)| {
                BYTES_PER_SERIES + entry + labels.iter().map(|l| l.len() + size_of::<Box<str>>()).sum::<usize>()
            })
            .sum()
    }

    fn track(&mut self, metric: Metric, labels: &[&str], time: u64) -> Option<&mut Track> {
        // Looked up by an owned key: the sampler runs every 10 s, not on the span path.
        let key: SeriesKey = (metric, labels.iter().map(|l| Box::from(*l)).collect());
        let held = self.tracks.len();
        match self.tracks.entry(key) {
            Entry::Occupied(e) => Some(e.into_mut()),
            Entry::Vacant(_) if held >= self.max_series => {
                self.dropped += 1;
                None
            }
            Entry::Vacant(e) => Some(e.insert(Track {
                fine: Ring::new(FINE, time / FINE.step),
                coarse: Ring::new(COARSE, time / COARSE.step),
                last_total: 0.0,
                moved: time,
            })),
        }
    }

    /// Records a counter's total at `time`: the increase since the last sample (the whole
    /// total for a new series, or after a reset).
    pub fn counter(&mut self, metric: Metric, labels: &[&str], total: f64, time: u64) {
        self.newest = self.newest.max(time);
        let Some(t) = self.track(metric, labels, time) else { return };
        let increase = if total >= t.last_total { total - t.last_total } else { total };
        t.last_total = total;
        if increase > 0.0 {
            t.moved = time;
        }
        t.fine.record(time, increase as f32, false);
        t.coarse.record(time, increase as f32, false);
    }

    /// Records a gauge's value at `time`.
    pub fn gauge(&mut self, metric: Metric, labels: &[&str], value: f64, time: u64) {
        self.newest = self.newest.max(time);
        let Some(t) = self.track(metric, labels, time) else { return };
        if value != 0.0 {
            t.moved = time;
        }
        t.fine.record(time, value as f32, true);
        t.coarse.record(time, value as f32, true);
    }

    /// Drops series that have not moved for a day.
    pub fn prune(&mut self, now: u64) {
        self.tracks.retain(|_, t| now.saturating_sub(t.moved) < IDLE_DROP);
    }

    /// The points of `metric` at `tier` up to the newest sample: the `top` largest series and
    /// the rest summed into one. A gauge's rest is not summed (its series are shown as they are).
    pub fn range(&self, metric: Metric, tier: Tier, top: usize) -> Range {
        let last = self.newest / tier.step;
        let first = (last + 1).saturating_sub(tier.points as u64);
        let count = (last + 1 - first) as usize;
        let mut series: Vec<SeriesPoints> = self
            .tracks
            .iter()
            .filter(|((m, _), _)| *m == metric)
            .map(|((_, labels), t)| {
                let ring = if tier == FINE { &t.fine } else { &t.coarse };
                let values: Vec<Option<f32>> = ring.points(last, count).collect();
                let total = match metric.is_gauge() {
                    true => values.iter().rev().flatten().next().copied().unwrap_or(0.0) as f64,
                    false => values.iter().flatten().map(|v| f64::from(*v)).fold(0.0, |a, b| a + b),
                };
                SeriesPoints { labels: labels.iter().map(|l| l.to_string()).collect(), values, total }
            })
            .collect();
        let held = series.len();
        series.sort_by(|a, b| b.total.total_cmp(&a.total).then_with(|| a.labels.cmp(&b.labels)));
        if series.len() > top && !metric.is_gauge() {
            let rest = series.split_off(top);
            let mut other = SeriesPoints {
                labels: vec!["other".to_owned(); rest[0].labels.len()],
                values: vec![None; count],
                total: 0.0,
            };
            for s in &rest {
                other.total += s.total;
                for (o, v) in other.values.iter_mut().zip(&s.values) {
                    if let Some(v) = v {
                        *o = Some(o.unwrap_or(0.0) + v);
                    }
                }
            }
            series.push(other);
        }
        Range {
            metric,
            step: tier.step,
            timestamps: (first..=last).map(|s| s * tier.step).collect(),
            series,
            series_held: held,
        }
    }

    /// The increase of a counter series over the last `points` fine points (for rates).
    pub fn recent_increase(&self, metric: Metric, points: usize) -> f64 {
        let last = self.newest / FINE.step;
        self.tracks
            .iter()
            .filter(|((m, _), _)| *m == metric)
            .map(|(_, t)| t.fine.points(last, points).flatten().map(f64::from).fold(0.0, |a, b| a + b))
            .fold(0.0, |a, b| a + b)
    }

    /// The newest sample time (Unix seconds; 0 before the first).
    pub fn newest(&self) -> u64 {
        self.newest
    }
}
