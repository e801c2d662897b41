//! Memos of the pure text functions of reading SQL (splitting, tokenizing, parsing): a workload's
//! runs bind the same statements again and again, and reading them was most of their time.

use std::cell::RefCell;
use std::collections::HashMap;
use std::hash::Hash;
use std::thread::LocalKey;

/// A thread's memo of one function.
pub(crate) type Memo<K, V> = RefCell<HashMap<K, V>>;

/// Entries a memo keeps before it starts again (each is a statement's text and its result).
const KEEP: usize = 4096;

/// `f(key)`, from `memo` if it was computed before on this thread.
pub(crate) fn memoized<K: Hash + Eq + Clone, V: Clone>(
    memo: &'static LocalKey<Memo<K, V>>,
    key: &K,
    f: impl FnOnce() -> V,
) -> V {
    if let Some(hit) = memo.with(|m| m.borrow().get(key).cloned()) {
        return hit;
    }
    let value = f();
    memo.with(|m| {
        let mut m = m.borrow_mut();
        if m.len() >= KEEP {
            m.clear();
        }
        m.insert(key.clone(), value.clone());
    });
    value
}
