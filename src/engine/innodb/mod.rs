//! InnoDB's rules (MariaDB 10.11): record, gap, next-key and insert-intention locks on the
//! clustered and secondary indexes, implicit locks of fresh rows, FK and unique checks, and
//! deadlock detection with InnoDB's victim choice. Sessions, transactions and the `Engine` impl.

mod actions;
mod exec;
mod locking;
mod optimizer;

pub use locking::Res;
pub mod modes;
mod subquery;
mod upsert;

use super::forget_commits;
use super::timers::{TimerKind, Timers};
use super::{
    count_orphans, err, logical_orphans, Access, Book, Chain, Counters, DbError, DdlRefusal, DeadlockInfo, Engine,
    EngineError, EngineKind, ErrorKind, Horizon, LockDesc, Parts, Poll, SessionId, Settings, Snapshot, Undo, WaitInfo,
    SETUP_TRX,
};
use crate::lock::{Locks, TxnId};
use crate::sql::{Catalog, Isolation, OnConflict, Plan, SchemaOptions, Statement, Value};
use crate::store::{Key, Row, Store, TreeId, Write};
use exec::Cursor;
use litemap::LiteMap;
use locking::{Page, Purpose};
use modes::InnoLock;
use optimizer::Chooser;
use std::sync::Arc;

#[derive(Debug, Clone)]
struct Trx {
    session: SessionId,
    iso: Isolation,
    undo: Vec<Undo>,
    /// Undo records written (one per clustered-index row operation): InnoDB's `undo_no`.
    undo_no: u64,
    /// Lock structs owned (InnoDB's `UT_LIST_GET_LEN(trx_locks)`), and the kinds already present
    /// for struct reuse (one index is one page in the model's small tables).
    n_structs: u64,
    struct_kinds: Vec<(Page, InnoLock)>,
    /// Consistent-read view: commits up to this sequence number are visible.
    view: Option<u64>,
    /// InnoDB's single wait-for edge, `trx->lock.wait_trx`.
    wait_trx: Option<TxnId>,
    /// Records this transaction delete-marked, purged when it commits.
    deleted: Vec<(TreeId, Key)>,
    /// The commit sequence number when it began (the vacuum horizon).
    began: u64,
    /// Its savepoints, oldest first.
    savepoints: Vec<Savepoint>,
    /// InnoDB has joined the SQL layer's transaction: a statement of the block has used an
    /// InnoDB table (`ha_innobase::external_lock` -> `innobase_register_trx`); BEGIN alone does not.
    registered: bool,
}

/// A savepoint: its name, the undo log length and `undo_no` when it was set, and whether InnoDB
/// had joined the transaction by then.
#[derive(Debug, Clone)]
struct Savepoint {
    name: String,
    mark: usize,
    undo_no: u64,
    registered: bool,
}

/// A statement in progress in a session.
#[derive(Debug, Clone)]
struct Running {
    stmt: Arc<Statement>,
    label: Arc<str>,
    cursor: Cursor,
    undo_mark: usize,
    undo_no_mark: u64,
    /// The undo position at the current INSERT row's start: an upsert rolls a failed row back to
    /// it (`row_mysql_handle_errors`: `trx->rollback(savept)`).
    row_mark: (usize, u64),
    autocommit: bool,
    rows: Vec<Vec<Value>>,
}

#[derive(Debug, Clone, Default)]
struct Sess {
    trx: Option<TxnId>,
    /// Inside BEGIN ... COMMIT (otherwise each statement commits itself).
    in_block: bool,
    iso: Option<Isolation>,
    next_iso: Option<Isolation>,
    running: Option<Running>,
    /// The lock the running statement waits for, with its purpose tag, while blocked.
    waiting: Option<(Res, InnoLock, u32)>,
    /// An error for the blocked statement from outside: chosen as a deadlock victim (the
    /// transaction is already rolled back) or a lock wait timeout (the statement is rolled back).
    killed: Option<DbError>,
    settings: Settings,
    /// The access path the last statement started chose, until the runner takes it.
    access: Option<Access>,
    /// The lock wait timeout the settings give, in µs (see [`lock_wait_setting`]); kept, since
    /// the virtual clock asks for it at every step.
    lock_wait_us: Option<u64>,
}

