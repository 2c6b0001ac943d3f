//! The pricing file format and its validation.

use std::collections::BTreeMap;

use serde::Deserialize;

use super::Price;

/// A pricing file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PricingFile {
    /// The date the prices were taken from the providers' price lists.
    pub as_of: String,
    /// Always `USD`.
    #[serde(default = "usd")]
    pub currency: String,
    /// Other names of providers, e.g. `azure.ai.openai: openai`.
    #[serde(default)]
    pub provider_aliases: BTreeMap<String, String>,
    /// The prices.
    pub models: Vec<ModelEntry>,
}

fn usd() -> String {
    "USD".to_owned()
}

/// The price of one model, in USD per million tokens.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelEntry {
    /// The provider, as instrumentations name it (`openai`, `anthropic`, ...).
    pub provider: String,
    /// The model's base name; dated versions of it match too.
    pub model: String,
    /// Other names of the same model at the same price.
    #[serde(default)]
    pub aliases: Vec<String>,
    /// Uncached input tokens.
    pub input: f64,
    /// Output tokens.
    pub output: f64,
    /// Cache reads; defaults to the input price.
    pub cache_read: Option<f64>,
    /// Cache writes (Anthropic: five-minute ones); defaults to the input price.
    pub cache_write: Option<f64>,
    /// Cache writes kept for an hour (Anthropic); defaults to the `cache_write` price.
    pub cache_write_1h: Option<f64>,
    /// Reasoning tokens; defaults to the output price (they are billed as output).
    pub reasoning: Option<f64>,
}

impl ModelEntry {
    /// The price, with cache and reasoning prices defaulted.
    pub fn price(&self) -> Price {
        let cache_write = self.cache_write.unwrap_or(self.input);
        Price {
            input: self.input,
            output: self.output,
            cache_read: self.cache_read.unwrap_or(self.input),
            cache_write,
            cache_write_1h: self.cache_write_1h.unwrap_or(cache_write),
            reasoning: self.reasoning.unwrap_or(self.output),
        }
    }

    /// Problems with this entry, as (field, message) pairs.
    pub fn problems(&self) -> Vec<(&'static str, String)> {
        let mut out = Vec::new();
        if self.provider.trim().is_empty() {
            out.push(("provider", "found an empty string, expected a provider such as `openai`".to_owned()));
        }
        if self.model.trim().is_empty() {
            out.push(("model", "found an empty string, expected a model such as `gpt-4o`".to_owned()));
        }
        let prices = [
            ("input", Some(self.input)),
            ("output", Some(self.output)),
            ("cache_read", self.cache_read),
            ("cache_write", self.cache_write),
            ("cache_write_1h", self.cache_write_1h),
            ("reasoning", self.reasoning),
        ];
        for (field, value) in prices {
            if let Some(v) = value
                && !(v.is_finite() && (0.0..=10_000.0).contains(&v))
            {
                out.push((field, format!("found `{v}`, expected USD per million tokens between 0 and 10000")));
            }
        }
        out
    }
}

/// A pricing file that cannot be used.
#[derive(Debug, Clone, thiserror::Error, PartialEq)]
#[error("`{path}`: {message}")]
pub struct PricingError {
    /// Key path of the problem, e.g. `models[3].input`.
    pub path: String,
    /// What was found and what is expected.
    pub message: String,
}

impl PricingFile {
    /// Parses and validates.
    pub fn parse(text: &str) -> Result<Self, PricingError> {
        let de = serde_norway::Deserializer::from_str(text);
        let file: PricingFile = serde_path_to_error::deserialize(de)
            .map_err(|e| PricingError { path: e.path().to_string(), message: e.into_inner().to_string() })?;
        file.validate()?;
        Ok(file)
    }

    /// Checks currency, prices and duplicates.
    pub fn validate(&self) -> Result<(), PricingError> {
        if self.currency != "USD" {
            return Err(PricingError {
                path: "currency".into(),
                message: format!("found `{}`, expected `USD`", self.currency),
            });
        }
        validate_entries(&self.models, "models")
    }
}

/// Validates entries (the file's or config overrides); `section` prefixes paths.
pub fn validate_entries(entries: &[ModelEntry], section: &str) -> Result<(), PricingError> {
    let mut seen = BTreeMap::new();
    for (i, entry) in entries.iter().enumerate() {
        if let Some((field, message)) = entry.problems().into_iter().next() {
            return Err(PricingError { path: format!("{section}[{i}].{field}"), message });
        }
        for name in std::iter::once(&entry.model).chain(&entry.aliases) {
            let key = (entry.provider.to_lowercase(), name.to_lowercase());
            if let Some(first) = seen.insert(key, i) {
                return Err(PricingError {
                    path: format!("{section}[{i}]"),
                    message: format!("`{}` of `{}` is already priced by {section}[{first}]", name, entry.provider),
                });
            }
        }
    }
    Ok(())
}
