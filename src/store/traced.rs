//! A store that can record which keys and ranges a step read and wrote, for the explorer's
//! independence check (two steps commute when neither writes what the other touches).

use super::{Key, MemStore, Record, Store, StoreError, TreeId, Write};
use crate::sql::Value;
use std::cell::RefCell;
use std::ops::Bound;

/// One access to the store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Touch {
    /// A point read or a write of one key.
    Key { tree: TreeId, key: Key, write: bool },
    /// A seek: every key after `from` up to and including `to` (to the end if `None`).
    Range { tree: TreeId, from: Bound<Key>, to: Option<Key> },
    /// A whole tree read.
    Tree(TreeId),
}

impl Touch {
    fn tree(&self) -> TreeId {
        match self {
            Touch::Key { tree, .. } | Touch::Range { tree, .. } | Touch::Tree(tree) => *tree,
        }
    }

    /// Does a write of `key` in `tree` change what this access saw or did?
    fn overlaps_write(&self, tree: TreeId, key: &[Value]) -> bool {
        if self.tree() != tree {
            return false;
        }
        match self {
            Touch::Key { key: k, .. } => &k[..] == key,
            Touch::Tree(_) => true,
            Touch::Range { from, to, .. } => {
                let after_from = match from {
                    Bound::Included(f) => key >= &f[..],
                    Bound::Excluded(f) => key > &f[..],
                    Bound::Unbounded => true,
                };
                after_from && to.as_ref().is_none_or(|t| key <= &t[..])
            }
        }
    }
}

/// Do two steps' store accesses conflict (one writes what the other read or wrote)?
pub fn touches_conflict(a: &[Touch], b: &[Touch]) -> bool {
    let writes_into = |w: &[Touch], r: &[Touch]| {
        w.iter().any(|t| match t {
            Touch::Key { tree, key, write: true } => r.iter().any(|x| x.overlaps_write(*tree, key)),
            _ => false,
        })
    };
    writes_into(a, b) || writes_into(b, a)
}

/// The in-memory store with an optional access log.
#[derive(Debug, Clone, Default)]
pub struct Traced {
    inner: MemStore,
    log: RefCell<Option<Vec<Touch>>>,
}

impl Traced {
    pub fn start_trace(&mut self) {
        *self.log.get_mut() = Some(Vec::new());
    }

    pub fn take_trace(&mut self) -> Vec<Touch> {
        self.log.get_mut().take().unwrap_or_default()
    }

    fn note(&self, t: impl FnOnce() -> Touch) {
        if let Some(log) = self.log.borrow_mut().as_mut() {
            log.push(t());
        }
    }
}

impl Store for Traced {
    fn get(&self, tree: TreeId, key: &[Value]) -> Result<Option<Record>, StoreError> {
        self.note(|| Touch::Key { tree, key: key.into(), write: false });
        self.inner.get(tree, key)
    }

    fn seek(&self, tree: TreeId, from: Bound<&[Value]>) -> Result<Option<(Key, Record)>, StoreError> {
        let found = self.inner.seek(tree, from)?;
        self.note(|| Touch::Range { tree, from: from.map(Key::from), to: found.as_ref().map(|(k, _)| k.clone()) });
        Ok(found)
    }

    fn apply(&mut self, batch: Vec<Write>) -> Result<(), StoreError> {
        if let Some(log) = self.log.get_mut() {
            for w in &batch {
                let (Write::Put(tree, key, _) | Write::Remove(tree, key)) = w;
                log.push(Touch::Key { tree: *tree, key: key.clone(), write: true });
            }
        }
        self.inner.apply(batch)
    }

    fn scan(&self, tree: TreeId) -> Result<Vec<(Key, Record)>, StoreError> {
        self.note(|| Touch::Tree(tree));
        self.inner.scan(tree)
    }

    fn touched(&self, tree: TreeId, key: &[Value]) {
        self.note(|| Touch::Key { tree, key: key.into(), write: true });
    }

    fn visit(&self, tree: TreeId, f: &mut dyn FnMut(&[Value], &Record)) -> Result<(), StoreError> {
        self.note(|| Touch::Tree(tree));
        self.inner.visit(tree, f)
    }

    fn load(&mut self, snapshot: &MemStore) -> Result<(), StoreError> {
        self.inner.load(snapshot)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    fn k(i: i64) -> Key {
        Arc::new([Value::Int(i)])
    }

    #[test]
    fn a_write_conflicts_with_reads_that_cover_it() {
        let t = (1, 0);
        let w = [Touch::Key { tree: t, key: k(5), write: true }];
        let range =
            |from: i64, to: Option<i64>| Touch::Range { tree: t, from: Bound::Excluded(k(from)), to: to.map(k) };
        assert!(touches_conflict(&w, &[range(1, Some(7))]));
        assert!(touches_conflict(&w, &[range(1, None)]));
        assert!(!touches_conflict(&w, &[range(5, Some(7))]), "the range starts after 5");
        assert!(!touches_conflict(&w, &[range(1, Some(4))]));
        assert!(touches_conflict(&w, &[Touch::Tree(t)]));
        assert!(!touches_conflict(&w, &[Touch::Tree((2, 0))]));
        assert!(touches_conflict(&w, &[Touch::Key { tree: t, key: k(5), write: false }]));
        assert!(!touches_conflict(&w, &[Touch::Key { tree: t, key: k(6), write: true }]));
        let r = [Touch::Key { tree: t, key: k(5), write: false }];
        assert!(!touches_conflict(&r, &r), "reads commute");
    }
}
