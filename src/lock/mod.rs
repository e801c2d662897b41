//! The lock table: a pure state machine of lock queues, with modes and conflicts supplied by an engine.
//!
//! No threads, no clock, no I/O: `request` answers granted or waiting (and behind whom), `release_all`
//! answers which waiting requests are granted now. Engines call it through the [`Locks`] trait, so
//! a driver that must watch what a step touches (the explorer) wraps it without changing it.

mod graph;
/// Public for the fuzz crate's `lock_table` target; not part of the model.
#[doc(hidden)]
pub mod reference;

pub use graph::{find_cycle, WaitForGraph};

use litemap::LiteMap;
use std::collections::{BTreeMap, HashMap};
use std::fmt::Debug;

/// A transaction's identity in the lock table.
pub type TxnId = u32;

/// The rules of one engine's lock modes.
///
/// `must_wait` is asymmetric on purpose: InnoDB's gap rules (a gap lock never waits, an
/// insert-intention lock waits for gap locks but not the other way round) depend on which side asks.
pub trait LockMode: Copy + Eq + Debug + 'static {
    /// Must a request for `self` wait for `other`, a lock that another transaction holds or is
    /// already waiting for on the same resource?
    fn must_wait_for(self, other: Self) -> bool;
    /// Does a granted lock `self` of a transaction already give it what a new request `req` asks for?
    fn covers(self, req: Self) -> bool;
    /// How a queue is served to a new request of this mode: behind every conflicting entry,
    /// granted or waiting (FIFO, the default: InnoDB's `lock_rec_other_has_conflicting`,
    /// PostgreSQL's heavyweight locks), or only behind conflicting holders (PostgreSQL's row
    /// locks, which a tuple lock queues instead).
    fn waits_behind_waiters(self) -> bool {
        true
    }
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
}

impl<R: Ord + Clone, M: LockMode> Default for LockTable<R, M> {
    fn default() -> Self {
        LockTable { queues: BTreeMap::new(), touched: LiteMap::new(), waiting: LiteMap::new() }
    }
}

/// A lockable resource: ordered (the table keeps queues sorted), cloned into grants and waits.
pub trait Resource: Ord + Clone + Debug + 'static {}
impl<T: Ord + Clone + Debug + 'static> Resource for T {}

