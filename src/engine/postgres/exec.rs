//! Statement execution under PostgreSQL's rules: snapshots, row locks with tuple-lock queueing
//! (`heap_lock_tuple`, `heap_update`, `heap_delete`), READ COMMITTED re-checks (EvalPlanQual) and
//! REPEATABLE READ serialization failures, unique checks (`_bt_check_unique`), and the RI triggers
//! (`ri_triggers.c`) run at the end of each statement.
//!
//! Heap tuples live in tree (table, 0) under the key `[root, version]`: every version of a logical
//! row shares its root, so the row's locks (and the KEY SHARE locks PostgreSQL carries across a
//! non-key update) are on the root.

use super::modes::{Hw, PgLock, RowMode};
use super::{PgDb, PgRes, Purpose, Running};
use upsert::Upsert;

mod attach;
mod upsert;
pub(super) use crate::engine::Step;
use crate::engine::{
    err, insert_values, updated_row, DbError, EngineError, ErrorKind, Parts, Serial, SetErrors, Undo, SETUP_TRX,
};
use crate::lock::{Locks, Request, TxnId};
use crate::sql::plan::{sort_cmp, CmpOp, SortKey};
use crate::sql::{Cond, Expr, Filter, Isolation, LockWait, Plan, RefAction, Table, Value};
use crate::store::{Key, Record, Row, Store, Version, Write};
use std::ops::Bound;
use std::sync::Arc;

/// An RI trigger queued by a row change, fired at the end of the statement.
#[derive(Debug, Clone)]
pub(super) enum Ri {
    /// `RI_FKey_check`: the new child row's key must exist in the parent.
    Child { fk_table: usize, fk: usize, vals: Key, tuple: Key },
    /// `RI_FKey_noaction_del/upd` (`restrict`: `RI_FKey_restrict_del/upd`): no child may still
    /// reference the old parent key.
    Parent { fk_table: usize, fk: usize, vals: Key, restrict: bool },
    /// `RI_FKey_cascade_del`, `RI_FKey_setnull_del`, `RI_FKey_cascade_upd`,
    /// `RI_FKey_setnull_upd`: the referential action's query on the children of the old key
    /// `vals`; `new` is the parent's new key (an UPDATE), None for a DELETE.
    Action { fk_table: usize, fk: usize, vals: Key, new: Option<Key> },
}

/// Where a statement is.
#[derive(Debug, Clone, Default)]
pub struct Cursor {
    pub(super) started: bool,
    /// The tuples the statement snapshot saw (UPDATE, DELETE, SELECT FOR ...), or the INSERT rows.
    targets: Vec<Key>,
    next: usize,
    /// The version being changed after a READ COMMITTED re-check moved to a newer one.
    current: Option<Key>,
    /// The tuple written for the current row, whose unique checks are still to pass.
    written: Option<Key>,
    ri: Vec<Ri>,
    ri_next: usize,
    /// The WHERE clause with its subqueries evaluated, fixed when the targets are.
    resolved: Option<Filter>,
    /// An RI trigger's query (`ri_PerformCheck` with `detectNewRows`): it reads the latest
    /// snapshot, and under REPEATABLE READ a row the transaction snapshot does not see is a
    /// serialization failure (the `crosscheck` snapshot of `heap_delete` / `heap_update`).
    pub(super) ri_query: bool,
    /// The referential action query running for the current trigger, with its own cursor.
    pub(super) nested: Option<Box<(Plan, Cursor)>>,
    /// The statement holds its relation locks (`relation::relation_locks`).
    relations_locked: bool,
    /// An INSERT row's values, kept while its ON CONFLICT pre-check or lock waits.
    pending: Option<Vec<Value>>,
    /// The tuples (roots) this INSERT inserted or upserted: ON CONFLICT DO UPDATE may not
    /// affect one a second time.
    touched: Vec<i64>,
    /// The written tuple is a DO UPDATE's new version (its RI checks are queued already).
    upserted: bool,
    /// The WHERE clause's advisory lock calls made so far (one round per row), and all made.
    advisory_next: usize,
    advisory_done: bool,
    /// Queue the events of deferred constraints on the transaction instead of firing them (a
    /// statement inside a transaction block).
    pub(super) defer: bool,
    /// The parent tuple the current RI check's query found and is locking: after a wait the
    /// check goes on with that tuple (`heap_lock_tuple` returns what became of it), not a new
    /// scan.
    ri_found: Option<Key>,
    /// A VACUUM's or ANALYZE's progress through its relations.
    maintenance: super::maintenance::Progress,
}

impl Cursor {
    /// A statement's cursor; `defer`: it runs in a transaction block, so events of deferred
    /// constraints wait on the transaction.
    pub(super) fn statement(defer: bool) -> Cursor {
        Cursor { defer, ..Cursor::default() }
    }

    /// A cursor that fires `events` (deferred RI checks, at COMMIT or SET CONSTRAINTS).
    pub(super) fn firing(events: Vec<Ri>) -> Cursor {
        Cursor { started: true, ri: events, ..Cursor::default() }
    }

    /// Are there events left to fire?
    pub(super) fn has_events(&self) -> bool {
        self.ri_next < self.ri.len()
    }
}

/// The outcome of a lock or check that may have to wait.
pub(super) enum Lk {
    Ok,
    Blocked,
    Failed(DbError),
    /// SKIP LOCKED: the row is locked in a conflicting mode; leave it out.
    Skipped,
}

/// What happened to a locked tuple version since the snapshot (`TM_Result`).
enum Tm {
    Ok,
    Updated {
        newest: Key,
        key_changed: bool,
    },
    Deleted,
    /// Deleted by an UPDATE that moved the row to another partition: `heap_update`,
    /// `heap_delete` and `heap_lock_tuple` (heapam.c) return TM_Updated for it, with the ctid
    /// that `ItemPointerIndicatesMovedPartitions` recognises.
    Moved,
}

