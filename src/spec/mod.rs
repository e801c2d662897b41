//! Isolation-spec files (PostgreSQL's isolationtester format): the parsed form and its parser.

mod parse;
mod permute;

pub use parse::{parse_spec, parse_spec_file};
pub use permute::{all_interleavings, count_interleavings};

use std::fmt;
use std::sync::Arc;

/// A position in a spec file (1-based line and column).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Pos {
    pub line: usize,
    pub col: usize,
}

/// A `{ ... }` block of SQL text, with the position of its first character after `{`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SqlBlock {
    pub sql: String,
    pub pos: Pos,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Step {
    pub name: String,
    pub sql: SqlBlock,
    pub pos: Pos,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    pub name: String,
    pub setup: Option<SqlBlock>,
    pub steps: Vec<Step>,
    pub teardown: Option<SqlBlock>,
    pub pos: Pos,
}

/// A permutation step marker, isolationtester's `step(other)` / `step(*)`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Marker {
    /// `step(*)`: reported as waiting as soon as it is launched.
    Star,
    /// `step(other)`: completion reported only after `other` has completed.
    After(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PermStep {
    /// Shared with every line reported for it.
    pub name: Arc<str>,
    pub markers: Vec<Marker>,
    pub pos: Pos,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Permutation {
    pub steps: Vec<PermStep>,
    pub pos: Pos,
}

/// A whole spec file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Spec {
    /// The file name as given by the user (used in error messages).
    pub file: String,
    pub setup: Vec<SqlBlock>,
    pub teardown: Vec<SqlBlock>,
    pub sessions: Vec<Session>,
    pub permutations: Vec<Permutation>,
}

/// Why a spec file could not be read or parsed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SpecError {
    #[error("{file}: cannot read: {why}")]
    Io { file: String, why: String },
    #[error("{file}:{}:{}: {what}", pos.line, pos.col)]
    Syntax { file: String, pos: Pos, what: String },
}

impl Spec {
    /// The (session index, step index) of a step name, if it exists.
    pub fn find_step(&self, name: &str) -> Option<(usize, usize)> {
        self.sessions
            .iter()
            .enumerate()
            .find_map(|(si, s)| s.steps.iter().position(|st| st.name == name).map(|i| (si, i)))
    }
}

impl fmt::Display for Pos {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.line, self.col)
    }
}
