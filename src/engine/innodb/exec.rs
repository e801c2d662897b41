//! Statement execution under InnoDB's rules: index scans for locking reads, UPDATE and DELETE
//! (`row_search_mvcc`), per-index inserts with FK, duplicate and insert-intention checks
//! (`row_ins_*`), delete-marking and updates (`row_upd_*`), and consistent reads.
//!
//! A statement keeps a cursor; an operation that has to wait returns `Blocked` and is retried from
//! the same cursor once the lock is granted, as InnoDB retries the row operation after a wait.

use super::locking::{Got, Implicit, Purpose, RecPos, Res};
use super::modes::{InnoLock, Span, Strength, TableMode};
use super::optimizer::{Path, Range};
use super::subquery::Probe;
use super::{InnoDb, Running, Why};
pub(super) use crate::engine::Step;
use crate::engine::{
    err, insert_values, updated_row, DbError, EngineError, ErrorKind, Parts, Serial, SetErrors, Undo, SETUP_TRX,
};
use crate::lock::{Locks, TxnId};
use crate::sql::plan::sort_cmp;
use crate::sql::{Expr, Filter, Index, Isolation, LockWait, OnConflict, Plan, RowLock, Table, Value};
use crate::store::{Key, Record, Row, Store, TreeId, Version, Write};
use std::ops::Bound;
use std::sync::Arc;

/// Work on one row: the sub-operations still to do, in InnoDB's order.
#[derive(Debug, Clone)]
pub(super) struct RowWork {
    pub(super) old: Row,
    pub(super) new: Row,
    ops: Vec<Op>,
    next: usize,
    /// The row is deleted (a parent's referential actions are its ON DELETE ones), not updated.
    pub(super) delete: bool,
    /// The foreign key (child table, index) whose referential action made this change: its check
    /// is not run for the child row (`row_ins_check_foreign_constraint`: "If a cascaded update is
    /// done as defined by a foreign key constraint, do not check that constraint").
    pub(super) skip_fk: Option<(usize, usize)>,
    /// The referential action the current parent check is carrying out, if any.
    pub(super) action: Option<Box<super::actions::Action>>,
    /// The duplicate checks take X locks, not S (`trx->duplicates`: REPLACE, INSERT ... ON
    /// DUPLICATE KEY UPDATE; `row_ins_duplicate_error_in_clust`,
    /// `row_ins_scan_sec_index_for_duplicate`).
    pub(super) dup_x: bool,
    /// The index whose duplicate check failed, if one did.
    pub(super) dup: Option<usize>,
}

impl RowWork {
    pub(super) fn new(old: Row, new: Row, ops: Vec<Op>, delete: bool) -> RowWork {
        RowWork { old, new, ops, next: 0, delete, skip_fk: None, action: None, dup_x: false, dup: None }
    }
}

#[derive(Debug, Clone)]
pub(super) enum Op {
    DelMarkClust,
    UpdateClust,
    DelMarkSec(usize),
    InsertEntry(usize),
    ParentCheck { fk_table: usize, fk: usize },
}

#[derive(Debug, Clone)]
pub struct Scan {
    ix: usize,
    /// Shared: copies of a blocked scan and each visit of a range hold them without copying.
    ranges: Arc<[Range]>,
    range: usize,
    after: Option<Key>,
    unique: bool,
    done: bool,
    work: Option<RowWork>,
}

#[derive(Debug, Clone)]
pub enum Cursor {
    /// `up`: the ON DUPLICATE KEY UPDATE of the current row's existing one, once its insert failed.
    Insert {
        row: usize,
        work: Option<RowWork>,
        up: Option<Box<super::upsert::DupUpdate>>,
    },
    Scan(Box<Scan>),
    ConsistentRead,
    Nothing,
}

impl Cursor {
    /// The cursor of `plan`; a scan follows `path` (see [`InnoDb::access_path`]).
    pub fn new(plan: &Plan, path: Option<Path>) -> Cursor {
        match (plan, path) {
            (Plan::Insert { .. }, _) => Cursor::Insert { row: 0, work: None, up: None },
            (Plan::Select { .. } | Plan::Update { .. } | Plan::Delete { .. }, Some(path)) => {
                Cursor::Scan(Box::new(Scan {
                    ix: path.ix,
                    ranges: path.ranges.into(),
                    range: 0,
                    after: None,
                    unique: path.unique,
                    done: false,
                    work: None,
                }))
            }
            (Plan::Select { .. }, None) => Cursor::ConsistentRead,
            _ => Cursor::Nothing,
        }
    }
}

fn strength_of(lock: RowLock) -> Strength {
    match lock {
        RowLock::Update | RowLock::NoKeyUpdate => Strength::X,
        RowLock::Share | RowLock::KeyShare => Strength::S,
    }
}

/// `row_search_mvcc`'s unique_search: an exact match on every column of a unique index (each
/// value of an IN list on the primary key is one such search).
fn unique_search(index: &Index, range: &Range) -> bool {
    index.unique && range.exact && range.prefix.len() == index.cols.len()
}