/// Why an InnoDB lock was taken.
type Why = super::Why<Purpose>;

/// An InnoDB database: schema, rows, lock table, transactions and sessions.
pub struct InnoDb<P: Parts> {
    cat: Arc<Catalog>,
    store: P::Store,
    locks: P::Locks<Res, InnoLock>,
    /// Open transactions, few at a time: a sorted vector copies and searches faster than a tree.
    trxs: LiteMap<TxnId, Trx>,
    sessions: Vec<Sess>,
    /// Why each lock was taken, by tag; shared between copies of the state.
    whys: Chain<Why>,
    /// Waiting transactions whose blocker also waits, to check for a deadlock at the next
    /// [`InnoDb::deadlock_check`] (`Deadlock::to_check`), sorted.
    to_check: Vec<TxnId>,
    /// The waiters' lock wait timeouts.
    timers: Timers<LockWaitTimeout>,
    book: Book,
}

/// The one timer of an InnoDB waiter: `innodb_lock_wait_timeout` after its wait began.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct LockWaitTimeout;

impl TimerKind for LockWaitTimeout {
    const ALL: &'static [LockWaitTimeout] = &[LockWaitTimeout];
    fn index(self) -> usize {
        0
    }
}

impl<P: Parts> Clone for InnoDb<P>
where
    P::Store: Clone,
{
    fn clone(&self) -> Self {
        InnoDb {
            cat: self.cat.clone(),
            store: self.store.clone(),
            locks: self.locks.clone(),
            trxs: self.trxs.clone(),
            sessions: self.sessions.clone(),
            whys: self.whys.clone(),
            timers: self.timers.clone(),
            to_check: self.to_check.clone(),
            book: self.book.clone(),
        }
    }
}

impl<P: Parts> InnoDb<P> {
    fn is_active(&self, trx: TxnId) -> bool {
        self.trxs.contains_key(&trx)
    }

    fn begin_trx(&mut self, s: SessionId) -> TxnId {
        let id = self.book.next_trx;
        self.book.next_trx += 1;
        let sess = &mut self.sessions[s];
        let iso = sess.next_iso.take().or(sess.iso).unwrap_or(Isolation::RepeatableRead);
        sess.trx = Some(id);
        self.trxs.insert(
            id,
            Trx {
                session: s,
                iso,
                undo: Vec::new(),
                undo_no: 0,
                n_structs: 0,
                struct_kinds: Vec::new(),
                view: None,
                wait_trx: None,
                deleted: Vec::new(),
                began: self.book.commit_seq,
                savepoints: Vec::new(),
                registered: false,
            },
        );
        id
    }

    /// Commit: release the locks, make the changes visible, purge what the transaction deleted.
    fn commit(&mut self, trx: TxnId) -> Result<(), EngineError> {
        let Some(t) = self.trxs.remove(&trx) else {
            return Ok(());
        };
        // What the transaction wrote becomes visible to every later read.
        for u in &t.undo {
            P::committed(&self.store, u.tree, &u.key);
        }
        self.book.commit_seq += 1;
        self.book.commits.insert(trx, self.book.commit_seq);
        self.sessions[t.session].trx = None;
        self.book.view_ends += u64::from(t.view.is_some());
        self.release(trx);
        // Purge: the model purges at commit unless an open read view may still need the old rows.
        self.book.purge_checks += u64::from(!t.deleted.is_empty());
        if !self.trxs.values().any(|x| x.view.is_some()) {
            for (tree, key) in t.deleted {
                self.purge(tree, &key)?;
            }
        }
        self.deadlock_check()
    }

