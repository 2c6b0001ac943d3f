//! Budget spend in Redis, shared by every replica. Each flush sends the spans charged since
//! the last one in one script call: for each span, `SADD` of its mark into the set of its
//! end-time bucket decides whether its cost is added (`INCRBY`) to its budgets' periods, so a
//! span is charged once whichever replicas received it and however often a batch is sent.
//! Spend is kept in integer picodollars (1e-12 USD): sums are exact whatever the order in
//! which replicas add. Batches Redis does not take wait in the local [`Outbox`].

use std::path::Path;
use std::sync::Arc;

use serde::Serialize;
use xxhash_rust::xxh3::xxh3_64;

use super::link::RedisLink;
use super::outbox::Outbox;
use crate::budgets::{BUCKET_SECS, Mark, SharedCharge, SharedOutcome, Snapshot, SpendKey, SpendStore, StoreError};
use crate::derived_metrics::{CounterFamily, DerivedRegistry, GaugeFamily, SeriesLimits};

/// USD → picodollars.
pub fn to_pico(usd: f64) -> i64 {
    (usd * 1e12).round() as i64
}

/// Picodollars → USD.
pub fn from_pico(pico: i64) -> f64 {
    pico as f64 / 1e12
}

const CHARGE: &str = r#"
local p = ARGV[1]
local keep = tonumber(ARGV[2])
local d = cjson.decode(ARGV[3])
local charged, dup = 0, 0
local touched = {}
for _, c in ipairs(d.c) do
  local marks = p .. 'marks:' .. c[1]
  if redis.call('SADD', marks, c[2]) == 1 then
    redis.call('EXPIREAT', marks, tonumber(c[1]) + keep)
    charged = charged + 1
    for _, i in ipairs(c[4]) do
      local k = d.k[i + 1]
      local key = p .. 'spend:' .. k[2] .. ':' .. k[1]
      redis.call('INCRBY', key, c[3])
      touched[key] = k[3]
    end
  else
    dup = dup + 1
  end
end
for key, keep_key in pairs(touched) do
  redis.call('EXPIRE', key, keep_key)
end
local totals = {}
for i, k in ipairs(d.k) do
  totals[i] = redis.call('GET', p .. 'spend:' .. k[2] .. ':' .. k[1]) or '0'
end
return charged .. ' ' .. dup .. ' ' .. table.concat(totals, ',')
"#;

