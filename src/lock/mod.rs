//! The lock table: a pure state machine of lock queues, with modes and conflicts supplied by an engine.
//!
//! No threads, no clock, no I/O: `request` answers granted or waiting (and behind whom), `release_all`
//! answers which waiting requests are granted now. Every driver (the step runner, the explorer, the
//! property tests) shares this one core.

mod graph;
#[cfg(test)]
mod reference;

pub use graph::{find_cycle, WaitForGraph};

use litemap::LiteMap;
use std::collections::BTreeMap;
use std::fmt::Debug;

/// A transaction's identity in the lock table.
pub type TxnId = u32;

/// The rules of one engine's lock modes.
///
/// `must_wait` is asymmetric on purpose: InnoDB's gap rules (a gap lock never waits, an
/// insert-intention lock waits for gap locks but not the other way round) depend on which side asks.
pub trait LockMode: Copy + Eq + Debug {
    /// Must a request for `self` wait for `other`, a lock that another transaction holds or is
    /// already waiting for on the same resource?
    fn must_wait_for(self, other: Self) -> bool;
    /// Does a granted lock `self` of a transaction already give it what a new request `req` asks for?
    fn covers(self, req: Self) -> bool;
}

/// One lock or lock request in a resource's queue.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Entry<M> {
    pub txn: TxnId,
    pub mode: M,
    pub granted: bool,
    /// An opaque tag the engine uses to remember why the lock was taken (provenance for reports).
    pub tag: u32,
}

/// The answer to a lock request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Request {
    /// Granted now (or already covered by a lock the transaction holds).
    Granted,
    /// Queued; the transaction waits behind these transactions' conflicting locks (queue order).
    Waiting { behind: Vec<TxnId> },
}

/// A waiting request that became granted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Grant<R> {
    pub txn: TxnId,
    pub resource: R,
}

/// Lock queues per resource, FIFO: a new request waits behind any conflicting lock of another
/// transaction, granted or still waiting (CockroachDB's and InnoDB's `lock_rec_other_has_conflicting`
/// rule), and a waiting request is granted once nothing ahead of it conflicts
/// (InnoDB's `lock_rec_has_to_wait_in_queue`, lock0lock.cc).
#[derive(Debug, Clone)]
pub struct LockTable<R: Ord + Clone, M: LockMode> {
    /// A queue emptied by a release or a cancelled wait stays, empty: the resource is often asked
    /// for again. (A record's queue moved to a gap by `move_queue` goes: the record is gone.)
    queues: BTreeMap<R, Vec<Entry<M>>>,
    /// Resources on which each transaction has an entry, in the order it first touched them.
    touched: LiteMap<TxnId, Vec<R>>,
    /// The one request each transaction waits for, if any.
    waiting: LiteMap<TxnId, R>,
    /// While tracing: every (resource, mode) requested, checked, granted or released, in order.
    /// The explorer compares two steps' traces to tell whether they commute.
    trace: Option<Vec<(R, M)>>,
}

impl<R: Ord + Clone, M: LockMode> Default for LockTable<R, M> {
    fn default() -> Self {
        LockTable { queues: BTreeMap::new(), touched: LiteMap::new(), waiting: LiteMap::new(), trace: None }
    }
}

impl<R: Ord + Clone + Debug, M: LockMode> LockTable<R, M> {
    pub fn new() -> Self {
        Self::default()
    }

    /// Start recording the resources and modes every operation touches.
    pub fn start_trace(&mut self) {
        self.trace = Some(Vec::new());
    }

    /// Stop recording; returns what was touched since [`LockTable::start_trace`].
    pub fn take_trace(&mut self) -> Vec<(R, M)> {
        self.trace.take().unwrap_or_default()
    }

    fn note(&mut self, res: &R, mode: M) {
        if let Some(t) = &mut self.trace {
            t.push((res.clone(), mode));
        }
    }

    /// Ask for `mode` on `res` for `txn`. A transaction that is already waiting may not ask again.
    pub fn request(&mut self, txn: TxnId, res: &R, mode: M, tag: u32) -> Request {
        self.note(res, mode);
        debug_assert!(!self.waiting.contains_key(&txn), "txn {txn} requests while waiting");
        let queue = self.queues.entry(res.clone()).or_default();
        if queue.iter().any(|e| e.txn == txn && e.granted && e.mode.covers(mode)) {
            return Request::Granted;
        }
        let behind = conflicts(queue, txn, mode);
        let granted = behind.is_empty();
        let first_here = !queue.iter().any(|e| e.txn == txn);
        queue.push(Entry { txn, mode, granted, tag });
        if first_here {
            self.touched.entry(txn).or_default().push(res.clone());
        }
        if granted {
            Request::Granted
        } else {
            self.waiting.insert(txn, res.clone());
            Request::Waiting { behind }
        }
    }