    /// Roll back the whole transaction.
    fn rollback(&mut self, trx: TxnId) -> Result<(), EngineError> {
        self.undo_to(trx, 0, 0)?;
        if let Some(t) = self.trxs.remove(&trx) {
            self.sessions[t.session].trx = None;
            self.book.view_ends += u64::from(t.view.is_some());
        }
        self.release(trx);
        self.deadlock_check()
    }

    /// Undo the transaction's changes back to `mark` (statement rollback keeps the locks:
    /// `trx_t::rollback_low`, trx0roll.cc, releases none).
    fn undo_to(&mut self, trx: TxnId, mark: usize, undo_no: u64) -> Result<(), EngineError> {
        let Some(t) = self.trxs.get_mut(&trx) else {
            return Ok(());
        };
        if mark >= t.undo.len() {
            return Ok(());
        }
        let undone: Vec<Undo> = t.undo.drain(mark..).rev().collect();
        t.undo_no = undo_no;
        t.deleted.retain(|d| !undone.iter().any(|u| u.tree == d.0 && u.key == d.1));
        for u in undone {
            match u.prev {
                Some(rec) => self.store.apply_one(Write::Put(u.tree, u.key, rec))?,
                None => {
                    // Rolling back an insert removes the record (row_undo_ins), and its locks pass
                    // to the next record's gap (lock_update_delete).
                    self.store.apply_one(Write::Remove(u.tree, u.key.clone()))?;
                    self.inherit_removed(u.tree, &u.key)?;
                }
            }
        }
        Ok(())
    }

    /// Remove a committed delete-marked record and pass its locks to the next record's gap.
    fn purge(&mut self, tree: TreeId, key: &Key) -> Result<(), EngineError> {
        let Some(rec) = self.store.get(tree, key)? else {
            return Ok(());
        };
        if !rec.deleted() || self.is_active(rec.trx()) {
            return Ok(());
        }
        self.store.apply_one(Write::Remove(tree, key.clone()))?;
        self.inherit_removed(tree, key)
    }

    /// Run the statement of session `s` from its cursor.
    fn drive(&mut self, s: SessionId) -> Result<Poll, EngineError> {
        if let Some(e) = self.sessions[s].killed.take() {
            let run = self.sessions[s].running.take();
            self.sessions[s].waiting = None;
            self.timers.clear(s);
            if e.kind == ErrorKind::Deadlock {
                self.sessions[s].in_block = false;
            } else if let (Some(run), Some(trx)) = (run, self.sessions[s].trx) {
                // A lock wait timeout rolls back the statement only (innodb_rollback_on_timeout=OFF).
                if run.autocommit {
                    self.rollback(trx)?;
                } else {
                    self.undo_to(trx, run.undo_mark, run.undo_no_mark)?;
                }
            }
            return Ok(Poll::Done(Err(e)));
        }
        let Some(mut run) = self.sessions[s].running.take() else {
            return Ok(Poll::Done(Ok(None)));
        };
        let trx = self.sessions[s].trx.expect("a running statement has a transaction");
        self.sessions[s].waiting = None;
        self.timers.clear(s);
        let outcome = self.step(s, trx, &mut run)?;
        match outcome {
            exec::Step::Blocked => {
                self.sessions[s].running = Some(run);
                Ok(Poll::Blocked)
            }
            exec::Step::Done(Ok(())) => {
                if run.autocommit {
                    self.commit(trx)?;
                } else if self.trxs.get(&trx).is_some_and(|t| t.iso <= Isolation::ReadCommitted) {
                    // READ COMMITTED: the read view lives for one statement.
                    if let Some(t) = self.trxs.get_mut(&trx) {
                        self.book.view_ends += u64::from(t.view.take().is_some());
                    }
                }
                let rows = match &run.stmt.plan {
                    Plan::Select { table, proj, .. } => {
                        Some(crate::engine::project(&self.cat.tables[*table], proj, run.rows))
                    }
                    _ => None,
                };
                Ok(Poll::Done(Ok(rows)))
            }
            exec::Step::Done(Err(e)) => {
                if e.kind == ErrorKind::Deadlock {
                    // Already rolled back whole (ha_innodb.cc: DB_DEADLOCK aborts the transaction).
                    self.sessions[s].in_block = false;
                } else if run.autocommit {
                    self.rollback(trx)?;
                } else {
                    self.undo_to(trx, run.undo_mark, run.undo_no_mark)?;
                }
                Ok(Poll::Done(Err(e)))
            }
        }
    }