/// The error of a READ COMMITTED statement that finds its row moved to another partition by a
/// committed UPDATE (`verb`: "locked" in `ExecLockRows`, nodeLockRows.c, and `GetTupleForTrigger`;
/// "updated" in `ExecUpdate`, "deleted" in `ExecDelete`, nodeModifyTable.c). Its SQLSTATE is
/// ERRCODE_T_R_SERIALIZATION_FAILURE.
fn moved_error(verb: &str) -> DbError {
    err(
        ErrorKind::Serialization,
        format!("tuple to be {verb} was already moved to another partition due to concurrent update"),
    )
}

/// `ExecFindPartition` (execPartition.c): a row no partition's bound takes.
fn no_partition(table: &str) -> DbError {
    err(ErrorKind::Other, format!("no partition of relation \"{table}\" found for row"))
}

pub(super) fn tkey(root: i64, version: i64) -> Key {
    Arc::new([Value::Int(root), Value::Int(version)])
}

pub(super) fn root_of(k: &Key) -> i64 {
    match k.first() {
        Some(Value::Int(r)) => *r,
        _ => 0,
    }
}

pub(super) fn version_of(k: &Key) -> i64 {
    match k.get(1) {
        Some(Value::Int(v)) => *v,
        _ => 0,
    }
}

fn serialization(what: &str) -> DbError {
    err(ErrorKind::Serialization, format!("could not serialize access due to concurrent {what}"))
}

/// Columns of unique indexes: PostgreSQL's "key" columns (`INDEX_ATTR_BITMAP_KEY`). An index
/// with an expression key is not one of them, and INCLUDE columns never are
/// (`RelationGetIndexAttrBitmap`, relcache.c: `isKey = indisunique && indexExpressions == NIL &&
/// indexPredicate == NIL`, and only the `indnkeyatts` key columns count).
fn key_cols(t: &Table) -> Vec<usize> {
    let keys = t.indexes.iter().filter(|ix| ix.unique && !ix.has_exprs());
    let mut cols: Vec<usize> = keys.flat_map(|ix| ix.cols.iter().copied()).collect();
    cols.sort();
    cols.dedup();
    cols
}

/// What a locking statement does with a row once it holds the row's lock.
enum After {
    Proceed,
    /// The row was skipped, or the cursor moved to its newest version: go round again.
    Again,
    Fail(DbError),
}

macro_rules! recheck {
    ($e:expr) => {
        match $e? {
            After::Proceed => {}
            After::Again => continue,
            After::Fail(e) => return Ok(Step::Done(Err(e))),
        }
    };
}

macro_rules! lk {
    ($e:expr) => {
        match $e? {
            Lk::Ok => {}
            Lk::Blocked => return Ok(Step::Blocked),
            Lk::Failed(e) => return Ok(Step::Done(Err(e))),
            Lk::Skipped => unreachable!("only a locking read skips locked rows"),
        }
    };
}

impl<P: Parts> PgDb<P> {
    pub(super) fn tree(table: usize) -> (u32, u32) {
        (table as u32, 0)
    }

    /// The snapshot a query uses: the transaction's (REPEATABLE READ) or a fresh one.
    fn snap(&self, trx: TxnId) -> u64 {
        self.trxs.get(&trx).and_then(|t| t.snapshot).unwrap_or(self.book.commit_seq)
    }

    fn iso(&self, trx: TxnId) -> Isolation {
        self.trxs.get(&trx).map(|t| t.iso).unwrap_or(Isolation::ReadCommitted)
    }

    pub(super) fn xid_visible(&self, trx: TxnId, snap: u64, x: TxnId) -> bool {
        x == trx || x == SETUP_TRX || self.book.commits.get(&x).is_some_and(|&c| c <= snap)
    }

    /// `HeapTupleSatisfiesMVCC`: inserted by a visible transaction and not deleted by one.
    fn visible(&self, trx: TxnId, snap: u64, v: &Version) -> bool {
        self.xid_visible(trx, snap, v.trx) && !(v.xmax != 0 && self.xid_visible(trx, snap, v.xmax))
    }

    fn committed(&self, x: TxnId) -> bool {
        x == SETUP_TRX || self.book.commits.contains_key(&x)
    }

    /// Every tuple version of a table the snapshot sees whose row matches `filter`, with its row,
    /// in root order. The store is asked for the matching tuples only ([`Store::scan_where`]), so
    /// the explorer sees that the answer depends on nothing else: a write or commit of a tuple none
    /// of whose versions match commutes with the scan.
    fn scan_visible(
        &self,
        table: usize,
        trx: TxnId,
        snap: u64,
        filter: &Filter,
    ) -> Result<Vec<(Key, Row)>, EngineError> {
        // Pushed one by one, not collected in place: a collect over the scan's own vector would
        // keep its allocation, sized for every dead version of the row, in the statement's cursor
        // while it waits (thousands of waiters behind a hot row, each holding thousands of slots).
        let mut out = Vec::new();
        for (k, r) in self.store.scan_where(Self::tree(table), filter)? {
            if self.visible(trx, snap, &r.versions[0]) && filter.matches(&r.versions[0].row) {
                out.push((k, r.versions[0].row.clone()));
            }
        }
        Ok(out)
    }

    /// The newest version of a logical row.
    pub(super) fn newest(&self, table: usize, root: i64) -> Result<Option<(Key, Row)>, EngineError> {
        let tree = Self::tree(table);
        let mut found = None;
        let mut from = tkey(root, 0);
        let mut first = true;
        loop {
            let next = if first {
                self.store.seek(tree, Bound::Included(&from[..]))?
            } else {
                self.store.seek(tree, Bound::Excluded(&from[..]))?
            };
            first = false;
            match next {
                Some((k, r)) if root_of(&k) == root => {
                    from = k.clone();
                    found = Some((k, r.versions[0].row.clone()));
                }
                _ => return Ok(found),
            }
        }
    }

    pub(super) fn version(&self, table: usize, k: &Key) -> Result<Option<Version>, EngineError> {
        Ok(self.store.get(Self::tree(table), k)?.map(|r| r.versions[0].clone()))
    }

    fn write(&mut self, trx: TxnId, table: usize, key: Key, v: Version) -> Result<(), EngineError> {
        let tree = Self::tree(table);
        let prev = self.store.get(tree, &key)?;
        self.store.apply_one(Write::Put(tree, key.clone(), Record::of(v)))?;
        self.unsettled.push((tree, key.clone()));
        if let Some(t) = self.trxs.get_mut(&trx) {
            t.undo.push(Undo { tree, key, prev });
        }
        Ok(())
    }