/// What an engine asks of a lock table. [`LockTable`] is the pure implementation; a driver that
/// must see what each step touches wraps it (the explorer's `TracedLocks`) behind the same calls.
pub trait Locks<R: Resource, M: LockMode>: Clone + Default + Send {
    /// Ask for `mode` on `res` for `txn`: granted, or queued behind the conflicting entries
    /// (FIFO: `M::waits_behind_waiters` says whether waiting entries count). A transaction that
    /// is already waiting may not ask again.
    fn request(&mut self, txn: TxnId, res: &R, mode: M, tag: u32) -> Request;
    /// Take `mode` on `res` if no holder of another transaction conflicts, without queueing;
    /// otherwise the first such holder (PostgreSQL's row locks: `heap_lock_tuple` checks the
    /// tuple's lockers, and waits elsewhere).
    fn try_acquire(&mut self, txn: TxnId, res: &R, mode: M, tag: u32) -> Result<(), TxnId>;
    /// Add a granted lock without any conflict check (InnoDB's `lock_rec_add_to_queue`).
    fn add_granted(&mut self, txn: TxnId, res: &R, mode: M, tag: u32);
    /// Release every lock and request of `txn`; returns what is granted now.
    fn release_all(&mut self, txn: TxnId) -> Vec<Grant<R>>;
    /// Withdraw the request `txn` waits for; returns what is granted now.
    fn cancel_wait(&mut self, txn: TxnId) -> Vec<Grant<R>>;
    /// Move every entry on `from` to `to` as `convert` says, then drop `from`'s queue.
    fn move_queue(&mut self, from: &R, to: &R, convert: &mut dyn FnMut(&Entry<M>) -> Option<M>) -> Vec<Grant<R>>;
    /// Release one granted lock of `txn` on `res` with exactly `mode`; returns what is granted now.
    fn release_one(&mut self, txn: TxnId, res: &R, mode: M) -> Vec<Grant<R>>;
    /// Put the waiting requests on `res` in the order of `order` (every waiter once), behind the
    /// granted locks, and grant those that can be now (PostgreSQL's deadlock checker rearranging
    /// a wait queue, then `ProcLockWakeup`). Returns what is granted now.
    fn reorder_waiters(&mut self, res: &R, order: &[TxnId]) -> Vec<Grant<R>>;
    /// Hand `from`'s granted `mode` on `res` to `to`, in place in the queue (a lock a statement
    /// waited for that its session, not its transaction, is to hold).
    fn transfer(&mut self, res: &R, from: TxnId, to: TxnId, mode: M);
    /// Other transactions' locks (granted or waiting) that a request would have to wait for.
    fn conflicting(&self, txn: TxnId, res: &R, mode: M) -> Vec<TxnId>;
    /// The resource and entry `txn` waits for, if it waits.
    fn waiting_for(&self, txn: TxnId) -> Option<(&R, &Entry<M>)>;
    /// The entries that block `txn`'s waiting request, in queue order.
    fn blockers(&self, txn: TxnId) -> impl Iterator<Item = &Entry<M>> + '_;
    /// Granted entries of other transactions on `res` that `mode` must wait for.
    fn holders_blocking(&self, txn: TxnId, res: &R, mode: M) -> impl Iterator<Item = &Entry<M>> + '_;
    /// All entries on a resource, in queue order.
    fn queue(&self, res: &R) -> &[Entry<M>];
    /// Does `txn` hold a granted lock on `res` covering `mode`?
    fn holds(&self, txn: TxnId, res: &R, mode: M) -> bool;
    /// Every (resource, entry) of `txn`, in the order the resources were first touched.
    fn locks_of(&self, txn: TxnId) -> impl Iterator<Item = (&R, &Entry<M>)> + '_;
    /// Transactions waiting now, in id order.
    fn waiters(&self) -> impl Iterator<Item = TxnId> + '_;
    /// Drop the queues no entry is left in (a long run touches many resources once).
    fn drop_empty_queues(&mut self);
    /// The invariant of every lock table, for a driver to check after each grant (the threaded
    /// engine's models): no granted lock is one that would have had to wait for a lock of another
    /// transaction granted before it on the same resource. Returns the first pair that breaks it.
    fn granted_conflict(&self) -> Option<String>;
    /// Every transaction waiting on a resource `on` accepts, in id order, with the first entry
    /// ahead of its request that it must wait for (InnoDB's `lock_rec_has_to_wait_in_queue`).
    fn first_blockers(&self, on: &dyn Fn(&R) -> bool) -> Vec<(TxnId, Option<TxnId>)> {
        self.waiters()
            .filter(|&w| self.waiting_for(w).is_some_and(|(r, _)| on(r)))
            .map(|w| (w, self.blockers(w).next().map(|e| e.txn)))
            .collect()
    }
    /// [`find_cycle`] through `start` over [`Locks::wait_for_graph`].
    fn find_cycle_from(&self, start: TxnId) -> Option<Vec<TxnId>> {
        find_cycle(&self.wait_for_graph(), start)
    }
    /// The wait-for graph: each waiting transaction and the transactions it waits behind.
    fn wait_for_graph(&self) -> WaitForGraph {
        self.waiters()
            .map(|t| {
                let mut b: Vec<TxnId> = self.blockers(t).map(|e| e.txn).collect();
                b.dedup();
                (t, b)
            })
            .collect()
    }
}

impl<R: Resource, M: LockMode> LockTable<R, M> {
    pub fn new() -> Self {
        Self::default()
    }