    fn run_control(&mut self, s: SessionId, plan: &Plan) -> Result<Poll, EngineError> {
        match plan {
            Plan::Begin(iso) => {
                // MySQL: BEGIN commits an open transaction first.
                if let Some(t) = self.sessions[s].trx {
                    self.commit(t)?;
                }
                if let Some(iso) = iso {
                    self.sessions[s].next_iso = Some(*iso);
                }
                self.sessions[s].in_block = true;
                self.begin_trx(s);
            }
            Plan::Commit | Plan::Rollback => {
                if let Some(t) = self.sessions[s].trx {
                    if matches!(plan, Plan::Commit) {
                        self.commit(t)?;
                    } else {
                        self.rollback(t)?;
                    }
                }
                self.sessions[s].in_block = false;
            }
            Plan::SetIsolation { level, next_only } => {
                if *next_only {
                    self.sessions[s].next_iso = Some(*level);
                } else {
                    self.sessions[s].iso = Some(*level);
                }
            }
            Plan::SetVar { name, value } => {
                let sess = &mut self.sessions[s];
                sess.settings.set(name, value);
                sess.lock_wait_us = lock_wait_setting(&sess.settings);
            }
            Plan::Savepoint(_) | Plan::ReleaseSavepoint(_) | Plan::RollbackToSavepoint(_) => {
                return self.savepoint(s, plan);
            }
            _ => {}
        }
        Ok(Poll::Done(Ok(None)))
    }

    /// SAVEPOINT, RELEASE SAVEPOINT and ROLLBACK TO SAVEPOINT (MariaDB's `trans_savepoint`,
    /// `trans_release_savepoint`, `trans_rollback_to_savepoint`, transaction.cc; InnoDB's
    /// `trx_savepoint_for_mysql` and `trx_rollback_to_savepoint_for_mysql`, trx0roll.cc).
    /// Outside a transaction block SAVEPOINT does nothing. A savepoint set again under a name in
    /// use replaces the old one. ROLLBACK TO undoes the changes made since, keeps the savepoint,
    /// forgets the later ones, and keeps every row lock: "InnoDB does not release the row locks
    /// that were stored in memory after the savepoint" (MariaDB's manual, SAVEPOINT;
    /// `trx_rollback_to_savepoint_for_mysql_low`). Unless InnoDB had not yet joined the
    /// transaction when the savepoint was set (SAVEPOINT right after BEGIN): the SQL layer then
    /// rolls the engine's transaction back whole (`ha_rollback_to_savepoint`, handler.cc: "rolling
    /// back the transaction in all storage engines that were not part of the transaction when
    /// the savepoint was set"), releasing every lock, and the block goes on in a new one.
    fn savepoint(&mut self, s: SessionId, plan: &Plan) -> Result<Poll, EngineError> {
        let missing = |name: &str| err(ErrorKind::Other, format!("SAVEPOINT {name} does not exist"));
        let Some(trx) = self.sessions[s].trx.filter(|_| self.sessions[s].in_block) else {
            return Ok(Poll::Done(match plan {
                Plan::Savepoint(_) => Ok(None),
                Plan::ReleaseSavepoint(n) | Plan::RollbackToSavepoint(n) => Err(missing(n)),
                _ => Ok(None),
            }));
        };
        let t = self.trxs.get_mut(&trx).expect("active");
        match plan {
            Plan::Savepoint(name) => {
                t.savepoints.retain(|sp| sp.name != *name);
                let sp =
                    Savepoint { name: name.clone(), mark: t.undo.len(), undo_no: t.undo_no, registered: t.registered };
                t.savepoints.push(sp);
            }
            Plan::ReleaseSavepoint(name) | Plan::RollbackToSavepoint(name) => {
                let Some(i) = t.savepoints.iter().rposition(|sp| sp.name == *name) else {
                    return Ok(Poll::Done(Err(missing(name))));
                };
                let sp = t.savepoints[i].clone();
                if matches!(plan, Plan::ReleaseSavepoint(_)) {
                    t.savepoints.truncate(i);
                } else if sp.registered {
                    t.savepoints.truncate(i + 1);
                    self.undo_to(trx, sp.mark, sp.undo_no)?;
                } else {
                    let (iso, kept) = (t.iso, t.savepoints[..=i].to_vec());
                    self.rollback(trx)?;
                    let next = self.begin_trx(s);
                    let t = self.trxs.get_mut(&next).expect("active");
                    (t.iso, t.savepoints) = (iso, kept);
                }
            }
            _ => {}
        }
        Ok(Poll::Done(Ok(None)))
    }

