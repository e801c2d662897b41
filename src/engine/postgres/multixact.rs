//! PostgreSQL's MultiXacts: each tuple version's raw xmax (one locker or updater, or a multixact
//! of several), the new xmax every row lock and update computes, and the multixacts and members
//! created, in total and per row.
//!
//! The rules are `compute_new_xmax_infomask` (heapam.c), which `heap_lock_tuple`, `heap_update`,
//! `heap_delete` and `heap_lock_updated_tuple_rec` call for a tuple version, and
//! `MultiXactIdCreate` / `MultiXactIdExpand` / `MultiXactIdCreateFromMembers` (multixact.c):
//! - no live xmax: the transaction's own xid, no multixact;
//! - one running xid: a multixact of it and the new locker or updater (`MultiXactIdCreate`),
//!   unless it is the transaction's own, which is replaced by the stronger of the two locks;
//! - one committed updater (a KEY SHARE locker of a non-key-updated version): a multixact of it
//!   and the new locker;
//! - a multixact: a new one of its members still running, its committed updater and the new
//!   member (`MultiXactIdExpand`), unless the new member is already in it with that status, or
//!   it is no longer running and has no committed updater (then the xid alone);
//! - a member set the transaction already created or read is reused, not created again
//!   (`mXactCacheGetBySet`, a backend's cache emptied at the end of each transaction).
//!
//! Every new multixact takes as many members as it has; members space is what a busy server can
//! exhaust.

use crate::lock::TxnId;
use std::collections::BTreeMap;
use std::sync::Arc;

/// A member's status (`MultiXactStatus`, multixact.h), in its order: four locks, two updates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Status {
    ForKeyShare,
    ForShare,
    ForNoKeyUpdate,
    ForUpdate,
    NoKeyUpdate,
    Update,
}

/// The lock strengths (`LockTupleMode`), weakest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Strength {
    KeyShare,
    Share,
    NoKeyExclusive,
    Exclusive,
}

impl Status {
    /// `get_mxact_status_for_lock`.
    pub fn of(mode: Strength, is_update: bool) -> Status {
        match (mode, is_update) {
            (Strength::KeyShare, false) => Status::ForKeyShare,
            (Strength::Share, false) => Status::ForShare,
            (Strength::NoKeyExclusive, false) => Status::ForNoKeyUpdate,
            (Strength::Exclusive, false) => Status::ForUpdate,
            (Strength::NoKeyExclusive, true) => Status::NoKeyUpdate,
            (_, true) => Status::Update,
        }
    }

    /// `ISUPDATE_from_mxstatus`.
    pub fn is_update(self) -> bool {
        self >= Status::NoKeyUpdate
    }

    /// `TUPLOCK_from_mxstatus`.
    pub fn strength(self) -> Strength {
        match self {
            Status::ForKeyShare => Strength::KeyShare,
            Status::ForShare => Strength::Share,
            Status::ForNoKeyUpdate | Status::NoKeyUpdate => Strength::NoKeyExclusive,
            Status::ForUpdate | Status::Update => Strength::Exclusive,
        }
    }
}

/// One member of an xmax: a transaction and what it did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Member {
    pub xid: TxnId,
    pub status: Status,
}

/// A tuple version's raw xmax.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Xmax {
    One(Member),
    Multi(Arc<[Member]>),
}

impl Xmax {
    fn members(&self) -> &[Member] {
        match self {
            Xmax::One(m) => std::slice::from_ref(m),
            Xmax::Multi(ms) => ms,
        }
    }
}

/// A tuple version: table, root, version.
pub type Tid = (u32, i64, i64);

/// Whether a transaction is running, and whether it committed. An xid may be a
/// subtransaction's: it runs while its top-level transaction runs and it has not aborted, and
/// commits with it.
pub trait Fate {
    fn running(&self, x: TxnId) -> bool;
    fn committed(&self, x: TxnId) -> bool;
    /// The top-level transaction of `x` (itself, unless `x` is a subtransaction's xid).
    fn top(&self, x: TxnId) -> TxnId {
        x
    }
    /// `TransactionIdIsCurrentTransactionId` for a backend whose current xid is `me`: `x` is
    /// its top-level transaction or one of its subtransactions not aborted.
    fn is_current(&self, me: TxnId, x: TxnId) -> bool {
        x == me || (self.top(x) == self.top(me) && self.running(x))
    }
}

