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
//! The model keeps one transaction id per top-level transaction, so a savepoint records what
//! the transaction held when it was set; aborting the subtransaction undoes the writes made
//! since and releases every lock that was not held then, waking the sessions that waited for
//! one of the released row locks.

use super::deferred::ConstraintModes;
use super::modes::PgLock;
use super::{PgDb, PgRes};
use crate::engine::{err, EngineError, ErrorKind, Parts, Poll, SessionId};
use crate::lock::{Locks, TxnId};
use crate::sql::Plan;

/// A subtransaction's start: its name, the length of the undo log, and the locks held then.
#[derive(Debug, Clone)]
pub(super) struct Savepoint {
    name: String,
    mark: usize,
    held: Vec<(PgRes, PgLock)>,
    /// The deferred RI events queued then, and the SET CONSTRAINTS state.
    deferred: usize,
    constraints: ConstraintModes,
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
            t.savepoints.push(Savepoint { name: name.clone(), mark, held, deferred, constraints });
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
        self.trxs.get_mut(&trx).expect("active").savepoints.truncate(keep);
        Ok(Poll::Done(Ok(None)))
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
        }
        let mut rows = Vec::new();
        for (res, mode) in self.held(trx) {
            if sp.held.contains(&(res, mode)) {
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
    fn wake(&mut self, granted: impl Iterator<Item = TxnId>) {
        for t in granted {
            if let Some(x) = self.trxs.get(&t) {
                self.book.wakeups.push(x.session);
            }
        }
    }
}