    fn row_count(&self, table: usize) -> Result<Vec<Row>, EngineError> {
        let mut rows = Vec::new();
        self.store.visit((table as u32, 0), &mut |_, r| {
            if !r.deleted() {
                rows.push(r.current().row.clone());
            }
        })?;
        Ok(rows)
    }
}

impl<P: Parts> Engine for InnoDb<P> {
    type Parts = P;
    type With<Q: Parts> = InnoDb<Q>;
    type Res = Res;
    type Mode = InnoLock;
    const KIND: EngineKind = EngineKind::Innodb;
    const TRACES_ROWS: bool = false;
    /// MariaDB drops the listed tables one after the other (checked live).
    const DROPS_TOGETHER: bool = false;
    const ROWS_IN_PRIMARY_KEY: bool = true;
    const RELEASES_LOCKS_BEFORE_LOG_FLUSH: bool = true;

    /// InnoDB creates an index for a foreign key that has none, and its DDL refuses SET NULL on a
    /// NOT NULL column.
    fn schema(fk_enforced: bool) -> SchemaOptions {
        SchemaOptions { fk_enforced, implicit_fk_index: true, dialect: crate::sql::SqlDialect::MySql }
    }

    /// MariaDB names a table with its database; the README's set-up uses `test`. Each message
    /// was checked live.
    fn ddl_refusal(refusal: &DdlRefusal) -> String {
        let qualified = |name: &str| format!("test.{name}");
        match refusal {
            // ER_NO_SUCH_TABLE (1146).
            DdlRefusal::NoSuchTable(name) => format!("Table '{}' doesn't exist", qualified(name)),
            // ER_BAD_TABLE_ERROR (1051), every missing table listed.
            DdlRefusal::UnknownTables(names) => {
                let names: Vec<String> = names.iter().map(|n| qualified(n)).collect();
                format!("Unknown table '{}'", names.join(","))
            }
            // With foreign_key_checks on, a referenced table cannot be dropped (the MariaDB
            // manual, "Foreign Keys"): ER_ROW_IS_REFERENCED (1451).
            DdlRefusal::Referenced(_) => "Cannot delete or update a parent row: a foreign key constraint fails".into(),
        }
    }

    fn empty(cat: Arc<Catalog>, store: P::Store, session_names: Vec<String>) -> Self {
        let sessions = vec![Sess::default(); session_names.len()];
        let book = Book::new(session_names, &cat, SETUP_TRX + 1);
        InnoDb {
            cat,
            store,
            locks: Default::default(),
            trxs: LiteMap::new(),
            sessions,
            whys: Chain::new(),
            timers: Timers::default(),
            to_check: Vec::new(),
            book,
        }
    }

    fn resume(&mut self, snap: &Snapshot) {
        self.book.serials = snap.serials.clone();
    }

