//! The sled 0.34 store: one sled tree per index, records serialised with serde (bincode), every
//! batch applied as one sled transaction over the trees it touches.

use super::keycodec::encode;
use super::{Key, MemStore, Record, Store, StoreError, TreeId, Write};
use crate::sql::Value;
use sled::transaction::{ConflictableTransactionError, TransactionError};
use sled::Transactional;
use std::collections::BTreeMap;
use std::ops::Bound;

pub struct SledStore {
    db: sled::Db,
    trees: BTreeMap<TreeId, sled::Tree>,
}

/// Stored value: the key (so scans need not decode keys) and the record.
type Stored = (Key, Record);

fn decode(bytes: &[u8]) -> Result<Stored, StoreError> {
    bincode::deserialize(bytes).map_err(|e| StoreError::Decode(e.to_string()))
}

impl SledStore {
    /// A store in a temporary sled database, removed when dropped.
    pub fn temporary() -> Result<SledStore, StoreError> {
        let db = sled::Config::new().temporary(true).open()?;
        Ok(SledStore { db, trees: BTreeMap::new() })
    }

    /// A store in a sled database under `dir`, its files removed when dropped.
    pub fn temporary_in(dir: &std::path::Path) -> Result<SledStore, StoreError> {
        let db = sled::Config::new().path(dir.join("sled")).temporary(true).open()?;
        Ok(SledStore { db, trees: BTreeMap::new() })
    }

    fn tree(&mut self, id: TreeId) -> Result<sled::Tree, StoreError> {
        if let Some(t) = self.trees.get(&id) {
            return Ok(t.clone());
        }
        let t = self.db.open_tree(format!("t{}_i{}", id.0, id.1))?;
        self.trees.insert(id, t.clone());
        Ok(t)
    }

    fn existing(&self, id: TreeId) -> Option<&sled::Tree> {
        self.trees.get(&id)
    }
}

impl Store for SledStore {
    fn get(&self, tree: TreeId, key: &[Value]) -> Result<Option<Record>, StoreError> {
        let Some(t) = self.existing(tree) else {
            return Ok(None);
        };
        t.get(encode(key))?.map(|b| decode(&b).map(|(_, r)| r)).transpose()
    }

    fn seek(&self, tree: TreeId, from: Bound<&[Value]>) -> Result<Option<(Key, Record)>, StoreError> {
        let Some(t) = self.existing(tree) else {
            return Ok(None);
        };
        let found = match from {
            Bound::Unbounded => t.iter().next().transpose()?,
            Bound::Included(k) => t.range(encode(k)..).next().transpose()?,
            Bound::Excluded(k) => t.get_gt(encode(k))?,
        };
        found.map(|(_, v)| decode(&v)).transpose()
    }

    fn apply(&mut self, batch: Vec<Write>) -> Result<(), StoreError> {
        if batch.is_empty() {
            return Ok(());
        }
        let mut ids: Vec<TreeId> = batch
            .iter()
            .map(|w| match w {
                Write::Put(t, ..) | Write::Remove(t, _) => *t,
            })
            .collect();
        ids.sort();
        ids.dedup();
        let trees = ids.iter().map(|&id| self.tree(id)).collect::<Result<Vec<_>, _>>()?;
        let mut encoded = Vec::with_capacity(batch.len());
        for w in &batch {
            match w {
                Write::Put(t, k, r) => {
                    let bytes = bincode::serialize(&(k, r)).map_err(|e| StoreError::Decode(e.to_string()))?;
                    encoded.push((ids.binary_search(t).unwrap_or(0), encode(k), Some(bytes)));
                }
                Write::Remove(t, k) => encoded.push((ids.binary_search(t).unwrap_or(0), encode(k), None)),
            }
        }
        trees
            .as_slice()
            .transaction(|views| {
                for (i, k, v) in &encoded {
                    match v {
                        Some(bytes) => views[*i].insert(&k[..], &bytes[..])?,
                        None => views[*i].remove(&k[..])?,
                    };
                }
                Ok::<(), ConflictableTransactionError<()>>(())
            })
            .map_err(|e: TransactionError<()>| StoreError::Aborted(format!("{e:?}")))
    }

    fn scan(&self, tree: TreeId) -> Result<Vec<(Key, Record)>, StoreError> {
        let Some(t) = self.existing(tree) else {
            return Ok(Vec::new());
        };
        t.iter().map(|kv| decode(&kv?.1)).collect()
    }

    fn load(&mut self, snapshot: &MemStore) -> Result<(), StoreError> {
        for t in self.trees.values() {
            t.clear()?;
        }
        let batch: Vec<Write> = snapshot
            .trees()
            .flat_map(|(id, m)| m.iter().map(move |(k, r)| Write::Put(id, k.clone(), r.clone())))
            .collect();
        self.apply(batch)
    }
}
