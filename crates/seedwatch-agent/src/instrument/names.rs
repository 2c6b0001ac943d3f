//! Names a thread used lately (tools, providers, models), shared as `Arc<str>`. An agent calls
//! a handful of tools and models over and over; allocating each name anew on every call was a
//! tenth of an instrumented tool call.

use std::cell::RefCell;
use std::sync::Arc;

use super::recent::remember;

/// Names remembered per thread.
const SLOTS: usize = 32;

thread_local! {
    static RECENT: RefCell<Vec<Arc<str>>> = const { RefCell::new(Vec::new()) };
}

/// `name` as an `Arc<str>`, the one this thread made last time when it is still remembered.
pub(crate) fn intern(name: &str) -> Arc<str> {
    remember(&RECENT, SLOTS, |known| **known == *name, || name.into(), Arc::clone)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_remembered_name_is_shared_and_the_cache_stays_bounded() {
        let first = intern("run_metabolic_fba");
        let again = intern(&String::from("run_metabolic_fba"));
        assert!(Arc::ptr_eq(&first, &again));
        assert_eq!(&*intern("gapfill_model"), "gapfill_model");
        for i in 0..100 {
            assert_eq!(&*intern(&format!("tool-{i}")), format!("tool-{i}"));
        }
        assert_eq!(RECENT.with_borrow(Vec::len), SLOTS);
        // Pushed out by the hundred others: made anew, same text.
        let later = intern("run_metabolic_fba");
        assert!(!Arc::ptr_eq(&first, &later));
        assert_eq!(later, first);
    }
}
