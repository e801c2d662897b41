//! Relation locks: the heavyweight lock every statement takes on each table it names, held to
//! the end of the transaction, and `LOCK TABLE`.

use super::exec::Lk;
use super::modes::{Hw, PgLock};
use super::{PgDb, PgRes, Purpose, REL_TAG};
use crate::engine::{err, EngineError, ErrorKind, Parts};
use crate::lock::{Locks, Request, TxnId};
use crate::sql::Plan;
use std::sync::Arc;

/// The relation locks a statement takes, in the order it takes them (the statement's own table
/// first, then its subqueries'). Parse analysis opens the target of INSERT, UPDATE and DELETE with
/// RowExclusiveLock (`setTargetTable`, parse_clause.c), a table read by SELECT ... FOR with
/// RowShareLock and any other table read with AccessShareLock (`addRangeTableEntry`,
/// parse_relation.c); `LOCK TABLE` takes its mode (`LockTableCommand`, lockcmds.c).
pub(super) fn relation_locks(plan: &Plan) -> Vec<(usize, Hw)> {
    let own = match plan {
        Plan::Select { lock: None, .. } => Hw::AccessShare,
        Plan::Select { lock: Some(_), .. } => Hw::RowShare,
        Plan::Insert { .. } | Plan::Update { .. } | Plan::Delete { .. } => Hw::RowExclusive,
        Plan::LockTable { tables, mode, .. } => return tables.iter().map(|&t| (t, *mode)).collect(),
        _ => return Vec::new(),
    };
    let mut out = Vec::new();
    for (i, t) in plan.tables().into_iter().enumerate() {
        let mode = if i == 0 { own } else { Hw::AccessShare };
        if !out.contains(&(t, mode)) {
            out.push((t, mode));
        }
    }
    out
}

impl<P: Parts> PgDb<P> {
    /// Take the relation locks of `plan`, in order, waiting in each lock's queue (FIFO: a request
    /// that conflicts with a holder or with a request already waiting waits, `LockAcquireExtended`
    /// and `ProcSleep`, lock.c and proc.c). With NOWAIT a wait is an error at once (`LockTableCommand`
    /// with `nowait`: "could not obtain lock on relation", 55P03).
    pub(super) fn lock_relations(
        &mut self,
        s: usize,
        trx: TxnId,
        plan: &Plan,
        label: &Arc<str>,
    ) -> Result<Lk, EngineError> {
        let nowait = matches!(plan, Plan::LockTable { nowait: true, .. });
        let what = match plan {
            Plan::LockTable { .. } => "LOCK TABLE",
            Plan::Select { lock: None, .. } => "SELECT",
            Plan::Select { lock: Some(_), .. } => "SELECT ... FOR",
            Plan::Insert { .. } => "INSERT",
            Plan::Update { .. } => "UPDATE",
            Plan::Delete { .. } => "DELETE",
            _ => "statement",
        };
        for (table, mode) in relation_locks(plan) {
            match self.lock_relation(s, trx, table, mode, nowait, (label, Purpose::Statement(what)))? {
                Lk::Ok => {}
                other => return Ok(other),
            }
        }
        Ok(Lk::Ok)
    }

    /// Take one relation lock (`LockRelationOid`, lmgr.c).
    pub(super) fn lock_relation(
        &mut self,
        s: usize,
        trx: TxnId,
        table: usize,
        mode: Hw,
        nowait: bool,
        why: (&Arc<str>, Purpose),
    ) -> Result<Lk, EngineError> {
        let res = PgRes::Rel(table as u32);
        let want = PgLock::Hw(mode);
        if self.locks.holds(trx, &res, want) {
            return Ok(Lk::Ok);
        }
        let tag = REL_TAG | self.rel_whys.push(super::Why::new(why.0, why.1)) as u32;
        match self.locks.request(trx, &res, want, tag) {
            Request::Granted => Ok(Lk::Ok),
            Request::Waiting { .. } if nowait => {
                for g in self.locks.cancel_wait(trx) {
                    if let Some(x) = self.trxs.get(&g.txn) {
                        self.book.wakeups.push(x.session);
                    }
                }
                let name = &self.cat.tables[table].name;
                Ok(Lk::Failed(err(ErrorKind::LockTimeout, format!("could not obtain lock on relation \"{name}\""))))
            }
            Request::Waiting { .. } => {
                self.start_wait(s, res, want, tag);
                Ok(Lk::Blocked)
            }
        }
    }
}
