//! `col NOT IN (SELECT pcol FROM ptable)` in a DELETE: MariaDB's per-row locking lookup.
//!
//! Rules, each checked on MariaDB 10.11.19 (see `docs/innodb.md`, "The orphan sweeper"):
//! - **Plan.** The single-table DELETE runs the subquery as a DEPENDENT SUBQUERY: for each row
//!   the scan selects, `unique_subquery` (`pcol` has a unique index) or `index_subquery` (it leads
//!   another index) looks the row's value up in that index (`subselect_uniquesubquery_engine::exec`
//!   and `subselect_indexsubquery_engine::exec`, item_subselect.cc, calling `ha_index_read_map`).
//!   The lookup runs after the scan has locked the child row and after the row's other conjuncts
//!   held (the model's order; the sweeper specs have no other conjunct). A materialised plan
//!   (`optimizer_switch='in_to_exists=off'`, or a costlier in-to-exists on big tables) is not
//!   modelled: it reads the whole subquery table once with S locks.
//! - **Lock mode.** The subquery table of a DELETE is read with S locks at every isolation level:
//!   `ha_innobase::store_lock` (ha_innodb.cc) uses a consistent read for a read-only table only
//!   under READ COMMITTED and only for INSERT ... SELECT, REPLACE ... SELECT, UPDATE, CREATE
//!   TABLE ... SELECT and CREATE SEQUENCE; SQLCOM_DELETE is not in that list, so it gets `LOCK_S`.
//! - **Locks of one lookup** (`row_search_mvcc`, row0sel.cc, exact match on `[value]`): IS on the
//!   table; a live match in a unique index gets an S record lock and ends the search; in a
//!   non-unique index (or on a delete-marked match at REPEATABLE READ) an S next-key lock, and the
//!   search goes on; a delete-marked match of a unique search ends it as "not found" (the
//!   clustered index takes a record lock on it, `no_gap_lock`). The first non-matching record, or
//!   the supremum, gets an S gap lock at REPEATABLE READ (none at READ COMMITTED). READ COMMITTED
//!   skips committed delete-marked records without locking them.
//! - **Locks stay.** A child row that the lookup keeps (its user exists) is unlocked at READ
//!   COMMITTED (`row_unlock_for_mysql`, the caller's `unlock_row`), but the S lock on the parent row
//!   the lookup took is not: `unlock_row` is called on the DELETE's own table only.

use super::exec::Step;
use super::locking::{Got, Implicit, Purpose, RecPos};
use super::modes::{InnoLock, Span, Strength, TableMode};
use super::{InnoDb, Why};
use crate::engine::{EngineError, Parts};
use crate::lock::TxnId;
use crate::sql::Value;
use crate::store::{Key, Store};
use std::cmp::Ordering;
use std::ops::Bound;
use std::sync::Arc;

/// What one lookup found.
pub(super) enum Probe {
    /// A live row with the value: the child row is not selected.
    Found,
    /// None: the child row is selected (deleted).
    Absent,
    /// The lookup had to wait or was chosen as a deadlock victim.
    Stop(Step),
}

impl<P: Parts> InnoDb<P> {
    /// The index the lookup uses: a unique index on exactly `pcol` (`unique_subquery`), else the
    /// first index it leads (`index_subquery`). Lowering made sure there is one.
    fn subquery_index(&self, table: usize, pcol: usize) -> (usize, bool) {
        let t = &self.cat.tables[table];
        if let Some(ix) = t.indexes.iter().position(|ix| ix.unique && ix.cols == [pcol]) {
            return (ix, true);
        }
        (t.indexes.iter().position(|ix| ix.cols.first() == Some(&pcol)).unwrap_or(0), false)
    }

    /// Look `value` up in `table` for `pcol` with S locks (see the module header). A NULL value
    /// is never selected (`NULL NOT IN (...)` is not true), and is not looked up.
    pub(super) fn subquery_probe(
        &mut self,
        trx: TxnId,
        table: usize,
        pcol: usize,
        value: &Value,
        label: &Arc<str>,
    ) -> Result<Probe, EngineError> {
        if value.is_null() {
            return Ok(Probe::Found);
        }
        self.lock_table(trx, table, TableMode::IS, label);
        let (ix, unique) = self.subquery_index(table, pcol);
        let clustered = ix == 0;
        let tree = (table as u32, ix as u32);
        let rr = self.gaps(trx);
        let probe = [value.clone()];
        let why = Why::new(label, Purpose::Subquery { table, col: pcol, value: value.clone() });
        let mut from: Option<Key> = None;
        loop {
            let found = match &from {
                None => self.store.seek(tree, Bound::Included(&probe[..]))?,
                Some(k) => self.store.seek(tree, Bound::Excluded(&k[..]))?,
            };
            let (key, rec) = match found {
                Some((k, r)) if k[0].sql_cmp(value) == Some(Ordering::Equal) => (k, r),
                other => {
                    if rr {
                        let pos = other.map(|(k, _)| RecPos::Rec(k)).unwrap_or(RecPos::Supremum);
                        let mode = InnoLock::Rec(Strength::S, Span::Gap);
                        match self.lock_rec(trx, tree, &pos, mode, Implicit::Convert, why)? {
                            Got::Granted => {}
                            Got::Blocked => return Ok(Probe::Stop(Step::Blocked)),
                            Got::Deadlock(e) => return Ok(Probe::Stop(Step::Done(Err(e)))),
                        }
                    }
                    return Ok(Probe::Absent);
                }
            };
            let deleted = rec.deleted();
            if !rr && deleted && !self.is_active(rec.trx()) {
                from = Some(key);
                continue;
            }
            let span = if !rr || (unique && (!deleted || clustered)) { Span::Record } else { Span::NextKey };
            let pos = RecPos::Rec(key.clone());
            match self.lock_rec(trx, tree, &pos, InnoLock::Rec(Strength::S, span), Implicit::Convert, why.clone())? {
                Got::Granted => {}
                Got::Blocked => return Ok(Probe::Stop(Step::Blocked)),
                Got::Deadlock(e) => return Ok(Probe::Stop(Step::Done(Err(e)))),
            }
            // The record as it is now that the lock is held.
            if self.store.get(tree, &key)?.is_some_and(|r| !r.deleted()) {
                return Ok(Probe::Found);
            }
            if unique {
                return Ok(Probe::Absent);
            }
            from = Some(key);
        }
    }
}
