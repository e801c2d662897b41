//! A store that can record which keys, ranges and predicates a step read and which records it
//! wrote, for the explorer's independence check (two steps commute when neither writes what the
//! other touches): the in-memory store behind a log.

use crate::sql::{Filter, Value};
use crate::store::{Key, MemStore, Record, Store, StoreError, TreeId, Write};
use std::cell::RefCell;
use std::ops::Bound;

/// One access to the store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Touch {
    /// A point read of one key.
    Key { tree: TreeId, key: Key },
    /// A seek: every key after `from` up to and including `to` (to the end if `None`).
    Range { tree: TreeId, from: Bound<Key>, to: Option<Key> },
    /// A whole tree read.
    Tree(TreeId),
    /// A predicate read ([`Store::scan_where`]): the reader saw, and depends on, only the records
    /// with a version whose row matches `filter`.
    Pred { tree: TreeId, filter: Filter },
    /// A write of one key, or a commit that changed the visibility of its record (a commit moves
    /// no data: the store only hears of it through [`Traced::committed`]). `records` are the states of
    /// the record the change moved between: before and after a write (either may be absent: an
    /// insert, a removal), the current record for a commit; `None` if the trace did not keep
    /// them ([`Traced::start_trace`]), which conflicts with every predicate read of the tree.
    Write { tree: TreeId, key: Key, records: Option<Vec<Record>> },
}

impl Touch {
    fn tree(&self) -> TreeId {
        match self {
            Touch::Key { tree, .. }
            | Touch::Range { tree, .. }
            | Touch::Tree(tree)
            | Touch::Pred { tree, .. }
            | Touch::Write { tree, .. } => *tree,
        }
    }

