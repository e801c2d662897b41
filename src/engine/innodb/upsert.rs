//! MariaDB's upserts over InnoDB's row insert: `INSERT IGNORE` and `INSERT ... ON DUPLICATE KEY
//! UPDATE` (`write_record`, sql_insert.cc).

use super::exec::{Flow, RowWork, Step};
use super::locking::{Got, Implicit, Purpose, RecPos};
use super::modes::{InnoLock, Span, Strength};
use super::{InnoDb, Why};
use crate::engine::{err, with_excluded, DbError, EngineError, ErrorKind, Parts};
use crate::lock::TxnId;
use crate::sql::{Expr, OnConflict, Value};
use crate::store::{Key, Row, Store};
use std::ops::Bound;
use std::sync::Arc;

/// The update of the row an ON DUPLICATE KEY UPDATE row collided with.
#[derive(Debug, Clone)]
pub struct DupUpdate {
    /// The unique index whose duplicate check failed.
    ix: usize,
    /// The row that was to be inserted (`VALUES(col)`).
    excluded: Row,
    set: Vec<(usize, Expr)>,
    /// The existing row's update, once it is read and locked.
    work: Option<RowWork>,
}

impl<P: Parts> InnoDb<P> {
    /// A row of an upsert failed with `e` (after `w`'s checks): roll the row back to `mark`
    /// (`row_mysql_handle_errors` rolls the latest, possibly incomplete, insertion back to its
    /// savepoint, keeping the locks) and then, under `INSERT IGNORE`, skip it for a duplicate or a
    /// missing parent (the error is a warning: `write_record` with `info->ignore` and
    /// `handler::is_fatal_error`); under ON DUPLICATE KEY UPDATE, update the existing row of a
    /// duplicate. Any other error fails the statement.
    pub(super) fn on_duplicate(
        &mut self,
        trx: TxnId,
        oc: &OnConflict,
        w: &RowWork,
        mark: (usize, u64),
        e: DbError,
    ) -> Result<Result<Option<DupUpdate>, DbError>, EngineError> {
        let up = match (oc, w.dup) {
            (OnConflict::Ignore, _) if matches!(e.kind, ErrorKind::UniqueViolation | ErrorKind::FkViolation) => None,
            (OnConflict::DuplicateKey { set }, Some(ix)) if e.kind == ErrorKind::UniqueViolation => {
                Some(DupUpdate { ix, excluded: w.new.clone(), set: set.clone(), work: None })
            }
            _ => return Ok(Err(e)),
        };
        self.undo_to(trx, mark.0, mark.1)?;
        Ok(Ok(up))
    }

    /// ON DUPLICATE KEY UPDATE of the existing row (`write_record`): read it through the index
    /// that had the duplicate with an exclusive lock (`ha_index_read_idx_map`, a unique search:
    /// X record lock on the entry and on the clustered record), apply the SET with `VALUES(col)`
    /// the row that was to be inserted, and update it unless nothing changed (`compare_record`).
    pub(super) fn dup_update(
        &mut self,
        trx: TxnId,
        table: usize,
        u: &mut DupUpdate,
        label: &Arc<str>,
    ) -> Result<Flow, EngineError> {
        macro_rules! try_lock {
            ($e:expr) => {
                match $e? {
                    Got::Granted => {}
                    Got::Blocked => return Ok(Flow::Stop(Step::Blocked)),
                    Got::Deadlock(e) => return Ok(Flow::Stop(Step::Done(Err(e)))),
                }
            };
        }
        if u.work.is_none() {
            let t = self.cat.tables[table].clone();
            let index = &t.indexes[u.ix];
            let prefix: Key = index.cols.iter().map(|&c| u.excluded[c].clone()).collect();
            let tree = (table as u32, u.ix as u32);
            let mut from = Bound::Included(prefix.clone());
            let found = loop {
                let next = match &from {
                    Bound::Included(k) => self.store.seek(tree, Bound::Included(&k[..]))?,
                    Bound::Excluded(k) => self.store.seek(tree, Bound::Excluded(&k[..]))?,
                    Bound::Unbounded => None,
                };
                match next {
                    Some((k, _)) if k[..prefix.len()] != prefix[..] => break None,
                    Some((k, r)) if !r.deleted() => break Some(k),
                    Some((k, _)) => from = Bound::Excluded(k),
                    None => break None,
                }
            };
            let Some(k) = found else {
                return Ok(Flow::Stop(Step::Done(Err(err(ErrorKind::Other, "Can't find record in the table")))));
            };
            let why = || Why::new(label, Purpose::Scan("INSERT ... ON DUPLICATE KEY UPDATE"));
            let x = InnoLock::Rec(Strength::X, Span::Record);
            if u.ix > 0 {
                try_lock!(self.lock_rec(trx, tree, &RecPos::Rec(k.clone()), x, Implicit::Convert, why()));
            }
            let pk: Key = if u.ix == 0 { k } else { k[index.cols.len()..].into() };
            let clust = (table as u32, 0);
            try_lock!(self.lock_rec(trx, clust, &RecPos::Rec(pk.clone()), x, Implicit::Convert, why()));
            let Some(rec) = self.store.get(clust, &pk)? else {
                return Ok(Flow::Stop(Step::Done(Err(err(ErrorKind::Other, "Can't find record in the table")))));
            };
            let old: Vec<Value> = rec.current().row.to_vec();
            let set = with_excluded(&u.set, &u.excluded);
            let w = match self.update_work(table, old.into(), &set) {
                Ok(w) => w,
                Err(e) => return Ok(Flow::Stop(Step::Done(Err(e)))),
            };
            if w.new == w.old {
                return Ok(Flow::Next);
            }
            u.work = Some(w);
        }
        let w = u.work.as_mut().expect("set above");
        self.run_ops(trx, table, w, label)
    }
}
