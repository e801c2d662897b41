//! PostgreSQL's rules (PostgreSQL 15): MVCC heap tuples, the four row-lock strengths, tuple and
//! transaction locks for waiting, RI triggers at the end of each statement, READ COMMITTED
//! re-checks and REPEATABLE READ serialization failures, and deadlock checks after
//! `deadlock_timeout`. Sessions, transactions, timers and the `Engine` impl.

mod actions;
mod advisory;
mod deadlock;
mod deferred;
mod exec;
mod maintenance;
pub mod modes;
mod multixact;
mod prepared;
mod relation;
mod savepoints;
mod sequence;
mod unique;
mod xmax;

use super::forget_commits;
use super::timers::{TimerKind, Timers};
use super::{
    count_orphans, err, logical_orphans, Book, Chain, Counters, DbError, DdlRefusal, DeadlockInfo, Engine, EngineError,
    EngineKind, ErrorKind, Horizon, LockDesc, MultixactCount, Notice, Parts, Poll, SessionId, Settings, Snapshot, Undo,
    WaitInfo, SETUP_TRX,
};
use crate::lock::{Locks, TxnId};
use crate::sql::{Catalog, Isolation, Plan, SchemaOptions, Statement, Value};
use crate::store::{Key, Row, Store, TreeId, Write};
use exec::Cursor;
use litemap::LiteMap;
use modes::{Hw, PgLock, RowMode};
use std::sync::Arc;

/// A lockable object: a row (all versions of one logical row), its heavyweight tuple lock, a
/// transaction, or a table (a relation lock).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum PgRes {
    Row(u32, i64),
    Tuple(u32, i64),
    Xact(TxnId),
    Rel(u32),
    /// A partition of a partitioned table (its position in the catalog's partitions): a relation
    /// of its own to the lock manager.
    Part(u32),
    /// An advisory lock's key (`SET_LOCKTAG_INT64`, lockfuncs.c).
    Advisory(i64),
    /// A sequence (a relation of its own), by its index in `Catalog::sequences`.
    Sequence(u32),
}

#[derive(Debug, Clone)]
struct Trx {
    session: SessionId,
    /// The commit sequence number when it began (the vacuum horizon).
    began: u64,
    iso: Isolation,
    /// The transaction snapshot (REPEATABLE READ): commits up to this sequence are visible.
    snapshot: Option<u64>,
    undo: Vec<Undo>,
    /// Its savepoints (subtransactions), oldest first.
    savepoints: Vec<savepoints::Savepoint>,
    /// The RI checks of deferred constraints, queued until COMMIT or SET CONSTRAINTS IMMEDIATE.
    deferred: Vec<exec::Ri>,
    /// Its SET CONSTRAINTS state.
    constraints: deferred::ConstraintModes,
}

#[derive(Debug, Clone)]
struct Running {
    stmt: Arc<Statement>,
    label: Arc<str>,
    cursor: Cursor,
    autocommit: bool,
    rows: Vec<Vec<Value>>,
}

#[derive(Debug, Clone, Default)]
struct Sess {
    trx: Option<TxnId>,
    in_block: bool,
    /// An error aborted the transaction block; only COMMIT / ROLLBACK end it.
    aborted: bool,
    iso: Option<Isolation>,
    running: Option<Running>,
    /// The lock waited for (as described to people: the row lock wanted, or the tuple or
    /// transaction lock).
    waiting: Option<(PgRes, PgLock, u32)>,
    killed: Option<DbError>,
    settings: Settings,
    /// Session-level advisory locks held: (key, shared, times taken).
    advisory: Vec<(i64, bool, u32)>,
    /// When `statement_timeout` cancels the running statement (µs), if it is set.
    statement_deadline: Option<u64>,
    /// The session's prepared statements by name (prepare.c keeps them in a per-backend hash
    /// table, `prepared_queries`; they outlive transactions and are not rolled back).
    prepared: Vec<(String, Arc<Statement>)>,
    /// Warnings sent to the client and not yet taken by the driver.
    notices: Vec<Notice>,
}

/// Why a PostgreSQL lock was taken, formatted only when reported.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Purpose {
    /// A statement's own row lock (`UPDATE`, `DELETE`).
    Statement(&'static str),
    /// `SELECT ... FOR` a strength.
    LockingRead(RowMode),
    /// `RI_FKey_check` of a new row of the child table `fk_table` (on its parent's row).
    FkCheck { fk_table: usize, parent: usize },
    /// The NO ACTION / RESTRICT check of the child table's rows referencing a parent row.
    ParentCheck { fk_table: usize, parent: usize },
    /// `_bt_check_unique` on an index of `table`.
    UniqueCheck { table: usize, ix: usize },
}

type Why = super::Why<Purpose>;

