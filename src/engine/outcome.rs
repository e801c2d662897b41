//! What a statement's run comes to, as drivers see it: done (rows, or an error of the contract's
//! kinds) or blocked; what a blocked statement waits for; deadlocks; the index it scans.

use crate::sql::{Projection, Table, Value};
use crate::store::StoreError;
use serde::Serialize;
use std::fmt;
use std::sync::Arc;

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

/// A message the server sent the client while a statement ran, not an error: a WARNING or
/// NOTICE (`ereport` below ERROR, elog.c), which libpq hands to the notice processor.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Notice {
    /// `WARNING`, `NOTICE`, `INFO`.
    pub severity: String,
    pub message: String,
}

impl fmt::Display for Notice {
    /// As libpq formats it (`pqBuildErrorMessage3` at the default verbosity): `WARNING:  text`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:  {}", self.severity, self.message)
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
/// Names are shared (`Arc<str>`) with the engine's names and the lock's provenance, so a
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
    /// Taken by a foreign-key check (a child row's of its parent, or a parent's of its children).
    #[serde(skip)]
    pub fk_check: bool,
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

impl Rows {
    pub fn new(columns: Vec<String>, rows: Vec<Vec<Value>>) -> Rows {
        Rows { columns, rows }
    }
}

/// A SELECT of system columns is refused when it runs: see [`Projection::SystemColumns`].
pub fn refuse_system_columns(plan: &crate::sql::Plan) -> Result<(), EngineError> {
    match plan {
        crate::sql::Plan::Select { proj: Projection::SystemColumns(names), .. } => {
            Err(EngineError::Unsupported(format!("the system columns {} are not modelled", names.join(", "))))
        }
        _ => Ok(()),
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
        // The engines refuse such a SELECT before it runs ([`refuse_system_columns`]).
        Projection::SystemColumns(_) => Rows::new(Vec::new(), Vec::new()),
    }
}

/// The MultiXacts a run created (PostgreSQL; InnoDB has none): in total and per row, the row
/// with the most members first.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct MultixactCount {
    pub created: u64,
    pub members: u64,
    pub rows: Vec<MultixactRow>,
}

/// The MultiXacts created on one row's tuple versions.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MultixactRow {
    pub table: String,
    pub key: String,
    pub created: u64,
    pub members: u64,
}

impl MultixactCount {
    /// Add another run's counts (rows with the same table and key summed), keeping the order.
    pub fn add(&mut self, other: &MultixactCount) {
        self.created += other.created;
        self.members += other.members;
        for r in &other.rows {
            match self.rows.iter_mut().find(|x| x.table == r.table && x.key == r.key) {
                Some(x) => {
                    x.created += r.created;
                    x.members += r.members;
                }
                None => self.rows.push(r.clone()),
            }
        }
        self.rows.sort_by(|a, b| b.members.cmp(&a.members).then(b.created.cmp(&a.created)));
    }

    /// `2 created, 5 members (auth_user id=1: 2 / 5)`, naming at most `top` rows.
    pub fn line(&self, top: usize) -> String {
        let mut s = format!("{} created, {} members", self.created, self.members);
        if !self.rows.is_empty() {
            let rows: Vec<String> = self
                .rows
                .iter()
                .take(top)
                .map(|r| format!("{} {}: {} / {}", r.table, r.key, r.created, r.members))
                .collect();
            let more =
                if self.rows.len() > top { format!(", {} more rows", self.rows.len() - top) } else { String::new() };
            s.push_str(&format!(" ({}{more})", rows.join(", ")));
        }
        s
    }
}
