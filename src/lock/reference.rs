//! A deliberately naive lock table (one flat list of entries) to check `LockTable` against: the
//! proptests in `tests.rs` and the fuzz target `lock_table` (fuzz/) compare the two.

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

    /// Does `txn` hold a granted lock on `res` covering `mode`?
    pub fn holds(&self, txn: TxnId, res: u8, mode: M) -> bool {
        self.entries.iter().any(|e| e.0 == res && e.1 == txn && e.3 && e.2.covers(mode))
    }

    /// The sorted, deduplicated other transactions whose entries on `res` a request for `mode`
    /// must wait for: every conflicting one, or only the granted ones if `mode` does not wait
    /// behind waiters.
    fn blockers(&self, txn: TxnId, res: u8, mode: M) -> Vec<TxnId> {
        let mut behind: Vec<TxnId> = self
            .entries
            .iter()
            .filter(|e| e.0 == res && e.1 != txn && (e.3 || mode.waits_behind_waiters()) && mode.must_wait_for(e.2))
            .map(|e| e.1)
            .collect();
        behind.sort();
        behind.dedup();
        behind
    }

    /// Returns `None` when granted, or the sorted, deduplicated blockers.
    pub fn request(&mut self, txn: TxnId, res: u8, mode: M) -> Option<Vec<TxnId>> {
        if self.holds(txn, res, mode) {
            return None;
        }
        let behind = self.blockers(txn, res, mode);
        let granted = behind.is_empty();
        self.entries.push((res, txn, mode, granted));
        if granted {
            None
        } else {
            Some(behind)
        }
    }

    /// Take `mode` on `res` unless a granted lock of another transaction conflicts (then the
    /// first such transaction in request order); never queues.
    pub fn try_acquire(&mut self, txn: TxnId, res: u8, mode: M) -> Result<(), TxnId> {
        let first = self.entries.iter().find(|e| e.0 == res && e.1 != txn && e.3 && mode.must_wait_for(e.2));
        if let Some(e) = first {
            return Err(e.1);
        }
        if !self.holds(txn, res, mode) {
            self.entries.push((res, txn, mode, true));
        }
        Ok(())
    }

    /// Returns the sorted list of (txn, resource) granted by the release.
    pub fn release(&mut self, txn: TxnId) -> Vec<(TxnId, u8)> {
        self.entries.retain(|e| e.1 != txn);
        self.regrant()
    }

    /// Withdraw `txn`'s waiting request; returns the sorted (txn, resource) granted now.
    pub fn cancel_wait(&mut self, txn: TxnId) -> Vec<(TxnId, u8)> {
        self.entries.retain(|e| e.1 != txn || e.3);
        self.regrant()
    }

    /// Release `txn`'s first granted lock on `res` with exactly `mode`; returns the sorted
    /// (txn, resource) granted now.
    pub fn release_one(&mut self, txn: TxnId, res: u8, mode: M) -> Vec<(TxnId, u8)> {
        if let Some(i) = self.entries.iter().position(|e| e.0 == res && e.1 == txn && e.3 && e.2 == mode) {
            self.entries.remove(i);
        }
        self.regrant()
    }

    /// Grant, in request order, every waiting entry nothing ahead of it on its resource blocks.
    fn regrant(&mut self) -> Vec<(TxnId, u8)> {
        let mut granted = Vec::new();
        for i in 0..self.entries.len() {
            let (res, t, mode, g) = self.entries[i];
            if g {
                continue;
            }
            let blocked = self.entries[..i]
                .iter()
                .any(|e| e.0 == res && e.1 != t && (e.3 || mode.waits_behind_waiters()) && mode.must_wait_for(e.2));
            if !blocked {
                self.entries[i].3 = true;
                granted.push((t, res));
            }
        }
        granted.sort();
        granted
    }
}