fn key_text(v: &[Value]) -> String {
    v.iter().map(|x| x.to_string()).collect::<Vec<_>>().join("-")
}

macro_rules! tri {
    ($e:expr) => {
        match $e? {
            Got::Granted => {}
            Got::Blocked => return Ok(Step::Blocked),
            Got::Deadlock(e) => return Ok(Step::Done(Err(e))),
        }
    };
}

/// What a NOWAIT or SKIP LOCKED read does with a record it would wait for.
enum NoWait {
    Skip,
    Fail(DbError),
}

/// What an FK scan found: a live matching record (locked), none, or it had to stop.
pub(super) enum FkScan {
    Present(Key),
    Absent,
    Stop(Step),
}

/// The outcome of one sub-operation: carry on, stop the statement, or wait.
pub(super) enum Flow {
    Next,
    Stop(Step),
}

macro_rules! flow {
    ($e:expr) => {
        match $e? {
            Flow::Next => {}
            Flow::Stop(s) => return Ok(s),
        }
    };
}

impl<P: Parts> InnoDb<P> {
    fn iso(&self, trx: TxnId) -> Isolation {
        self.trxs.get(&trx).map(|t| t.iso).unwrap_or(Isolation::RepeatableRead)
    }

    pub(super) fn gaps(&self, trx: TxnId) -> bool {
        self.iso(trx) > Isolation::ReadCommitted
    }

    /// Write a record (remove it: `None`), keeping the record before for undo.
    fn write(&mut self, trx: TxnId, tree: TreeId, key: Key, rec: Option<Record>) -> Result<(), EngineError> {
        let prev = self.store.get(tree, &key)?;
        self.write_over(trx, tree, key, prev, rec)
    }

    /// [`Self::write`] when the caller has just read the record as it is (`prev`).
    fn write_over(
        &mut self,
        trx: TxnId,
        tree: TreeId,
        key: Key,
        prev: Option<Record>,
        rec: Option<Record>,
    ) -> Result<(), EngineError> {
        let w = match rec {
            Some(r) => Write::Put(tree, key.clone(), r),
            None => Write::Remove(tree, key.clone()),
        };
        self.store.apply_one(w)?;
        if let Some(t) = self.trxs.get_mut(&trx) {
            t.undo.push(Undo { tree, key, prev });
        }
        Ok(())
    }

    /// Run the statement as far as it goes.
    pub(super) fn step(&mut self, s: usize, trx: TxnId, run: &mut Running) -> Result<Step, EngineError> {
        let stmt = run.stmt.clone();
        match (&stmt.plan, &mut run.cursor) {
            (Plan::Insert { table, rows, on_conflict }, Cursor::Insert { row, work, up }) => {
                let label = run.label.clone();
                self.lock_table(trx, *table, TableMode::IX, &label);
                while *row < rows.len() {
                    if let Some(u) = up.as_mut() {
                        flow!(self.dup_update(trx, *table, u, &label));
                        *up = None;
                        *work = None;
                        *row += 1;
                        continue;
                    }
                    if work.is_none() {
                        let values = match self.eval_row(*table, &rows[*row]) {
                            Ok(v) => v,
                            Err(e) => return Ok(Step::Done(Err(e))),
                        };
                        let ops = (0..self.cat.tables[*table].indexes.len()).map(Op::InsertEntry).collect();
                        let mut w = RowWork::new(Row::from([]), values.into(), ops, false);
                        w.dup_x = matches!(on_conflict, Some(OnConflict::DuplicateKey { .. }));
                        *work = Some(w);
                        let t = &self.trxs[&trx];
                        run.row_mark = (t.undo.len(), t.undo_no);
                    }
                    let w = work.as_mut().expect("set above");
                    match (self.run_ops(trx, *table, w, &label)?, on_conflict) {
                        (Flow::Next, _) => {}
                        (Flow::Stop(Step::Done(Err(e))), Some(oc)) => {
                            match self.on_duplicate(trx, oc, w, run.row_mark, e)? {
                                Err(e) => return Ok(Step::Done(Err(e))),
                                Ok(Some(u)) => {
                                    *up = Some(Box::new(u));
                                    continue;
                                }
                                Ok(None) => {}
                            }
                        }
                        (Flow::Stop(s), _) => return Ok(s),
                    }
                    *work = None;
                    *row += 1;
                }
                Ok(Step::Done(Ok(())))
            }
            (Plan::Select { table, filter, order, limit, .. }, Cursor::ConsistentRead) => {
                run.rows = self.consistent_read(trx, *table, filter)?;
                // A consistent read takes no locks, so a filesort and LIMIT only shape the result.
                run.rows.sort_by(|a, b| sort_cmp(order, a, b));
                run.rows.truncate(limit.unwrap_or(usize::MAX));
                Ok(Step::Done(Ok(())))
            }
            (_, Cursor::Scan(scan)) => self.scan(s, trx, &stmt.plan, scan, &mut run.rows, &run.label.clone()),
            _ => Ok(Step::Done(Ok(()))),
        }
    }