    /// Every index tree, each record's newest version owned by the setup transaction.
    fn snapshot(&self) -> Result<Snapshot, EngineError> {
        let trees = self
            .cat
            .tables
            .iter()
            .enumerate()
            .flat_map(|(t, table)| (0..table.indexes.len()).map(move |ix| (t as u32, ix as u32)));
        Snapshot::of_trees(&self.store, trees, |_| true, self.book.serials.clone(), 0)
    }

    fn into_store(self) -> P::Store {
        self.store
    }

    fn parts_mut(&mut self) -> (&mut P::Store, &mut P::Locks<Res, InnoLock>) {
        (&mut self.store, &mut self.locks)
    }

    fn counters(&self) -> Counters {
        Counters {
            commits: self.book.commit_seq,
            lasting_views: self.book.views,
            view_ends: self.book.view_ends,
            purge_checks: self.book.purge_checks,
            serials: self.book.serials.clone(),
            next_root: 0,
        }
    }

    fn start(&mut self, s: SessionId, stmt: Arc<Statement>, label: &Arc<str>) -> Result<Poll, EngineError> {
        self.book.tick += 1;
        if stmt.is_transaction_control() || matches!(stmt.plan, Plan::Ddl) {
            return self.run_control(s, &stmt.plan);
        }
        if let Plan::LockTable { .. } = stmt.plan {
            // MariaDB's LOCK TABLES (one statement for all tables, READ / WRITE, ending the
            // transaction) is not PostgreSQL's LOCK TABLE.
            return Err(EngineError::Unsupported("LOCK TABLE is not modelled on InnoDB".into()));
        }
        if let Plan::Maintenance(_) = stmt.plan {
            return Err(EngineError::Unsupported(
                "VACUUM and ANALYZE are PostgreSQL's: MariaDB has no VACUUM, and its ANALYZE TABLE is another statement"
                    .into(),
            ));
        }
        if let Plan::Insert { on_conflict: Some(OnConflict::Nothing { .. } | OnConflict::Update { .. }), .. } =
            stmt.plan
        {
            return Err(EngineError::Unsupported(
                "INSERT ... ON CONFLICT is PostgreSQL's: MariaDB refuses it (it has INSERT IGNORE and ON DUPLICATE KEY UPDATE)"
                    .into(),
            ));
        }
        if let Plan::AttachPartition { .. } = stmt.plan {
            // The MySQL dialect refuses it when the spec loads; a plan bound for PostgreSQL.
            return Err(EngineError::Unsupported(
                "ALTER TABLE ... ATTACH PARTITION is PostgreSQL's: MariaDB has no such statement".into(),
            ));
        }
        if matches!(stmt.plan, Plan::Prepare { .. } | Plan::Execute(_)) {
            // MariaDB's PREPARE name FROM 'text' is another syntax; the specs' PREPARE is PostgreSQL's.
            return Err(EngineError::Unsupported("PREPARE / EXECUTE are not modelled on InnoDB".into()));
        }
        crate::engine::refuse_system_columns(&stmt.plan)?;
        if matches!(stmt.plan, Plan::NextVal { .. } | Plan::AlterSequence { .. }) {
            // MariaDB's sequences (NEXTVAL, ALTER SEQUENCE) have other statements and rules.
            return Err(EngineError::Unsupported("sequences are not modelled on InnoDB".into()));
        }
        if let Plan::Values { .. } = stmt.plan {
            return Err(EngineError::Unsupported("a SELECT of literals without FROM is not modelled on InnoDB".into()));
        }
        if matches!(stmt.plan, Plan::Advisory(_)) || stmt.plan.filter().is_some_and(|f| !f.advisory.is_empty()) {
            // MariaDB's GET_LOCK() is another API, with other rules.
            return Err(EngineError::Unsupported("PostgreSQL's advisory locks are not modelled on InnoDB".into()));
        }
        let autocommit = !self.sessions[s].in_block || self.sessions[s].trx.is_none();
        if autocommit {
            self.sessions[s].in_block = false;
        }
        let trx = match self.sessions[s].trx {
            Some(t) => t,
            None => self.begin_trx(s),
        };
        self.trxs.get_mut(&trx).expect("active").registered = true;
        let locking_select = self.trxs[&trx].iso == Isolation::Serializable && !autocommit;
        let path = match &stmt.plan {
            Plan::Select { lock: None, .. } if !locking_select => None,
            Plan::Select { table, filter, proj, .. } => {
                Some(self.access_path(*table, filter, Chooser::Select(proj))?)
            }
            Plan::Update { table, filter, .. } | Plan::Delete { table, filter } => {
                Some(self.access_path(*table, filter, Chooser::Change)?)
            }
            _ => None,
        };
        if let (Plan::Select { table, order, limit, .. }, Some(p)) = (&stmt.plan, &path) {
            self.check_ordered_scan(*table, order, limit.is_some(), p)?;
        }
        self.sessions[s].access = path.as_ref().zip(stmt.plan.table()).map(|(p, table)| {
            let t = &self.cat.tables[table];
            Access { table: self.book.names.tables[table].clone(), path: p.name(t), undecided: p.undecided.clone() }
        });
        let cursor = Cursor::new(&stmt.plan, path);
        let t = &self.trxs[&trx];
        self.sessions[s].running = Some(Running {
            stmt,
            label: label.clone(),
            cursor,
            undo_mark: t.undo.len(),
            undo_no_mark: t.undo_no,
            row_mark: (t.undo.len(), t.undo_no),
            autocommit,
            rows: Vec::new(),
        });
        self.drive(s)
    }