/// The tag bit of a relation lock's reason (see `PgDb::rel_whys`).
const REL_TAG: u32 = 1 << 31;

/// A PostgreSQL database: heap, locks, transactions, sessions.
pub struct PgDb<P: Parts> {
    cat: Arc<Catalog>,
    store: P::Store,
    locks: P::Locks<PgRes, PgLock>,
    /// Open transactions, few at a time: a sorted vector copies and searches faster than a tree.
    trxs: LiteMap<TxnId, Trx>,
    sessions: Vec<Sess>,
    /// The next root of a heap tuple chain.
    next_ctid: i64,
    /// Tuples written since the last vacuum, and those it could not yet freeze or remove: the
    /// only ones the next vacuum visits (PostgreSQL's visibility map lets VACUUM skip the pages
    /// whose tuples are all visible and frozen).
    unsettled: Vec<(TreeId, Key)>,
    /// Why each lock was taken, by tag; shared between copies of the state.
    whys: Chain<Why>,
    /// Why each relation lock was taken, by tag less [`REL_TAG`]: kept apart, so that the tags of
    /// row, tuple and transaction locks are what they were before relation locks were modelled.
    rel_whys: Chain<Why>,
    /// The waiters' deadlock checks and lock timeouts.
    timers: Timers<PgTimer>,
    book: Book,
    /// Each tuple version's xmax and the multixacts created.
    mx: multixact::Multixacts,
    /// The xids of subtransactions (xmax names them).
    subs: savepoints::SubXids,
    /// The sequences' tuples, committed and in uncommitted ALTERs' relfilenodes.
    seqs: sequence::Sequences,
}

/// A PostgreSQL waiter's timers (proc.c `ProcSleep` enables both when the wait begins).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum PgTimer {
    /// Its one deadlock check, `deadlock_timeout` after the wait began.
    DeadlockCheck,
    /// `lock_timeout`, if set.
    LockTimeout,
    /// `statement_timeout`, if set: counted from the statement's start.
    StatementTimeout,
}

impl TimerKind for PgTimer {
    const ALL: &'static [PgTimer] = &[PgTimer::DeadlockCheck, PgTimer::LockTimeout, PgTimer::StatementTimeout];
    fn index(self) -> usize {
        self as usize
    }
}

impl<P: Parts> Clone for PgDb<P>
where
    P::Store: Clone,
{
    fn clone(&self) -> Self {
        PgDb {
            cat: self.cat.clone(),
            store: self.store.clone(),
            locks: self.locks.clone(),
            trxs: self.trxs.clone(),
            sessions: self.sessions.clone(),
            next_ctid: self.next_ctid,
            unsettled: self.unsettled.clone(),
            whys: self.whys.clone(),
            rel_whys: self.rel_whys.clone(),
            timers: self.timers.clone(),
            book: self.book.clone(),
            mx: self.mx.clone(),
            subs: self.subs.clone(),
            seqs: self.seqs.clone(),
        }
    }
}

impl<P: Parts> PgDb<P> {
    fn is_active(&self, t: TxnId) -> bool {
        self.trxs.contains_key(&t)
    }

    fn begin_trx(&mut self, s: SessionId, iso: Option<Isolation>) -> TxnId {
        let id = self.book.next_trx;
        self.book.next_trx += 1;
        let iso = iso.or(self.sessions[s].iso).unwrap_or(Isolation::ReadCommitted);
        let began = self.book.commit_seq;
        let trx = Trx {
            session: s,
            began,
            iso,
            snapshot: None,
            undo: Vec::new(),
            savepoints: Vec::new(),
            deferred: Vec::new(),
            constraints: Default::default(),
        };
        self.trxs.insert(id, trx);
        // A transaction holds an exclusive lock on its own id; waiting for it means asking Share.
        self.locks.add_granted(id, &PgRes::Xact(id), PgLock::Hw(Hw::Exclusive), 0);
        self.sessions[s].trx = Some(id);
        id
    }

    fn end_trx(&mut self, trx: TxnId, commit: bool) -> Result<(), EngineError> {
        if !commit {
            self.undo_writes(trx, 0)?;
        }
        let Some(t) = self.trxs.remove(&trx) else { return Ok(()) };
        self.mx.end(trx);
        self.seqs.end(trx, commit);
        if commit {
            // What the transaction wrote becomes visible to every later snapshot.
            for u in &t.undo {
                P::committed(&self.store, u.tree, &u.key);
            }
            self.book.commit_seq += 1;
            self.book.commits.insert(trx, self.book.commit_seq);
        }
        if self.sessions[t.session].trx == Some(trx) {
            self.sessions[t.session].trx = None;
        }
        let grants = self.locks.release_all(trx);
        for g in grants {
            if let Some(x) = self.trxs.get(&g.txn) {
                self.book.wakeups.push(x.session);
            }
        }
        Ok(())
    }