    fn eval_row(&mut self, table: usize, exprs: &[Expr]) -> Result<Vec<Value>, DbError> {
        let t = &self.cat.tables[table];
        let not_null = |c: &str| format!("Column '{c}' cannot be null");
        insert_values(t, exprs, self.book.tick, &mut self.book.serials[table], Serial::AutoIncrement, not_null)
    }

    fn visible(&self, trx: TxnId, view: u64, v: &Version) -> bool {
        v.trx == trx || v.trx == SETUP_TRX || self.book.commits.get(&v.trx).is_some_and(|&c| c <= view)
    }

    /// A plain SELECT: a consistent read through the read view (REPEATABLE READ: one per
    /// transaction, from its first read; READ COMMITTED: one per statement). No locks.
    fn consistent_read(&mut self, trx: TxnId, table: usize, filter: &Filter) -> Result<Vec<Vec<Value>>, EngineError> {
        let seq = self.book.commit_seq;
        let t = self.trxs.get_mut(&trx).expect("active");
        if t.view.is_none() {
            self.book.views += 1;
        }
        let view = *t.view.get_or_insert(seq);
        let mut out = Vec::new();
        for (_, rec) in self.store.scan((table as u32, 0))? {
            if let Some(v) = rec.versions.iter().find(|v| self.visible(trx, view, v)) {
                if !v.deleted && filter.matches(&v.row) {
                    out.push(v.row.to_vec());
                }
            }
        }
        Ok(out)
    }

    /// The semi-consistent read of a clustered record whose lock would wait (`row_search_mvcc`,
    /// case DB_LOCK_WAIT with ROW_READ_TRY_SEMI_CONSISTENT): no lock is queued, and the row is
    /// judged by its last committed version (`row_sel_build_committed_vers_for_mysql`,
    /// `row_vers_build_for_semi_consistent_read`: the newest version written by a transaction no
    /// longer active). A row with no committed version (inserted by an open transaction) or whose
    /// last committed version is delete-marked is skipped, and so is one whose committed version
    /// fails the WHERE (the SQL layer rejects it; `ha_innobase::unlock_row` finds nothing to
    /// release). Whether the row must be read again with a lock, that is, waited for.
    fn semi_consistent_matches(&self, rec: &Record, filter: &Filter) -> bool {
        let committed = rec.versions.iter().find(|v| !self.is_active(v.trx));
        committed.is_some_and(|v| !v.deleted && filter.matches(&v.row))
    }

