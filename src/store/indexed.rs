//! The in-memory store with a hash index on every column's value, for long runs whose tables grow
//! (the load simulator): [`Store::scan_where`] reads only the records an equality in the filter
//! names, instead of the whole tree. Same answers as [`MemStore`], in the same order. A tree is
//! indexed from the first time it is searched this way (PostgreSQL's heap is; InnoDB's trees,
//! searched by key, never are, so their writes cost no index upkeep).

use super::{Key, MemStore, Record, Store, StoreError, TreeId, Write};
use crate::sql::plan::{CmpOp, Cond};
use crate::sql::{Filter, Value};
use std::cell::RefCell;
use std::collections::{BTreeSet, HashMap};
use std::ops::Bound;

/// A [`MemStore`] and, per tree, the keys of the records in which each (column, value) occurs in
/// some version.
#[derive(Debug, Clone, Default)]
pub struct IndexedStore {
    inner: MemStore,
    /// The indexes of the trees searched so far (built by a search, through a shared reference).
    index: RefCell<HashMap<TreeId, TreeIndex>>,
}

type TreeIndex = HashMap<(usize, Value), BTreeSet<Key>>;

/// The value as equality compares it: booleans equal integers (`Value::sql_cmp`); NULL equals
/// nothing.
fn normal(v: &Value) -> Option<Value> {
    match v {
        Value::Null => None,
        Value::Bool(b) => Some(Value::Int(i64::from(*b))),
        v => Some(v.clone()),
    }
}

fn entries(rec: &Record) -> impl Iterator<Item = (usize, Value)> + '_ {
    rec.versions.iter().flat_map(|v| v.row.iter().enumerate().filter_map(|(c, x)| normal(x).map(|x| (c, x))))
}

impl IndexedStore {
    fn unindex(&mut self, tree: TreeId, key: &Key) {
        let index = self.index.get_mut();
        let Some(ix) = index.get_mut(&tree) else { return };
        let Some(old) = self.inner.get(tree, key).ok().flatten() else { return };
        for e in entries(&old) {
            if let Some(set) = ix.get_mut(&e) {
                set.remove(key);
                if set.is_empty() {
                    ix.remove(&e);
                }
            }
        }
    }

    fn add(&mut self, tree: TreeId, key: &Key, rec: &Record) {
        let Some(ix) = self.index.get_mut().get_mut(&tree) else { return };
        add(ix, key, rec);
    }
}

fn add(ix: &mut TreeIndex, key: &Key, rec: &Record) {
    for e in entries(rec) {
        ix.entry(e).or_default().insert(key.clone());
    }
}

impl Store for IndexedStore {
    fn get(&self, tree: TreeId, key: &[Value]) -> Result<Option<Record>, StoreError> {
        self.inner.get(tree, key)
    }

    fn seek(&self, tree: TreeId, from: Bound<&[Value]>) -> Result<Option<(Key, Record)>, StoreError> {
        self.inner.seek(tree, from)
    }

    fn apply(&mut self, batch: Vec<Write>) -> Result<(), StoreError> {
        batch.into_iter().try_for_each(|w| self.apply_one(w))
    }

    fn apply_one(&mut self, w: Write) -> Result<(), StoreError> {
        match &w {
            Write::Put(tree, key, rec) => {
                self.unindex(*tree, key);
                self.add(*tree, key, rec);
            }
            Write::Remove(tree, key) => self.unindex(*tree, key),
        }
        self.inner.apply_one(w)
    }

    fn scan(&self, tree: TreeId) -> Result<Vec<(Key, Record)>, StoreError> {
        self.inner.scan(tree)
    }

    fn scan_where(&self, tree: TreeId, filter: &Filter) -> Result<Vec<(Key, Record)>, StoreError> {
        let mut index = self.index.borrow_mut();
        if let std::collections::hash_map::Entry::Vacant(slot) = index.entry(tree) {
            let mut ix = TreeIndex::new();
            self.inner.visit(tree, &mut |k, r| add(&mut ix, &Key::from(k), r))?;
            slot.insert(ix);
        }
        let ix = index.get(&tree).expect("indexed above");
        // The equalities' record sets (NULL equals nothing: an empty set); the smallest bounds
        // what can match the whole filter.
        let eq_sets = filter.conds.iter().filter_map(|c| match c {
            Cond::Cmp(col, CmpOp::Eq, v) => Some(normal(v).and_then(|v| ix.get(&(*col, v)))),
            _ => None,
        });
        let Some(narrowest) = eq_sets.min_by_key(|set| set.map_or(0, BTreeSet::len)) else {
            return self.inner.scan_where(tree, filter);
        };
        let Some(keys) = narrowest else { return Ok(Vec::new()) };
        let mut out = Vec::new();
        for k in keys {
            if let Some(r) = self.inner.get(tree, k)? {
                if r.any_version_matches(filter) {
                    out.push((k.clone(), r));
                }
            }
        }
        Ok(out)
    }

    fn visit(&self, tree: TreeId, f: &mut dyn FnMut(&[Value], &Record)) -> Result<(), StoreError> {
        self.inner.visit(tree, f)
    }

    fn load(&mut self, snapshot: &MemStore) -> Result<(), StoreError> {
        self.inner.load(snapshot)?;
        self.index.get_mut().clear();
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Row;
    use proptest::prelude::*;
    use std::sync::Arc;

    fn row(a: i64, b: i64, flag: bool) -> Row {
        Arc::from(vec![Value::Int(a), Value::Int(b), Value::Bool(flag)])
    }

    proptest! {
        /// Whatever is written and removed, every equality (and conjunction of them) finds in the
        /// indexed store exactly what a whole-tree scan of the plain store finds.
        #[test]
        fn scan_where_answers_as_the_memory_store_does(
            ops in proptest::collection::vec((0i64..12, 0i64..4, 0i64..4, any::<bool>(), any::<bool>(), any::<bool>()), 1..60),
            q in (0i64..4, 0i64..4, 0usize..4),
        ) {
            let (mut a, mut b) = (MemStore::default(), IndexedStore::default());
            let t = (0, 0);
            for (k, x, y, flag, remove, older) in ops {
                let key: Key = Arc::new([Value::Int(k)]);
                let w = if remove {
                    Write::Remove(t, key)
                } else {
                    let rec = Record::new(1, row(x, y, flag));
                    let rec = if older { rec.with_newer(crate::store::Version::new(2, row(y, x, !flag), false)) } else { rec };
                    Write::Put(t, key, rec)
                };
                a.apply_one(w.clone()).unwrap();
                b.apply_one(w).unwrap();
            }
            let conds = match q.2 {
                0 => vec![Cond::Cmp(0, CmpOp::Eq, Value::Int(q.0))],
                1 => vec![Cond::Cmp(0, CmpOp::Eq, Value::Int(q.0)), Cond::Cmp(1, CmpOp::Eq, Value::Int(q.1))],
                2 => vec![Cond::Cmp(2, CmpOp::Eq, Value::Int(q.0 % 2))],
                _ => vec![Cond::Cmp(1, CmpOp::Gt, Value::Int(q.1))],
            };
            let f = Filter { conds, ..Filter::default() };
            prop_assert_eq!(a.scan_where(t, &f).unwrap(), b.scan_where(t, &f).unwrap());
        }
    }
}