    pub(super) fn start_wait(&mut self, s: usize, res: PgRes, mode: PgLock, tag: u32) {
        self.sessions[s].waiting = Some((res, mode, tag));
        self.arm_timers(s);
    }

    /// Wait for another transaction to end (`XactLockTableWait`): ask Share on its id.
    pub(super) fn wait_xact(&mut self, s: usize, trx: TxnId, x: TxnId, shown: (PgRes, PgLock), tag: u32) -> Lk {
        match self.locks.request(trx, &PgRes::Xact(x), PgLock::Hw(Hw::Share), tag) {
            Request::Granted => Lk::Ok,
            Request::Waiting { .. } => {
                self.start_wait(s, shown.0, shown.1, tag);
                Lk::Blocked
            }
        }
    }

    /// Lock a row (`heap_lock_tuple`): granted at once unless a holder's strength conflicts
    /// (waiters do not hold back a compatible request); otherwise take the heavyweight tuple lock
    /// (FIFO among conflicting waiters), then wait for the first conflicting holder's transaction
    /// and try again. The tuple lock is given back once the row lock is had.
    ///
    /// With NOWAIT or SKIP LOCKED (`wait`), a conflicting holder is not waited for: the
    /// conditional tuple lock or transaction wait fails (`heap_acquire_tuplock` and
    /// `ConditionalXactLockTableWait` under `LockWaitError` / `LockWaitSkip`, heapam.c), and the
    /// statement fails with "could not obtain lock on row in relation" (SQLSTATE 55P03) or
    /// `ExecLockRows` leaves the row out (`TM_WouldBlock`, nodeLockRows.c).
    #[allow(clippy::too_many_arguments)]
    fn lock_row(
        &mut self,
        s: usize,
        trx: TxnId,
        table: usize,
        root: i64,
        mode: RowMode,
        wait: LockWait,
        why: (&Arc<str>, Purpose),
    ) -> Result<Lk, EngineError> {
        let (label, purpose) = why;
        self.release_xact_waits(trx);
        let row = PgRes::Row(table as u32, root);
        let tuple = PgRes::Tuple(table as u32, root);
        let want = PgLock::Row(mode);
        if !self.locks.holds(trx, &row, want) {
            let tag = self.tag(label, purpose);
            if let Err(holder) = self.locks.try_acquire(trx, &row, want, tag) {
                return Ok(match wait {
                    LockWait::Wait => self.wait_for_row(s, trx, (row, tuple, want), mode, holder, tag),
                    LockWait::SkipLocked => Lk::Skipped,
                    LockWait::NoWait => {
                        let name = &self.cat.tables[table].name;
                        Lk::Failed(err(
                            ErrorKind::LockTimeout,
                            format!("could not obtain lock on row in relation \"{name}\""),
                        ))
                    }
                });
            }
        }
        // The tuple lock is given back once the row lock is had.
        let held: Vec<PgLock> =
            self.locks.queue(&tuple).iter().filter(|e| e.txn == trx && e.granted).map(|e| e.mode).collect();
        for m in held {
            let grants = self.locks.release_one(trx, &tuple, m);
            for g in grants {
                if let Some(x) = self.trxs.get(&g.txn) {
                    self.book.wakeups.push(x.session);
                }
            }
        }
        Ok(Lk::Ok)
    }

    /// A row lock `holder` has in a conflicting strength: take the heavyweight tuple lock (FIFO
    /// among the row's waiters), then wait for the holder's transaction (`heap_acquire_tuplock`,
    /// `XactLockTableWait`); the row lock is asked again when that ends. A transaction that already
    /// holds a weaker lock on the row skips the tuple lock (`heap_lock_tuple`: `skip_tuple_lock`,
    /// "when promoting a weaker lock, we might deadlock with another locker that has acquired the
    /// heavyweight tuple lock and is waiting for our transaction to finish").
    fn wait_for_row(
        &mut self,
        s: usize,
        trx: TxnId,
        (row, tuple, want): (PgRes, PgRes, PgLock),
        mode: RowMode,
        holder: TxnId,
        tag: u32,
    ) -> Lk {
        let hw = PgLock::Hw(mode.tuple_lock());
        let upgrading = self.locks.queue(&row).iter().any(|e| e.txn == trx && e.granted);
        if !upgrading && !self.locks.holds(trx, &tuple, hw) {
            if let Request::Waiting { .. } = self.locks.request(trx, &tuple, hw, tag) {
                self.start_wait(s, tuple, hw, tag);
                return Lk::Blocked;
            }
        }
        self.wait_xact(s, trx, holder, (row, want), tag)
    }

    /// What became of a locked version since the snapshot (`TM_Result` after the lock).
    fn tm(&self, trx: TxnId, table: usize, k: &Key) -> Result<Tm, EngineError> {
        let Some(v) = self.version(table, k)? else { return Ok(Tm::Deleted) };
        if v.xmax == 0 || v.xmax == trx || !self.committed(v.xmax) {
            return Ok(Tm::Ok);
        }
        if v.moved {
            return Ok(Tm::Moved);
        }
        match self.newest(table, root_of(k))? {
            Some((nk, row)) if nk != *k => {
                let t = &self.cat.tables[table];
                let key_changed = key_cols(t).iter().any(|&c| row[c] != v.row[c]);
                let newest_live = self.version(table, &nk)?.is_some_and(|x| x.xmax == 0 || !self.committed(x.xmax));
                Ok(if newest_live { Tm::Updated { newest: nk, key_changed } } else { Tm::Deleted })
            }
            _ => Ok(Tm::Deleted),
        }
    }