    /// A locking scan (`row_search_mvcc` with a lock type): SELECT ... FOR UPDATE / SHARE, and the
    /// search part of UPDATE and DELETE.
    fn scan(
        &mut self,
        _s: usize,
        trx: TxnId,
        plan: &Plan,
        scan: &mut Scan,
        out: &mut Vec<Vec<Value>>,
        label: &Arc<str>,
    ) -> Result<Step, EngineError> {
        let (table, filter, strength, what) = match plan {
            Plan::Select { table, filter, lock, .. } => {
                let st = lock.map(strength_of).unwrap_or(Strength::S);
                (*table, filter, st, if st == Strength::X { "SELECT ... FOR UPDATE" } else { "SELECT ... FOR SHARE" })
            }
            Plan::Update { table, filter, .. } => (*table, filter, Strength::X, "UPDATE"),
            Plan::Delete { table, filter } => (*table, filter, Strength::X, "DELETE"),
            _ => return Ok(Step::Done(Ok(()))),
        };
        let wait = match plan {
            Plan::Select { wait, .. } => *wait,
            _ => LockWait::Wait,
        };
        let tmode = if strength == Strength::X { TableMode::IX } else { TableMode::IS };
        self.lock_table(trx, table, tmode, label);
        let rr = self.gaps(trx);
        let tree = (table as u32, scan.ix as u32);
        let ncols = self.cat.tables[table].indexes[scan.ix].cols.len();
        let clustered = scan.ix == 0;
        // Semi-consistent reads are asked for by single-table UPDATE only (mysql_update calls
        // try_semi_consistent_read(1); mysql_delete and locking SELECTs never do), and
        // ha_innobase::try_semi_consistent_read grants them at READ COMMITTED and below.
        let semi = !rr && clustered && matches!(plan, Plan::Update { .. });
        loop {
            if let Some(w) = scan.work.as_mut() {
                flow!(self.run_ops(trx, table, w, label));
                scan.work = None;
                if scan.unique {
                    scan.done = true;
                }
            }
            if scan.done || scan.range >= scan.ranges.len() {
                return Ok(Step::Done(Ok(())));
            }
            let ranges = scan.ranges.clone();
            let range = &ranges[scan.range];
            let found = match &scan.after {
                Some(k) => self.store.seek(tree, Bound::Excluded(&k[..]))?,
                None => {
                    let mut start = range.prefix.clone();
                    if let Some((v, _)) = &range.lower {
                        start.push(v.clone());
                    }
                    self.store.seek(tree, Bound::Included(&start[..]))?
                }
            };
            let purpose = Purpose::Scan(what);
            let Some((key, rec)) = found else {
                // The supremum: a gap lock on the tail of the index (RR only).
                if rr {
                    tri!(self.lock_rec(
                        trx,
                        tree,
                        &RecPos::Supremum,
                        InnoLock::Rec(strength, Span::Gap),
                        Implicit::Convert,
                        Why::new(label, purpose)
                    ));
                }
                scan.range += 1;
                scan.after = None;
                continue;
            };
            let pos = RecPos::Rec(key.clone());
            let in_prefix = key.len() >= range.prefix.len() && key[..range.prefix.len()] == range.prefix[..];
            let beyond_upper = range.upper.as_ref().is_some_and(|(v, incl)| {
                let k = &key[range.prefix.len()];
                k > v || (!incl && k == v)
            });
            if !in_prefix || beyond_upper {
                if rr {
                    // Exact-prefix search: gap lock on the first non-matching record; a range scan
                    // has already next-key locked the record past its end (the SQL layer checks it).
                    let span = if range.exact { Span::Gap } else { Span::NextKey };
                    tri!(self.lock_rec(
                        trx,
                        tree,
                        &pos,
                        InnoLock::Rec(strength, span),
                        Implicit::Convert,
                        Why::new(label, purpose)
                    ));
                }
                scan.range += 1;
                scan.after = None;
                continue;
            }
            if let Some((v, false)) = &range.lower {
                if &key[range.prefix.len()] == v && !rr {
                    scan.after = Some(key);
                    continue;
                }
            }
            let first_exact = scan.after.is_none() && clustered && scan.unique && key[..] == range.prefix[..];
            let span = if !rr || first_exact { Span::Record } else { Span::NextKey };
            if !rr && rec.deleted() && !self.is_active(rec.trx()) {
                // READ COMMITTED skips committed delete-marked records without locking.
                scan.after = Some(key);
                continue;
            }
            let mode = InnoLock::Rec(strength, span);
            let unique = unique_search(&self.cat.tables[table].indexes[scan.ix], range);
            // If the last committed version matches, the SQL layer reads the row again
            // (ha_was_semi_consistent_read), now as a locking read that waits: the lock_rec below.
            if semi
                && !unique
                && self.read_lock_would_wait(trx, tree, &pos, mode)?
                && !self.semi_consistent_matches(&rec, filter)
            {
                scan.after = Some(key);
                continue;
            }
            // READ COMMITTED gives back the lock of a clustered record that fails the WHERE only if
            // this read creates it (DB_SUCCESS_LOCKED_REC sets prebuilt->new_rec_locks). A lock held
            // before, or granted after a wait (the read is retried with the lock held: new_rec_locks
            // is cleared on DB_LOCK_WAIT), is kept to the end.
            let may_unlock = !rr && clustered && !self.locks.holds(trx, &Res::Rec(tree, pos.clone()), mode);
            if wait != LockWait::Wait {
                match self.no_wait(trx, tree, &pos, mode, wait)? {
                    Some(NoWait::Skip) => {
                        scan.after = Some(key);
                        continue;
                    }
                    Some(NoWait::Fail(e)) => return Ok(Step::Done(Err(e))),
                    None => {}
                }
            }
            tri!(self.lock_rec(
                trx,
                tree,
                &pos,
                InnoLock::Rec(strength, span),
                Implicit::Convert,
                Why::new(label, purpose.clone())
            ));
            let (pk, sec_deleted) = if clustered { (key.clone(), false) } else { (key[ncols..].into(), rec.deleted()) };
            if !clustered {
                // row_sel_get_clust_rec_for_mysql: the clustered record, record lock only.
                let cpos = RecPos::Rec(pk.clone());
                if wait != LockWait::Wait {
                    let cmode = InnoLock::Rec(strength, Span::Record);
                    match self.no_wait(trx, (table as u32, 0), &cpos, cmode, wait)? {
                        Some(NoWait::Skip) => {
                            scan.after = Some(key);
                            continue;
                        }
                        Some(NoWait::Fail(e)) => return Ok(Step::Done(Err(e))),
                        None => {}
                    }
                }
                tri!(self.lock_rec(
                    trx,
                    (table as u32, 0),
                    &cpos,
                    InnoLock::Rec(strength, Span::Record),
                    Implicit::Convert,
                    Why::new(label, purpose)
                ));
            }
            let crec = if clustered { Some(rec) } else { self.store.get((table as u32, 0), &pk)? };
            let live = crec.filter(|r| !r.deleted() && !sec_deleted);
            let Some(crec) = live else {
                if scan.unique {
                    return Ok(Step::Done(Ok(())));
                }
                scan.after = Some(key);
                continue;
            };
            let row = crec.current().row.clone();
            let mut selected = filter.matches(&row);
            if selected {
                for (col, ptable, pcol) in filter.subqueries() {
                    match self.subquery_probe(trx, ptable, pcol, &row[col], label)? {
                        Probe::Absent => {}
                        Probe::Found => {
                            selected = false;
                            break;
                        }
                        Probe::Stop(step) => return Ok(step),
                    }
                }
            }
            if !selected {
                if may_unlock && crec.trx() != trx {
                    // row_unlock_for_mysql: not for a record this transaction has changed.
                    self.release_one(trx, &Res::Rec(tree, pos), mode);
                }
                if scan.unique {
                    return Ok(Step::Done(Ok(())));
                }
                scan.after = Some(key);
                continue;
            }
            scan.after = Some(key);
            match plan {
                Plan::Select { limit, .. } => {
                    out.push(row.to_vec());
                    // The SQL layer stops reading at the LIMIT (end_read_record after
                    // select_limit rows, sql_select.cc): no later record is locked. The path is the
                    // primary key in its order (checked in `InnoDb::start`).
                    if scan.unique || limit.is_some_and(|n| out.len() >= n) {
                        return Ok(Step::Done(Ok(())));
                    }
                }
                Plan::Delete { .. } => scan.work = Some(self.delete_work(table, row)),
                Plan::Update { set, .. } => match self.update_work(table, row, set) {
                    Ok(w) => scan.work = Some(w),
                    Err(e) => return Ok(Step::Done(Err(e))),
                },
                _ => {}
            }
        }
    }

