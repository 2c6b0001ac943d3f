//! LLM prices and cost arithmetic, shared by the collector and the agent crate.
//!
//! The table is a YAML data file (`otel-config/pricing.yaml` is the shipped one, embedded as
//! [`EMBEDDED_PRICING`]): USD per million input, output, cache-read and cache-write tokens, by
//! provider and model, with model aliases and provider aliases. A dated model version
//! (`gpt-4o-2024-08-06`, `claude-3-5-sonnet-20241022`, `...@20241022`) or a `-latest` alias
//! is priced as its base model when it has no entry of its own. A model that is not found is
//! never priced by guess: [`PricingTable::lookup`] returns `None`.

mod file;
mod model_name;

use std::collections::HashMap;

pub use file::{ModelEntry, PricingError, PricingFile, validate_entries};

use crate::classify::Tokens;

/// The shipped pricing table (`otel-config/pricing.yaml`).
pub const EMBEDDED_PRICING: &str = include_str!("../../../../otel-config/pricing.yaml");

/// USD per million tokens of each kind.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Price {
    /// Uncached input tokens.
    pub input: f64,
    /// Output tokens (reasoning included).
    pub output: f64,
    /// Input tokens read from the cache; the input price when the provider has none.
    pub cache_read: f64,
    /// Input tokens written to the cache (for Anthropic: with the default five-minute
    /// lifetime); the input price when the provider has none.
    pub cache_write: f64,
    /// Input tokens written to the cache for an hour; the `cache_write` price when none.
    pub cache_write_1h: f64,
    /// Reasoning tokens (part of the output); the output price when none.
    pub reasoning: f64,
}

impl Price {
    /// The cost in USD of a call's tokens. Cache reads and writes are part of the input count
    /// (one-hour writes part of the writes), and reasoning tokens part of the output count, so
    /// each is taken out of its total before the total's price applies.
    pub fn cost(&self, t: &Tokens) -> f64 {
        let cached = t.cache_read.saturating_add(t.cache_creation);
        let uncached = t.input.saturating_sub(cached);
        let write_1h = t.cache_write_1h.min(t.cache_creation);
        let reasoning = t.reasoning.min(t.output);
        (uncached as f64 * self.input
            + t.cache_read as f64 * self.cache_read
            + (t.cache_creation - write_1h) as f64 * self.cache_write
            + write_1h as f64 * self.cache_write_1h
            + (t.output - reasoning) as f64 * self.output
            + reasoning as f64 * self.reasoning)
            / 1_000_000.0
    }
}

/// A loaded pricing table.
#[derive(Debug, Clone, Default)]
pub struct PricingTable {
    /// model -> canonical provider -> price, all lower-cased.
    by_model: HashMap<String, HashMap<String, Price>>,
    provider_aliases: HashMap<String, String>,
}

impl PricingTable {
    /// Parses a pricing file.
    pub fn from_yaml(text: &str) -> Result<Self, PricingError> {
        Self::from_file(PricingFile::parse(text)?)
    }

    /// The embedded table.
    pub fn embedded() -> Result<Self, PricingError> {
        Self::from_yaml(EMBEDDED_PRICING)
    }

    /// Builds a table; later entries for the same provider and model replace earlier ones, so
    /// overrides can be appended.
    pub fn from_file(file: PricingFile) -> Result<Self, PricingError> {
        let mut table = PricingTable::default();
        for (alias, canonical) in &file.provider_aliases {
            table.provider_aliases.insert(alias.to_lowercase(), canonical.to_lowercase());
        }
        for entry in &file.models {
            table.insert(entry);
        }
        Ok(table)
    }

    /// Adds or replaces entries (config overrides): an entry for a provider and model already
    /// in the table replaces its price.
    pub fn extend(&mut self, entries: &[ModelEntry]) {
        for entry in entries {
            self.insert(entry);
        }
    }

    fn insert(&mut self, entry: &ModelEntry) {
        let price = entry.price();
        let provider = self.canonical_provider(&entry.provider.to_lowercase());
        for name in std::iter::once(&entry.model).chain(&entry.aliases) {
            self.by_model.entry(name.to_lowercase()).or_default().insert(provider.clone(), price);
        }
    }

    fn canonical_provider(&self, provider: &str) -> String {
        self.provider_aliases.get(provider).cloned().unwrap_or_else(|| provider.to_owned())
    }

    /// Number of model names (aliases included) with a price.
    pub fn len(&self) -> usize {
        self.by_model.len()
    }

    /// True when the table has no prices.
    pub fn is_empty(&self) -> bool {
        self.by_model.is_empty()
    }

    /// The price of a model from a provider. When the provider is not named (`unknown` or
    /// empty), the model alone decides if every provider listing it charges the same; a named
    /// provider that is not in the table is never priced from another provider's entry.
    pub fn lookup(&self, provider: &str, model: &str) -> Option<Price> {
        let provider = self.canonical_provider(&provider.to_lowercase());
        let unnamed = provider.is_empty() || provider == crate::classify::UNKNOWN;
        let model = model.to_lowercase();
        for candidate in model_name::candidates(&model) {
            let Some(providers) = self.by_model.get(candidate) else { continue };
            if let Some(price) = providers.get(&provider) {
                return Some(*price);
            }
            if unnamed {
                let mut prices = providers.values();
                let first = prices.next()?;
                if prices.all(|p| p == first) {
                    return Some(*first);
                }
                return None;
            }
        }
        None
    }
}

#[cfg(test)]
mod tests;
