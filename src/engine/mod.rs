//! Engine profiles: which locks and row changes each statement makes, per engine.
//!
//! ```text
//!   drivers:  run (step runner)   explore   app (workloads)   conform   bench / fuzz   sim   threaded
//!                     \               |          |              |          /
//!                      +----- Driver (drive.rs): sessions, statements, wake-ups, time ------+
//!                                               |
//!                                    trait Engine (this module)
//!                                     /                     \
//!                          innodb::InnoDb<P>            postgres::PgDb<P>
//!                                     \                     /
//!                        P: Parts = a Store (rows) + a lock table (crate::lock::Locks)
//! ```
//!
//! An engine is a pure state machine driven one statement at a time: `start` runs a session's
//! statement until it finishes or must wait for a lock; `poll` resumes it once `take_wakeups` says
//! it may proceed; `advance` moves its clock, firing lock wait timeouts and deadlock checks. It
//! keeps its rows and lock queues in the [`Parts`] it is built with, so a driver that traces
//! what each step touches (the explorer) builds the same engine over traced parts. Adding an
//! engine is one module that implements [`Engine`], and one arm in [`kind`].

mod book;
mod chain;
pub mod innodb;
pub mod kind;
mod outcome;
mod parts;
pub mod postgres;
mod shared;
mod timers;
mod vacuum;

pub use book::Snapshot;
pub(crate) use book::{count_orphans, logical_orphans, Book, Why};
pub(crate) use chain::Chain;
pub use kind::{EngineKind, EngineTask, Server};
pub use outcome::*;
pub use parts::{Parts, Plain};
pub use shared::SETUP_TRX;
pub(crate) use shared::{err, insert_values, updated_row, with_excluded, Serial, SetErrors, Settings, Step, Undo};
pub(crate) use vacuum::{forget_commits, Horizon};

use crate::lock::{LockMode, Resource};
use crate::sql::{Catalog, SchemaOptions, Statement};
use crate::store::Store;
use std::sync::Arc;

/// A session (connection) in a scenario, by position.
pub type SessionId = usize;

/// Counters a driver compares before and after a step (the explorer's footprints).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Counters {
    /// Commits so far.
    pub commits: u64,
    /// Snapshots that outlive their statement (REPEATABLE READ) taken so far.
    pub lasting_views: u64,
    /// Read views closed so far (InnoDB).
    pub view_ends: u64,
    /// Commits that looked for open read views before purging (InnoDB).
    pub purge_checks: u64,
    /// Serial counters, per table.
    pub serials: Vec<i64>,
    /// The next heap tuple root (PostgreSQL).
    pub next_root: i64,
}

/// DDL the runner refuses in a teardown (the model runs no DDL, so the runner checks DROP TABLE
/// and what runs after it), to be worded as the engine words it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DdlRefusal {
    /// A statement on a table already dropped.
    NoSuchTable(String),
    /// DROP TABLE without IF EXISTS of tables already dropped.
    UnknownTables(Vec<String>),
    /// DROP TABLE of a table a foreign key of a remaining table references.
    Referenced(String),
}

/// The store an engine keeps its rows in.
pub type StoreOf<E> = <<E as Engine>::Parts as Parts>::Store;
/// The lock table an engine keeps its queues in.
pub type LocksOf<E> = <<E as Engine>::Parts as Parts>::Locks<<E as Engine>::Res, <E as Engine>::Mode>;

/// An engine profile: the rules of one engine, over the rows and lock queues of `Parts`.
pub trait Engine: Send + Sized {
    /// Where it keeps its rows and lock queues.
    type Parts: Parts;
    /// The same engine over other parts.
    type With<Q: Parts>: Engine<Parts = Q>;
    /// Its lock resources and modes.
    type Res: Resource + Send + Sync;
    type Mode: LockMode + Send + Sync;
    /// Which engine this is.
    const KIND: EngineKind;
    /// Whether its scans read predicates the explorer must trace with rows (PostgreSQL's heap
    /// scans) rather than keys and ranges only.
    const TRACES_ROWS: bool;

    /// Does `DROP TABLE a, b` drop the tables together (a child listed after its parent no longer
    /// holds it), or one after the other?
    const DROPS_TOGETHER: bool;

    /// Are a table's rows kept in its primary key index (InnoDB's clustered index), so that only
    /// the other indexes take an entry per row, or in a heap with every index beside it
    /// (PostgreSQL)? The load simulator's cost of a write depends on it.
    const ROWS_IN_PRIMARY_KEY: bool;
    /// Does a commit release its locks before its log flush (InnoDB: `innobase_commit` commits in
    /// memory, releasing the locks in `trx_commit_in_memory`, and flushes the redo log after, in
    /// `trx_commit_complete_for_mysql`, ha_innodb.cc), or after it (PostgreSQL:
    /// `CommitTransaction` flushes the commit record in `RecordTransactionCommit` before
    /// `ResourceOwnerRelease` releases the locks, xact.c)? The load simulator holds the locks
    /// through the flush or not.
    const RELEASES_LOCKS_BEFORE_LOG_FLUSH: bool;