    /// After locking version `k`: READ COMMITTED's EvalPlanQual (a deleted row is skipped, an
    /// updated one is re-checked in its newest version) or REPEATABLE READ's serialization failure
    /// (`ExecUpdate`, `ExecDelete`, `ExecLockRows`). `deleted` is the word for a deleted row:
    /// "delete" for UPDATE and DELETE, "update" for SELECT ... FOR.
    #[allow(clippy::too_many_arguments)]
    fn recheck(
        &self,
        trx: TxnId,
        table: usize,
        k: &Key,
        filter: &Filter,
        mode: RowMode,
        deleted: &str,
        verb: &str,
        cur: &mut Cursor,
    ) -> Result<After, EngineError> {
        let rr = self.iso(trx) >= Isolation::RepeatableRead;
        Ok(match self.tm(trx, table, k)? {
            Tm::Ok => After::Proceed,
            Tm::Updated { key_changed: false, .. } if mode == RowMode::KeyShare => After::Proceed,
            Tm::Updated { .. } if rr => After::Fail(serialization("update")),
            Tm::Deleted if rr => After::Fail(serialization(deleted)),
            // ExecUpdate / ExecDelete / ExecLockRows: TM_Updated under a transaction snapshot
            // is a serialization failure; under READ COMMITTED a moved row is an error too.
            Tm::Moved if rr => After::Fail(serialization("update")),
            Tm::Moved => After::Fail(moved_error(verb)),
            Tm::Deleted => {
                cur.current = None;
                cur.next += 1;
                After::Again
            }
            Tm::Updated { newest, .. } => {
                let row = self.version(table, &newest)?.map(|v| v.row).unwrap_or_default();
                if filter.matches(&row) {
                    cur.current = Some(newest);
                } else {
                    cur.current = None;
                    cur.next += 1;
                }
                After::Again
            }
        })
    }