    /// Add a granted lock without any conflict check (InnoDB's `lock_rec_add_to_queue`, used when an
    /// implicit lock is made explicit or locks are inherited by a neighbouring gap).
    pub fn add_granted(&mut self, txn: TxnId, res: &R, mode: M, tag: u32) {
        self.note(res, mode);
        let queue = self.queues.entry(res.clone()).or_default();
        if queue.iter().any(|e| e.txn == txn && e.granted && e.mode.covers(mode)) {
            return;
        }
        if !queue.iter().any(|e| e.txn == txn) {
            self.touched.entry(txn).or_default().push(res.clone());
        }
        queue.push(Entry { txn, mode, granted: true, tag });
    }

    /// Release every lock and request of `txn` (commit or rollback); returns what is granted now.
    /// Resources are released newest first, as InnoDB's `lock_release` walks `trx_locks` backwards.
    pub fn release_all(&mut self, txn: TxnId) -> Vec<Grant<R>> {
        self.waiting.remove(&txn);
        let resources = self.touched.remove(&txn).unwrap_or_default();
        let mut grants = Vec::new();
        for res in resources.iter().rev() {
            let Some(queue) = self.queues.get_mut(res) else {
                continue;
            };
            if let Some(t) = &mut self.trace {
                t.extend(queue.iter().filter(|e| e.txn == txn).map(|e| (res.clone(), e.mode)));
            }
            queue.retain(|e| e.txn != txn);
            grant_waiters(res, queue, &mut self.waiting, &mut grants);
        }
        grants
    }

    /// Withdraw the request `txn` waits for (deadlock victim, timeout); returns what is granted now.
    pub fn cancel_wait(&mut self, txn: TxnId) -> Vec<Grant<R>> {
        let mut grants = Vec::new();
        if let Some(res) = self.waiting.remove(&txn) {
            if let Some(queue) = self.queues.get_mut(&res) {
                queue.retain(|e| e.txn != txn || e.granted);
                if !queue.iter().any(|e| e.txn == txn) {
                    if let Some(list) = self.touched.get_mut(&txn) {
                        list.retain(|r| r != &res);
                    }
                }
            }
            self.regrant(&res, &mut grants);
        }
        grants
    }

    /// Move every entry on `from` to `to` as the engine's `convert` says (or drop it with `None`),
    /// then remove `from`'s queue. Used when a record disappears and its locks pass to a gap.
    pub fn move_queue(&mut self, from: &R, to: &R, mut convert: impl FnMut(&Entry<M>) -> Option<M>) -> Vec<Grant<R>> {
        let mut grants = Vec::new();
        let Some(old) = self.queues.remove(from) else {
            return grants;
        };
        if let Some(t) = &mut self.trace {
            t.extend(old.iter().map(|e| (from.clone(), e.mode)));
        }
        for e in &old {
            if !e.granted {
                // A waiter on a vanished record stops waiting; the engine retries its operation.
                self.waiting.remove(&e.txn);
                grants.push(Grant { txn: e.txn, resource: from.clone() });
            }
        }
        for e in &old {
            if let Some(list) = self.touched.get_mut(&e.txn) {
                list.retain(|r| r != from);
            }
        }
        for e in old.iter().filter(|e| e.granted) {
            if let Some(mode) = convert(e) {
                self.add_granted(e.txn, to, mode, e.tag);
            }
        }
        grants
    }

    /// Release one granted lock of `txn` on `res` with exactly `mode` (InnoDB's `lock_rec_unlock`
    /// of a non-matching row under READ COMMITTED); returns what is granted now.
    pub fn release_one(&mut self, txn: TxnId, res: &R, mode: M) -> Vec<Grant<R>> {
        self.note(res, mode);
        let mut grants = Vec::new();
        if let Some(queue) = self.queues.get_mut(res) {
            if let Some(i) = queue.iter().position(|e| e.txn == txn && e.granted && e.mode == mode) {
                queue.remove(i);
            }
            if !queue.iter().any(|e| e.txn == txn) {
                if let Some(list) = self.touched.get_mut(&txn) {
                    list.retain(|r| r != res);
                }
            }
        }
        self.regrant(res, &mut grants);
        grants
    }

