//! Advisory locks (lockfuncs.c): heavyweight locks on a key, ExclusiveLock or ShareLock, held by
//! the session (surviving COMMIT until unlocked) or by the transaction (`_xact_`).

use super::modes::{Hw, PgLock};
use super::{PgDb, PgRes, Purpose};
use crate::engine::{EngineError, Parts, SessionId};
use crate::lock::{Grant, Locks, Request, TxnId};
use crate::sql::{Advisory, AdvisoryOp, Value};
use std::sync::Arc;

/// The lock-table owner of a session's session-level locks: not a transaction, so COMMIT does not
/// release them. A statement waits for one as its transaction (so the deadlock check and wake-ups
/// see the wait), and the lock is handed to this owner once granted. A cycle through a lock held
/// this way is not seen by the deadlock check (PostgreSQL's, on the backend's PGPROC, would).
pub(super) fn owner(s: SessionId) -> TxnId {
    u32::MAX - s as u32
}

impl<P: Parts> PgDb<P> {
    /// The session a lock-table owner belongs to: a transaction's, or a session's own.
    pub(super) fn session_of(&self, t: TxnId) -> Option<SessionId> {
        self.trxs.get(&t).map(|x| x.session).or_else(|| {
            let s = (u32::MAX - t) as usize;
            (s < self.sessions.len()).then_some(s)
        })
    }

    fn wake_granted(&mut self, grants: Vec<Grant<PgRes>>) {
        for g in grants {
            if let Some(x) = self.trxs.get(&g.txn) {
                self.book.wakeups.push(x.session);
            }
        }
    }

    /// Run one advisory lock call (`pg_advisory_lock_int8`, `pg_advisory_xact_lock_int8`,
    /// `pg_advisory_unlock_int8`, `pg_advisory_unlock_all`, lockfuncs.c): its result, or `None`
    /// while it waits. A session lock is counted: each lock needs its unlock (the local lock
    /// table's `nLocks`, lock.c).
    pub(super) fn advisory(
        &mut self,
        s: SessionId,
        trx: TxnId,
        call: &Advisory,
        label: &Arc<str>,
    ) -> Result<Option<Value>, EngineError> {
        let res = PgRes::Advisory(call.key);
        let mode = PgLock::Hw(if call.shared { Hw::Share } else { Hw::Exclusive });
        let me = owner(s);
        let slot = self.sessions[s].advisory.iter().position(|&(k, sh, _)| k == call.key && sh == call.shared);
        match call.op {
            AdvisoryOp::Lock | AdvisoryOp::TryLock if !call.xact && slot.is_some() => {
                self.sessions[s].advisory[slot.expect("checked")].2 += 1;
                Ok(Some(if call.op == AdvisoryOp::TryLock { Value::Bool(true) } else { Value::Null }))
            }
            AdvisoryOp::Lock | AdvisoryOp::TryLock => {
                let try_only = call.op == AdvisoryOp::TryLock;
                if !self.locks.holds(trx, &res, mode) && !self.locks.holds(me, &res, mode) {
                    let tag = self.tag(label, Purpose::Statement("advisory lock"));
                    if let Request::Waiting { .. } = self.locks.request(trx, &res, mode, tag) {
                        if try_only {
                            // pg_try_advisory_lock_int8: LockAcquire with dontWait, which gives
                            // up where the request would wait (a conflicting holder, or a
                            // conflicting waiter ahead: lock.c's waitMask test), and returns false.
                            let grants = self.locks.cancel_wait(trx);
                            self.wake_granted(grants);
                            return Ok(Some(Value::Bool(false)));
                        }
                        self.start_wait(s, res, mode, tag);
                        return Ok(None);
                    }
                }
                if !call.xact {
                    self.locks.transfer(&res, trx, me, mode);
                    self.sessions[s].advisory.push((call.key, call.shared, 1));
                }
                Ok(Some(if try_only { Value::Bool(true) } else { Value::Null }))
            }
            AdvisoryOp::Unlock => {
                let Some(i) = slot else { return Ok(Some(Value::Bool(false))) };
                self.sessions[s].advisory[i].2 -= 1;
                if self.sessions[s].advisory[i].2 == 0 {
                    self.sessions[s].advisory.remove(i);
                    let grants = self.locks.release_one(me, &res, mode);
                    self.wake_granted(grants);
                }
                Ok(Some(Value::Bool(true)))
            }
            AdvisoryOp::UnlockAll => {
                self.sessions[s].advisory.clear();
                let grants = self.locks.release_all(me);
                self.wake_granted(grants);
                Ok(Some(Value::Null))
            }
        }
    }
}