    fn regrant(&mut self, res: &R, grants: &mut Vec<Grant<R>>) {
        let Some(queue) = self.queues.get_mut(res) else {
            return;
        };
        grant_waiters(res, queue, &mut self.waiting, grants);
    }

    /// Is the table empty (no locks, no waits)?
    pub fn is_empty(&self) -> bool {
        self.queues.values().all(Vec::is_empty)
    }
}

impl<R: Resource + Send, M: LockMode + Send> Locks<R, M> for LockTable<R, M> {
    fn request(&mut self, txn: TxnId, res: &R, mode: M, tag: u32) -> Request {
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

    fn try_acquire(&mut self, txn: TxnId, res: &R, mode: M, tag: u32) -> Result<(), TxnId> {
        if let Some(holder) = self.holders_blocking(txn, res, mode).next() {
            return Err(holder.txn);
        }
        self.add_granted(txn, res, mode, tag);
        Ok(())
    }

    fn add_granted(&mut self, txn: TxnId, res: &R, mode: M, tag: u32) {
        let queue = self.queues.entry(res.clone()).or_default();
        if queue.iter().any(|e| e.txn == txn && e.granted && e.mode.covers(mode)) {
            return;
        }
        if !queue.iter().any(|e| e.txn == txn) {
            self.touched.entry(txn).or_default().push(res.clone());
        }
        queue.push(Entry { txn, mode, granted: true, tag });
    }

    /// Resources are released newest first, as InnoDB's `lock_release` walks `trx_locks` backwards.
    fn release_all(&mut self, txn: TxnId) -> Vec<Grant<R>> {
        self.waiting.remove(&txn);
        let resources = self.touched.remove(&txn).unwrap_or_default();
        let mut grants = Vec::new();
        for res in resources.iter().rev() {
            let Some(queue) = self.queues.get_mut(res) else {
                continue;
            };
            queue.retain(|e| e.txn != txn);
            grant_waiters(res, queue, &mut self.waiting, &mut grants);
        }
        grants
    }

    fn cancel_wait(&mut self, txn: TxnId) -> Vec<Grant<R>> {
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

    /// Used when a record disappears and its locks pass to a gap.
    fn move_queue(&mut self, from: &R, to: &R, convert: &mut dyn FnMut(&Entry<M>) -> Option<M>) -> Vec<Grant<R>> {
        let mut grants = Vec::new();
        let Some(old) = self.queues.remove(from) else {
            return grants;
        };
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

    /// (InnoDB's `lock_rec_unlock` of a non-matching row under READ COMMITTED.)
    fn release_one(&mut self, txn: TxnId, res: &R, mode: M) -> Vec<Grant<R>> {
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

    fn reorder_waiters(&mut self, res: &R, order: &[TxnId]) -> Vec<Grant<R>> {
        let mut grants = Vec::new();
        if let Some(queue) = self.queues.get_mut(res) {
            let (granted, waiting): (Vec<Entry<M>>, Vec<Entry<M>>) = queue.iter().partition(|e| e.granted);
            let rank = |t: TxnId| order.iter().position(|&o| o == t).unwrap_or(order.len());
            let mut waiting = waiting;
            waiting.sort_by_key(|e| rank(e.txn));
            *queue = granted.into_iter().chain(waiting).collect();
        }
        self.regrant(res, &mut grants);
        grants
    }

    fn transfer(&mut self, res: &R, from: TxnId, to: TxnId, mode: M) {
        let Some(queue) = self.queues.get_mut(res) else { return };
        let Some(e) = queue.iter_mut().find(|e| e.txn == from && e.granted && e.mode == mode) else { return };
        e.txn = to;
        if !queue.iter().any(|e| e.txn == from) {
            if let Some(list) = self.touched.get_mut(&from) {
                list.retain(|r| r != res);
            }
        }
        let list = self.touched.entry(to).or_default();
        if !list.contains(res) {
            list.push(res.clone());
        }
    }

    fn conflicting(&self, txn: TxnId, res: &R, mode: M) -> Vec<TxnId> {
        conflicts(self.queue(res), txn, mode)
    }

    fn waiting_for(&self, txn: TxnId) -> Option<(&R, &Entry<M>)> {
        let res = self.waiting.get(&txn)?;
        let entry = self.queues.get(res)?.iter().find(|e| e.txn == txn && !e.granted)?;
        Some((res, entry))
    }

    fn blockers(&self, txn: TxnId) -> impl Iterator<Item = &Entry<M>> + '_ {
        let queue = self.waiting.get(&txn).map_or(&[][..], |res| self.queue(res));
        let pos = queue.iter().position(|e| e.txn == txn && !e.granted);
        pos.into_iter().flat_map(move |p| blocking(&queue[..p], txn, queue[p].mode))
    }

    fn holders_blocking(&self, txn: TxnId, res: &R, mode: M) -> impl Iterator<Item = &Entry<M>> + '_ {
        self.queue(res).iter().filter(move |e| e.granted && e.txn != txn && mode.must_wait_for(e.mode))
    }

    fn queue(&self, res: &R) -> &[Entry<M>] {
        self.queues.get(res).map(Vec::as_slice).unwrap_or(&[])
    }

    fn holds(&self, txn: TxnId, res: &R, mode: M) -> bool {
        self.queue(res).iter().any(|e| e.txn == txn && e.granted && e.mode.covers(mode))
    }

    fn locks_of(&self, txn: TxnId) -> impl Iterator<Item = (&R, &Entry<M>)> + '_ {
        self.touched
            .get(&txn)
            .into_iter()
            .flatten()
            .flat_map(move |r| self.queue(r).iter().filter(move |e| e.txn == txn).map(move |e| (r, e)))
    }

    fn waiters(&self) -> impl Iterator<Item = TxnId> + '_ {
        self.waiting.keys().copied()
    }

