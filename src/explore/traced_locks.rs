//! The lock table behind a log of every (resource, mode) a step requested, checked, was granted
//! or released, for the explorer's independence check; and the traced parts engines run on.

use super::traced_store::Traced;
use crate::engine::Parts;
use crate::lock::{Entry, Grant, LockMode, LockTable, Locks, Request, Resource, TxnId};
use crate::sql::Value;
use crate::store::TreeId;
use std::cell::RefCell;

/// The explorer's parts: the traced store and traced lock tables.
pub struct Tracing;

impl Parts for Tracing {
    type Store = Traced;
    type Locks<R: Resource + Send, M: LockMode + Send> = TracedLocks<R, M>;

    fn committed(store: &Traced, tree: TreeId, key: &[Value]) {
        store.committed(tree, key);
    }
}

/// A [`LockTable`] and, while tracing, what each call touched.
#[derive(Debug, Clone)]
pub struct TracedLocks<R: Resource, M: LockMode> {
    inner: LockTable<R, M>,
    log: RefCell<Option<Vec<(R, M)>>>,
}

impl<R: Resource, M: LockMode> Default for TracedLocks<R, M> {
    fn default() -> Self {
        TracedLocks { inner: LockTable::default(), log: RefCell::new(None) }
    }
}

impl<R: Resource + Send, M: LockMode + Send> TracedLocks<R, M> {
    /// Start recording the resources and modes every operation touches.
    pub fn start_trace(&mut self) {
        *self.log.get_mut() = Some(Vec::new());
    }

    /// Stop recording; returns what was touched since [`TracedLocks::start_trace`].
    pub fn take_trace(&mut self) -> Vec<(R, M)> {
        self.log.get_mut().take().unwrap_or_default()
    }

    fn note(&self, res: &R, mode: M) {
        if let Some(log) = self.log.borrow_mut().as_mut() {
            log.push((res.clone(), mode));
        }
    }

    /// Note every entry of `txn` on `res` (what a release gives back).
    fn note_entries_of(&self, txn: TxnId, res: &R) {
        if let Some(log) = self.log.borrow_mut().as_mut() {
            log.extend(self.inner.queue(res).iter().filter(|e| e.txn == txn).map(|e| (res.clone(), e.mode)));
        }
    }
}

impl<R: Resource + Send, M: LockMode + Send> Locks<R, M> for TracedLocks<R, M> {
    fn request(&mut self, txn: TxnId, res: &R, mode: M, tag: u32) -> Request {
        self.note(res, mode);
        self.inner.request(txn, res, mode, tag)
    }

    /// Only a lock had is noted: a request that must wait blocks its step, whose footprint the
    /// reduction never uses.
    fn try_acquire(&mut self, txn: TxnId, res: &R, mode: M, tag: u32) -> Result<(), TxnId> {
        let r = self.inner.try_acquire(txn, res, mode, tag);
        if r.is_ok() {
            self.note(res, mode);
        }
        r
    }

    fn add_granted(&mut self, txn: TxnId, res: &R, mode: M, tag: u32) {
        self.note(res, mode);
        self.inner.add_granted(txn, res, mode, tag)
    }

    fn release_all(&mut self, txn: TxnId) -> Vec<Grant<R>> {
        if self.log.get_mut().is_some() {
            // Newest first, as the table releases them.
            let resources: Vec<R> = {
                let mut rs: Vec<R> = Vec::new();
                for (r, _) in self.inner.locks_of(txn) {
                    if !rs.contains(r) {
                        rs.push(r.clone());
                    }
                }
                rs
            };
            for r in resources.iter().rev() {
                self.note_entries_of(txn, r);
            }
        }
        self.inner.release_all(txn)
    }

    fn cancel_wait(&mut self, txn: TxnId) -> Vec<Grant<R>> {
        self.inner.cancel_wait(txn)
    }

    fn move_queue(&mut self, from: &R, to: &R, convert: &mut dyn FnMut(&Entry<M>) -> Option<M>) -> Vec<Grant<R>> {
        if let Some(log) = self.log.get_mut().as_mut() {
            log.extend(self.inner.queue(from).iter().map(|e| (from.clone(), e.mode)));
        }
        let mut noted = |e: &Entry<M>| {
            let m = convert(e);
            if let (Some(m), Some(log)) = (m, self.log.get_mut().as_mut()) {
                log.push((to.clone(), m));
            }
            m
        };
        self.inner.move_queue(from, to, &mut noted)
    }

    fn release_one(&mut self, txn: TxnId, res: &R, mode: M) -> Vec<Grant<R>> {
        self.note(res, mode);
        self.inner.release_one(txn, res, mode)
    }

    fn transfer(&mut self, res: &R, from: TxnId, to: TxnId, mode: M) {
        self.note(res, mode);
        self.inner.transfer(res, from, to, mode)
    }

    fn reorder_waiters(&mut self, res: &R, order: &[TxnId]) -> Vec<Grant<R>> {
        if let Some(log) = self.log.get_mut().as_mut() {
            log.extend(self.inner.queue(res).iter().map(|e| (res.clone(), e.mode)));
        }
        self.inner.reorder_waiters(res, order)
    }

    fn conflicting(&self, txn: TxnId, res: &R, mode: M) -> Vec<TxnId> {
        self.note(res, mode);
        self.inner.conflicting(txn, res, mode)
    }

    fn waiting_for(&self, txn: TxnId) -> Option<(&R, &Entry<M>)> {
        self.inner.waiting_for(txn)
    }

    fn blockers(&self, txn: TxnId) -> impl Iterator<Item = &Entry<M>> + '_ {
        self.inner.blockers(txn)
    }

    fn holders_blocking(&self, txn: TxnId, res: &R, mode: M) -> impl Iterator<Item = &Entry<M>> + '_ {
        self.inner.holders_blocking(txn, res, mode)
    }

    fn queue(&self, res: &R) -> &[Entry<M>] {
        self.inner.queue(res)
    }

    fn holds(&self, txn: TxnId, res: &R, mode: M) -> bool {
        self.inner.holds(txn, res, mode)
    }

    fn locks_of(&self, txn: TxnId) -> impl Iterator<Item = (&R, &Entry<M>)> + '_ {
        self.inner.locks_of(txn)
    }

    fn waiters(&self) -> impl Iterator<Item = TxnId> + '_ {
        self.inner.waiters()
    }

    fn drop_empty_queues(&mut self) {
        self.inner.drop_empty_queues()
    }

    fn granted_conflict(&self) -> Option<String> {
        self.inner.granted_conflict()
    }

    fn find_cycle_from(&self, start: TxnId) -> Option<Vec<TxnId>> {
        self.inner.find_cycle_from(start)
    }

    fn first_blockers(&self, on: &dyn Fn(&R) -> bool) -> Vec<(TxnId, Option<TxnId>)> {
        self.inner.first_blockers(on)
    }
}