    /// Does a change of `key` in `tree` between the states `records` change what this access saw
    /// or did? A predicate read is changed only if some version of the record before or after
    /// matches it: otherwise the record is outside what the reader saw in either state, and the
    /// records it did see keep their keys, so their order, too.
    fn overlaps_write(&self, tree: TreeId, key: &[Value], records: Option<&[Record]>) -> bool {
        if self.tree() != tree {
            return false;
        }
        match self {
            Touch::Key { key: k, .. } | Touch::Write { key: k, .. } => &k[..] == key,
            Touch::Tree(_) => true,
            Touch::Pred { filter, .. } => records.is_none_or(|rs| rs.iter().any(|r| r.any_version_matches(filter))),
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
            Touch::Write { tree, key, records } => r.iter().any(|x| x.overlaps_write(*tree, key, records.as_deref())),
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
    /// Writes log the records they moved between (for predicate reads).
    rows: bool,
}

impl Traced {
    /// Start logging accesses. With `rows`, each write and commit logs the record's states, so
    /// that it commutes with predicate reads none of whose versions match; without, it conflicts
    /// with every predicate read of its tree (cheaper when the engine makes no predicate reads).
    pub fn start_trace(&mut self, rows: bool) {
        *self.log.get_mut() = Some(Vec::new());
        self.rows = rows;
    }

    pub fn take_trace(&mut self) -> Vec<Touch> {
        self.log.get_mut().take().unwrap_or_default()
    }

    /// Log write `w` of a batch, after the batch's `earlier` writes.
    fn log_write(&mut self, earlier: &[Write], w: &Write) -> Result<(), StoreError> {
        let Some(log) = self.log.get_mut() else {
            return Ok(());
        };
        let (tree, key) = w.target();
        let records = if self.rows {
            // The record before: an earlier write of the same key in the batch, or the store's.
            let before = match earlier.iter().rev().find(|e| e.target() == (tree, key)) {
                Some(Write::Put(_, _, r)) => Some(r.clone()),
                Some(Write::Remove(..)) => None,
                None => self.inner.get(tree, key)?,
            };
            let after = match w {
                Write::Put(_, _, r) => Some(r.clone()),
                Write::Remove(..) => None,
            };
            Some(before.into_iter().chain(after).collect())
        } else {
            None
        };
        log.push(Touch::Write { tree, key: key.clone(), records });
        Ok(())
    }

    /// A commit changed the visibility of `key`'s record without writing it: logged as a write.
    pub fn committed(&self, tree: TreeId, key: &[Value]) {
        self.note(|| Touch::Write {
            tree,
            key: key.into(),
            records: self.rows.then(|| self.inner.get(tree, key).ok().flatten().into_iter().collect()),
        });
    }

    fn note(&self, t: impl FnOnce() -> Touch) {
        if let Some(log) = self.log.borrow_mut().as_mut() {
            log.push(t());
        }
    }
}

impl Store for Traced {
    fn get(&self, tree: TreeId, key: &[Value]) -> Result<Option<Record>, StoreError> {
        self.note(|| Touch::Key { tree, key: key.into() });
        self.inner.get(tree, key)
    }

    fn seek(&self, tree: TreeId, from: Bound<&[Value]>) -> Result<Option<(Key, Record)>, StoreError> {
        let found = self.inner.seek(tree, from)?;
        self.note(|| Touch::Range { tree, from: from.map(Key::from), to: found.as_ref().map(|(k, _)| k.clone()) });
        Ok(found)
    }

    fn apply(&mut self, batch: Vec<Write>) -> Result<(), StoreError> {
        for i in 0..batch.len() {
            self.log_write(&batch[..i], &batch[i])?;
        }
        self.inner.apply(batch)
    }

    fn apply_one(&mut self, w: Write) -> Result<(), StoreError> {
        self.log_write(&[], &w)?;
        self.inner.apply_one(w)
    }

    fn scan(&self, tree: TreeId) -> Result<Vec<(Key, Record)>, StoreError> {
        self.note(|| Touch::Tree(tree));
        self.inner.scan(tree)
    }

    fn scan_where(&self, tree: TreeId, filter: &Filter) -> Result<Vec<(Key, Record)>, StoreError> {
        self.note(|| Touch::Pred { tree, filter: filter.clone() });
        self.inner.scan_where(tree, filter)
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
    use crate::sql::plan::CmpOp;
    use crate::sql::Cond;
    use std::sync::Arc;

    fn k(i: i64) -> Key {
        Arc::new([Value::Int(i)])
    }

    fn write(key: i64) -> Touch {
        Touch::Write { tree: (1, 0), key: k(key), records: Some(vec![]) }
    }

    #[test]
    fn a_write_conflicts_with_reads_that_cover_it() {
        let t = (1, 0);
        let w = [write(5)];
        let range =
            |from: i64, to: Option<i64>| Touch::Range { tree: t, from: Bound::Excluded(k(from)), to: to.map(k) };
        assert!(touches_conflict(&w, &[range(1, Some(7))]));
        assert!(touches_conflict(&w, &[range(1, None)]));
        assert!(!touches_conflict(&w, &[range(5, Some(7))]), "the range starts after 5");
        assert!(!touches_conflict(&w, &[range(1, Some(4))]));
        assert!(touches_conflict(&w, &[Touch::Tree(t)]));
        assert!(!touches_conflict(&w, &[Touch::Tree((2, 0))]));
        assert!(touches_conflict(&w, &[Touch::Key { tree: t, key: k(5) }]));
        assert!(touches_conflict(&w, &[write(5)]), "two writes of one key");
        assert!(!touches_conflict(&w, &[write(6)]));
        let r = [Touch::Key { tree: t, key: k(5) }];
        assert!(!touches_conflict(&r, &r), "reads commute");
    }

    /// A predicate read conflicts with a write only if some version of the record before or after
    /// the write matches the predicate.
    #[test]
    fn a_write_conflicts_with_a_predicate_read_only_if_a_row_matches() {
        let t = (1, 0);
        let id_is = |i: i64| Touch::Pred {
            tree: t,
            filter: Filter { conds: vec![Cond::Cmp(0, CmpOp::Eq, Value::Int(i))], ..Filter::default() },
        };
        let row = |id: i64, v: i64| vec![Value::Int(id), Value::Int(v)];
        let rec = |rows: Vec<Vec<Value>>| Record {
            versions: rows.into_iter().map(|r| crate::store::Version::new(1, r, false)).collect(),
        };
        let w = |before: Option<Record>, after: Option<Record>| {
            [Touch::Write { tree: t, key: k(9), records: Some(before.into_iter().chain(after).collect()) }]
        };
        let update = w(Some(rec(vec![row(2, 0)])), Some(rec(vec![row(2, 1)])));
        assert!(touches_conflict(&update, &[id_is(2)]), "the row matches before and after");
        assert!(!touches_conflict(&update, &[id_is(3)]), "no version matches");
        assert!(!touches_conflict(&update, &[Touch::Pred { tree: (2, 0), filter: Filter::default() }]));
        let rekey = w(Some(rec(vec![row(2, 0)])), Some(rec(vec![row(3, 0)])));
        assert!(touches_conflict(&rekey, &[id_is(2)]), "the old row matches");
        assert!(touches_conflict(&rekey, &[id_is(3)]), "the new row matches");
        assert!(touches_conflict(&w(None, Some(rec(vec![row(4, 0)]))), &[id_is(4)]), "an insert of a match");
        assert!(!touches_conflict(&w(None, Some(rec(vec![row(4, 0)]))), &[id_is(5)]));
        assert!(touches_conflict(&w(Some(rec(vec![row(4, 0)])), None), &[id_is(4)]), "a removal of a match");
        let chain = rec(vec![row(6, 1), row(5, 0)]);
        assert!(touches_conflict(&w(Some(chain.clone()), Some(chain)), &[id_is(5)]), "an older version matches");
        assert!(!touches_conflict(&[id_is(2)], &[id_is(2)]), "reads commute");
        assert!(touches_conflict(&update, &[Touch::Pred { tree: t, filter: Filter::default() }]), "no WHERE");
    }

    /// The traced store logs a predicate for `scan_where`, and the rows of each write and commit.
    #[test]
    fn the_trace_carries_predicates_and_written_rows() {
        let t = (1, 0);
        let mut s = Traced::default();
        s.apply(vec![Write::Put(t, k(1), Record::new(1, vec![Value::Int(1)]))]).unwrap();
        s.start_trace(true);
        let only_2 = Filter { conds: vec![Cond::Cmp(0, CmpOp::Eq, Value::Int(2))], ..Filter::default() };
        assert!(s.scan_where(t, &only_2).unwrap().is_empty());
        let read = s.take_trace();
        assert_eq!(read, vec![Touch::Pred { tree: t, filter: only_2.clone() }]);
        s.start_trace(true);
        s.apply(vec![Write::Put(t, k(1), Record::new(2, vec![Value::Int(3)]))]).unwrap();
        let update = s.take_trace();
        assert!(!touches_conflict(&update, &read), "1 became 3: neither is 2");
        s.start_trace(true);
        s.apply(vec![Write::Put(t, k(1), Record::new(2, vec![Value::Int(2)])), Write::Remove(t, k(1))]).unwrap();
        let put_remove = s.take_trace();
        assert!(touches_conflict(&put_remove[1..], &read), "the removal's before is the batch's 2");
        s.apply(vec![Write::Put(t, k(7), Record::new(2, vec![Value::Int(2)]))]).unwrap();
        s.start_trace(true);
        s.committed(t, &k(7));
        let commit = s.take_trace();
        assert!(touches_conflict(&commit, &read), "a commit of a matching record");
        assert_eq!(s.scan_where(t, &only_2).unwrap().len(), 1);
        s.start_trace(false);
        s.apply(vec![Write::Put(t, k(1), Record::new(2, vec![Value::Int(4)]))]).unwrap();
        let unkept = s.take_trace();
        assert!(touches_conflict(&unkept, &read), "rows not kept: every predicate read of the tree");
    }
}