    /// Take back what the transaction wrote since its undo log had `mark` entries.
    fn undo_writes(&mut self, trx: TxnId, mark: usize) -> Result<(), EngineError> {
        let Some(t) = self.trxs.get_mut(&trx) else { return Ok(()) };
        let undo: Vec<Undo> = t.undo.drain(mark.min(t.undo.len())..).rev().collect();
        for u in undo {
            self.unsettled.push((u.tree, u.key.clone()));
            let w = match u.prev {
                Some(r) => Write::Put(u.tree, u.key, r),
                None => Write::Remove(u.tree, u.key),
            };
            self.store.apply_one(w)?;
        }
        Ok(())
    }

    /// Abort on error: PostgreSQL's AbortTransaction releases every lock at once; a block then
    /// stays aborted until COMMIT or ROLLBACK. Inside a savepoint only the subtransaction is
    /// aborted (`AbortCurrentTransaction` -> `AbortSubTransaction`, xact.c): what it wrote and
    /// locked goes at once, the block stays aborted until ROLLBACK TO SAVEPOINT.
    fn abort(&mut self, s: SessionId, autocommit: bool) -> Result<(), EngineError> {
        if let Some(trx) = self.sessions[s].trx {
            let inner = self.trxs.get(&trx).and_then(|t| t.savepoints.len().checked_sub(1));
            match inner {
                Some(i) if !autocommit && self.sessions[s].in_block => {
                    self.abort_subtransaction(trx, i)?;
                    self.sessions[s].aborted = true;
                    return Ok(());
                }
                _ => self.end_trx(trx, false)?,
            }
        }
        self.sessions[s].aborted = !autocommit && self.sessions[s].in_block;
        if autocommit {
            self.sessions[s].in_block = false;
        }
        Ok(())
    }

    fn tag(&mut self, label: &Arc<str>, purpose: Purpose) -> u32 {
        self.whys.push(Why::new(label, purpose)) as u32
    }

    /// `deadlock_timeout` in µs: the spec's setting, or 100 ms as in the conformance recordings.
    fn deadlock_timeout(&self, s: SessionId) -> u64 {
        (self.sessions[s].settings.deadlock_timeout_ms().unwrap_or(100.0) * 1000.0) as u64
    }

    /// `lock_timeout` in µs (0: none): the spec's setting (`innodb_lock_wait_timeout` in seconds is
    /// read as the conformance runs translate it), or 10 s as in the recordings.
    fn lock_timeout(&self, s: SessionId) -> u64 {
        let settings = &self.sessions[s].settings;
        if let Some(ms) = settings.lock_timeout_ms() {
            return (ms * 1000.0) as u64;
        }
        if let Some(secs) = settings.lock_wait_s() {
            return (secs * 1e6) as u64;
        }
        10_000_000
    }

    /// Arm a new waiter's timers.
    fn arm_timers(&mut self, s: SessionId) {
        let now = self.book.now;
        self.timers.clear(s);
        self.timers.arm(s, PgTimer::DeadlockCheck, now + self.deadlock_timeout(s));
        let lt = self.lock_timeout(s);
        if lt > 0 {
            self.timers.arm(s, PgTimer::LockTimeout, now + lt);
        }
        if let Some(at) = self.sessions[s].statement_deadline {
            self.timers.arm(s, PgTimer::StatementTimeout, at);
        }
    }

    fn describe(&self, trx: TxnId, res: &PgRes, mode: PgLock, tag: u32, granted: bool) -> LockDesc {
        let names = &self.book.names;
        let session = self.book.holder_label(self.session_of(trx), trx);
        let why = match tag & REL_TAG {
            0 => self.whys.get(tag as usize),
            _ => self.rel_whys.get((tag & !REL_TAG) as usize),
        };
        let taken_by = why.map(|w| w.text(|p| self.purpose_text(p))).unwrap_or_else(|| "transaction".into());
        let fk_check = why.is_some_and(|w| matches!(w.purpose, Purpose::FkCheck { .. } | Purpose::ParentCheck { .. }));
        let (table, key, kind) = match res {
            PgRes::Row(t, root) | PgRes::Tuple(t, root) => {
                let table = &self.cat.tables[*t as usize];
                let key = self
                    .newest(*t as usize, *root)
                    .ok()
                    .flatten()
                    .map(|(_, row)| {
                        let pk = table.pk().iter();
                        crate::sql::value::show_assignments(pk.map(|&c| (table.columns[c].name.as_str(), &row[c])))
                    })
                    .unwrap_or_else(|| format!("row {root}"));
                (names.tables[*t as usize].clone(), key, if matches!(res, PgRes::Row(..)) { "row" } else { "tuple" })
            }
            PgRes::Xact(x) => {
                let owner = self.book.holder_label(self.trxs.get(x).map(|t| t.session), *x);
                (names.none.clone(), format!("transaction of {owner}"), "transaction")
            }
            PgRes::Rel(t) => (names.tables[*t as usize].clone(), "whole table".into(), "relation"),
            PgRes::Part(i) => {
                let parent = &self.cat.tables[self.cat.partitions[*i as usize].parent].name;
                (Arc::from(self.relation_name(*res)), format!("partition of {parent}"), "relation")
            }
            PgRes::Advisory(k) => (names.none.clone(), format!("key {k}"), "advisory"),
            PgRes::Sequence(q) => {
                (Arc::from(self.cat.sequences[*q as usize].name.as_str()), "whole sequence".into(), "relation")
            }
        };
        let mode = match mode {
            PgLock::Row(m) => m.sql(),
            PgLock::Hw(h) => h.name(),
        };
        LockDesc { table, index: names.none.clone(), key, mode, kind, session, granted, taken_by, fk_check }
    }

