//! A deliberately naive lock table (one flat list of entries) to check `LockTable` against.

use super::{LockMode, TxnId};

#[derive(Debug, Clone)]
pub struct NaiveLocks<M> {
    /// (resource, txn, mode, granted) in the order requested.
    pub entries: Vec<(u8, TxnId, M, bool)>,
}

impl<M> Default for NaiveLocks<M> {
    fn default() -> Self {
        NaiveLocks { entries: Vec::new() }
    }
}

impl<M: LockMode> NaiveLocks<M> {
    pub fn is_waiting(&self, txn: TxnId) -> bool {
        self.entries.iter().any(|e| e.1 == txn && !e.3)
    }

    /// Returns `None` when granted, or the sorted, deduplicated blockers.
    pub fn request(&mut self, txn: TxnId, res: u8, mode: M) -> Option<Vec<TxnId>> {
        if self.entries.iter().any(|e| e.0 == res && e.1 == txn && e.3 && e.2.covers(mode)) {
            return None;
        }
        let mut behind: Vec<TxnId> =
            self.entries.iter().filter(|e| e.0 == res && e.1 != txn && mode.must_wait_for(e.2)).map(|e| e.1).collect();
        behind.sort();
        behind.dedup();
        let granted = behind.is_empty();
        self.entries.push((res, txn, mode, granted));
        if granted {
            None
        } else {
            Some(behind)
        }
    }

    /// Returns the sorted list of (txn, resource) granted by the release.
    pub fn release(&mut self, txn: TxnId) -> Vec<(TxnId, u8)> {
        self.entries.retain(|e| e.1 != txn);
        let mut granted = Vec::new();
        for i in 0..self.entries.len() {
            let (res, t, mode, g) = self.entries[i];
            if g {
                continue;
            }
            let blocked = self.entries[..i].iter().any(|e| e.0 == res && e.1 != t && mode.must_wait_for(e.2));
            if !blocked {
                self.entries[i].3 = true;
                granted.push((t, res));
            }
        }
        granted.sort();
        granted
    }
}
