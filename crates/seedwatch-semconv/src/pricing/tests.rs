use super::*;

fn table() -> PricingTable {
    PricingTable::embedded().expect("the shipped pricing table is valid")
}

#[test]
fn shipped_table_prices_the_common_models() {
    let t = table();
    let gpt4o = t.lookup("openai", "gpt-4o").expect("gpt-4o");
    assert_eq!((gpt4o.input, gpt4o.output, gpt4o.cache_read), (2.50, 10.00, 1.25));
    assert!(t.lookup("anthropic", "claude-3-5-sonnet").is_some());
    assert!(t.lookup("google", "gemini-1.5-pro").is_some());
}

#[test]
fn dated_versions_aliases_and_provider_aliases_match() {
    let t = table();
    let base = t.lookup("openai", "gpt-4o");
    assert_eq!(t.lookup("openai", "gpt-4o-2024-08-06"), base);
    assert_eq!(t.lookup("OpenAI", "GPT-4o"), base, "case does not matter");
    assert_eq!(t.lookup("azure.ai.openai", "gpt-4o"), base, "provider alias");
    assert_eq!(t.lookup("unknown", "gpt-4o"), base, "an unnamed provider: the model decides");
    assert_eq!(t.lookup("anthropic", "claude-3-5-sonnet-20241022"), t.lookup("anthropic", "claude-3-5-sonnet"));
    assert_eq!(t.lookup("anthropic", "claude-4-sonnet"), t.lookup("anthropic", "claude-sonnet-4"));
    assert_eq!(t.lookup("gcp.vertex_ai", "gemini-1.5-pro-002"), t.lookup("google", "gemini-1.5-pro"));
}

#[test]
fn unknown_models_and_foreign_providers_are_never_guessed() {
    let t = table();
    assert_eq!(t.lookup("openai", "gpt-99"), None);
    assert_eq!(t.lookup("anthropic", "gpt-4o"), None, "a named provider never borrows another's price");
    assert_eq!(t.lookup("openai", "gpt-4o-mini-2024-07-18"), t.lookup("openai", "gpt-4o-mini"));
    assert_ne!(t.lookup("openai", "gpt-4o-mini"), t.lookup("openai", "gpt-4o"), "no prefix matching");
}

#[test]
fn cost_takes_cache_out_of_input() {
    let p =
        Price { input: 3.0, output: 15.0, cache_read: 0.30, cache_write: 3.75, cache_write_1h: 3.75, reasoning: 15.0 };
    let t = Tokens {
        input: 1_000_000,
        output: 200_000,
        cache_read: 400_000,
        cache_creation: 100_000,
        reasoning: 50_000,
        cache_write_1h: 0,
    };
    // 500k uncached * 3 + 400k * 0.30 + 100k * 3.75 + 200k * 15, per million.
    let expected = 1.5 + 0.12 + 0.375 + 3.0;
    assert!((p.cost(&t) - expected).abs() < 1e-12, "{}", p.cost(&t));
    let weird = Tokens { input: 10, cache_read: 50, ..Default::default() };
    assert!(p.cost(&weird) >= 0.0, "more cache than input never goes negative");
}

#[test]
fn one_hour_cache_writes_and_reasoning_have_their_own_rates_when_given() {
    let t = table();
    let sonnet = t.lookup("anthropic", "claude-sonnet-4").expect("claude-sonnet-4");
    assert_eq!((sonnet.cache_write, sonnet.cache_write_1h), (3.75, 6.0));
    let tokens = Tokens {
        input: 1_000_000,
        output: 0,
        cache_read: 0,
        cache_creation: 1_000_000,
        reasoning: 0,
        cache_write_1h: 400_000,
    };
    // 600k five-minute writes at 3.75, 400k one-hour writes at 6.00.
    assert!((sonnet.cost(&tokens) - (2.25 + 2.4)).abs() < 1e-12, "{}", sonnet.cost(&tokens));
    // Without a reasoning rate, reasoning is output; with one, it is charged at its own.
    let gpt = t.lookup("openai", "o3-mini").expect("o3-mini");
    let thinking = Tokens { output: 1_000_000, reasoning: 250_000, ..Default::default() };
    assert!((gpt.cost(&thinking) - gpt.output).abs() < 1e-12);
    let own = Price { reasoning: 1.0, ..gpt };
    assert!((own.cost(&thinking) - (0.75 * gpt.output + 0.25)).abs() < 1e-12);
    // A one-hour count above the writes, or reasoning above the output, never goes negative.
    let odd =
        Tokens { output: 10, reasoning: 50, cache_creation: 5, cache_write_1h: 9, input: 5, ..Default::default() };
    assert!(sonnet.cost(&odd) >= 0.0);
}

#[test]
fn overrides_replace_and_extend() {
    let mut t = table();
    let entries: Vec<ModelEntry> = serde_norway::from_str(
        "- {provider: openai, model: gpt-4o, input: 1.0, output: 2.0}\n- {provider: local, model: llama-3-70b, input: 0.5, output: 0.5}",
    )
    .expect("yaml");
    t.extend(&entries);
    assert_eq!(t.lookup("openai", "gpt-4o-2024-08-06").map(|p| p.input), Some(1.0));
    assert_eq!(t.lookup("local", "llama-3-70b").map(|p| p.cache_read), Some(0.5));
}

#[test]
fn invalid_files_name_the_key() {
    let err = PricingTable::from_yaml("as_of: x\nmodels:\n - {provider: a, model: b, input: -1, output: 1}\n")
        .expect_err("negative");
    assert_eq!(err.path, "models[0].input");
    let err = PricingTable::from_yaml("as_of: x\nmodels:\n - {provider: a, model: b, input: 1, output: 1, cache: 2}\n")
        .expect_err("unknown key");
    assert_eq!(err.path, "models[0].cache");
    let err = PricingTable::from_yaml(
        "as_of: x\nmodels:\n - {provider: a, model: b, input: 1, output: 1}\n - {provider: A, model: x, aliases: [B], input: 1, output: 1}\n",
    )
    .expect_err("duplicate");
    assert_eq!(err.path, "models[1]");
}