    fn poll(&mut self, s: SessionId) -> Result<Poll, EngineError> {
        self.drive(s)
    }

    fn take_wakeups(&mut self) -> Vec<SessionId> {
        self.book.take_wakeups(|_| true)
    }

    fn take_deadlocks(&mut self) -> Vec<DeadlockInfo> {
        std::mem::take(&mut self.book.deadlocks)
    }

    fn take_access(&mut self, s: SessionId) -> Option<Access> {
        self.sessions[s].access.take()
    }

    fn wait_info(&self, s: SessionId) -> Option<WaitInfo> {
        self.waiting_desc(s)
    }

    fn waits_behind(&self, s: SessionId) -> Vec<SessionId> {
        let Some(trx) = self.sessions[s].trx.filter(|_| self.sessions[s].waiting.is_some()) else { return Vec::new() };
        self.locks.blockers(trx).filter_map(|e| self.trxs.get(&e.txn).map(|t| t.session)).collect()
    }

    fn finish(&mut self) -> Result<usize, EngineError> {
        let open: Vec<TxnId> = self.trxs.keys().copied().collect();
        for t in open {
            self.rollback(t)?;
        }
        for s in &mut self.sessions {
            s.running = None;
            s.waiting = None;
        }
        self.book.wakeups.clear();
        count_orphans(&self.cat, |t| self.row_count(t))
    }

    fn logical_orphans(&self) -> Result<Vec<(String, usize)>, EngineError> {
        logical_orphans(&self.cat, |t| self.row_count(t))
    }

    fn catalog(&self) -> &Catalog {
        &self.cat
    }

    fn next_timer(&self) -> Option<u64> {
        self.timers.next()
    }

    fn set_now(&mut self, now: u64) -> Result<(), EngineError> {
        self.book.now = self.book.now.max(now);
        Ok(())
    }

    fn wait_target(&self, s: SessionId) -> Option<LockDesc> {
        let (res, mode, tag) = self.sessions[s].waiting.clone()?;
        Some(self.describe(self.sessions[s].trx?, &res, mode, tag, false))
    }