    fn purpose_text(&self, p: &Purpose) -> String {
        let name = |t: usize| self.cat.tables[t].name.as_str();
        match *p {
            Purpose::Statement(what) => what.to_string(),
            Purpose::LockingRead(mode) => format!("SELECT ... {}", mode.sql()),
            Purpose::FkCheck { fk_table, parent } => {
                format!("FK check of a {} row on {}", name(fk_table), name(parent))
            }
            Purpose::ParentCheck { fk_table, parent } => {
                format!("FK check for {} rows referencing {}", name(fk_table), name(parent))
            }
            Purpose::UniqueCheck { table, ix } => {
                format!("unique check on {}", self.cat.tables[table].indexes[ix].name)
            }
        }
    }

    /// The transactions a blocked session waits behind, as [`Self::waiting_desc`] lists them.
    fn waiting_behind(&self, s: SessionId) -> Vec<TxnId> {
        let (Some((res, mode, _)), Some(trx)) = (self.sessions[s].waiting, self.sessions[s].trx) else {
            return Vec::new();
        };
        self.blocking(trx, &res, mode).map(|e| e.txn).collect()
    }

    fn waiting_desc(&self, s: SessionId) -> Option<WaitInfo> {
        let (res, mode, tag) = self.sessions[s].waiting?;
        let trx = self.sessions[s].trx?;
        let wants = self.describe(trx, &res, mode, tag, false);
        let behind =
            self.blocking(trx, &res, mode).map(|e| self.describe(e.txn, &res, e.mode, e.tag, e.granted)).collect();
        Some(WaitInfo { wants, behind })
    }

