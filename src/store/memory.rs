//! The in-memory store: one BTreeMap per index tree; cheap to clone for exploring interleavings.

use super::{Key, Record, Store, StoreError, TreeId, Write};
use crate::sql::{Filter, Value};
use std::collections::BTreeMap;
use std::ops::Bound;
use std::sync::Arc;

/// Trees are shared copy-on-write, so starting a permutation from a snapshot copies nothing until
/// a tree is written.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MemStore {
    trees: BTreeMap<TreeId, Arc<BTreeMap<Key, Record>>>,
}

impl MemStore {
    /// Every tree and its records (for loading another store).
    pub fn trees(&self) -> impl Iterator<Item = (TreeId, &BTreeMap<Key, Record>)> {
        self.trees.iter().map(|(t, m)| (*t, m.as_ref()))
    }
}

impl Store for MemStore {
    fn get(&self, tree: TreeId, key: &[Value]) -> Result<Option<Record>, StoreError> {
        Ok(self.trees.get(&tree).and_then(|t| t.get(key)).cloned())
    }

    fn seek(&self, tree: TreeId, from: Bound<&[Value]>) -> Result<Option<(Key, Record)>, StoreError> {
        let Some(t) = self.trees.get(&tree) else {
            return Ok(None);
        };
        Ok(t.range::<[Value], _>((from, Bound::Unbounded)).next().map(|(k, r)| (k.clone(), r.clone())))
    }

    fn apply(&mut self, batch: Vec<Write>) -> Result<(), StoreError> {
        batch.into_iter().try_for_each(|w| self.apply_one(w))
    }

    fn apply_one(&mut self, w: Write) -> Result<(), StoreError> {
        match w {
            Write::Put(tree, key, rec) => {
                Arc::make_mut(self.trees.entry(tree).or_default()).insert(key, rec);
            }
            Write::Remove(tree, key) => {
                if let Some(t) = self.trees.get_mut(&tree) {
                    if t.contains_key(&key) {
                        Arc::make_mut(t).remove(&key);
                    }
                }
            }
        }
        Ok(())
    }

    fn scan(&self, tree: TreeId) -> Result<Vec<(Key, Record)>, StoreError> {
        Ok(self.trees.get(&tree).map(|t| t.iter().map(|(k, r)| (k.clone(), r.clone())).collect()).unwrap_or_default())
    }

    fn scan_where(&self, tree: TreeId, filter: &Filter) -> Result<Vec<(Key, Record)>, StoreError> {
        let tree = self.trees.get(&tree).into_iter().flat_map(|t| t.iter());
        Ok(tree.filter(|(_, r)| r.any_version_matches(filter)).map(|(k, r)| (k.clone(), r.clone())).collect())
    }

    fn visit(&self, tree: TreeId, f: &mut dyn FnMut(&[Value], &Record)) -> Result<(), StoreError> {
        for (k, r) in self.trees.get(&tree).into_iter().flat_map(|t| t.iter()) {
            f(k, r);
        }
        Ok(())
    }

    fn load(&mut self, snapshot: &MemStore) -> Result<(), StoreError> {
        *self = snapshot.clone();
        Ok(())
    }
}