    /// Write the new version `new` of the locked tuple `k` (`old` as it is): the old version's
    /// xmax, the new version, and the RI checks the change queues (`heap_update` and the AFTER
    /// UPDATE triggers). The new version's key if index entries were inserted (its unique checks
    /// are still to run); None for a HOT update, which inserts none.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn write_update(
        &mut self,
        trx: TxnId,
        table: usize,
        k: &Key,
        old: &Version,
        new: Vec<Value>,
        mode: RowMode,
        cur: &mut Cursor,
    ) -> Result<Option<Key>, EngineError> {
        let cat = self.cat.clone();
        let t = &cat.tables[table];
        let nk = tkey(root_of(k), version_of(k) + 1);
        self.note_update(trx, table, k, Some(&nk), mode, &old.row);
        let mut dead = old.clone();
        dead.xmax = trx;
        self.write(trx, table, k.clone(), dead)?;
        self.write(trx, table, nk.clone(), Version::new(trx, new.clone(), false))?;
        // HOT only if no indexed column changed: key columns, the columns of expression keys and
        // INCLUDE columns (`indexattrs` of `RelationGetIndexAttrBitmap`, relcache.c).
        let indexed = t.indexes.iter().flat_map(|ix| ix.cols.iter().chain(&ix.include)).any(|&c| old.row[c] != new[c]);
        self.queue_child_checks(table, &nk, Some((old, trx)), cur)?;
        self.queue_parent_checks(table, &old.row, Some(&new), cur);
        Ok(indexed.then_some(nk))
    }

    /// Run the statement as far as it goes.
    pub(super) fn step(&mut self, s: usize, trx: TxnId, run: &mut Running) -> Result<Step, EngineError> {
        let stmt = run.stmt.clone();
        let label = run.label.clone();
        self.exec(s, trx, &stmt.plan, &mut run.cursor, &mut run.rows, &label)
    }

    /// Run `plan` from cursor `cur` as far as it goes: a statement, or an RI trigger's query.
    pub(super) fn exec(
        &mut self,
        s: usize,
        trx: TxnId,
        plan: &Plan,
        cur: &mut Cursor,
        rows_out: &mut Vec<Vec<Value>>,
        label: &Arc<str>,
    ) -> Result<Step, EngineError> {
        let label = label.clone();
        if !cur.relations_locked {
            lk!(self.lock_relations(s, trx, plan, &label));
            cur.relations_locked = true;
        }
        if let Some(f) = plan.filter().filter(|f| !f.advisory.is_empty() && !cur.advisory_done) {
            // A volatile function in the WHERE clause runs for each row the scan returns, after
            // the statement's snapshot is taken (ExecQual in ExecScan, execScan.c).
            self.prepare(trx, plan, cur, rows_out)?;
            let n = match plan {
                Plan::Select { lock: None, .. } => rows_out.len(),
                _ => cur.targets.len(),
            };
            let calls = f.advisory.clone();
            while cur.advisory_next < calls.len() * n {
                if self.advisory(s, trx, &calls[cur.advisory_next % calls.len()], &label)?.is_none() {
                    return Ok(Step::Blocked);
                }
                cur.advisory_next += 1;
            }
            cur.advisory_done = true;
        }
        match plan {
            Plan::Advisory(calls) => {
                if rows_out.is_empty() {
                    rows_out.push(Vec::new());
                }
                while rows_out[0].len() < calls.len() {
                    match self.advisory(s, trx, &calls[rows_out[0].len()], &label)? {
                        None => return Ok(Step::Blocked),
                        Some(v) => rows_out[0].push(v),
                    }
                }
                Ok(Step::Done(Ok(())))
            }
            Plan::Values { row, .. } => {
                *rows_out = vec![row.clone()];
                Ok(Step::Done(Ok(())))
            }
            Plan::NextVal { seq, calls, .. } => self.next_values(s, trx, *seq, *calls, rows_out, &label),
            Plan::AlterSequence { seq, options } => self.alter_sequence(s, trx, *seq, options, &label),
            Plan::Select { lock: None, order, limit, .. } => {
                self.prepare(trx, plan, cur, rows_out)?;
                // Limit -> Sort -> Scan (nodeSort.c, nodeLimit.c).
                rows_out.sort_by(|a, b| sort_cmp(order, a, b));
                rows_out.truncate(limit.unwrap_or(usize::MAX));
                Ok(Step::Done(Ok(())))
            }
            Plan::Insert { table, rows, on_conflict } => {
                if !cur.started {
                    cur.started = true;
                    cur.targets = vec![Key::from([]); rows.len()];
                }
                while cur.next < rows.len() {
                    if cur.written.is_none() {
                        let values = match cur.pending.take() {
                            Some(v) => v,
                            None => match self.eval_row(*table, &rows[cur.next]) {
                                Ok(v) => v,
                                Err(e) => return Ok(Step::Done(Err(e))),
                            },
                        };
                        let values = match on_conflict {
                            None => values,
                            Some(oc) => match self.on_conflict(s, trx, *table, oc, values, cur, &label)? {
                                Upsert::Insert(values) => values,
                                Upsert::Blocked => return Ok(Step::Blocked),
                                Upsert::Failed(e) => return Ok(Step::Done(Err(e))),
                                Upsert::Done => {
                                    cur.next += 1;
                                    continue;
                                }
                                Upsert::Updated(nk) => {
                                    cur.written = Some(nk);
                                    cur.upserted = true;
                                    continue;
                                }
                            },
                        };
                        let k = self.insert_tuple(trx, *table, values)?;
                        cur.touched.push(root_of(&k));
                        cur.written = Some(k);
                    }
                    let k = cur.written.clone().expect("written");
                    lk!(self.unique_check(s, trx, *table, &k, &label));
                    if !std::mem::take(&mut cur.upserted) {
                        self.queue_child_checks(*table, &k, None, cur)?;
                    }
                    cur.written = None;
                    cur.next += 1;
                }
                self.run_triggers(s, trx, cur, &label)
            }
            Plan::Select { table, filter, lock: Some(l), wait, limit, .. } => {
                let mode = RowMode::of(*l);
                self.prepare(trx, plan, cur, rows_out)?;
                // Limit -> LockRows -> Sort -> Scan: LockRows hands up only the rows it locked
                // (not those SKIP LOCKED passed over or EvalPlanQual dropped), and Limit stops
                // pulling once it has n of them, so no row after the n-th is locked
                // (ExecLimit in nodeLimit.c, ExecLockRows in nodeLockRows.c).
                while cur.next < cur.targets.len() && limit.is_none_or(|n| rows_out.len() < n) {
                    let k = cur.current.clone().unwrap_or_else(|| cur.targets[cur.next].clone());
                    let why = (&label, Purpose::LockingRead(mode));
                    match self.lock_row(s, trx, *table, root_of(&k), mode, *wait, why)? {
                        Lk::Ok => {}
                        Lk::Blocked => return Ok(Step::Blocked),
                        Lk::Failed(e) => return Ok(Step::Done(Err(e))),
                        Lk::Skipped => {
                            cur.current = None;
                            cur.next += 1;
                            continue;
                        }
                    }
                    recheck!(self.recheck(trx, *table, &k, filter, mode, "update", "locked", cur));
                    self.note_lock(trx, *table, &k, mode)?;
                    if let Some(v) = self.version(*table, &k)? {
                        rows_out.push(v.row.to_vec());
                    }
                    cur.current = None;
                    cur.next += 1;
                }
                Ok(Step::Done(Ok(())))
            }
            Plan::Update { table, set, filter } => {
                self.collect(trx, *table, filter, cur)?;
                while cur.next < cur.targets.len() {
                    if cur.written.is_none() {
                        let k = cur.current.clone().unwrap_or_else(|| cur.targets[cur.next].clone());
                        let Some(old) = self.version(*table, &k)? else {
                            cur.next += 1;
                            continue;
                        };
                        let new = match self.new_row(*table, &old.row, set) {
                            Ok(r) => r,
                            Err(e) => return Ok(Step::Done(Err(e))),
                        };
                        let cat = self.cat.clone();
                        let t = &cat.tables[*table];
                        let key_change = key_cols(t).iter().any(|&c| old.row[c] != new[c]);
                        // ExecUpdate -> ExecCrossPartitionUpdate (nodeModifyTable.c): a row whose
                        // new version belongs in another partition is deleted from its own
                        // (ExecDelete with changingPart, so heap_delete's FOR UPDATE strength)
                        // and inserted into the other as a new tuple.
                        let moves = self.cat.moves_partition(*table, &old.row, &new);
                        let mode = if key_change || moves { RowMode::Update } else { RowMode::NoKeyUpdate };
                        lk!(self.lock_row(
                            s,
                            trx,
                            *table,
                            root_of(&k),
                            mode,
                            LockWait::Wait,
                            (&label, Purpose::Statement("UPDATE"))
                        ));
                        recheck!(self.recheck(trx, *table, &k, filter, mode, "delete", "updated", cur));
                        if let Some(e) = self.crosscheck(trx, *table, &k, cur)? {
                            return Ok(Step::Done(Err(e)));
                        }
                        if moves {
                            let nk = self.move_row(trx, *table, &k, &old, new)?;
                            self.queue_child_checks(*table, &nk, None, cur)?;
                            let new_row = self.version(*table, &nk)?.map(|v| v.row.to_vec()).unwrap_or_default();
                            self.queue_parent_checks(*table, &old.row, Some(&new_row), cur);
                            cur.written = Some(nk);
                            continue;
                        }
                        let Some(nk) = self.write_update(trx, *table, &k, &old, new, mode, cur)? else {
                            // A HOT update inserts no index entries, so no unique check.
                            cur.current = None;
                            cur.next += 1;
                            continue;
                        };
                        cur.written = Some(nk);
                    }
                    let nk = cur.written.clone().expect("written");
                    lk!(self.unique_check(s, trx, *table, &nk, &label));
                    cur.written = None;
                    cur.current = None;
                    cur.next += 1;
                }
                self.run_triggers(s, trx, cur, &label)
            }
            Plan::AttachPartition { parent, table, partition, cols } => {
                self.attach_partition(s, trx, (*parent, *table, *partition, cols), &label)
            }
            // `defer` is set exactly inside a transaction block.
            Plan::Maintenance(m) => self.maintenance(s, trx, m, cur.defer, &mut cur.maintenance, &label),
            // The deferred RI checks of a COMMIT or SET CONSTRAINTS ... IMMEDIATE.
            Plan::Commit | Plan::SetConstraints { .. } => self.run_triggers(s, trx, cur, &label),
            Plan::Delete { table, filter } => {
                self.collect(trx, *table, filter, cur)?;
                let resolved = cur.resolved.take();
                let filter = resolved.as_ref().unwrap_or(filter);
                let step = self.delete_rows(s, trx, *table, filter, cur, &label);
                cur.resolved = resolved;
                step
            }
            _ => Ok(Step::Done(Ok(()))),
        }
    }

    /// The row loop of a DELETE: lock each target (UPDATE strength), re-check it under READ
    /// COMMITTED with the same `filter` (its subqueries already evaluated: `ExecDelete` ->
    /// `EvalPlanQual` re-runs the quals on the newest version with the statement's snapshot, so an
    /// uncorrelated subquery gives the same answer), delete-mark it, then fire the RI triggers.
    fn delete_rows(
        &mut self,
        s: usize,
        trx: TxnId,
        table: usize,
        filter: &Filter,
        cur: &mut Cursor,
        label: &Arc<str>,
    ) -> Result<Step, EngineError> {
        while cur.next < cur.targets.len() {
            let k = cur.current.clone().unwrap_or_else(|| cur.targets[cur.next].clone());
            let why = (label, Purpose::Statement("DELETE"));
            lk!(self.lock_row(s, trx, table, root_of(&k), RowMode::Update, LockWait::Wait, why));
            recheck!(self.recheck(trx, table, &k, filter, RowMode::Update, "delete", "deleted", cur));
            if let Some(e) = self.crosscheck(trx, table, &k, cur)? {
                return Ok(Step::Done(Err(e)));
            }
            if let Some(mut v) = self.version(table, &k)? {
                self.note_update(trx, table, &k, None, RowMode::Update, &v.row);
                let old = v.row.clone();
                v.xmax = trx;
                v.deleted = true;
                self.write(trx, table, k.clone(), v)?;
                self.queue_parent_checks(table, &old, None, cur);
            }
            cur.current = None;
            cur.next += 1;
        }
        self.run_triggers(s, trx, cur, label)
    }

    /// The row move of a cross-partition UPDATE: version `k` deleted with the moved-partitions
    /// mark (`heap_delete` with `changingPart`, heapam.c), the new row inserted as a tuple of its
    /// own, not a newer version in `k`'s chain (`ExecCrossPartitionUpdate` calls `ExecInsert`).
    fn move_row(
        &mut self,
        trx: TxnId,
        table: usize,
        k: &Key,
        old: &Version,
        new: Vec<Value>,
    ) -> Result<Key, EngineError> {
        self.note_update(trx, table, k, None, RowMode::Update, &old.row);
        let mut dead = old.clone();
        dead.xmax = trx;
        dead.deleted = true;
        dead.moved = true;
        self.write(trx, table, k.clone(), dead)?;
        self.insert_tuple(trx, table, new)
    }

    /// A new tuple of its own (a new chain root, no xmax): an INSERT's row, or a moved row.
    fn insert_tuple(&mut self, trx: TxnId, table: usize, row: Vec<Value>) -> Result<Key, EngineError> {
        let root = self.next_ctid;
        self.next_ctid += 1;
        let k = tkey(root, 0);
        self.write(trx, table, k.clone(), Version::new(trx, row, false))?;
        self.note_insert(table, &k);
        Ok(k)
    }

    /// Fix the statement's targets from its snapshot (once). A `NOT IN (SELECT ...)` conjunct is
    /// evaluated first, once, with the same snapshot and no row locks: PostgreSQL plans it as a
    /// hashed SubPlan (`ExecHashSubPlan`, nodeSubplan.c; `buildSubPlanHash` reads the subquery's
    /// plain SELECT under the statement's `es_snapshot`). A plain SubPlan, chosen when the hash
    /// table would not fit in work_mem, reads the same snapshot per row and gives the same answer.
    fn collect(&mut self, trx: TxnId, table: usize, filter: &Filter, cur: &mut Cursor) -> Result<(), EngineError> {
        if !cur.started {
            cur.started = true;
            let snap = if cur.ri_query { self.book.commit_seq } else { self.snap(trx) };
            if filter.has_subquery() {
                cur.resolved = Some(filter.resolve(|t, pcol| -> Result<Vec<Value>, EngineError> {
                    let every = Filter::default();
                    Ok(self.scan_visible(t, trx, snap, &every)?.into_iter().map(|(_, r)| r[pcol].clone()).collect())
                })?);
            }
            let filter = cur.resolved.as_ref().unwrap_or(filter);
            cur.targets = self.scan_visible(table, trx, snap, filter)?.into_iter().map(|(k, _)| k).collect();
        }
        Ok(())
    }

    /// The statement's first look at its table, once: the rows a plain SELECT returns, or the
    /// targets of a locking read (in ORDER BY order), UPDATE or DELETE.
    fn prepare(
        &mut self,
        trx: TxnId,
        plan: &Plan,
        cur: &mut Cursor,
        rows_out: &mut Vec<Vec<Value>>,
    ) -> Result<(), EngineError> {
        if cur.started {
            return Ok(());
        }
        match plan {
            Plan::Select { table, filter, lock: None, .. } => {
                cur.started = true;
                let snap = self.snap(trx);
                *rows_out =
                    self.scan_visible(*table, trx, snap, filter)?.into_iter().map(|(_, r)| r.to_vec()).collect();
            }
            Plan::Select { table, filter, order, .. } => {
                self.collect(trx, *table, filter, cur)?;
                self.sort_targets(*table, order, &mut cur.targets)?;
            }
            Plan::Update { table, filter, .. } | Plan::Delete { table, filter } => {
                self.collect(trx, *table, filter, cur)?
            }
            _ => {}
        }
        Ok(())
    }

    /// Order a locking read's targets by its ORDER BY, on the versions its snapshot saw (the
    /// Sort runs below LockRows, so a row EvalPlanQual re-fetches keeps its place).
    fn sort_targets(&self, table: usize, order: &[SortKey], targets: &mut Vec<Key>) -> Result<(), EngineError> {
        if order.is_empty() {
            return Ok(());
        }
        let mut rows = Vec::with_capacity(targets.len());
        for k in targets.drain(..) {
            let row = self.version(table, &k)?.map(|v| v.row).unwrap_or_default();
            rows.push((k, row));
        }
        rows.sort_by(|a, b| sort_cmp(order, &a.1, &b.1));
        targets.extend(rows.into_iter().map(|(k, _)| k));
        Ok(())
    }

    fn eval_row(&mut self, table: usize, exprs: &[Expr]) -> Result<Vec<Value>, DbError> {
        let t = &self.cat.tables[table];
        let not_null = |c: &str| format!("null value in column \"{c}\" violates not-null constraint");
        let row = insert_values(t, exprs, self.book.tick, &mut self.book.serials[table], Serial::Sequence, not_null)?;
        if self.cat.is_partitioned(table) && self.cat.partition_of_row(table, &row).is_none() {
            return Err(no_partition(&t.name));
        }
        Ok(row)
    }

    fn new_row(&mut self, table: usize, old: &[Value], set: &[(usize, Expr)]) -> Result<Vec<Value>, DbError> {
        const ERRORS: SetErrors = SetErrors {
            arithmetic: "operator does not exist for this column type",
            not_null: |c| format!("null value in column \"{c}\" violates not-null constraint"),
        };
        let sequence = Some(&mut self.book.serials[table]);
        let row = updated_row(&self.cat.tables[table], old, set, self.book.tick, &ERRORS, sequence)?;
        if self.cat.is_partitioned(table) && self.cat.partition_of_row(table, &row).is_none() {
            return Err(no_partition(&self.cat.tables[table].name));
        }
        Ok(row)
    }

    /// Queue `RI_FKey_check` for a new child version (an UPDATE only when the FK columns changed,
    /// or the old row is this transaction's own: `RI_FKey_fk_upd_check_required`).
    fn queue_child_checks(
        &self,
        table: usize,
        k: &Key,
        old: Option<(&Version, TxnId)>,
        cur: &mut Cursor,
    ) -> Result<(), EngineError> {
        let Some(new) = self.version(table, k)? else { return Ok(()) };
        for (f, fk) in self.cat.tables[table].fks.iter().enumerate().filter(|(_, fk)| fk.enforced) {
            let vals: Key = fk.cols.iter().map(|&c| new.row[c].clone()).collect();
            if vals.iter().any(Value::is_null) {
                continue;
            }
            if let Some((o, trx)) = old {
                let same = fk.cols.iter().all(|&c| o.row[c] == new.row[c]);
                if same && o.trx != trx {
                    continue;
                }
            }
            cur.ri.push(Ri::Child { fk_table: table, fk: f, vals, tuple: k.clone() });
        }
        Ok(())
    }

    /// Queue the trigger of each foreign key referencing a deleted or re-keyed parent row
    /// (`RI_FKey_pk_upd_check_required`: an UPDATE only when the referenced key changed): the
    /// NO ACTION or RESTRICT check, or the CASCADE or SET NULL action.
    fn queue_parent_checks(&self, table: usize, old: &[Value], new: Option<&Vec<Value>>, cur: &mut Cursor) {
        for (fk_table, f) in self.cat.referencing(table) {
            let fk = &self.cat.tables[fk_table].fks[f];
            if !fk.enforced {
                continue;
            }
            let vals: Key = fk.parent_cols.iter().map(|&c| old[c].clone()).collect();
            if vals.iter().any(Value::is_null) || new.is_some_and(|n| fk.parent_cols.iter().all(|&c| n[c] == old[c])) {
                continue;
            }
            let action = if new.is_some() { fk.on_update } else { fk.on_delete };
            if action.changes_children() {
                let new = new.map(|n| fk.parent_cols.iter().map(|&c| n[c].clone()).collect());
                cur.ri.push(Ri::Action { fk_table, fk: f, vals, new });
            } else {
                cur.ri.push(Ri::Parent { fk_table, fk: f, vals, restrict: action == RefAction::Restrict });
            }
        }
    }

    /// Fire the statement's RI triggers in order (`AfterTriggerEndQuery`).
    fn run_triggers(&mut self, s: usize, trx: TxnId, cur: &mut Cursor, label: &Arc<str>) -> Result<Step, EngineError> {
        while cur.ri_next < cur.ri.len() {
            let ri = cur.ri[cur.ri_next].clone();
            if cur.defer && self.deferred_now(trx, &ri) {
                self.defer(trx, ri);
                cur.ri_next += 1;
                continue;
            }
            let outcome = match ri {
                Ri::Child { fk_table, fk, vals, tuple } => {
                    self.ri_check(s, trx, (fk_table, fk), &vals, &tuple, &mut cur.ri_found, label)?
                }
                Ri::Parent { fk_table, fk, vals, restrict } => {
                    self.ri_restrict(s, trx, fk_table, fk, &vals, restrict, label)?
                }
                Ri::Action { fk_table, fk, vals, new } => {
                    self.ri_action(s, trx, cur, (fk_table, fk), (&vals, new.as_ref()), label)?
                }
            };
            if !matches!(outcome, Lk::Blocked) {
                cur.ri_found = None;
            }
            match outcome {
                Lk::Ok => cur.ri_next += 1,
                Lk::Blocked => return Ok(Step::Blocked),
                Lk::Failed(e) => return Ok(Step::Done(Err(e))),
                Lk::Skipped => unreachable!("RI checks wait for locked rows"),
            }
        }
        Ok(Step::Done(Ok(())))
    }

    fn key_matches(row: &[Value], cols: &[usize], vals: &[Value]) -> bool {
        Self::key_filter(cols, vals).matches(row)
    }

    /// `cols = vals` (SQL equality: a NULL matches nothing), the WHERE clause of the RI queries.
    pub(super) fn key_filter(cols: &[usize], vals: &[Value]) -> Filter {
        let conds = cols.iter().zip(vals).map(|(&c, v)| Cond::Cmp(c, CmpOp::Eq, v.clone())).collect();
        Filter { conds, ..Filter::default() }
    }

    /// `RI_FKey_check`: `SELECT 1 FROM parent WHERE key = $1 FOR KEY SHARE` with a fresh snapshot
    /// (READ COMMITTED) or the transaction's (REPEATABLE READ). An invisible (uncommitted) parent
    /// fails at once; a parent being deleted makes the check wait.
    #[allow(clippy::too_many_arguments)]
    fn ri_check(
        &mut self,
        s: usize,
        trx: TxnId,
        (fk_table, f): (usize, usize),
        vals: &Key,
        tuple: &Key,
        found_before: &mut Option<Key>,
        label: &Arc<str>,
    ) -> Result<Lk, EngineError> {
        if self.version(fk_table, tuple)?.is_none_or(|v| v.xmax == trx) {
            return Ok(Lk::Ok);
        }
        let fk = self.cat.tables[fk_table].fks[f].clone();
        // RI_FKey_check opens the parent with RowShareLock (ri_triggers.c).
        let why = (label, Purpose::FkCheck { fk_table, parent: fk.parent });
        match self.lock_relation(s, trx, fk.parent, Hw::RowShare, false, why)? {
            Lk::Ok => {}
            other => return Ok(other),
        }
        // The RI trigger fires on the partition the row is in (a partitioned table's leaf).
        let row = self.version(fk_table, tuple)?.map(|v| v.row).unwrap_or_default();
        let child = self.cat.relation_of_row(fk_table, &row).to_string();
        let violation = err(
            ErrorKind::FkViolation,
            format!("insert or update on table \"{child}\" violates foreign key constraint \"{}\"", fk.pg_name),
        );
        // RI_FKey_check (ri_triggers.c) passes detectNewRows = true to ri_PerformCheck when the
        // referenced table is partitioned ("our snapshot must be fresh in order for the hack in
        // find_inheritance_children() to work"), so under REPEATABLE READ too the lookup uses the
        // latest snapshot and finds a parent row committed after the transaction's snapshot.
        let snap = if self.cat.is_partitioned(fk.parent) { self.book.commit_seq } else { self.snap(trx) };
        let found = match found_before.clone() {
            Some(k) => Some(k),
            None => self
                .scan_visible(fk.parent, trx, snap, &Self::key_filter(&fk.parent_cols, vals))?
                .into_iter()
                .next()
                .map(|(k, _)| k),
        };
        let Some(k) = found else { return Ok(Lk::Failed(violation)) };
        *found_before = Some(k.clone());
        match self.lock_row(
            s,
            trx,
            fk.parent,
            root_of(&k),
            RowMode::KeyShare,
            LockWait::Wait,
            (label, Purpose::FkCheck { fk_table, parent: fk.parent }),
        )? {
            Lk::Ok => {}
            other => return Ok(other),
        }
        let rr = self.iso(trx) >= Isolation::RepeatableRead;
        Ok(match self.tm(trx, fk.parent, &k)? {
            Tm::Ok | Tm::Updated { key_changed: false, .. } => {
                self.note_lock(trx, fk.parent, &k, RowMode::KeyShare)?;
                Lk::Ok
            }
            _ if rr => Lk::Failed(serialization("update")),
            Tm::Deleted => Lk::Failed(violation),
            // The RI query's FOR KEY SHARE finds the parent moved (ExecLockRows).
            Tm::Moved => Lk::Failed(moved_error("locked")),
            Tm::Updated { newest, .. } => {
                let row = self.version(fk.parent, &newest)?.map(|v| v.row).unwrap_or_default();
                if Self::key_matches(&row, &fk.parent_cols, vals) {
                    Lk::Ok
                } else {
                    Lk::Failed(violation)
                }
            }
        })
    }

    /// `ri_restrict` (NO ACTION / RESTRICT): `SELECT 1 FROM child WHERE fk = $1 FOR KEY SHARE`
    /// with the latest snapshot; NO ACTION first checks that no other parent row now has the old
    /// key (`ri_Check_Pk_Match`), RESTRICT does not.
    #[allow(clippy::too_many_arguments)]
    fn ri_restrict(
        &mut self,
        s: usize,
        trx: TxnId,
        fk_table: usize,
        f: usize,
        vals: &Key,
        restrict: bool,
        label: &Arc<str>,
    ) -> Result<Lk, EngineError> {
        let fk = self.cat.tables[fk_table].fks[f].clone();
        // ri_restrict opens the child table with RowShareLock (ri_triggers.c).
        let why = (label, Purpose::ParentCheck { fk_table, parent: fk.parent });
        match self.lock_relation(s, trx, fk_table, Hw::RowShare, false, why)? {
            Lk::Ok => {}
            other => return Ok(other),
        }
        let latest = self.book.commit_seq;
        if !restrict && !self.scan_visible(fk.parent, trx, latest, &Self::key_filter(&fk.parent_cols, vals))?.is_empty()
        {
            return Ok(Lk::Ok);
        }
        let child = self.cat.tables[fk_table].name.clone();
        let (parent, constraint) = self.cat.referenced_relation(fk_table, f, vals);
        let violation = err(
            ErrorKind::FkViolation,
            format!(
                "update or delete on table \"{parent}\" violates foreign key constraint \"{constraint}\" on table \"{child}\""
            ),
        );
        let rr = self.iso(trx) >= Isolation::RepeatableRead;
        let children: Vec<Key> = self
            .scan_visible(fk_table, trx, latest, &Self::key_filter(&fk.cols, vals))?
            .into_iter()
            .map(|(k, _)| k)
            .collect();
        for k in children {
            match self.lock_row(
                s,
                trx,
                fk_table,
                root_of(&k),
                RowMode::KeyShare,
                LockWait::Wait,
                (label, Purpose::ParentCheck { fk_table, parent: fk.parent }),
            )? {
                Lk::Ok => {}
                other => return Ok(other),
            }
            match self.tm(trx, fk_table, &k)? {
                Tm::Ok | Tm::Updated { key_changed: false, .. } => {
                    self.note_lock(trx, fk_table, &k, RowMode::KeyShare)?;
                    return Ok(Lk::Failed(violation));
                }
                _ if rr => return Ok(Lk::Failed(serialization("update"))),
                Tm::Deleted => {}
                Tm::Moved => return Ok(Lk::Failed(moved_error("locked"))),
                Tm::Updated { newest, .. } => {
                    let row = self.version(fk_table, &newest)?.map(|v| v.row).unwrap_or_default();
                    if Self::key_matches(&row, &fk.cols, vals) {
                        return Ok(Lk::Failed(violation));
                    }
                }
            }
        }
        Ok(Lk::Ok)
    }
}
