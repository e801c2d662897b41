//! `INSERT ... ON CONFLICT`: the speculative-insertion pre-check on the arbiter indexes and
//! `ExecOnConflictUpdate` (nodeModifyTable.c).

use super::{key_cols, root_of, serialization, Cursor, Lk, RowMode, Tm};
use crate::engine::postgres::unique::Conflict;
use crate::engine::postgres::{PgDb, Purpose};
use crate::engine::{err, with_excluded, DbError, EngineError, ErrorKind, Parts};
use crate::lock::TxnId;
use crate::sql::{Isolation, LockWait, OnConflict, Value};
use crate::store::Key;
use std::sync::Arc;

/// What became of an INSERT row with an ON CONFLICT clause.
pub(in crate::engine::postgres) enum Upsert {
    /// No conflict: insert it.
    Insert(Vec<Value>),
    /// Waiting for a conflicting inserter or a row lock (the row is kept in the cursor).
    Blocked,
    Failed(DbError),
    /// Skipped (DO NOTHING), or locked and left alone (a false WHERE), or updated in place (HOT).
    Done,
    /// The conflicting row was updated into version `Key`, whose unique checks are still to run.
    Updated(Key),
}

impl<P: Parts> PgDb<P> {
    /// `ExecInsert` with `onconflict`: the pre-check (`ExecCheckIndexConstraints` over the
    /// arbiter indexes only) waits for a running inserter or deleter of an equal key and checks
    /// again; a live conflicting tuple is skipped (DO NOTHING, after `ExecCheckTIDVisible`) or
    /// handed to [`Self::on_conflict_update`]. A conflict on a unique index that is not an
    /// arbiter is found by the insertion's own unique check: 23505.
    #[allow(clippy::too_many_arguments)]
    pub(in crate::engine::postgres) fn on_conflict(
        &mut self,
        s: usize,
        trx: TxnId,
        table: usize,
        oc: &OnConflict,
        values: Vec<Value>,
        cur: &mut Cursor,
        label: &Arc<str>,
    ) -> Result<Upsert, EngineError> {
        let arbiters = match oc {
            OnConflict::Nothing { arbiters } | OnConflict::Update { arbiters, .. } => arbiters,
            OnConflict::DuplicateKey { .. } | OnConflict::Ignore => {
                return Err(EngineError::Unsupported(
                    "ON DUPLICATE KEY UPDATE and INSERT IGNORE are MariaDB's: PostgreSQL refuses them".into(),
                ))
            }
        };
        loop {
            let key = match self.unique_conflict(s, trx, table, &values, None, arbiters, label)? {
                Conflict::Clear => return Ok(Upsert::Insert(values)),
                Conflict::Wait(Lk::Blocked) => {
                    cur.pending = Some(values);
                    return Ok(Upsert::Blocked);
                }
                Conflict::Wait(Lk::Failed(e)) => return Ok(Upsert::Failed(e)),
                Conflict::Wait(_) => unreachable!("a wait is had, blocked or failed"),
                Conflict::Live { key, .. } => key,
            };
            let OnConflict::Update { set, filter, .. } = oc else {
                // ExecCheckTIDVisible: under REPEATABLE READ a conflicting tuple the snapshot does
                // not see is a serialization failure.
                if let Some(e) = self.check_visible(trx, table, &key)? {
                    return Ok(Upsert::Failed(e));
                }
                return Ok(Upsert::Done);
            };
            let what = (set.as_slice(), filter.as_ref());
            if let Some(done) = self.on_conflict_update(s, trx, table, key, what, &values, cur, label)? {
                if matches!(done, Upsert::Blocked) {
                    cur.pending = Some(values);
                }
                return Ok(done);
            }
        }
    }

    /// `ExecCheckTupleVisible`: under REPEATABLE READ or SERIALIZABLE, a conflicting tuple the
    /// transaction snapshot does not see is "could not serialize access due to concurrent update".
    fn check_visible(&self, trx: TxnId, table: usize, key: &Key) -> Result<Option<DbError>, EngineError> {
        if self.iso(trx) < Isolation::RepeatableRead {
            return Ok(None);
        }
        let snap = self.snap(trx);
        let seen = self.version(table, key)?.is_some_and(|v| self.visible(trx, snap, &v));
        Ok((!seen).then(|| serialization("update")))
    }