    /// The entries a session's wait is behind: a row lock's conflicting holders (the row lock is
    /// not queued: its waiters queue on the tuple lock), or the queue ahead of a heavyweight lock.
    fn blocking<'a>(
        &'a self,
        trx: TxnId,
        res: &'a PgRes,
        mode: PgLock,
    ) -> Box<dyn Iterator<Item = &'a crate::lock::Entry<PgLock>> + 'a> {
        match res {
            PgRes::Row(..) => Box::new(self.locks.holders_blocking(trx, res, mode)),
            _ => Box::new(self.locks.blockers(trx)),
        }
    }

    /// The deadlock check a waiter runs once, `deadlock_timeout` after its wait began
    /// (proc.c `CheckDeadLock`, deadlock.c `DeadLockCheck`): a cycle through it that reordering
    /// wait queues can break is broken so (a soft deadlock: the queues are rearranged and the
    /// waiters that can be granted now are woken, `ProcLockWakeup`); any other makes it the victim.
    fn check_deadlock(&mut self, s: SessionId) -> Result<(), EngineError> {
        self.timers.disarm(s, PgTimer::DeadlockCheck);
        let Some(trx) = self.sessions[s].trx else { return Ok(()) };
        match deadlock::check(&self.locks, trx) {
            deadlock::Verdict::None => return Ok(()),
            deadlock::Verdict::Soft(orders) => {
                for (res, order) in orders {
                    for g in self.locks.reorder_waiters(&res, &order) {
                        if let Some(x) = self.trxs.get(&g.txn) {
                            self.book.wakeups.push(x.session);
                        }
                    }
                }
                return Ok(());
            }
            deadlock::Verdict::Hard => {}
        }
        let Some(cycle) = self.locks.find_cycle_from(trx) else { return Ok(()) };
        let waits = cycle.iter().filter_map(|t| self.trxs.get(t).and_then(|x| self.waiting_desc(x.session))).collect();
        let names = cycle
            .iter()
            .map(|t| self.trxs.get(t).map(|x| self.book.session_label(x.session)).unwrap_or_else(|| Arc::from("")))
            .collect();
        self.book.deadlocks.push(DeadlockInfo { cycle: names, victim: self.book.session_label(s), waits });
        self.cancel(s, err(ErrorKind::Deadlock, "deadlock detected"))
    }

    /// End a session's wait with an error; the error aborts its transaction (AbortTransaction).
    fn cancel(&mut self, s: SessionId, e: DbError) -> Result<(), EngineError> {
        if let Some(trx) = self.sessions[s].trx {
            let grants = self.locks.cancel_wait(trx);
            for g in grants {
                if let Some(x) = self.trxs.get(&g.txn) {
                    self.book.wakeups.push(x.session);
                }
            }
        }
        self.sessions[s].waiting = None;
        self.timers.clear(s);
        self.sessions[s].killed = Some(e);
        self.book.wakeups.push(s);
        Ok(())
    }

    fn drive(&mut self, s: SessionId) -> Result<Poll, EngineError> {
        let Some(mut run) = self.sessions[s].running.take() else { return Ok(Poll::Done(Ok(None))) };
        self.sessions[s].waiting = None;
        self.timers.clear(s);
        let commit = matches!(run.stmt.plan, Plan::Commit);
        if let Some(e) = self.sessions[s].killed.take() {
            self.fail(s, run.autocommit, commit)?;
            return Ok(Poll::Done(Err(e)));
        }
        let trx = self.sessions[s].trx.expect("a running statement has a transaction");
        match self.step(s, trx, &mut run)? {
            exec::Step::Blocked => {
                self.sessions[s].running = Some(run);
                Ok(Poll::Blocked)
            }
            exec::Step::Done(Ok(())) => {
                self.release_xact_waits(trx);
                if commit {
                    self.end_trx(trx, true)?;
                    self.sessions[s].in_block = false;
                    return Ok(Poll::Done(Ok(None)));
                }
                if run.autocommit {
                    self.end_trx(trx, true)?;
                    self.sessions[s].in_block = false;
                }
                let rows = match &run.stmt.plan {
                    Plan::Select { table, proj, .. } => {
                        Some(crate::engine::project(&self.cat.tables[*table], proj, run.rows))
                    }
                    Plan::Advisory(calls) => {
                        Some(super::Rows::new(calls.iter().map(|c| c.name.clone()).collect(), run.rows))
                    }
                    Plan::Values { names, .. } => Some(super::Rows::new(names.clone(), run.rows)),
                    Plan::NextVal { column, .. } => Some(super::Rows::new(vec![column.clone()], run.rows)),
                    _ => None,
                };
                Ok(Poll::Done(Ok(rows)))
            }
            exec::Step::Done(Err(e)) => {
                self.fail(s, run.autocommit, commit)?;
                Ok(Poll::Done(Err(e)))
            }
        }
    }

    /// A statement failed: abort as [`PgDb::abort`] says, except a COMMIT whose deferred checks
    /// failed, which ends the block rolled back (`CommitTransaction` never returns: the error
    /// aborts the transaction, and the block is over).
    fn fail(&mut self, s: SessionId, autocommit: bool, commit: bool) -> Result<(), EngineError> {
        if !commit {
            return self.abort(s, autocommit);
        }
        if let Some(trx) = self.sessions[s].trx {
            self.end_trx(trx, false)?;
        }
        self.sessions[s].in_block = false;
        self.sessions[s].aborted = false;
        Ok(())
    }

    /// For a COMMIT with deferred checks queued, or a SET CONSTRAINTS in a block, the cursor
    /// that fires the checks due now (an error for a SET CONSTRAINTS that names a constraint
    /// wrongly); None for every other statement, which runs as usual.
    fn deferred_checks(&mut self, s: SessionId, plan: &Plan) -> Option<Result<Cursor, DbError>> {
        let sess = &self.sessions[s];
        let trx = sess.trx.filter(|_| sess.in_block && !sess.aborted)?;
        match plan {
            Plan::Commit => self.commit_checks(trx).map(Ok),
            Plan::SetConstraints { names, deferred } => Some(self.set_constraints(trx, names, *deferred)),
            _ => None,
        }
    }

    /// Transaction locks are only asked to wait for another transaction's end; once granted they
    /// are given back (XactLockTableWait).
    fn release_xact_waits(&mut self, trx: TxnId) {
        let held: Vec<(PgRes, PgLock)> = self
            .locks
            .locks_of(trx)
            .filter(|(r, e)| matches!(r, PgRes::Xact(x) if *x != trx) && e.granted)
            .map(|(r, e)| (*r, e.mode))
            .collect();
        for (r, m) in held {
            let _ = self.locks.release_one(trx, &r, m);
        }
    }

    fn control(&mut self, s: SessionId, plan: &Plan) -> Result<Poll, EngineError> {
        let sess = &self.sessions[s];
        if sess.aborted && !matches!(plan, Plan::Commit | Plan::Rollback | Plan::RollbackToSavepoint(_)) {
            return Ok(Poll::Done(Err(aborted_error())));
        }
        match plan {
            // PostgreSQL: BEGIN inside a block is only a warning.
            Plan::Begin(iso) if !self.sessions[s].in_block => {
                if let Some(t) = self.sessions[s].trx {
                    self.end_trx(t, true)?;
                }
                self.begin_trx(s, *iso);
                self.sessions[s].in_block = true;
            }
            Plan::Commit | Plan::Rollback => {
                // COMMIT of an aborted block is a ROLLBACK, without error.
                if let Some(t) = self.sessions[s].trx {
                    self.end_trx(t, matches!(plan, Plan::Commit))?;
                }
                self.sessions[s].in_block = false;
                self.sessions[s].aborted = false;
            }
            Plan::SetIsolation { level, next_only } => {
                if *next_only {
                    // SET TRANSACTION: for the current block only, before its first query.
                    if let Some(t) = self.sessions[s].trx.and_then(|t| self.trxs.get_mut(&t)) {
                        if t.snapshot.is_none() {
                            t.iso = *level;
                        }
                    }
                } else {
                    self.sessions[s].iso = Some(*level);
                }
            }
            Plan::SetVar { name, value } => {
                self.sessions[s].settings.set(name, value);
            }
            Plan::Savepoint(_) | Plan::ReleaseSavepoint(_) | Plan::RollbackToSavepoint(_) => {
                return self.savepoint(s, plan);
            }
            _ => {}
        }
        Ok(Poll::Done(Ok(None)))
    }

    fn live_rows(&self, table: usize) -> Result<Vec<Row>, EngineError> {
        let mut rows = Vec::new();
        self.store.visit((table as u32, 0), &mut |_, r| {
            if r.versions[0].xmax == 0 {
                rows.push(r.versions[0].row.clone());
            }
        })?;
        Ok(rows)
    }
}

