//! Row storage: index trees of records, behind a trait with an in-memory and a sled implementation.
//!
//! The engine writes every change (committed or not) one atomic batch at a time (one sled
//! transaction each): `apply`, or `apply_one` for a batch of one change, the common case.

mod indexed;
mod keycodec;
mod memory;
mod sled_store;

pub use indexed::IndexedStore;
pub use memory::MemStore;
pub use sled_store::SledStore;

use crate::lock::TxnId;
use crate::sql::{Filter, Value};
use serde::{Deserialize, Serialize};
use std::ops::Bound;
use std::sync::Arc;

/// An index tree: (table id, index position; 0 is the clustered index).
pub type TreeId = (u32, u32);

/// A key in an index tree: the index columns, then (secondary indexes) the clustered key.
pub type Key = Arc<[Value]>;

/// A stored row: shared, since every version, undo record and copied state holds it.
pub type Row = Arc<[Value]>;

/// One version of a record: the transaction that wrote it, the row, and its delete mark.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Version {
    pub trx: TxnId,
    /// The full row (clustered records); empty in secondary index records.
    pub row: Row,
    pub deleted: bool,
    /// PostgreSQL heap tuples: the transaction that deleted or updated this version (0: none).
    #[serde(default)]
    pub xmax: TxnId,
    /// PostgreSQL: deleted by an UPDATE that moved the row to another partition (`heap_delete`
    /// with `changingPart` marks the tuple's ctid so, `ItemPointerSetMovedPartitions`, heapam.c).
    #[serde(default)]
    pub moved: bool,
}

impl Version {
    pub fn new(trx: TxnId, row: impl Into<Row>, deleted: bool) -> Version {
        Version { trx, row: row.into(), deleted, xmax: 0, moved: false }
    }
}

/// An index record: its current version first, then older ones (the undo chain consistent reads
/// walk), newest first. The versions are shared: a read, an undo record or a copied tree holds
/// the record without copying them, and a change makes a new list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Record {
    pub versions: Arc<[Version]>,
}

impl Record {
    pub fn new(trx: TxnId, row: impl Into<Row>) -> Record {
        Record::of(Version::new(trx, row, false))
    }

    /// A record of one version.
    pub fn of(v: Version) -> Record {
        Record { versions: Arc::new([v]) }
    }

    /// The record with `v` as its new current version, the others older.
    pub fn with_newer(&self, v: Version) -> Record {
        Record { versions: std::iter::once(v).chain(self.versions.iter().cloned()).collect() }
    }

    /// The record with only its current version, changed by `f` (a snapshot of committed state).
    pub fn current_only(&self, f: impl FnOnce(&mut Version)) -> Record {
        let mut v = self.current().clone();
        f(&mut v);
        Record::of(v)
    }

    pub fn current(&self) -> &Version {
        &self.versions[0]
    }

    pub fn deleted(&self) -> bool {
        self.versions[0].deleted
    }

    pub fn trx(&self) -> TxnId {
        self.versions[0].trx
    }

    /// Does some version's row match `filter` (what [`Store::scan_where`] selects by)?
    pub fn any_version_matches(&self, filter: &Filter) -> bool {
        self.versions.iter().any(|v| filter.matches(&v.row))
    }
}

/// One change in a batch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Write {
    Put(TreeId, Key, Record),
    Remove(TreeId, Key),
}

impl Write {
    /// The tree and key the change is to.
    pub fn target(&self) -> (TreeId, &Key) {
        let (Write::Put(tree, key, _) | Write::Remove(tree, key)) = self;
        (*tree, key)
    }
}

/// Storage failures (the in-memory store never fails).
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("sled: {0}")]
    Sled(#[from] sled::Error),
    #[error("stored record does not decode: {0}")]
    Decode(String),
    #[error("sled transaction aborted: {0}")]
    Aborted(String),
}