/// A batch as the script reads it: keys `[budget, start, keep]`, charges
/// `[bucket, fingerprint, picodollars, [key index...]]` (numbers that may pass 2^53 as text).
#[derive(Debug, Serialize)]
struct Batch<'a> {
    k: Vec<(&'a str, String, i64)>,
    c: Vec<(String, String, String, &'a [usize])>,
}

fn encode(charges: &[SharedCharge], keys: &[SpendKey]) -> Vec<u8> {
    let batch = Batch {
        k: keys.iter().map(|k| (k.budget.as_str(), k.start.to_string(), k.keep_secs.max(1))).collect(),
        c: charges
            .iter()
            .map(|c| {
                (
                    c.mark.bucket.to_string(),
                    format!("{:016x}", c.mark.fingerprint),
                    to_pico(c.cost).to_string(),
                    c.targets.as_slice(),
                )
            })
            .collect(),
    };
    serde_json::to_vec(&batch).unwrap_or_default()
}

/// `charged duplicates total,total,...` (totals in picodollars).
fn parse_answer(answer: &str) -> Option<(u64, u64, Vec<f64>)> {
    let mut parts = answer.splitn(3, ' ');
    let charged = parts.next()?.parse().ok()?;
    let dup = parts.next()?.parse().ok()?;
    let totals = match parts.next()? {
        "" => Vec::new(),
        list => list.split(',').map(|t| t.parse::<i64>().ok().map(from_pico)).collect::<Option<Vec<_>>>()?,
    };
    Some((charged, dup, totals))
}

/// The store's own series.
#[derive(Debug)]
struct SpendMetrics {
    charges: Arc<CounterFamily>,
    buffered: Arc<GaugeFamily>,
    dropped: Arc<CounterFamily>,
}

/// Budget spend shared through Redis, with the local buffer for outages.
#[derive(Debug)]
pub struct RedisSpendStore {
    link: Arc<RedisLink>,
    outbox: Outbox,
    /// Seconds a bucket of marks is kept after its first second.
    keep_marks: i64,
    metrics: SpendMetrics,
}

impl RedisSpendStore {
    /// Opens the local buffer at `buffer` (created if absent); marks are kept in Redis for
    /// `keep_marks` seconds after their bucket (the replay-protection window and clock skew).
    pub fn open(
        link: Arc<RedisLink>,
        buffer: &Path,
        keep_marks: i64,
        registry: &DerivedRegistry,
    ) -> Result<RedisSpendStore, StoreError> {
        let limits = SeriesLimits { max_series: 8, ttl: std::time::Duration::from_secs(86_400 * 365) };
        let metrics = SpendMetrics {
            charges: registry.counter(
                "seedwatch_redis_charges",
                "LLM spans sent to Redis by this replica: charged, or duplicate (another replica or an earlier batch charged it)",
                &["outcome"],
                limits,
            ),
            buffered: registry.gauge(
                "seedwatch_redis_buffered_charges",
                "Charges waiting in the local buffer for Redis",
                &[],
                limits,
            ),
            dropped: registry.counter(
                "seedwatch_redis_buffer_dropped",
                "Charges not kept because the local buffer held redis.buffer_max_charges",
                &[],
                limits,
            ),
        };
        let outbox = Outbox::open(buffer)?;
        let store = RedisSpendStore { link, outbox, keep_marks: keep_marks + BUCKET_SECS, metrics };
        let (waiting, _) = store.outbox.pending()?;
        store.metrics.buffered.set(&[], waiting as f64);
        if waiting > 0 {
            tracing::info!(charges = waiting, "budget charges from before the restart wait for redis");
        }
        Ok(store)
    }

    fn send(&self, batch: &[u8]) -> Result<(u64, u64, Vec<f64>), String> {
        let prefix = self.link.config().key_prefix.clone();
        let answer: String = self
            .link
            .call("budgets", |c| {
                redis::Script::new(CHARGE).arg(&prefix).arg(self.keep_marks).arg(batch).invoke::<String>(c)
            })
            .map_err(|e| e.to_string())?;
        let (charged, dup, totals) =
            parse_answer(&answer).ok_or_else(|| format!("unexpected answer from the budget script: {answer:?}"))?;
        self.metrics.charges.inc(&["charged"], charged as f64);
        self.metrics.charges.inc(&["duplicate"], dup as f64);
        Ok((charged, dup, totals))
    }

    /// Sends what waits in the buffer, oldest first; stops at the first failure.
    fn drain(&self) -> Result<(), String> {
        while let Some((seq, _, batch)) = self.outbox.oldest().map_err(|e| e.to_string())? {
            self.send(&batch)?;
            self.outbox.remove(seq).map_err(|e| e.to_string())?;
            let (waiting, _) = self.outbox.pending().map_err(|e| e.to_string())?;
            self.metrics.buffered.set(&[], waiting as f64);
            if waiting == 0 {
                tracing::info!("budget charges buffered during the redis outage are all charged");
            }
        }
        Ok(())
    }

    fn buffer(&self, charges: &[SharedCharge], batch: &[u8]) -> Result<SharedOutcome, StoreError> {
        if charges.is_empty() {
            return Ok(SharedOutcome::Buffered);
        }
        let (waiting, _) = self.outbox.pending()?;
        if waiting + charges.len() as u64 > self.link.config().buffer_max_charges {
            self.metrics.dropped.inc(&[], charges.len() as f64);
            tracing::error!(
                charges = charges.len(),
                buffered = waiting,
                "the local buffer of budget charges is full (redis.buffer_max_charges): these are not charged"
            );
            return Ok(SharedOutcome::Buffered);
        }
        self.outbox.push(charges.len() as u64, batch)?;
        self.metrics.buffered.set(&[], (waiting + charges.len() as u64) as f64);
        Ok(SharedOutcome::Buffered)
    }
}

impl SpendStore for RedisSpendStore {
    fn load(&self, _max_marks: usize) -> Result<Snapshot, StoreError> {
        // Every replica must fingerprint a span alike without asking Redis first (a replica
        // may start while Redis is down): the seed comes from the key prefix.
        let seed = xxh3_64(self.link.config().key_prefix.as_bytes());
        Ok(Snapshot { seed, cutoff: i64::MIN, recent_from: i64::MIN, ..Default::default() })
    }

    fn contains(&self, marks: &[Mark]) -> Result<Vec<bool>, StoreError> {
        // Redis decides at the flush whether a span was charged; answering "not seen" here
        // keeps the span path off Redis.
        Ok(vec![false; marks.len()])
    }

    fn commit(&self, _: &[((String, i64), f64)], _: &[Mark], _: i64, _: u64) -> Result<i64, StoreError> {
        Ok(i64::MIN)
    }

    fn is_shared(&self) -> bool {
        true
    }

    fn charge_shared(&self, charges: &[SharedCharge], keys: &[SpendKey]) -> Result<SharedOutcome, StoreError> {
        let batch = encode(charges, keys);
        if let Err(err) = self.drain() {
            tracing::debug!(error = %err, "redis still unreachable; budget charges stay in the local buffer");
            return self.buffer(charges, &batch);
        }
        match self.send(&batch) {
            Ok((_, _, totals)) => Ok(SharedOutcome::Applied(totals)),
            Err(err) => {
                tracing::debug!(error = %err, "budget charges go to the local buffer");
                self.buffer(charges, &batch)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn picodollars_round_trip_and_add_exactly() {
        assert_eq!(to_pico(0.000_150), 150_000_000);
        let prices = [0.000_150_3, 0.012_5, 0.000_000_6, 3.25];
        let sum: i64 = prices.iter().map(|p| to_pico(*p)).sum();
        assert!((from_pico(sum) - prices.iter().sum::<f64>()).abs() < 1e-12);
    }

    #[test]
    fn the_scripts_answer_is_read_or_refused() {
        assert_eq!(parse_answer("2 1 250000000000,0"), Some((2, 1, vec![0.25, 0.0])));
        assert_eq!(parse_answer("0 0 "), Some((0, 0, vec![])));
        assert_eq!(parse_answer("x 0 1"), None);
        assert_eq!(parse_answer("1 0 1.5"), None);
    }

    #[test]
    fn a_batch_names_its_keys_and_charges_as_the_script_reads_them() {
        let keys = [SpendKey { budget: "global-daily".into(), start: 1_795_564_800, keep_secs: 172_800 }];
        let charges = [SharedCharge {
            mark: Mark { bucket: 1_795_608_000, fingerprint: u64::MAX },
            cost: 0.25,
            targets: vec![0],
        }];
        let json: serde_json::Value = serde_json::from_slice(&encode(&charges, &keys)).expect("json");
        assert_eq!(
            json,
            serde_json::json!({
                "k": [["global-daily", "1795564800", 172800]],
                "c": [["1795608000", "ffffffffffffffff", "250000000000", [0]]],
            })
        );
    }
}
