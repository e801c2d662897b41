//! Relation locks: the heavyweight lock every statement takes on each table it names, held to
//! the end of the transaction, and `LOCK TABLE`.

use super::exec::Lk;
use super::modes::{Hw, PgLock};
use super::{PgDb, PgRes, Purpose, REL_TAG};
use crate::engine::{err, EngineError, ErrorKind, Parts};
use crate::lock::{Locks, Request, TxnId};
use crate::sql::{Plan, Relation};
use std::sync::Arc;

/// The relation locks a statement takes, in the order it takes them (the statement's own table
/// first, then its subqueries'). Parse analysis opens the target of INSERT, UPDATE and DELETE with
/// RowExclusiveLock (`setTargetTable`, parse_clause.c), a table read by SELECT ... FOR with
/// RowShareLock and any other table read with AccessShareLock (`addRangeTableEntry`,
/// parse_relation.c); `LOCK TABLE` takes its mode on each relation it names (`LockTableCommand`,
/// lockcmds.c).
pub(super) fn relation_locks(plan: &Plan) -> Vec<(Relation, Hw)> {
    let own = match plan {
        Plan::Select { lock: None, .. } => Hw::AccessShare,
        Plan::Select { lock: Some(_), .. } => Hw::RowShare,
        Plan::Insert { .. } | Plan::Update { .. } | Plan::Delete { .. } => Hw::RowExclusive,
        Plan::LockTable { rels, mode, .. } => return rels.iter().map(|&r| (r, *mode)).collect(),
        _ => return Vec::new(),
    };
    let mut out = Vec::new();
    for (i, t) in plan.tables().into_iter().enumerate() {
        let mode = if i == 0 { own } else { Hw::AccessShare };
        if !out.contains(&(Relation::Table(t), mode)) {
            out.push((Relation::Table(t), mode));
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
        for (rel, mode) in relation_locks(plan) {
            let why = (label, Purpose::Statement(what));
            let got = match rel {
                Relation::Table(table) => self.lock_relation(s, trx, table, mode, nowait, why)?,
                Relation::Partition { index, .. } => {
                    self.lock_rel(s, trx, PgRes::Part(index as u32), mode, nowait, why)?
                }
            };
            match got {
                Lk::Ok => {}
                other => return Ok(other),
            }
        }
        Ok(Lk::Ok)
    }

    /// Lock a table by name: the table, then, if it is partitioned, each partition in the order
    /// they were created. `LOCK TABLE` of a partitioned table locks its partitions too
    /// (`LockTableRecurse`, lockcmds.c, over `find_inheritance_children`, which sorts them by
    /// OID). A statement on a partitioned table locks the partitions its plan keeps
    /// (`expand_partitioned_rtentry`, inherit.c) or routes rows to (`ExecInitPartitionInfo`); the
    /// model keeps them all, and a statement naming one partition locks the whole tree, so it may
    /// wait where the server does not (docs/postgres.md).
    pub(super) fn lock_relation(
        &mut self,
        s: usize,
        trx: TxnId,
        table: usize,
        mode: Hw,
        nowait: bool,
        why: (&Arc<str>, Purpose),
    ) -> Result<Lk, EngineError> {
        match self.lock_rel(s, trx, PgRes::Rel(table as u32), mode, nowait, why)? {
            Lk::Ok => {}
            other => return Ok(other),
        }
        for index in self.partitions(table) {
            match self.lock_rel(s, trx, PgRes::Part(index), mode, nowait, why)? {
                Lk::Ok => {}
                other => return Ok(other),
            }
        }
        Ok(Lk::Ok)
    }

    /// The partitions of `table` (their positions in the catalog's list), in the order created.
    pub(super) fn partitions(&self, table: usize) -> Vec<u32> {
        let parts = self.cat.partitions.iter().enumerate();
        parts.filter(|(_, p)| p.parent == table).map(|(i, _)| i as u32).collect()
    }

    /// The name of a relation lock's relation.
    pub(super) fn relation_name(&self, res: PgRes) -> &str {
        match res {
            PgRes::Part(i) => &self.cat.partitions[i as usize].name,
            PgRes::Rel(t) => &self.cat.tables[t as usize].name,
            _ => "",
        }
    }

    /// Take one relation lock (`LockRelationOid`, lmgr.c) on a table or a partition.
    pub(super) fn lock_rel(
        &mut self,
        s: usize,
        trx: TxnId,
        res: PgRes,
        mode: Hw,
        nowait: bool,
        why: (&Arc<str>, Purpose),
    ) -> Result<Lk, EngineError> {
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
                let name = self.relation_name(res);
                Ok(Lk::Failed(err(ErrorKind::LockTimeout, format!("could not obtain lock on relation \"{name}\""))))
            }
            Request::Waiting { .. } => {
                self.start_wait(s, res, want, tag);
                Ok(Lk::Blocked)
            }
        }
    }
}
