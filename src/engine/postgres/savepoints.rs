//! PostgreSQL's savepoints: subtransactions whose writes and locks go when they abort.
//!
//! `SAVEPOINT` starts a subtransaction (`DefineSavepoint`, xact.c); `RELEASE` commits it into its
//! parent, which keeps what it wrote and locked (`ReleaseSavepoint`, `AtSubCommit_*`: the locks
//! pass to the parent's resource owner); `ROLLBACK TO` aborts it and starts it again
//! (`RollbackToSavepoint`, `AbortSubTransaction`), and so does an error inside it (the block then
//! stays aborted until `ROLLBACK TO`). An aborted subtransaction's row changes are dead (their
//! xmin aborted) and its row locks void (the xmax that locked the tuple is an aborted
//! subtransaction id). A session waiting for such a lock waits on the subtransaction's id
//! (`XactLockTableWait` on the tuple's xmax), which the abort releases: it wakes, finds the
//! subtransaction no longer in progress and takes the row. Locks the transaction held before
//! the savepoint stay, and their waiters go on waiting. The deferred RI checks it queued are
//! dropped, and its SET CONSTRAINTS changes undone (`AfterTriggerEndSubXact`).
//!
//! The model keeps one transaction id per top-level transaction in the lock table, so a
//! savepoint records what the transaction held when it was set; aborting the subtransaction
//! undoes the writes made since and releases every lock that was not held then, waking the
//! sessions that waited for one of the released row locks.
//!
//! Tuple xmax, and so the multixacts, names the subtransaction's own xid: a subtransaction gets
//! one when it first locks or changes a row (`GetCurrentTransactionId` → `AssignTransactionId`,
//! xact.c), a restarted one (after `ROLLBACK TO`) gets a new one, and a released one's stays,
//! committed into its parent (`CommitSubTransaction`), aborting if the parent aborts.
//! [`SubXids`] keeps which top-level transaction each belongs to and which aborted.

use super::deferred::ConstraintModes;
use super::modes::PgLock;
use super::{PgDb, PgRes};
use crate::engine::{err, EngineError, ErrorKind, Parts, Poll, SessionId};
use crate::lock::{Locks, TxnId};
use crate::sql::Plan;
use std::collections::BTreeMap;

/// Where subtransaction xids start: above any top-level transaction id the model hands out.
const SUB_XID_BASE: TxnId = 1 << 31;

/// The xids given to subtransactions: whose they are, and whether they aborted.
#[derive(Debug, Clone, Default)]
pub(super) struct SubXids {
    next: TxnId,
    of: BTreeMap<TxnId, (TxnId, bool)>,
}

impl SubXids {
    /// The top-level transaction of `x` (`x` itself if it is not a subtransaction's).
    pub(super) fn top(&self, x: TxnId) -> TxnId {
        self.of.get(&x).map_or(x, |&(top, _)| top)
    }

    /// Did subtransaction `x` abort?
    pub(super) fn aborted(&self, x: TxnId) -> bool {
        self.of.get(&x).is_some_and(|&(_, aborted)| aborted)
    }

    fn assign(&mut self, top: TxnId) -> TxnId {
        let x = SUB_XID_BASE + self.next;
        self.next += 1;
        self.of.insert(x, (top, false));
        x
    }

    fn abort(&mut self, xs: impl IntoIterator<Item = TxnId>) {
        for x in xs {
            if let Some(e) = self.of.get_mut(&x) {
                e.1 = true;
            }
        }
    }

    /// Forget the xids `keep` does not name (their transaction ended and no xmax names them).
    pub(super) fn retain(&mut self, keep: impl Fn(TxnId, TxnId) -> bool) {
        self.of.retain(|&x, &mut (top, _)| keep(x, top));
    }
}

/// A subtransaction's start: its name, the length of the undo log, and the locks held then.
#[derive(Debug, Clone)]
pub(super) struct Savepoint {
    name: String,
    mark: usize,
    held: Vec<(PgRes, PgLock)>,
    /// The deferred RI events queued then, and the SET CONSTRAINTS state.
    deferred: usize,
    constraints: ConstraintModes,
    /// The subtransaction's xid, once it locked or changed a row, and those of the inner ones
    /// released into it.
    xid: Option<TxnId>,
    released: Vec<TxnId>,
}

