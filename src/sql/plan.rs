//! Statements lowered to a small plan: which table, which columns, which conditions.

use super::catalog::TableId;
use super::value::Value;
use crate::spec::Pos;
use std::cmp::Ordering;

/// The isolation levels the engines know.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Isolation {
    ReadUncommitted,
    ReadCommitted,
    RepeatableRead,
    Serializable,
}

/// The strength of a locking read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RowLock {
    /// FOR UPDATE
    Update,
    /// FOR NO KEY UPDATE (PostgreSQL)
    NoKeyUpdate,
    /// FOR SHARE / LOCK IN SHARE MODE
    Share,
    /// FOR KEY SHARE (PostgreSQL)
    KeyShare,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CmpOp {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

/// One conjunct of a WHERE clause.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Cond {
    Cmp(usize, CmpOp, Value),
    In(usize, Vec<Value>),
    IsNull(usize, bool),
}

impl Cond {
    pub fn col(&self) -> usize {
        match self {
            Cond::Cmp(c, ..) | Cond::In(c, _) | Cond::IsNull(c, _) => *c,
        }
    }

    pub fn matches(&self, row: &[Value]) -> bool {
        match self {
            Cond::Cmp(c, op, v) => match row[*c].sql_cmp(v) {
                None => false,
                Some(o) => match op {
                    CmpOp::Eq => o == Ordering::Equal,
                    CmpOp::Ne => o != Ordering::Equal,
                    CmpOp::Lt => o == Ordering::Less,
                    CmpOp::Le => o != Ordering::Greater,
                    CmpOp::Gt => o == Ordering::Greater,
                    CmpOp::Ge => o != Ordering::Less,
                },
            },
            Cond::In(c, vs) => vs.iter().any(|v| row[*c].sql_cmp(v) == Some(Ordering::Equal)),
            Cond::IsNull(c, want) => row[*c].is_null() == *want,
        }
    }
}

/// A WHERE clause: a conjunction (empty = every row).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Filter {
    pub conds: Vec<Cond>,
}

impl Filter {
    pub fn matches(&self, row: &[Value]) -> bool {
        self.conds.iter().all(|c| c.matches(row))
    }

    /// The value a column is pinned to by an `=` conjunct, if any.
    pub fn eq_value(&self, col: usize) -> Option<&Value> {
        self.conds.iter().find_map(|c| match c {
            Cond::Cmp(cc, CmpOp::Eq, v) if *cc == col && !v.is_null() => Some(v),
            _ => None,
        })
    }
}

/// A value in an INSERT row or on the right of `SET col =`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Expr {
    Lit(Value),
    /// CURRENT_TIMESTAMP / NOW()
    Now,
    /// DEFAULT (or a column left out of the INSERT list)
    Default,
    /// `col + n` (or `col - n`)
    ColPlus(usize, i64),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Projection {
    Star,
    Cols(Vec<usize>),
    CountStar,
    One,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Plan {
    Insert {
        table: TableId,
        rows: Vec<Vec<Expr>>,
    },
    Update {
        table: TableId,
        set: Vec<(usize, Expr)>,
        filter: Filter,
    },
    Delete {
        table: TableId,
        filter: Filter,
    },
    Select {
        table: TableId,
        proj: Projection,
        filter: Filter,
        lock: Option<RowLock>,
    },
    Begin(Option<Isolation>),
    Commit,
    Rollback,
    /// SET [SESSION] TRANSACTION ISOLATION LEVEL ...: `next_only` for the next transaction only.
    SetIsolation {
        level: Isolation,
        next_only: bool,
    },
    /// SET name = value (timeouts; others accepted and ignored).
    SetVar {
        name: String,
        value: String,
    },
    /// DDL after setup (DROP TABLE in a teardown): accepted, not run by the model.
    Ddl,
}

/// A bound statement with the text and position it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Statement {
    pub plan: Plan,
    pub text: String,
    pub pos: Pos,
}

impl Statement {
    /// Does the statement end or start a transaction (so it never waits on row locks)?
    pub fn is_transaction_control(&self) -> bool {
        matches!(
            self.plan,
            Plan::Begin(_) | Plan::Commit | Plan::Rollback | Plan::SetIsolation { .. } | Plan::SetVar { .. }
        )
    }
}