    /// A locking read's record lock under NOWAIT or SKIP LOCKED, when it would wait (an implicit
    /// lock made explicit first, as `lock_clust_rec_read_check_and_lock` does): SKIP LOCKED leaves
    /// the row out, NOWAIT fails the statement with a lock wait timeout at once. MariaDB's manual
    /// ("WAIT and NOWAIT": NOWAIT is a lock wait timeout of 0 for the statement; "SELECT ... SKIP
    /// LOCKED", 10.6: locked rows are skipped). None when the lock is free to take.
    fn no_wait(
        &mut self,
        trx: TxnId,
        tree: TreeId,
        pos: &RecPos,
        mode: InnoLock,
        wait: LockWait,
    ) -> Result<Option<NoWait>, EngineError> {
        if !self.read_lock_would_wait(trx, tree, pos, mode)? {
            return Ok(None);
        }
        Ok(Some(match wait {
            LockWait::SkipLocked => NoWait::Skip,
            _ => NoWait::Fail(err(ErrorKind::LockTimeout, "Lock wait timeout exceeded; try restarting transaction")),
        }))
    }

    /// The parent index of a foreign key: the parent's unique index on the referenced columns.
    fn parent_index(&self, fk_table: usize, fk: usize) -> usize {
        let fk = &self.cat.tables[fk_table].fks[fk];
        let parent = &self.cat.tables[fk.parent];
        parent.indexes.iter().position(|ix| ix.unique && ix.cols == fk.parent_cols).unwrap_or(0)
    }

    /// Enforced foreign keys whose referenced index is `ix` of `table`.
    fn referencing_index(&self, table: usize, ix: usize) -> Vec<(usize, usize)> {
        self.cat
            .referencing(table)
            .filter(|&(t, f)| self.cat.tables[t].fks[f].enforced && self.parent_index(t, f) == ix)
            .collect()
    }

    /// DELETE of a row (`row_upd_del_mark_clust_rec`, then `row_upd_sec_step`): delete-mark the
    /// clustered record, check referencing child rows, then delete-mark each secondary entry (and
    /// check children of a referenced unique index).
    pub(super) fn delete_work(&self, table: usize, row: Row) -> RowWork {
        let mut ops = vec![Op::DelMarkClust];
        ops.extend(self.referencing_index(table, 0).into_iter().map(|(fk_table, fk)| Op::ParentCheck { fk_table, fk }));
        for ix in 1..self.cat.tables[table].indexes.len() {
            ops.push(Op::DelMarkSec(ix));
            ops.extend(
                self.referencing_index(table, ix).into_iter().map(|(fk_table, fk)| Op::ParentCheck { fk_table, fk }),
            );
        }
        RowWork::new(row.clone(), row, ops, true)
    }

    /// UPDATE of a row (`row_upd_clust_step`, `row_upd_sec_index_entry`): the clustered record in
    /// place (or delete-mark and insert when the key changes), then every secondary index whose
    /// columns changed: delete-mark the old entry, check children if referenced, insert the new one.
    pub(super) fn update_work(&self, table: usize, row: Row, set: &[(usize, Expr)]) -> Result<RowWork, DbError> {
        const ERRORS: SetErrors = SetErrors {
            arithmetic: "arithmetic on a non-integer column",
            not_null: |c| format!("Column '{c}' cannot be null"),
        };
        let t = &self.cat.tables[table];
        let new = updated_row(t, &row, set, self.book.tick, &ERRORS, None)?;
        let changed = |cols: &[usize]| cols.iter().any(|&c| row[c] != new[c]);
        let pk_changed = changed(t.pk());
        let parent_checks = |ix: usize| -> Vec<Op> {
            self.referencing_index(table, ix)
                .into_iter()
                .filter(|&(ft, f)| changed(&self.cat.tables[ft].fks[f].parent_cols))
                .map(|(fk_table, fk)| Op::ParentCheck { fk_table, fk })
                .collect()
        };
        let mut ops = Vec::new();
        if pk_changed {
            ops.push(Op::DelMarkClust);
            ops.extend(parent_checks(0));
            ops.push(Op::InsertEntry(0));
        } else {
            ops.push(Op::UpdateClust);
        }
        for (ix, index) in t.indexes.iter().enumerate().skip(1) {
            if pk_changed || changed(&index.cols) {
                ops.push(Op::DelMarkSec(ix));
                ops.extend(parent_checks(ix));
                ops.push(Op::InsertEntry(ix));
            }
        }
        Ok(RowWork::new(row, new.into(), ops, false))
    }

