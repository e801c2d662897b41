//! Engine profiles: which locks and row changes each statement makes, per engine.
//!
//! An engine is a pure state machine driven one statement at a time: `start` runs a session's
//! statement until it finishes or must wait for a lock; `poll` resumes it once `take_wakeups` says
//! it may proceed. The step runner, the explorer and the property tests all drive this interface.

mod chain;
pub mod innodb;
pub mod postgres;

use crate::lock::TxnId;
use crate::sql::{Catalog, Expr, Projection, Statement, Table, Value};
use crate::store::StoreError;
use crate::store::{MemStore, Row};
pub(crate) use chain::Chain;
use serde::Serialize;
use std::collections::BTreeMap;
use std::fmt;
use std::sync::{Arc, OnceLock};

/// A session (connection) in a scenario, by position.
pub type SessionId = usize;

/// The error classes of the `fksim run` contract.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorKind {
    Deadlock,
    FkViolation,
    UniqueViolation,
    LockTimeout,
    Serialization,
    Other,
}

impl ErrorKind {
    pub fn name(self) -> &'static str {
        match self {
            ErrorKind::Deadlock => "deadlock",
            ErrorKind::FkViolation => "fk_violation",
            ErrorKind::UniqueViolation => "unique_violation",
            ErrorKind::LockTimeout => "lock_timeout",
            ErrorKind::Serialization => "serialization",
            ErrorKind::Other => "other",
        }
    }
}

/// A statement's failure as the client sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DbError {
    pub kind: ErrorKind,
    pub message: String,
}

impl fmt::Display for DbError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

/// Rows a SELECT returned: column names and values.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rows {
    pub columns: Vec<String>,
    pub rows: Vec<Vec<Value>>,
}

/// How far a statement got.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Poll {
    Done(Result<Option<Rows>, DbError>),
    Blocked,
}

/// One lock, described for people: what, where, how, and why it was taken.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
///
/// Names are shared (`Arc<str>`) with the engine's [`Names`] and the lock's provenance, so a
/// description costs one formatted key, not a string per field.
pub struct LockDesc {
    pub table: Arc<str>,
    pub index: Arc<str>,
    /// `id=1`, `(user_id, id)=(2, 9)` or `supremum`.
    pub key: String,
    /// `S`, `X`, `FOR KEY SHARE`, ...
    pub mode: &'static str,
    /// `record`, `gap`, `next-key`, `insert-intention`, `table`, `tuple`.
    pub kind: &'static str,
    /// The session holding or wanting it.
    pub session: Arc<str>,
    /// Held (true) or still waiting in the queue (false).
    pub granted: bool,
    /// The step and the reason: "s1e: FK check on auth_user id=1".
    pub taken_by: Arc<str>,
}

impl fmt::Display for LockDesc {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.index.is_empty(), self.table.is_empty()) {
            (false, _) => write!(f, "{} {} lock on {}.{} ({})", self.mode, self.kind, self.table, self.index, self.key),
            (true, false) => write!(f, "{} {} lock on {} ({})", self.mode, self.kind, self.table, self.key),
            (true, true) => write!(f, "{} {} lock on the {}", self.mode, self.kind, self.key),
        }
    }
}

/// The index a statement scans, as the model chose it or a live EXPLAIN reported it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Access {
    pub table: Arc<str>,
    /// `PRIMARY`, an index name, or `full scan`.
    pub path: String,
    /// Why the engine's choice cannot be decided here (the model scans `path`), or why a live
    /// EXPLAIN did not say.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub undecided: Option<String>,
}

/// What a blocked statement waits for and behind whom.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct WaitInfo {
    pub wants: LockDesc,
    pub behind: Vec<LockDesc>,
}

/// A deadlock the engine found and resolved.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DeadlockInfo {
    /// Sessions in the cycle, each waiting for the next (the last waits for the first).
    pub cycle: Vec<Arc<str>>,
    pub victim: Arc<str>,
    /// What each member of the cycle waits for, in cycle order.
    pub waits: Vec<WaitInfo>,
}

/// Engine failures that are not SQL outcomes (storage errors).
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("{0}")]
    Unsupported(String),
}

/// The interface every engine profile offers to the drivers.
pub trait Engine {
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
    /// Roll back every open transaction and count orphans over every declared foreign key.
    fn finish(&mut self) -> Result<usize, EngineError>;
    fn catalog(&self) -> &Catalog;
}