    /// InnoDB's purge thread: history no read view can reach goes (`trx_purge`, trx0purge.cc),
    /// and delete-marked records committed before every open transaction are removed
    /// (`row_purge_remove_clust_if_poss`, row0purge.cc); see [`super::Horizon`].
    fn vacuum(&mut self) -> Result<usize, EngineError> {
        let mut visited = 0usize;
        let h = Horizon::new(&self.book, self.trxs.values().map(|t| t.began));
        let (mut writes, mut purge) = (Vec::new(), Vec::new());
        for (t, table) in self.cat.tables.iter().enumerate() {
            for ix in 0..table.indexes.len() {
                let tree = (t as u32, ix as u32);
                self.store.visit(tree, &mut |k, rec| {
                    visited += 1;
                    let now = h.trim_history(rec);
                    let r = now.as_ref().unwrap_or(rec);
                    if r.versions.len() == 1 && r.deleted() && r.trx() == SETUP_TRX {
                        purge.push((tree, Key::from(k)));
                    }
                    if let Some(r) = now {
                        writes.push(Write::Put(tree, Key::from(k), r));
                    }
                })?;
            }
        }
        let seq = h.seq();
        // What a rollback would put back must name only the transactions still remembered.
        for (_, x) in self.trxs.iter_mut() {
            for u in &mut x.undo {
                if let Some(r) = u.prev.as_ref().and_then(|p| h.trim_history(p)) {
                    u.prev = Some(r);
                }
            }
        }
        self.store.apply(writes)?;
        for (tree, key) in purge {
            self.purge(tree, &key)?;
        }
        forget_commits(&mut self.book, seq);
        let held = self.trxs.keys().flat_map(|&t| self.locks.locks_of(t).map(|(_, e)| e.tag));
        let waiting = self.sessions.iter().filter_map(|s| s.waiting.as_ref().map(|w| w.2));
        let oldest = held.chain(waiting).min().map_or(self.whys.len(), |t| t as usize);
        self.whys.forget_before(oldest);
        self.locks.drop_empty_queues();
        Ok(visited)
    }

    /// Fire lock wait timeouts (`innodb_lock_wait_timeout`, lock0lock.cc `lock_wait`): the wait is
    /// cancelled and the statement fails with "Lock wait timeout exceeded".
    fn advance(&mut self, now: u64) -> Result<(), EngineError> {
        self.book.now = self.book.now.max(now);
        loop {
            let Some((_, s)) = self.timers.due_by(self.book.now) else { return Ok(()) };
            let trx = self.sessions[s].trx.expect("a waiting session has a transaction");
            self.timers.clear(s);
            self.sessions[s].waiting = None;
            if let Some(t) = self.trxs.get_mut(&trx) {
                t.wait_trx = None;
            }
            self.cancel_wait(trx);
            self.sessions[s].killed =
                Some(err(ErrorKind::LockTimeout, "Lock wait timeout exceeded; try restarting transaction"));
            self.book.wakeups.push(s);
            self.deadlock_check()?;
        }
    }
}

/// The lock wait timeout the session set, in µs: `innodb_lock_wait_timeout` (s), or PostgreSQL's
/// `lock_timeout` (ms) rounded up to whole seconds, as the conformance runs translate it.
fn lock_wait_setting(settings: &Settings) -> Option<u64> {
    if let Some(v) = settings.lock_wait_s() {
        return Some((v * 1e6) as u64);
    }
    match settings.lock_timeout_ms() {
        Some(ms) if ms > 0.0 => Some(((ms / 1000.0).ceil().max(1.0) * 1e6) as u64),
        _ => None,
    }
}

impl<P: Parts> InnoDb<P> {
    /// Arm the lock wait timeout of session `s`, whose wait begins now: [`lock_wait_setting`],
    /// or 10 s by default, the setting of the conformance recordings.
    fn arm_timeout(&mut self, s: SessionId) {
        let at = self.book.now + self.sessions[s].lock_wait_us.unwrap_or(10_000_000);
        self.timers.arm(s, LockWaitTimeout, at);
    }
}