pub fn aborted_error() -> DbError {
    err(ErrorKind::Other, "current transaction is aborted, commands ignored until end of transaction block")
}

impl<P: Parts> Engine for PgDb<P> {
    type Parts = P;
    type With<Q: Parts> = PgDb<Q>;
    type Res = PgRes;
    type Mode = PgLock;
    const KIND: EngineKind = EngineKind::Postgres;
    const TRACES_ROWS: bool = true;
    /// PostgreSQL drops the listed tables together (checked live).
    const DROPS_TOGETHER: bool = true;
    const ROWS_IN_PRIMARY_KEY: bool = false;
    const RELEASES_LOCKS_BEFORE_LOG_FLUSH: bool = false;

    /// PostgreSQL makes no index for a foreign key.
    fn schema(fk_enforced: bool) -> SchemaOptions {
        SchemaOptions { fk_enforced, implicit_fk_index: false, dialect: crate::sql::SqlDialect::Postgres }
    }

    fn ddl_refusal(refusal: &DdlRefusal) -> String {
        match refusal {
            // parserOpenTable, src/backend/parser/parse_relation.c.
            DdlRefusal::NoSuchTable(name) => format!("relation \"{name}\" does not exist"),
            // DropErrorMsgNonExistent, src/backend/commands/tablecmds.c.
            DdlRefusal::UnknownTables(names) => format!("table \"{}\" does not exist", names[0]),
            // reportDependentObjects, src/backend/catalog/dependency.c (without CASCADE).
            DdlRefusal::Referenced(name) => format!("cannot drop table {name} because other objects depend on it"),
        }
    }

    fn empty(cat: Arc<Catalog>, store: P::Store, session_names: Vec<String>) -> Self {
        let book = Book::new(session_names, &cat, SETUP_TRX + 1);
        PgDb {
            seqs: sequence::Sequences::new(&cat),
            sessions: vec![Sess::default(); book.names.sessions.len()],
            cat,
            store,
            locks: Default::default(),
            trxs: LiteMap::new(),
            next_ctid: 1,
            unsettled: Vec::new(),
            whys: Chain::new(),
            rel_whys: Chain::new(),
            timers: Timers::default(),
            book,
            mx: Default::default(),
            subs: Default::default(),
        }
    }

    fn resume(&mut self, snap: &Snapshot) {
        self.book.serials = snap.serials.clone();
        self.next_ctid = snap.next_id;
        self.seqs.resume(&snap.sequences);
    }