impl Rows {
    pub fn new(columns: Vec<String>, rows: Vec<Vec<Value>>) -> Rows {
        Rows { columns, rows }
    }
}

/// The rows of a SELECT, projected.
pub fn project(table: &Table, proj: &Projection, rows: Vec<Vec<Value>>) -> Rows {
    match proj {
        Projection::Star => {
            let cols: Vec<(usize, String)> = table.visible_columns().map(|(i, c)| (i, c.name.clone())).collect();
            let rows = rows.into_iter().map(|r| cols.iter().map(|(i, _)| r[*i].clone()).collect()).collect();
            Rows::new(cols.into_iter().map(|(_, n)| n).collect(), rows)
        }
        Projection::Cols(cs) => Rows::new(
            cs.iter().map(|&c| table.columns[c].name.clone()).collect(),
            rows.into_iter().map(|r| cs.iter().map(|&c| r[c].clone()).collect()).collect(),
        ),
        Projection::CountStar => Rows::new(vec!["count".into()], vec![vec![Value::Int(rows.len() as i64)]]),
        Projection::One => Rows::new(vec!["?column?".into()], rows.iter().map(|_| vec![Value::Int(1)]).collect()),
    }
}

/// The committed state after a spec's setup, from which every permutation starts.
#[derive(Debug, Clone)]
pub struct Snapshot {
    pub store: MemStore,
    pub serials: Vec<i64>,
    /// The engine's next row identifier (PostgreSQL's tuple roots).
    pub next_id: i64,
}

/// Orphans over every declared foreign key (stripped or not): live child rows whose non-NULL
/// referencing values match no live parent row. `live_rows(table)` gives a table's live rows.
pub fn count_orphans(
    cat: &Catalog,
    live_rows: impl Fn(usize) -> Result<Vec<Row>, EngineError>,
) -> Result<usize, EngineError> {
    let mut orphans = 0;
    for (t, table) in cat.tables.iter().enumerate() {
        for fk in &table.fks {
            let parents = live_rows(fk.parent)?;
            for row in live_rows(t)? {
                if fk.cols.iter().any(|&c| row[c].is_null()) {
                    continue;
                }
                let found = parents.iter().any(|p| {
                    let mut pairs = fk.parent_cols.iter().zip(&fk.cols);
                    pairs.all(|(&pc, &c)| p[pc].sql_cmp(&row[c]) == Some(std::cmp::Ordering::Equal))
                });
                orphans += usize::from(!found);
            }
        }
    }
    Ok(orphans)
}

/// How an engine fills a serial column.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Serial {
    /// MySQL's AUTO_INCREMENT: the counter moves past explicit values.
    AutoIncrement,
    /// PostgreSQL's sequence: explicit values leave it alone.
    Sequence,
}

/// The values of an INSERT row: literals coerced to the column types, CURRENT_TIMESTAMP as the
/// statement's tick, DEFAULT as NULL or the next serial value; NOT NULL enforced with the engine's
/// message.
pub(crate) fn insert_values(
    table: &Table,
    exprs: &[Expr],
    tick: i64,
    counter: &mut i64,
    serial: Serial,
    not_null: impl Fn(&str) -> String,
) -> Result<Vec<Value>, DbError> {
    let mut out = Vec::with_capacity(exprs.len());
    for (c, e) in exprs.iter().enumerate() {
        let col = &table.columns[c];
        let v = match e {
            Expr::Lit(v) => v.clone().coerce(col.ty),
            Expr::Now => Value::Time(tick),
            Expr::Default if col.serial => {
                *counter += 1;
                Value::Int(*counter)
            }
            Expr::Default => Value::Null,
            Expr::ColPlus(..) => {
                return Err(DbError {
                    kind: ErrorKind::Other,
                    message: "column references are not allowed in VALUES".into(),
                })
            }
        };
        if let (true, Value::Int(i), Serial::AutoIncrement) = (col.serial, &v, serial) {
            *counter = (*counter).max(*i);
        }
        if v.is_null() && col.not_null {
            return Err(DbError { kind: ErrorKind::Other, message: not_null(&col.name) });
        }
        out.push(v);
    }
    Ok(out)
}