/// What the engine needs from storage.
pub trait Store {
    fn get(&self, tree: TreeId, key: &[Value]) -> Result<Option<Record>, StoreError>;
    /// The first record after `from` in key order.
    fn seek(&self, tree: TreeId, from: Bound<&[Value]>) -> Result<Option<(Key, Record)>, StoreError>;
    /// Apply a batch atomically.
    fn apply(&mut self, batch: Vec<Write>) -> Result<(), StoreError>;
    /// Apply a batch of one change.
    fn apply_one(&mut self, w: Write) -> Result<(), StoreError> {
        self.apply(vec![w])
    }
    /// Every record of a tree, in key order.
    fn scan(&self, tree: TreeId) -> Result<Vec<(Key, Record)>, StoreError>;
    /// The records of a clustered tree (full rows) with some version whose row matches `filter`, in
    /// key order. A caller sees nothing of the other records, so its outcome cannot depend on
    /// them: stores that trace accesses record the predicate instead of a whole-tree read.
    fn scan_where(&self, tree: TreeId, filter: &Filter) -> Result<Vec<(Key, Record)>, StoreError> {
        let mut out = Vec::new();
        self.visit(tree, &mut |k, r| {
            if r.any_version_matches(filter) {
                out.push((k.into(), r.clone()));
            }
        })?;
        Ok(out)
    }
    /// Visit every record of a tree in key order, without copying what is not needed.
    fn visit(&self, tree: TreeId, f: &mut dyn FnMut(&[Value], &Record)) -> Result<(), StoreError> {
        for (k, r) in self.scan(tree)? {
            f(&k, &r);
        }
        Ok(())
    }
    /// Replace the whole contents with `snapshot` (the state after a spec's setup).
    fn load(&mut self, snapshot: &MemStore) -> Result<(), StoreError>;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn exercise(store: &mut dyn Store) {
        let t = (0, 0);
        let k = |i: i64| -> Key { Arc::new([Value::Int(i)]) };
        store
            .apply(vec![
                Write::Put(t, k(2), Record::new(1, vec![Value::Int(2)])),
                Write::Put(t, k(-5), Record::new(1, vec![Value::Int(-5)])),
                Write::Put(t, k(10), Record::new(1, vec![Value::Int(10)])),
                Write::Put((0, 1), Arc::new([Value::Str("b".into()), Value::Int(2)]), Record::new(1, Row::default())),
            ])
            .unwrap();
        assert_eq!(store.get(t, &k(2)).unwrap().unwrap().current().row, k(2));
        assert_eq!(store.seek(t, Bound::Unbounded).unwrap().unwrap().0, k(-5));
        assert_eq!(store.seek(t, Bound::Excluded(&k(-5))).unwrap().unwrap().0, k(2));
        assert_eq!(store.seek(t, Bound::Included(&k(3))).unwrap().unwrap().0, k(10));
        assert!(store.seek(t, Bound::Excluded(&k(10))).unwrap().is_none());
        store.apply(vec![Write::Remove(t, k(2))]).unwrap();
        assert_eq!(store.scan(t).unwrap().iter().map(|(k, _)| k.clone()).collect::<Vec<_>>(), vec![k(-5), k(10)]);
        assert_eq!(store.scan((0, 1)).unwrap().len(), 1);
        let mut snap = MemStore::default();
        snap.apply(vec![Write::Put(t, k(7), Record::new(3, Row::default()))]).unwrap();
        store.load(&snap).unwrap();
        assert_eq!(store.scan(t).unwrap().len(), 1);
        assert!(store.scan((0, 1)).unwrap().is_empty());
    }

    #[test]
    fn memory_store_behaves() {
        exercise(&mut MemStore::default());
    }

    #[test]
    fn indexed_store_behaves() {
        exercise(&mut IndexedStore::default());
    }

    #[test]
    fn sled_store_behaves() {
        exercise(&mut SledStore::temporary().unwrap());
    }
}