    /// The heap's live tuples, each owned by the setup transaction.
    fn snapshot(&self) -> Result<Snapshot, EngineError> {
        let trees = (0..self.cat.tables.len()).map(|t| (t as u32, 0));
        let mut snap = Snapshot::of_trees(
            &self.store,
            trees,
            |r| r.versions[0].xmax == 0,
            self.book.serials.clone(),
            self.next_ctid,
        )?;
        snap.sequences = self.seqs.committed();
        Ok(snap)
    }

    fn into_store(self) -> P::Store {
        self.store
    }

    fn parts_mut(&mut self) -> (&mut P::Store, &mut P::Locks<PgRes, PgLock>) {
        (&mut self.store, &mut self.locks)
    }

    fn counters(&self) -> Counters {
        Counters {
            commits: self.book.commit_seq,
            lasting_views: self.book.views,
            view_ends: 0,
            purge_checks: 0,
            serials: self.book.serials.clone(),
            next_root: self.next_ctid,
        }
    }

    fn start(&mut self, s: SessionId, stmt: Arc<Statement>, label: &Arc<str>) -> Result<Poll, EngineError> {
        self.book.tick += 1;
        if let Some(cursor) = self.deferred_checks(s, &stmt.plan) {
            // A COMMIT or SET CONSTRAINTS that fires deferred RI checks runs as a statement.
            let cursor = match cursor {
                Ok(c) => c,
                Err(e) => {
                    self.abort(s, false)?;
                    return Ok(Poll::Done(Err(e)));
                }
            };
            if !cursor.has_events() && matches!(stmt.plan, Plan::SetConstraints { .. }) {
                return Ok(Poll::Done(Ok(None)));
            }
            self.sessions[s].running =
                Some(Running { stmt, label: label.clone(), cursor, autocommit: false, rows: Vec::new() });
            return self.drive(s);
        }
        if stmt.is_transaction_control() || matches!(stmt.plan, Plan::Ddl) {
            return self.control(s, &stmt.plan);
        }
        if self.sessions[s].aborted {
            return Ok(Poll::Done(Err(aborted_error())));
        }
        let stmt = match &stmt.plan {
            Plan::Prepare { name, stmt: inner } => return Ok(Poll::Done(self.prepare_statement(s, name, inner))),
            Plan::Execute(name) => match self.prepared_statement(s, name) {
                // Only SELECT, INSERT, UPDATE and DELETE are prepared (lowering refuses the rest).
                Ok(inner) => inner,
                Err(e) => return Ok(Poll::Done(Err(e))),
            },
            _ => stmt,
        };
        super::refuse_system_columns(&stmt.plan)?;
        if let Some(e) = maintenance::in_block_error(&stmt.plan, self.sessions[s].in_block) {
            self.abort(s, false)?;
            return Ok(Poll::Done(Err(e)));
        }
        let autocommit = !self.sessions[s].in_block;
        let trx = match self.sessions[s].trx {
            Some(t) => t,
            None => self.begin_trx(s, None),
        };
        // enable_statement_timeout (postgres.c): armed when the statement starts.
        let st = self.sessions[s].settings.statement_timeout_ms().filter(|&ms| ms > 0.0);
        self.sessions[s].statement_deadline = st.map(|ms| self.book.now + (ms * 1000.0) as u64);
        let t = self.trxs.get_mut(&trx).expect("active");
        if t.iso >= Isolation::RepeatableRead && t.snapshot.is_none() {
            t.snapshot = Some(self.book.commit_seq);
            self.book.views += 1;
        }
        let cursor = Cursor::statement(!autocommit);
        self.sessions[s].running = Some(Running { stmt, label: label.clone(), cursor, autocommit, rows: Vec::new() });
        self.drive(s)
    }

    fn poll(&mut self, s: SessionId) -> Result<Poll, EngineError> {
        self.drive(s)
    }

    fn take_wakeups(&mut self) -> Vec<SessionId> {
        let sessions = &self.sessions;
        self.book.take_wakeups(|s| sessions[s].running.is_some())
    }

    fn take_deadlocks(&mut self) -> Vec<DeadlockInfo> {
        std::mem::take(&mut self.book.deadlocks)
    }

    fn take_notices(&mut self, s: SessionId) -> Vec<Notice> {
        std::mem::take(&mut self.sessions[s].notices)
    }

    fn wait_info(&self, s: SessionId) -> Option<WaitInfo> {
        self.waiting_desc(s)
    }

    fn waits_behind(&self, s: SessionId) -> Vec<SessionId> {
        self.waiting_behind(s).into_iter().filter_map(|t| self.trxs.get(&t).map(|x| x.session)).collect()
    }

    fn set_now(&mut self, now: u64) -> Result<(), EngineError> {
        self.book.now = self.book.now.max(now);
        Ok(())
    }