    /// Other transactions' locks (granted or waiting) that a request would have to wait for.
    pub fn conflicting(&mut self, txn: TxnId, res: &R, mode: M) -> Vec<TxnId> {
        self.note(res, mode);
        conflicts(self.queue(res), txn, mode)
    }

    fn regrant(&mut self, res: &R, grants: &mut Vec<Grant<R>>) {
        let Some(queue) = self.queues.get_mut(res) else {
            return;
        };
        grant_waiters(res, queue, &mut self.waiting, grants);
    }

    /// The resource and entry `txn` waits for, if it waits.
    pub fn waiting_for(&self, txn: TxnId) -> Option<(&R, &Entry<M>)> {
        let res = self.waiting.get(&txn)?;
        let entry = self.queues.get(res)?.iter().find(|e| e.txn == txn && !e.granted)?;
        Some((res, entry))
    }

    /// The entries that block `txn`'s waiting request: conflicting locks of other transactions ahead
    /// of it in the queue, in queue order.
    pub fn blockers(&self, txn: TxnId) -> impl Iterator<Item = &Entry<M>> + '_ {
        let queue = self.waiting.get(&txn).map_or(&[][..], |res| self.queue(res));
        let pos = queue.iter().position(|e| e.txn == txn && !e.granted);
        pos.into_iter().flat_map(move |p| blocking(&queue[..p], txn, queue[p].mode))
    }

    /// All entries on a resource, in queue order.
    pub fn queue(&self, res: &R) -> &[Entry<M>] {
        self.queues.get(res).map(Vec::as_slice).unwrap_or(&[])
    }

    /// Does `txn` hold a granted lock on `res` covering `mode`?
    pub fn holds(&self, txn: TxnId, res: &R, mode: M) -> bool {
        self.queue(res).iter().any(|e| e.txn == txn && e.granted && e.mode.covers(mode))
    }

    /// Every (resource, entry) of `txn`, in the order the resources were first touched.
    pub fn locks_of(&self, txn: TxnId) -> impl Iterator<Item = (&R, &Entry<M>)> + '_ {
        self.touched
            .get(&txn)
            .into_iter()
            .flatten()
            .flat_map(move |r| self.queue(r).iter().filter(move |e| e.txn == txn).map(move |e| (r, e)))
    }

    /// Transactions waiting now, in id order.
    pub fn waiters(&self) -> impl Iterator<Item = TxnId> + '_ {
        self.waiting.keys().copied()
    }

    /// The wait-for graph: each waiting transaction and the transactions it waits behind.
    pub fn wait_for_graph(&self) -> WaitForGraph {
        self.waiters()
            .map(|t| {
                let mut b: Vec<TxnId> = self.blockers(t).map(|e| e.txn).collect();
                b.dedup();
                (t, b)
            })
            .collect()
    }

    /// Is the table empty (no locks, no waits)?
    pub fn is_empty(&self) -> bool {
        self.queues.values().all(Vec::is_empty)
    }
}

/// Grant every waiting request in `queue` that nothing ahead of it conflicts with.
fn grant_waiters<R: Clone + Ord, M: LockMode>(
    res: &R,
    queue: &mut [Entry<M>],
    waiting: &mut LiteMap<TxnId, R>,
    grants: &mut Vec<Grant<R>>,
) {
    for i in 0..queue.len() {
        if queue[i].granted {
            continue;
        }
        let (ahead, rest) = queue.split_at_mut(i);
        let me = &mut rest[0];
        if blocking(ahead, me.txn, me.mode).next().is_none() {
            me.granted = true;
            waiting.remove(&me.txn);
            grants.push(Grant { txn: me.txn, resource: res.clone() });
        }
    }
}

/// Other transactions' entries in `queue` that a request of `txn` for `mode` must wait for.
fn blocking<M: LockMode>(queue: &[Entry<M>], txn: TxnId, mode: M) -> impl Iterator<Item = &Entry<M>> {
    queue.iter().filter(move |e| e.txn != txn && mode.must_wait_for(e.mode))
}

/// The transactions of [`blocking`]'s entries, each once, in queue order.
fn conflicts<M: LockMode>(queue: &[Entry<M>], txn: TxnId, mode: M) -> Vec<TxnId> {
    let mut out: Vec<TxnId> = Vec::new();
    for e in blocking(queue, txn, mode) {
        if !out.contains(&e.txn) {
            out.push(e.txn);
        }
    }
    out
}

#[cfg(test)]
mod tests;