impl<P: Parts> PgDb<P> {
    /// SAVEPOINT, RELEASE SAVEPOINT, ROLLBACK TO SAVEPOINT. Names may repeat: the newest is
    /// the one named (`RollbackToSavepoint` searches from the innermost). An error here (no such
    /// savepoint) aborts the block as any error does.
    pub(super) fn savepoint(&mut self, s: SessionId, plan: &Plan) -> Result<Poll, EngineError> {
        let (what, name) = match plan {
            Plan::Savepoint(n) => ("SAVEPOINT", n),
            Plan::ReleaseSavepoint(n) => ("RELEASE SAVEPOINT", n),
            Plan::RollbackToSavepoint(n) => ("ROLLBACK TO SAVEPOINT", n),
            _ => return Ok(Poll::Done(Ok(None))),
        };
        let trx = match self.sessions[s].trx {
            Some(t) if self.sessions[s].in_block => t,
            _ => {
                let e = err(ErrorKind::Other, format!("{what} can only be used in transaction blocks"));
                return Ok(Poll::Done(Err(e)));
            }
        };
        if let Plan::Savepoint(name) = plan {
            let held = self.held(trx);
            let t = self.trxs.get_mut(&trx).expect("active");
            let (mark, deferred, constraints) = (t.undo.len(), t.deferred.len(), t.constraints.clone());
            let sp =
                Savepoint { name: name.clone(), mark, held, deferred, constraints, xid: None, released: Vec::new() };
            t.savepoints.push(sp);
            return Ok(Poll::Done(Ok(None)));
        }
        let Some(i) = self.trxs[&trx].savepoints.iter().rposition(|sp| sp.name == *name) else {
            let e = err(ErrorKind::Other, format!("savepoint \"{name}\" does not exist"));
            self.abort(s, false)?;
            return Ok(Poll::Done(Err(e)));
        };
        if let Plan::RollbackToSavepoint(_) = plan {
            self.abort_subtransaction(trx, i)?;
            self.sessions[s].aborted = false;
        }
        let keep = if matches!(plan, Plan::RollbackToSavepoint(_)) { i + 1 } else { i };
        let t = self.trxs.get_mut(&trx).expect("active");
        let gone: Vec<TxnId> =
            t.savepoints.drain(keep..).flat_map(|sp| sp.xid.into_iter().chain(sp.released)).collect();
        if let Some(parent) = t.savepoints.last_mut() {
            parent.released.extend(gone);
        }
        Ok(Poll::Done(Ok(None)))
    }

    /// The xid the transaction's current subtransaction locks and writes rows with: the
    /// innermost savepoint's (given now if it has none yet), or the transaction's own.
    pub(super) fn current_xid(&mut self, trx: TxnId) -> TxnId {
        let Some(sp) = self.trxs.get_mut(&trx).and_then(|t| t.savepoints.last_mut()) else { return trx };
        *sp.xid.get_or_insert_with(|| self.subs.assign(trx))
    }

    /// Abort the subtransactions from savepoint `i` on: undo their writes, release the locks
    /// taken since, and wake the sessions that waited for a row lock released. The savepoints
    /// stay (a ROLLBACK TO restarts the subtransaction; after an error the block waits for one).
    pub(super) fn abort_subtransaction(&mut self, trx: TxnId, i: usize) -> Result<(), EngineError> {
        let Some(sp) = self.trxs.get(&trx).and_then(|t| t.savepoints.get(i)).cloned() else { return Ok(()) };
        self.undo_writes(trx, sp.mark)?;
        if let Some(t) = self.trxs.get_mut(&trx) {
            t.deferred.truncate(sp.deferred);
            t.constraints = sp.constraints.clone();
            // Its xid, and those of the subtransactions inside it, abort; a restart gets a new one.
            let aborted =
                t.savepoints[i..].iter_mut().flat_map(|sp| sp.xid.take().into_iter().chain(sp.released.drain(..)));
            self.subs.abort(aborted.collect::<Vec<_>>());
        }
        let mut rows = Vec::new();
        for (res, mode) in self.held(trx) {
            // nextval's lock belongs to the top transaction (`lock_and_open_sequence`, sequence.c).
            let nextval = matches!(res, PgRes::Sequence(_)) && mode == PgLock::Hw(super::modes::Hw::RowExclusive);
            if sp.held.contains(&(res, mode)) || nextval {
                continue;
            }
            let grants = self.locks.release_one(trx, &res, mode);
            self.wake(grants.iter().map(|g| g.txn));
            if let PgRes::Row(..) = res {
                rows.push(res);
            }
        }
        let waiters: Vec<(SessionId, TxnId)> = self
            .sessions
            .iter()
            .enumerate()
            .filter(|(_, x)| x.waiting.as_ref().is_some_and(|(r, ..)| rows.contains(r)))
            .filter_map(|(w, x)| x.trx.map(|t| (w, t)))
            .filter(|(_, t)| matches!(self.locks.waiting_for(*t), Some((PgRes::Xact(x), _)) if *x == trx))
            .collect();
        for (w, wtrx) in waiters {
            let grants = self.locks.cancel_wait(wtrx);
            self.wake(grants.iter().map(|g| g.txn));
            self.book.wakeups.push(w);
        }
        Ok(())
    }

    /// The locks `trx` holds now.
    fn held(&self, trx: TxnId) -> Vec<(PgRes, PgLock)> {
        self.locks.locks_of(trx).filter(|(_, e)| e.granted).map(|(r, e)| (*r, e.mode)).collect()
    }

    /// Queue wake-ups for the sessions of transactions granted a lock.
    pub(super) fn wake(&mut self, granted: impl Iterator<Item = TxnId>) {
        for t in granted {
            if let Some(x) = self.trxs.get(&t) {
                self.book.wakeups.push(x.session);
            }
        }
    }
}