    /// What the engine implies for a schema: the DDL rules it binds a spec with.
    fn schema(fk_enforced: bool) -> SchemaOptions;
    /// The engine's message for refused DDL.
    fn ddl_refusal(refusal: &DdlRefusal) -> String;
    /// A database with the catalog's tables, empty.
    fn empty(cat: Arc<Catalog>, store: StoreOf<Self>, sessions: Vec<String>) -> Self;
    /// A database started from a setup snapshot.
    fn from_snapshot(
        cat: Arc<Catalog>,
        mut store: StoreOf<Self>,
        snap: &Snapshot,
        sessions: Vec<String>,
    ) -> Result<Self, EngineError> {
        store.load(&snap.store)?;
        let mut db = Self::empty(cat, store, sessions);
        db.resume(snap);
        Ok(db)
    }
    /// Continue the counters a snapshot carries (serial values, the next row id).
    fn resume(&mut self, snap: &Snapshot);
    /// The committed state (call with no transaction open).
    fn snapshot(&self) -> Result<Snapshot, EngineError>;
    /// Give the store back (to reuse it for the next permutation).
    fn into_store(self) -> StoreOf<Self>;
    /// The rows and the lock queues, for a driver that traces them.
    fn parts_mut(&mut self) -> (&mut StoreOf<Self>, &mut LocksOf<Self>);
    /// The counters a step may move.
    fn counters(&self) -> Counters;

    /// Start `stmt` in `session`; `label` names the step it belongs to (for reports).
    fn start(&mut self, session: SessionId, stmt: Arc<Statement>, label: &Arc<str>) -> Result<Poll, EngineError>;
    /// Resume a blocked statement after `take_wakeups` named its session.
    fn poll(&mut self, session: SessionId) -> Result<Poll, EngineError>;
    /// Sessions whose blocked statement may now make progress, in the order they were released.
    fn take_wakeups(&mut self) -> Vec<SessionId>;
    /// Deadlocks found since the last call.
    fn take_deadlocks(&mut self) -> Vec<DeadlockInfo>;
    /// The access path of the statement `session` started last, if the engine reports one (the
    /// InnoDB profile's choice of index), once.
    fn take_access(&mut self, _session: SessionId) -> Option<Access> {
        None
    }
    /// The notices (warnings) the statements `session` ran sent since the last call, in order.
    fn take_notices(&mut self, _session: SessionId) -> Vec<Notice> {
        Vec::new()
    }
    /// What a blocked session waits for.
    fn wait_info(&self, session: SessionId) -> Option<WaitInfo>;
    /// The sessions a blocked session waits behind (the `behind` of [`Engine::wait_info`],
    /// without describing the locks): what wait chains are measured with.
    fn waits_behind(&self, session: SessionId) -> Vec<SessionId>;
    /// The virtual time (µs) at which the next timer fires: a lock wait timeout, or a deadlock
    /// check after `deadlock_timeout`. None when nothing waits.
    fn next_timer(&self) -> Option<u64>;
    /// Move the clock to `now` (µs), firing every timer due by then; statements started later
    /// start at `now`.
    fn advance(&mut self, now: u64) -> Result<(), EngineError>;
    /// Move the clock to `now` (µs) when the caller knows no timer is due by then (it asked
    /// [`Engine::next_timer`]): the same as [`Engine::advance`], without looking for timers.
    fn set_now(&mut self, now: u64) -> Result<(), EngineError> {
        self.advance(now)
    }
    /// The lock a blocked session wants (the `wants` of [`Engine::wait_info`], without
    /// describing what it waits behind).
    fn wait_target(&self, session: SessionId) -> Option<LockDesc> {
        self.wait_info(session).map(|w| w.wants)
    }
    /// Forget what no open or later transaction can see or need, as a long-running server does:
    /// row versions older than every open transaction (InnoDB's purge of history, PostgreSQL's
    /// pruning of dead tuples), the commit order of transactions that every open one sees
    /// (their rows are frozen, as VACUUM FREEZE does), why locks no longer held were taken, and
    /// empty lock queues. What any statement does afterwards does not change. Long runs (the
    /// load simulator) call it now and then; the step runner and the explorer never do. Returns
    /// how many records it visited (what it cost), so that a caller can space the calls out as
    /// the tables grow.
    fn vacuum(&mut self) -> Result<usize, EngineError> {
        Ok(0)
    }
    /// Roll back every open transaction and count orphans over every declared foreign key.
    fn finish(&mut self) -> Result<usize, EngineError>;
    /// Orphans over each logical reference (`table.column`, rows), as they stand now.
    fn logical_orphans(&self) -> Result<Vec<(String, usize)>, EngineError>;
    /// The MultiXacts created so far (PostgreSQL: `compute_new_xmax_infomask`), or None where the
    /// engine has none (InnoDB keeps row locks in its lock table, not in the rows).
    fn multixacts(&self) -> Option<MultixactCount> {
        None
    }
    fn catalog(&self) -> &Catalog;
}