    /// `ExecOnConflictUpdate`: lock the conflicting tuple in the mode an UPDATE of the SET
    /// columns takes (`ExecUpdateLockMode`: FOR UPDATE if a SET column is a key column, FOR NO KEY
    /// UPDATE otherwise), waiting for a locker; a tuple this command already inserted or updated
    /// is 21000 (`TM_Invisible` / `TM_SelfModified`); one changed since the pre-check makes it
    /// start over (READ COMMITTED) or fail (REPEATABLE READ, `TM_Updated` / `TM_Deleted`); then
    /// `ExecCheckTupleVisible`, the WHERE on the existing row (false: locked, not updated), and
    /// the UPDATE of the existing row with `EXCLUDED` the proposed one (`ExecUpdate`). None: start
    /// over from the pre-check.
    #[allow(clippy::too_many_arguments)]
    fn on_conflict_update(
        &mut self,
        s: usize,
        trx: TxnId,
        table: usize,
        key: Key,
        (set, filter): (&[(usize, crate::sql::Expr)], Option<&crate::sql::Filter>),
        values: &[Value],
        cur: &mut Cursor,
        label: &Arc<str>,
    ) -> Result<Option<Upsert>, EngineError> {
        let root = root_of(&key);
        if cur.touched.contains(&root) {
            return Ok(Some(Upsert::Failed(err(
                ErrorKind::Other,
                "ON CONFLICT DO UPDATE command cannot affect row a second time",
            ))));
        }
        let keys = key_cols(&self.cat.tables[table]);
        let mode = if set.iter().any(|(c, _)| keys.contains(c)) { RowMode::Update } else { RowMode::NoKeyUpdate };
        let why = (label, Purpose::Statement("INSERT ... ON CONFLICT DO UPDATE"));
        match self.lock_row(s, trx, table, root, mode, LockWait::Wait, why)? {
            Lk::Ok => {}
            // Once the lock is had, the pre-check runs again and finds the newest version.
            Lk::Blocked => return Ok(Some(Upsert::Blocked)),
            Lk::Failed(e) => return Ok(Some(Upsert::Failed(e))),
            Lk::Skipped => unreachable!("only a locking read skips locked rows"),
        }
        match self.tm(trx, table, &key)? {
            Tm::Ok => {}
            _ if self.iso(trx) >= Isolation::RepeatableRead => {
                return Ok(Some(Upsert::Failed(serialization("update"))))
            }
            // "Tell caller to try again from the very start."
            _ => return Ok(None),
        }
        if let Some(e) = self.check_visible(trx, table, &key)? {
            return Ok(Some(Upsert::Failed(e)));
        }
        let Some(old) = self.version(table, &key)? else { return Ok(None) };
        if filter.is_some_and(|f| !f.matches(&old.row)) {
            return Ok(Some(Upsert::Done));
        }
        let set = with_excluded(set, values);
        let new = match self.new_row(table, &old.row, &set) {
            Ok(r) => r,
            Err(e) => return Ok(Some(Upsert::Failed(e))),
        };
        // ExecCrossPartitionUpdate (nodeModifyTable.c) refuses to move the row of an upsert
        // (0A000; the detail: "The result tuple would appear in a different partition than the
        // original tuple.").
        if self.cat.moves_partition(table, &old.row, &new) {
            let e = err(ErrorKind::Other, "invalid ON UPDATE specification");
            return Ok(Some(Upsert::Failed(e)));
        }
        let t = &self.cat.tables[table];
        let key_change = key_cols(t).iter().any(|&c| old.row[c] != new[c]);
        let mode = if key_change { RowMode::Update } else { RowMode::NoKeyUpdate };
        cur.touched.push(root);
        Ok(Some(match self.write_update(trx, table, &key, &old, new, mode, cur)? {
            Some(nk) => Upsert::Updated(nk),
            None => Upsert::Done,
        }))
    }
}