    fn drop_empty_queues(&mut self) {
        self.queues.retain(|_, q| !q.is_empty());
    }

    fn granted_conflict(&self) -> Option<String> {
        for (res, queue) in &self.queues {
            let granted: Vec<&Entry<M>> = queue.iter().filter(|e| e.granted).collect();
            for (j, later) in granted.iter().enumerate() {
                if let Some(earlier) =
                    granted[..j].iter().find(|e| e.txn != later.txn && later.mode.must_wait_for(e.mode))
                {
                    return Some(format!(
                        "{res:?}: txn {} holds {:?} although it must wait for txn {}'s {:?}, granted before it",
                        later.txn, later.mode, earlier.txn, earlier.mode
                    ));
                }
            }
        }
        None
    }

    /// As the trait says, with the same breadth-first search, but each waiter's edges computed
    /// only when the search reaches it, and in a queue the entries ahead that an earlier waiter
    /// of the same mode already scanned skipped (every one it found is already reached, and none
    /// is `start`, or the search would have ended): in one long FIFO queue, the whole graph has
    /// quadratically many edges.
    fn find_cycle_from(&self, start: TxnId) -> Option<Vec<TxnId>> {
        // Per queue: where the waiters' requests stand, as far as known; per (queue, mode): how
        // far it was scanned.
        let mut places: Vec<Places<'_, R>> = Vec::new();
        let mut scanned: Vec<(&R, M, usize)> = Vec::new();
        graph::find_cycle_by(start, |t, edges| {
            let Some(res) = self.waiting.get(&t) else { return };
            let queue = self.queue(res);
            let k = places.iter().position(|pl| pl.res == res).unwrap_or_else(|| {
                places.push(Places { res, at: HashMap::new(), misses: 0 });
                places.len() - 1
            });
            let Some(p) = places[k].find(queue, t) else { return };
            let mode = queue[p].mode;
            let mark = scanned.iter().position(|(r, m, _)| *r == res && *m == mode);
            // `start`'s own entries are left out of its scan, so its scan marks nothing.
            let from = if t == start { 0 } else { mark.map_or(0, |m| scanned[m].2).min(p) };
            places[k].note(queue, from..p);
            edges.extend(blocking(&queue[from..p], t, mode).map(|e| e.txn));
            if t != start {
                match mark {
                    Some(m) => scanned[m].2 = scanned[m].2.max(p),
                    None => scanned.push((res, mode, p)),
                }
            }
        })
    }