    fn wait_target(&self, s: SessionId) -> Option<LockDesc> {
        let (res, mode, tag) = self.sessions[s].waiting?;
        Some(self.describe(self.sessions[s].trx?, &res, mode, tag, false))
    }

    /// VACUUM: dead tuples no snapshot can see are removed (`heap_page_prune`, pruneheap.c;
    /// `HeapTupleSatisfiesVacuum` against the oldest xmin, heapam_visibility.c) and live ones
    /// whose inserter every snapshot sees are frozen (`heap_prepare_freeze_tuple`); see
    /// [`super::Horizon`].
    fn vacuum(&mut self) -> Result<usize, EngineError> {
        let mut visited = 0usize;
        let h = Horizon::new(&self.book, self.trxs.values().map(|t| t.began));
        let mut writes = Vec::new();
        let mut keys = std::mem::take(&mut self.unsettled);
        keys.sort_unstable();
        keys.dedup();
        for (tree, key) in keys {
            visited += 1;
            let Some(rec) = self.store.get(tree, &key)? else { continue };
            let after = match h.prune_tuple(&rec) {
                Some(None) => {
                    writes.push(Write::Remove(tree, key));
                    continue;
                }
                Some(Some(r)) => {
                    writes.push(Write::Put(tree, key.clone(), r.clone()));
                    r
                }
                None => rec,
            };
            // Frozen and never deleted or updated: nothing a later vacuum could do to it.
            let v = after.current();
            if !(v.trx == SETUP_TRX && v.xmax == 0) {
                self.unsettled.push((tree, key));
            }
        }
        for (_, x) in self.trxs.iter_mut() {
            for u in &mut x.undo {
                if let Some(r) = u.prev.as_ref().and_then(|p| h.freeze_tuple(p)) {
                    u.prev = Some(r);
                }
            }
        }
        let seq = h.seq();
        self.store.apply(writes)?;
        forget_commits(&mut self.book, seq);
        self.vacuum_xmax();
        // A transaction's lock on its own id carries no reason (tag 0).
        let held = self
            .trxs
            .keys()
            .flat_map(|&t| self.locks.locks_of(t).filter(|(r, _)| !matches!(r, PgRes::Xact(_))).map(|(_, e)| e.tag));
        let waiting = self.sessions.iter().filter_map(|s| s.waiting.map(|w| w.2));
        let tags: Vec<u32> = held.chain(waiting).collect();
        let oldest = tags.iter().filter(|&&t| t & REL_TAG == 0).min().map_or(self.whys.len(), |&t| t as usize);
        self.whys.forget_before(oldest);
        let rel = tags.iter().filter(|&&t| t & REL_TAG != 0).map(|&t| (t & !REL_TAG) as usize).min();
        self.rel_whys.forget_before(rel.unwrap_or(self.rel_whys.len()));
        self.locks.drop_empty_queues();
        Ok(visited)
    }

    fn next_timer(&self) -> Option<u64> {
        self.timers.next()
    }

    /// Fire the timers due by `now`, earliest first: each waiter's one deadlock check after
    /// `deadlock_timeout`, and `lock_timeout` ("canceling statement due to lock timeout").
    fn advance(&mut self, now: u64) -> Result<(), EngineError> {
        self.book.now = self.book.now.max(now);
        loop {
            let Some((timer, s)) = self.timers.due_by(self.book.now) else { return Ok(()) };
            match timer {
                PgTimer::LockTimeout => {
                    self.cancel(s, err(ErrorKind::LockTimeout, "canceling statement due to lock timeout"))?
                }
                PgTimer::DeadlockCheck => self.check_deadlock(s)?,
                // StatementTimeoutHandler (postgres.c) cancels the query: SQLSTATE 57014.
                PgTimer::StatementTimeout => {
                    self.cancel(s, err(ErrorKind::Other, "canceling statement due to statement timeout"))?
                }
            }
        }
    }

    fn finish(&mut self) -> Result<usize, EngineError> {
        let open: Vec<TxnId> = self.trxs.keys().copied().collect();
        for t in open {
            self.end_trx(t, false)?;
        }
        for s in &mut self.sessions {
            s.running = None;
            s.waiting = None;
        }
        self.timers.clear_all();
        self.book.wakeups.clear();
        count_orphans(&self.cat, |t| self.live_rows(t))
    }

    fn logical_orphans(&self) -> Result<Vec<(String, usize)>, EngineError> {
        logical_orphans(&self.cat, |t| self.live_rows(t))
    }

    fn catalog(&self) -> &Catalog {
        &self.cat
    }

    fn multixacts(&self) -> Option<MultixactCount> {
        Some(self.multixact_count())
    }
}