/// Why a lock was taken: the step's label and the engine's purpose. Formatted only when reported,
/// and once: copies of the state share it through the engine's [`Chain`].
#[derive(Debug, Clone)]
pub(crate) struct Why<P> {
    pub label: Arc<str>,
    pub purpose: P,
    text: OnceLock<Arc<str>>,
}

impl<P> Why<P> {
    pub fn new(label: &Arc<str>, purpose: P) -> Self {
        Why { label: label.clone(), purpose, text: OnceLock::new() }
    }

    /// `label: purpose`, the purpose as `show` writes it.
    pub fn text(&self, show: impl FnOnce(&P) -> String) -> Arc<str> {
        self.text.get_or_init(|| format!("{}: {}", self.label, show(&self.purpose)).into()).clone()
    }
}

/// The names lock descriptions show, made once per database and shared by every copy of it.
#[derive(Debug)]
pub(crate) struct Names {
    pub sessions: Vec<Arc<str>>,
    pub tables: Vec<Arc<str>>,
    /// Per table, per index.
    pub indexes: Vec<Vec<Arc<str>>>,
    /// The empty name (a table lock's index, a transaction lock's table).
    pub none: Arc<str>,
}

impl Names {
    fn new(sessions: Vec<String>, cat: &Catalog) -> Names {
        Names {
            sessions: sessions.into_iter().map(Arc::from).collect(),
            tables: cat.tables.iter().map(|t| Arc::from(t.name.as_str())).collect(),
            indexes: cat
                .tables
                .iter()
                .map(|t| t.indexes.iter().map(|i| Arc::from(i.name.as_str())).collect())
                .collect(),
            none: Arc::from(""),
        }
    }
}

/// What every engine keeps besides its locks, rows and sessions: the commit order, counters, the
/// virtual clock, and the events the runner collects.
#[derive(Debug, Clone)]
pub(crate) struct Book {
    /// Commits so far; a snapshot is a value of this counter.
    pub commit_seq: u64,
    /// Snapshots that outlive their statement (REPEATABLE READ) taken so far: the explorer treats
    /// taking one as reading every transaction's commit state.
    pub views: u64,
    /// Read views closed so far (InnoDB: a transaction or READ COMMITTED statement that had one
    /// ended), and commits that looked for open read views before purging (InnoDB: a commit with
    /// delete-marked records). A commit that purges and the end of a view are dependent.
    pub view_ends: u64,
    pub purge_checks: u64,
    /// The commit sequence number of every committed transaction.
    pub commits: BTreeMap<TxnId, u64>,
    pub names: Arc<Names>,
    pub next_trx: TxnId,
    /// The statement clock CURRENT_TIMESTAMP reads.
    pub tick: i64,
    /// Virtual time (µs), moved by the runner.
    pub now: u64,
    /// Serial counters, per table.
    pub serials: Vec<i64>,
    /// Sessions whose blocked statement may proceed, in release order.
    pub wakeups: Vec<SessionId>,
    pub deadlocks: Vec<DeadlockInfo>,
}

impl Book {
    pub fn new(session_names: Vec<String>, cat: &Catalog, first_trx: TxnId) -> Book {
        let tables = cat.tables.len();
        Book {
            commit_seq: 0,
            views: 0,
            view_ends: 0,
            purge_checks: 0,
            commits: BTreeMap::new(),
            names: Arc::new(Names::new(session_names, cat)),
            next_trx: first_trx,
            tick: 0,
            now: 0,
            serials: vec![0; tables],
            wakeups: Vec::new(),
            deadlocks: Vec::new(),
        }
    }

    /// The name of the session of a lock's transaction (`trx<id>` once the session is unknown).
    pub fn holder_label(&self, session: Option<SessionId>, trx: TxnId) -> Arc<str> {
        session.map(|s| self.session_label(s)).unwrap_or_else(|| format!("trx{trx}").into())
    }

    /// The session's name, shared.
    pub fn session_label(&self, s: SessionId) -> Arc<str> {
        self.names.sessions.get(s).cloned().unwrap_or_else(|| format!("session{s}").into())
    }

    /// The woken sessions that `keep` accepts, each once, in the order they were woken.
    pub fn take_wakeups(&mut self, keep: impl Fn(SessionId) -> bool) -> Vec<SessionId> {
        let mut out: Vec<SessionId> = Vec::new();
        for s in self.wakeups.drain(..) {
            if !out.contains(&s) && keep(s) {
                out.push(s);
            }
        }
        out
    }
}