    pub(super) fn run_ops(
        &mut self,
        trx: TxnId,
        table: usize,
        w: &mut RowWork,
        label: &Arc<str>,
    ) -> Result<Flow, EngineError> {
        while w.next < w.ops.len() {
            let step = match w.ops[w.next].clone() {
                Op::DelMarkClust => self.mark_clust(trx, table, &w.old, &w.old, true)?,
                Op::UpdateClust => self.mark_clust(trx, table, &w.old, &w.new, false)?,
                Op::DelMarkSec(ix) => self.del_mark_sec(trx, table, ix, &w.old, label)?,
                Op::InsertEntry(ix) => {
                    let step = self.insert_entry(trx, table, ix, &w.new, (w.skip_fk, w.dup_x), label)?;
                    if let Some(Step::Done(Err(e))) = &step {
                        if e.kind == ErrorKind::UniqueViolation {
                            w.dup = Some(ix);
                        }
                    }
                    step
                }
                Op::ParentCheck { fk_table, fk } => self.parent_check(trx, fk_table, fk, w, label)?,
            };
            if let Some(step) = step {
                return Ok(Flow::Stop(step));
            }
            w.next += 1;
        }
        Ok(Flow::Next)
    }

    /// Delete-mark or update the clustered record in place (the search already holds its X lock).
    fn mark_clust(
        &mut self,
        trx: TxnId,
        table: usize,
        old: &[Value],
        new: &Row,
        delete: bool,
    ) -> Result<Option<Step>, EngineError> {
        let t = &self.cat.tables[table];
        let tree = (table as u32, 0);
        let key = t.pk_of(old);
        let Some(rec) = self.store.get(tree, &key)? else {
            return Ok(None);
        };
        let newer = rec.with_newer(Version::new(trx, new.clone(), delete));
        self.write_over(trx, tree, key.clone(), Some(rec), Some(newer))?;
        let x = self.trxs.get_mut(&trx).expect("active");
        x.undo_no += 1;
        if delete {
            x.deleted.push((tree, key));
        }
        Ok(None)
    }

    /// Delete-mark a secondary entry (`lock_sec_rec_modify_check_and_lock`: X record lock only if
    /// another transaction holds a conflicting explicit lock; no implicit-lock conversion).
    fn del_mark_sec(
        &mut self,
        trx: TxnId,
        table: usize,
        ix: usize,
        old: &[Value],
        label: &Arc<str>,
    ) -> Result<Option<Step>, EngineError> {
        let tree = (table as u32, ix as u32);
        let key = self.cat.tables[table].entry_of(ix, old);
        let Some(rec) = self.store.get(tree, &key)? else {
            return Ok(None);
        };
        if rec.deleted() {
            return Ok(None);
        }
        let res = Res::Rec(tree, RecPos::Rec(key.clone()));
        let mode = InnoLock::Rec(Strength::X, Span::Record);
        if !self.locks.conflicting(trx, &res, mode).is_empty() {
            match self.lock_rec(
                trx,
                tree,
                &RecPos::Rec(key.clone()),
                InnoLock::Rec(Strength::X, Span::Record),
                Implicit::Ignore,
                Why::new(label, Purpose::Modify),
            )? {
                Got::Granted => {}
                Got::Blocked => return Ok(Some(Step::Blocked)),
                Got::Deadlock(e) => return Ok(Some(Step::Done(Err(e)))),
            }
        }
        let rec = Record::of(Version::new(trx, Row::default(), true));
        self.write(trx, tree, key.clone(), Some(rec))?;
        if ix > 0 {
            self.trxs.get_mut(&trx).expect("active").deleted.push((tree, key));
        }
        Ok(None)
    }