/// The xmax of every tuple version that has one, and what was created.
#[derive(Debug, Clone, Default)]
pub struct Multixacts {
    xmax: BTreeMap<Tid, Xmax>,
    /// Each open transaction's member sets created or read (sorted).
    cache: BTreeMap<TxnId, Vec<Arc<[Member]>>>,
    pub created: u64,
    pub members: u64,
    /// Created and members, per row (table, root).
    pub per_row: BTreeMap<(u32, i64), (u64, u64)>,
    /// How reports name each row of `per_row` (its key when its first multixact was made).
    pub names: BTreeMap<(u32, i64), String>,
}

impl Multixacts {
    #[cfg(test)]
    pub fn xmax(&self, tid: Tid) -> Option<&Xmax> {
        self.xmax.get(&tid)
    }

    /// `heap_lock_tuple`'s "already holds a lock as strong or stronger" check: the version's xmax
    /// has the current transaction (its top level or any of its live subtransactions) as a
    /// member of at least `mode`'s strength (a running xmax only).
    pub fn holds(&self, tid: Tid, me: TxnId, mode: Strength, fate: &impl Fate) -> bool {
        self.xmax.get(&tid).is_some_and(|x| {
            x.members()
                .iter()
                .any(|m| fate.is_current(me, m.xid) && !m.status.is_update() && m.status.strength() >= mode)
        })
    }

    /// Lock version `tid` in `mode` (`heap_lock_tuple`, or `heap_lock_updated_tuple_rec` for a
    /// later version): nothing if it is already held, else the new xmax.
    pub fn lock(&mut self, tid: Tid, me: TxnId, mode: Strength, fate: &impl Fate) {
        if self.holds(tid, me, mode, fate) {
            self.read(tid, me, fate);
            return;
        }
        self.set_new(tid, me, mode, false, fate);
    }

    /// `heap_lock_updated_tuple_rec` skips a version the current transaction is a member of
    /// (`test_lockmode_for_conflict` returns `TM_SelfModified`).
    pub fn is_member(&self, tid: Tid, me: TxnId, fate: &impl Fate) -> bool {
        self.xmax.get(&tid).is_some_and(|x| x.members().iter().any(|m| fate.is_current(me, m.xid)))
    }