    /// As the trait says, in one walk of each queue that has waiters (finding each waiter's
    /// entry in its queue one by one is quadratic in a long queue).
    fn first_blockers(&self, on: &dyn Fn(&R) -> bool) -> Vec<(TxnId, Option<TxnId>)> {
        let mut resources: Vec<&R> = self.waiting.values().filter(|r| on(r)).collect();
        resources.sort();
        resources.dedup();
        let mut out = Vec::new();
        for res in resources {
            let queue = self.queue(res);
            for (i, e) in queue.iter().enumerate() {
                if !e.granted && self.waiting.get(&e.txn) == Some(res) {
                    out.push((e.txn, blocking(&queue[..i], e.txn, e.mode).next().map(|b| b.txn)));
                }
            }
        }
        out.sort_unstable_by_key(|p| p.0);
        out
    }
}

/// Where waiting requests stand in one queue, learnt while [`LockTable::find_cycle_from`] scans it
/// (a transaction waits for one request at a time, so it has one waiting entry there at most).
struct Places<'a, R> {
    res: &'a R,
    at: HashMap<TxnId, usize>,
    /// Look-ups of transactions not yet seen: the first searches the queue, the next indexes it.
    misses: usize,
}

impl<R> Places<'_, R> {
    /// Where `txn`'s waiting request stands in `queue`, if it waits there.
    fn find<M>(&mut self, queue: &[Entry<M>], txn: TxnId) -> Option<usize> {
        if let Some(&p) = self.at.get(&txn) {
            return Some(p);
        }
        self.misses += 1;
        if self.misses == 1 {
            let p = queue.iter().position(|e| e.txn == txn && !e.granted)?;
            self.at.insert(txn, p);
            return Some(p);
        }
        if self.misses == 2 {
            self.note(queue, 0..queue.len());
        }
        self.at.get(&txn).copied()
    }

    /// Remember where the waiting requests in `queue[span]` stand.
    fn note<M>(&mut self, queue: &[Entry<M>], span: std::ops::Range<usize>) {
        for (i, e) in queue[span.clone()].iter().enumerate().filter(|(_, e)| !e.granted) {
            self.at.entry(e.txn).or_insert(span.start + i);
        }
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

/// Other transactions' entries in `queue` that a request of `txn` for `mode` must wait for: every
/// conflicting one, or only the granted ones if the mode does not wait behind waiters.
fn blocking<M: LockMode>(queue: &[Entry<M>], txn: TxnId, mode: M) -> impl Iterator<Item = &Entry<M>> {
    let waiters_too = mode.waits_behind_waiters();
    queue.iter().filter(move |e| e.txn != txn && (e.granted || waiters_too) && mode.must_wait_for(e.mode))
}

/// The transactions of [`blocking`]'s entries, each once, in queue order.
fn conflicts<M: LockMode>(queue: &[Entry<M>], txn: TxnId, mode: M) -> Vec<TxnId> {
    let mut out: Vec<TxnId> = blocking(queue, txn, mode).map(|e| e.txn).collect();
    if out.len() <= 32 {
        let mut kept = 0;
        for i in 0..out.len() {
            if !out[..kept].contains(&out[i]) {
                out[kept] = out[i];
                kept += 1;
            }
        }
        out.truncate(kept);
    } else {
        // A long queue (thousands of clients on one row): a set, not a scan per entry.
        let mut seen = std::collections::BTreeSet::new();
        out.retain(|t| seen.insert(*t));
    }
    out
}

#[cfg(test)]
mod tests;