    /// Insert one index entry (`row_ins_clust_index_entry` / `row_ins_sec_index_entry`): FK checks
    /// for the constraints whose index this is, the duplicate-key check, the insert-intention check
    /// on the successor, then the write.
    fn insert_entry(
        &mut self,
        trx: TxnId,
        table: usize,
        ix: usize,
        row: &Row,
        (skip_fk, dup_x): (Option<(usize, usize)>, bool),
        label: &Arc<str>,
    ) -> Result<Option<Step>, EngineError> {
        let dup_strength = if dup_x { Strength::X } else { Strength::S };
        macro_rules! try_lock {
            ($e:expr) => {
                match $e? {
                    Got::Granted => {}
                    Got::Blocked => return Ok(Some(Step::Blocked)),
                    Got::Deadlock(e) => return Ok(Some(Step::Done(Err(e)))),
                }
            };
        }
        let cat = self.cat.clone();
        let t = &cat.tables[table];
        let index = &t.indexes[ix];
        let tree = (table as u32, ix as u32);
        let key = t.entry_of(ix, row);
        for (f, fk) in t.fks.iter().enumerate() {
            if fk.enforced && fk.child_index == Some(ix) && skip_fk != Some((table, f)) {
                let vals: Key = fk.cols.iter().map(|&c| row[c].clone()).collect();
                if vals.iter().any(Value::is_null) {
                    continue;
                }
                if let Some(step) = self.fk_check(trx, table, f, &vals, label)? {
                    return Ok(Some(step));
                }
            }
        }
        let existing = self.store.get(tree, &key)?;
        let dup_err = || {
            let name = if index.clustered { "PRIMARY".to_string() } else { index.name.clone() };
            let shown: Vec<Value> = index.cols.iter().map(|&c| row[c].clone()).collect();
            Some(Step::Done(Err(err(
                ErrorKind::UniqueViolation,
                format!("Duplicate entry '{}' for key '{}'", key_text(&shown), name),
            ))))
        };
        if index.clustered {
            // row_ins_duplicate_error_in_clust: S record lock on an equal record, at every level
            // (X with `trx->duplicates`).
            if existing.is_some() {
                try_lock!(self.lock_rec(
                    trx,
                    tree,
                    &RecPos::Rec(key.clone()),
                    InnoLock::Rec(dup_strength, Span::Record),
                    Implicit::Convert,
                    Why::new(label, Purpose::DupCheck)
                ));
                let now = self.store.get(tree, &key)?;
                if now.as_ref().is_some_and(|r| !r.deleted()) {
                    return Ok(dup_err());
                }
            }
        } else if index.unique {
            let prefix: Key = key[..index.cols.len()].into();
            if !prefix.iter().any(Value::is_null) {
                // row_ins_scan_sec_index_for_duplicate: only when a neighbour shares the prefix;
                // S next-key on every record it meets, the first greater one included (X with
                // `trx->duplicates`).
                let first = self.store.seek(tree, Bound::Included(&prefix[..]))?;
                if first.as_ref().is_some_and(|(k, _)| k[..prefix.len()] == prefix[..]) {
                    let mut from: Bound<Key> = Bound::Included(prefix.clone());
                    loop {
                        let next = match &from {
                            Bound::Included(k) => self.store.seek(tree, Bound::Included(&k[..]))?,
                            Bound::Excluded(k) => self.store.seek(tree, Bound::Excluded(&k[..]))?,
                            Bound::Unbounded => None,
                        };
                        let Some((k, r)) = next else {
                            try_lock!(self.lock_rec(
                                trx,
                                tree,
                                &RecPos::Supremum,
                                InnoLock::Rec(dup_strength, Span::NextKey),
                                Implicit::Convert,
                                Why::new(label, Purpose::DupCheck)
                            ));
                            break;
                        };
                        try_lock!(self.lock_rec(
                            trx,
                            tree,
                            &RecPos::Rec(k.clone()),
                            InnoLock::Rec(dup_strength, Span::NextKey),
                            Implicit::Convert,
                            Why::new(label, Purpose::DupCheck)
                        ));
                        if k[..prefix.len()] != prefix[..] {
                            break;
                        }
                        if !r.deleted() && k != key {
                            return Ok(dup_err());
                        }
                        from = Bound::Excluded(k);
                    }
                }
            }
        }
        let existing = self.store.get(tree, &key)?;
        let next = self.successor(tree, &key)?;
        let new_rec = match existing {
            Some(old) if old.deleted() => {
                // Insert over a delete-marked record: an update of it, no insert intention.
                if index.clustered {
                    try_lock!(self.lock_rec(
                        trx,
                        tree,
                        &RecPos::Rec(key.clone()),
                        InnoLock::Rec(Strength::X, Span::Record),
                        Implicit::Convert,
                        Why::new(label, Purpose::Insert)
                    ));
                    old.with_newer(Version::new(trx, row.clone(), false))
                } else {
                    Record::new(trx, Row::default())
                }
            }
            Some(_) => return Ok(dup_err()),
            None => {
                try_lock!(self.lock_rec(
                    trx,
                    tree,
                    &next,
                    InnoLock::Rec(Strength::X, Span::InsertIntention),
                    Implicit::Ignore,
                    Why::new(label, Purpose::Insert)
                ));
                Record::new(trx, if index.clustered { row.clone() } else { Row::default() })
            }
        };
        let fresh = new_rec.versions.len() == 1;
        self.write(trx, tree, key.clone(), Some(new_rec))?;
        if fresh {
            self.inherit_inserted(tree, &key, &next);
        }
        if index.clustered {
            self.trxs.get_mut(&trx).expect("active").undo_no += 1;
        }
        Ok(None)
    }

    fn fk_message(&self, fk_table: usize, fk: usize, child_side: bool) -> String {
        let child = &self.cat.tables[fk_table];
        let f = &child.fks[fk];
        let parent = &self.cat.tables[f.parent];
        let cols = |t: &Table, cs: &[usize]| {
            cs.iter().map(|&c| format!("`{}`", t.columns[c].name)).collect::<Vec<_>>().join(", ")
        };
        let what = if child_side { "Cannot add or update a child row" } else { "Cannot delete or update a parent row" };
        format!(
            "{what}: a foreign key constraint fails (`{}`, CONSTRAINT `{}` FOREIGN KEY ({}) REFERENCES `{}` ({}))",
            child.name,
            f.name,
            cols(child, &f.cols),
            parent.name,
            cols(parent, &f.parent_cols)
        )
    }

