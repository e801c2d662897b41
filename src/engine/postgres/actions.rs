//! PostgreSQL's referential actions: the RI triggers `RI_FKey_cascade_del`, `RI_FKey_setnull_del`,
//! `RI_FKey_cascade_upd` and `RI_FKey_setnull_upd` (ri_triggers.c), fired with the statement's
//! other AFTER triggers at its end.
//!
//! Each runs one query on the child table through `ri_PerformCheck`: `DELETE FROM ONLY child
//! WHERE fk = $1`, or `UPDATE ONLY child SET fk = NULL` (or the parent's new key) `WHERE fk = $1`.
//! It is an ordinary DELETE or UPDATE: it locks each child row (FOR UPDATE, or the UPDATE's
//! strength), waits for a concurrent writer or locker, re-checks under READ COMMITTED, and fires
//! the child rows' own triggers at its own end (a cascade further down, a NO ACTION check, the RI
//! check of a new key), or queues them until COMMIT when their constraint is deferred. Its snapshot is a fresh one; under REPEATABLE READ it is the latest
//! snapshot with the transaction snapshot as cross-check (`detectNewRows`), so a child row the
//! transaction cannot see is a serialization failure rather than silently deleted or kept.

use super::exec::{Cursor, Lk, Step};
use super::PgDb;
use crate::engine::{DbError, EngineError, ErrorKind, Parts};
use crate::lock::TxnId;
use crate::sql::{Expr, Isolation, Plan, RefAction, Value};
use crate::store::Key;
use std::sync::Arc;

impl<P: Parts> PgDb<P> {
    /// Run (or resume) the action of foreign key `fk` (child table, index) for the parent's old
    /// key and its new one (an UPDATE) or None (a DELETE).
    pub(super) fn ri_action(
        &mut self,
        s: usize,
        trx: TxnId,
        cur: &mut Cursor,
        fk: (usize, usize),
        (vals, new): (&Key, Option<&Key>),
        label: &Arc<str>,
    ) -> Result<Lk, EngineError> {
        let (fk_table, f) = fk;
        let mut nested = match cur.nested.take() {
            Some(n) => n,
            None => {
                let fkey = &self.cat.tables[fk_table].fks[f];
                let action = if new.is_some() { fkey.on_update } else { fkey.on_delete };
                let filter = Self::key_filter(&fkey.cols, vals);
                let plan = match (action, new) {
                    (RefAction::Cascade, None) => Plan::Delete { table: fk_table, filter },
                    (RefAction::SetNull, _) => Plan::Update {
                        table: fk_table,
                        set: fkey.cols.iter().map(|&c| (c, Expr::Lit(Value::Null))).collect(),
                        filter,
                    },
                    (_, new) => Plan::Update {
                        table: fk_table,
                        set: fkey
                            .cols
                            .iter()
                            .zip(new.into_iter().flat_map(|k| k.iter()))
                            .map(|(&c, v)| (c, Expr::Lit(v.clone())))
                            .collect(),
                        filter,
                    },
                };
                // Its own triggers' events queue on the transaction as the statement's do: a
                // deferred constraint's wait for COMMIT (`AfterTriggerSaveEvent`).
                let mut inner = Cursor::statement(cur.defer);
                inner.ri_query = true;
                Box::new((plan, inner))
            }
        };
        let (plan, inner) = &mut *nested;
        let mut rows = Vec::new();
        match self.exec(s, trx, plan, inner, &mut rows, label)? {
            Step::Done(Ok(())) => Ok(Lk::Ok),
            Step::Done(Err(e)) => Ok(Lk::Failed(e)),
            Step::Blocked => {
                cur.nested = Some(nested);
                Ok(Lk::Blocked)
            }
        }
    }

    /// The cross-check of an RI query under REPEATABLE READ (`heap_delete` / `heap_update` with a
    /// `crosscheck` snapshot): the locked version must be visible to the transaction snapshot,
    /// or the change fails with "could not serialize access due to concurrent update".
    pub(super) fn crosscheck(
        &self,
        trx: TxnId,
        table: usize,
        k: &Key,
        cur: &Cursor,
    ) -> Result<Option<DbError>, EngineError> {
        if !cur.ri_query {
            return Ok(None);
        }
        let Some(t) = self.trxs.get(&trx) else { return Ok(None) };
        let (Isolation::RepeatableRead | Isolation::Serializable, Some(snap)) = (t.iso, t.snapshot) else {
            return Ok(None);
        };
        let visible = self.version(table, k)?.is_some_and(|v| self.xid_visible(trx, snap, v.trx));
        Ok((!visible).then(|| DbError {
            kind: ErrorKind::Serialization,
            message: "could not serialize access due to concurrent update".into(),
        }))
    }
}
