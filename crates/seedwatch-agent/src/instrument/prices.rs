//! Prices of the models a thread called lately. The pricing table lowercases names and tries
//! their variants (dates, prefixes) on every lookup, which cost more than the rest of an LLM
//! call's instrumentation together; an agent calls a handful of models, so a few entries per
//! thread answer nearly every call.

use std::cell::RefCell;
use std::sync::Arc;

use seedwatch_semconv::pricing::{Price, PricingTable};

use super::recent::remember;

/// Models remembered per thread.
const SLOTS: usize = 16;

struct Entry {
    /// The table the price came from (the installed one replaces the default at `init`).
    table: *const PricingTable,
    provider: Arc<str>,
    model: Arc<str>,
    price: Option<Price>,
}

thread_local! {
    static RECENT: RefCell<Vec<Entry>> = const { RefCell::new(Vec::new()) };
}

/// `table.lookup(provider, model)`, remembered.
pub(crate) fn lookup(table: &PricingTable, provider: &Arc<str>, model: &Arc<str>) -> Option<Price> {
    let id = std::ptr::from_ref(table);
    let known = |e: &Entry| std::ptr::eq(e.table, id) && *e.provider == **provider && *e.model == **model;
    let make =
        || Entry { table: id, provider: provider.clone(), model: model.clone(), price: table.lookup(provider, model) };
    remember(&RECENT, SLOTS, known, make, |e| e.price)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remembered_prices_are_the_tables_and_tables_are_not_mixed() {
        let embedded = PricingTable::embedded().unwrap();
        let custom =
            PricingTable::from_yaml("as_of: x\nmodels:\n - {provider: openai, model: gpt-4o, input: 1, output: 2}\n")
                .unwrap();
        let (openai, gpt4o): (Arc<str>, Arc<str>) = ("openai".into(), "gpt-4o-2024-08-06".into());
        for _ in 0..3 {
            assert_eq!(lookup(&embedded, &openai, &gpt4o), embedded.lookup("openai", "gpt-4o-2024-08-06"));
            assert_eq!(lookup(&custom, &openai, &gpt4o), custom.lookup("openai", "gpt-4o-2024-08-06"));
        }
        assert_ne!(lookup(&embedded, &openai, &gpt4o), lookup(&custom, &openai, &gpt4o));
        let unknown: Arc<str> = "no-such-model".into();
        assert_eq!(lookup(&embedded, &openai, &unknown), None);
        for i in 0..40 {
            let model: Arc<str> = format!("model-{i}").into();
            assert_eq!(lookup(&embedded, &openai, &model), embedded.lookup("openai", &model));
        }
        assert!(RECENT.with_borrow(Vec::len) <= SLOTS);
        assert_eq!(lookup(&embedded, &openai, &gpt4o), embedded.lookup("openai", "gpt-4o-2024-08-06"));
    }
}
