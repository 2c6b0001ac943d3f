//! A few values a thread made lately, kept per thread so that making them again (a price
//! lookup, a name's allocation) is mostly a short scan: an agent calls a handful of tools and
//! models over and over.

use std::cell::RefCell;
use std::thread::LocalKey;

/// What `read` takes from the entry of `cache` that is `known`, or from a new one made by
/// `make` and remembered in place of the oldest when `slots` are taken. A thread whose cache
/// is gone (it is exiting) just makes one.
pub(crate) fn remember<T: 'static, R>(
    cache: &'static LocalKey<RefCell<Vec<T>>>,
    slots: usize,
    known: impl Fn(&T) -> bool,
    make: impl FnOnce() -> T,
    read: impl Fn(&T) -> R,
) -> R {
    let found = cache.try_with(|recent| recent.borrow().iter().find(|e| known(e)).map(&read));
    if let Ok(Some(value)) = found {
        return value;
    }
    let made = make();
    let value = read(&made);
    let _ = cache.try_with(|recent| {
        let mut recent = recent.borrow_mut();
        if recent.len() == slots {
            recent.remove(0);
        }
        recent.push(made);
    });
    value
}
