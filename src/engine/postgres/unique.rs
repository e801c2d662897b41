//! Unique indexes: `_bt_check_unique`'s search for an equal key, for a written tuple and for
//! INSERT ... ON CONFLICT's pre-check.

use super::exec::Lk;
use super::modes::{Hw, PgLock};
use super::{PgDb, PgRes, Purpose};
use crate::engine::{err, EngineError, ErrorKind, Parts};
use crate::lock::TxnId;
use crate::sql::Value;
use crate::store::{Key, Store};
use std::sync::Arc;

/// What a unique-index search found.
pub(super) enum Conflict {
    Clear,
    /// It has to wait (or could not).
    Wait(Lk),
    /// A live tuple `key` with an equal key in unique index `ix`.
    Live {
        ix: usize,
        key: Key,
    },
}

impl<P: Parts> PgDb<P> {
    /// `_bt_check_unique` with a dirty snapshot: an equal key whose inserter (or deleter) is still
    /// running makes us wait for that transaction and check again; a live equal key is 23505.
    pub(super) fn unique_check(
        &mut self,
        s: usize,
        trx: TxnId,
        table: usize,
        k: &Key,
        label: &Arc<str>,
    ) -> Result<Lk, EngineError> {
        let Some(mine) = self.version(table, k)? else { return Ok(Lk::Ok) };
        Ok(match self.unique_conflict(s, trx, table, &mine.row, Some(k), &[], label)? {
            Conflict::Clear => Lk::Ok,
            Conflict::Wait(lk) => lk,
            Conflict::Live { ix, .. } => Lk::Failed(err(
                ErrorKind::UniqueViolation,
                format!(
                    "duplicate key value violates unique constraint \"{}\"",
                    self.cat.tables[table].indexes[ix].pg_name
                ),
            )),
        })
    }

    /// The unique-index search of `_bt_check_unique` for a row with values `row` (`own`: its own
    /// tuple, if written): an equal key whose inserter or deleter is running makes it wait for that
    /// transaction; a live one is a conflict (ON CONFLICT's pre-check, `ExecCheckIndexConstraints`,
    /// searches the same way before inserting, in its arbiter indexes only: `only`, or every unique
    /// index when empty).
    #[allow(clippy::too_many_arguments)]
    pub(super) fn unique_conflict(
        &mut self,
        s: usize,
        trx: TxnId,
        table: usize,
        row: &[Value],
        own: Option<&Key>,
        only: &[usize],
        label: &Arc<str>,
    ) -> Result<Conflict, EngineError> {
        self.release_xact_waits(trx);
        let t = self.cat.tables[table].clone();
        let arbiter = |i: usize| only.is_empty() || only.contains(&i);
        for (ixn, ix) in t.indexes.iter().enumerate().filter(|&(i, ix)| ix.unique && arbiter(i)) {
            // The key the index holds: the columns, or the expressions of them it is built on.
            let key = ix.key_of(row);
            if key.iter().any(Value::is_null) {
                continue;
            }
            // Only tuples with this key can stop us (equal values are equal under SQL too); an
            // expression key is compared on every tuple.
            let same_key = if ix.has_exprs() { Default::default() } else { Self::key_filter(&ix.cols, &key) };
            for (uk, r) in &self.store.scan_where(Self::tree(table), &same_key)? {
                let u = &r.versions[0];
                if Some(uk) == own || ix.key_of(&u.row) != key {
                    continue;
                }
                let waiter = if u.trx != trx && self.is_active(u.trx) {
                    Some(u.trx)
                } else if u.xmax == 0 {
                    return Ok(Conflict::Live { ix: ixn, key: uk.clone() });
                } else if u.xmax != trx && self.is_active(u.xmax) {
                    Some(u.xmax)
                } else {
                    None
                };
                if let Some(x) = waiter {
                    let tag = self.tag(label, Purpose::UniqueCheck { table, ix: ixn });
                    return Ok(match self.wait_xact(s, trx, x, (PgRes::Xact(x), PgLock::Hw(Hw::Share)), tag) {
                        Lk::Ok => continue,
                        other => Conflict::Wait(other),
                    });
                }
            }
        }
        Ok(Conflict::Clear)
    }
}