    /// Every xid some version's xmax names.
    pub fn xids(&self) -> impl Iterator<Item = TxnId> + '_ {
        self.xmax.values().flat_map(|x| x.members().iter().map(|m| m.xid))
    }

    /// Update or delete version `tid` (`heap_update`, `heap_delete`), writing version `new` (an
    /// update): the old version's new xmax, and the new version's, which is the old raw xmax
    /// when a locker remains (a running multixact as it is; a running single locker as a KEY
    /// SHARE locker), else none.
    pub fn update(&mut self, tid: Tid, new: Option<Tid>, me: TxnId, mode: Strength, fate: &impl Fate) {
        let old = self.xmax.get(&tid).cloned();
        self.set_new(tid, me, mode, true, fate);
        let Some(new) = new else { return };
        let carried = match old {
            Some(Xmax::Multi(ms)) if ms.iter().any(|m| m.xid == me || fate.running(m.xid)) => Some(Xmax::Multi(ms)),
            Some(Xmax::One(m)) if !m.status.is_update() && (m.xid == me || fate.running(m.xid)) => {
                Some(Xmax::One(Member { xid: m.xid, status: Status::ForKeyShare }))
            }
            _ => None,
        };
        match carried {
            Some(x) => self.xmax.insert(new, x),
            None => self.xmax.remove(&new),
        };
    }

    /// A version written afresh (an INSERT's tuple): no xmax.
    pub fn clear(&mut self, tid: Tid) {
        self.xmax.remove(&tid);
    }

    /// The top-level transaction ended: its backend's cache goes (`AtEOXact_MultiXact`).
    pub fn end(&mut self, me: TxnId) {
        self.cache.remove(&me);
    }

    /// Forget the xmax of versions nothing can still act on: no member running, and no updater
    /// whose commit is still known.
    pub fn vacuum(&mut self, fate: &impl Fate) {
        self.xmax.retain(|_, x| {
            x.members().iter().any(|m| fate.running(m.xid) || (m.status.is_update() && fate.committed(m.xid)))
        });
    }

    /// The members of a multixact xmax go into the reader's cache (`GetMultiXactIdMembers`).
    fn read(&mut self, tid: Tid, me: TxnId, fate: &impl Fate) {
        if let Some(Xmax::Multi(ms)) = self.xmax.get(&tid) {
            let ms = ms.clone();
            self.remember(fate.top(me), ms);
        }
    }

    /// The cache is the backend's: one per top-level transaction.
    fn remember(&mut self, top: TxnId, ms: Arc<[Member]>) {
        let seen = self.cache.entry(top).or_default();
        if !seen.contains(&ms) {
            seen.push(ms);
        }
    }

    fn set_new(&mut self, tid: Tid, me: TxnId, mode: Strength, is_update: bool, fate: &impl Fate) {
        self.read(tid, me, fate);
        let old = self.xmax.get(&tid).cloned();
        let new = self.compute(tid, old, me, mode, is_update, fate);
        self.xmax.insert(tid, new);
    }

    /// `compute_new_xmax_infomask`: the new raw xmax of a version whose xmax is `old`.
    fn compute(
        &mut self,
        tid: Tid,
        mut old: Option<Xmax>,
        me: TxnId,
        mut mode: Strength,
        is_update: bool,
        fate: &impl Fate,
    ) -> Xmax {
        let running = |x: TxnId| x == me || fate.running(x);
        loop {
            let new = Member { xid: me, status: Status::of(mode, is_update) };
            match old.take() {
                None => return Xmax::One(new),
                Some(Xmax::Multi(ms)) => {
                    // MultiXactIdIsRunning; if not, only a committed updater keeps it.
                    if !ms.iter().any(|m| running(m.xid))
                        && !ms.iter().any(|m| m.status.is_update() && fate.committed(m.xid))
                    {
                        continue;
                    }
                    // MultiXactIdExpand.
                    if ms.contains(&new) {
                        return Xmax::Multi(ms);
                    }
                    let mut kept: Vec<Member> = ms
                        .iter()
                        .copied()
                        .filter(|m| running(m.xid) || (m.status.is_update() && fate.committed(m.xid)))
                        .collect();
                    kept.push(new);
                    return self.create(tid, me, kept, fate);
                }
                Some(Xmax::One(m)) if m.status.is_update() && fate.committed(m.xid) => {
                    return self.create(tid, me, vec![m, new], fate);
                }
                Some(Xmax::One(m)) if running(m.xid) => {
                    if m.xid == me {
                        // The same xid (`xmax == add_to_xmax`): keep the stronger lock, and start
                        // over. Another subtransaction of the same transaction is another xid,
                        // and makes a multixact with it.
                        mode = mode.max(m.status.strength());
                        continue;
                    }
                    return self.create(tid, me, vec![m, new], fate);
                }
                // Ended (a locker, or an aborted updater): as if there were none.
                Some(Xmax::One(_)) => continue,
            }
        }
    }

    /// `MultiXactIdCreateFromMembers`: reuse a member set from the cache, or create one.
    fn create(&mut self, tid: Tid, me: TxnId, mut members: Vec<Member>, fate: &impl Fate) -> Xmax {
        members.sort();
        let ms: Arc<[Member]> = members.into();
        let top = fate.top(me);
        let cached = self.cache.get(&top).and_then(|seen| seen.iter().find(|s| **s == ms).cloned());
        if let Some(c) = cached {
            return Xmax::Multi(c);
        }
        self.created += 1;
        self.members += ms.len() as u64;
        let row = self.per_row.entry((tid.0, tid.1)).or_default();
        row.0 += 1;
        row.1 += ms.len() as u64;
        self.remember(top, ms.clone());
        Xmax::Multi(ms)
    }
}

#[cfg(test)]
mod tests;