    /// The scan of `row_ins_check_foreign_constraint`, shared by both directions: look `vals` up
    /// in `tree` with S locks (record lock on a live match, which ends the scan; next-key on a
    /// delete-marked match, and the scan goes on; gap lock on the first greater record or the
    /// supremum, which ends it). Gap locks are skipped at READ COMMITTED.
    /// `from` resumes the scan after a record already dealt with (a referential action's).
    pub(super) fn fk_scan(
        &mut self,
        trx: TxnId,
        tree: TreeId,
        vals: &Key,
        why: Why,
        mut from: Option<Key>,
    ) -> Result<FkScan, EngineError> {
        let rr = self.gaps(trx);
        loop {
            let found = match &from {
                None => self.store.seek(tree, Bound::Included(&vals[..]))?,
                Some(k) => self.store.seek(tree, Bound::Excluded(&k[..]))?,
            };
            let matching = found.as_ref().is_some_and(|(k, _)| k[..vals.len()] == vals[..]);
            let (pos, deleted) = match &found {
                Some((k, r)) => (RecPos::Rec(k.clone()), r.deleted()),
                None => (RecPos::Supremum, false),
            };
            let span = if !matching {
                Span::Gap
            } else if deleted && rr {
                Span::NextKey
            } else {
                Span::Record
            };
            if span != Span::Gap || rr {
                let mode = InnoLock::Rec(Strength::S, span);
                match self.lock_rec(trx, tree, &pos, mode, Implicit::Convert, why.clone())? {
                    Got::Granted => {}
                    Got::Blocked => return Ok(FkScan::Stop(Step::Blocked)),
                    Got::Deadlock(e) => return Ok(FkScan::Stop(Step::Done(Err(e)))),
                }
            }
            let RecPos::Rec(key) = pos else { return Ok(FkScan::Absent) };
            if !matching {
                return Ok(FkScan::Absent);
            }
            if !deleted {
                return Ok(FkScan::Present(key));
            }
            from = Some(key);
        }
    }

    /// `row_ins_check_foreign_constraint` with `check_ref = TRUE`: the new child row's key must
    /// be in the parent's referenced index ("no referenced row" otherwise).
    fn fk_check(
        &mut self,
        trx: TxnId,
        fk_table: usize,
        fk: usize,
        vals: &Key,
        label: &Arc<str>,
    ) -> Result<Option<Step>, EngineError> {
        let parent = self.cat.tables[fk_table].fks[fk].parent;
        let tree = (parent as u32, self.parent_index(fk_table, fk) as u32);
        self.lock_table(trx, parent, TableMode::IS, label);
        let why = Why::new(label, Purpose::FkCheck { fk_table, fk, key: vals.clone() });
        Ok(match self.fk_scan(trx, tree, vals, why, None)? {
            FkScan::Present(_) => None,
            FkScan::Absent => Some(Step::Done(Err(err(ErrorKind::FkViolation, self.fk_message(fk_table, fk, true))))),
            FkScan::Stop(step) => Some(step),
        })
    }

    /// `row_ins_check_foreign_constraint` with `check_ref = FALSE`, for a parent row being deleted
    /// or re-keyed: a live child row with the old key fails the statement (RESTRICT / NO ACTION),
    /// or has the constraint's referential action done to it ([`InnoDb::parent_action`]).
    fn parent_check(
        &mut self,
        trx: TxnId,
        fk_table: usize,
        fk: usize,
        w: &mut RowWork,
        label: &Arc<str>,
    ) -> Result<Option<Step>, EngineError> {
        let f = &self.cat.tables[fk_table].fks[fk];
        let vals: Key = f.parent_cols.iter().map(|&c| w.old[c].clone()).collect();
        if vals.iter().any(Value::is_null) {
            return Ok(None);
        }
        let Some(cix) = f.child_index else {
            return Ok(None);
        };
        let action = if w.delete { f.on_delete } else { f.on_update };
        self.lock_table(trx, fk_table, TableMode::IS, label);
        if action.changes_children() {
            return self.parent_action(trx, fk_table, fk, &vals, w, label);
        }
        let why = Why::new(label, Purpose::ParentCheck { fk_table, fk, key: vals.clone() });
        Ok(match self.fk_scan(trx, (fk_table as u32, cix as u32), &vals, why, None)? {
            FkScan::Absent => None,
            FkScan::Present(_) => Some(self.parent_refused(fk_table, fk)),
            FkScan::Stop(step) => Some(step),
        })
    }

    /// "Cannot delete or update a parent row" (`DB_ROW_IS_REFERENCED`).
    pub(super) fn parent_refused(&self, fk_table: usize, fk: usize) -> Step {
        Step::Done(Err(err(ErrorKind::FkViolation, self.fk_message(fk_table, fk, false))))
    }
}
