//! What both engine profiles do alike: the setup transaction, undo records, how far a statement
//! got, errors, the values of an inserted row, and the session settings that bound lock waits.

use super::{DbError, ErrorKind};
use crate::lock::TxnId;
use crate::sql::{duration_ms, ColType, Expr, Table, Value};
use crate::store::{Key, Record, TreeId};
use std::collections::BTreeMap;

/// The transaction id of the rows a spec's setup wrote (committed before everything else).
pub const SETUP_TRX: TxnId = 0;

/// One change to undo: the record as it was before (None: the record did not exist).
#[derive(Debug, Clone)]
pub(crate) struct Undo {
    pub tree: TreeId,
    pub key: Key,
    pub prev: Option<Record>,
}

/// How far a statement's execution got.
pub(crate) enum Step {
    Done(Result<(), DbError>),
    Blocked,
}

/// A statement error of `kind`.
pub(crate) fn err(kind: ErrorKind, message: impl Into<String>) -> DbError {
    DbError { kind, message: message.into() }
}

/// A session's `SET` variables, with the lock-wait settings read once. A spec written for either
/// server may set either server's variable (`lock_timeout` in ms, `innodb_lock_wait_timeout` in
/// s); each engine reads both, as `fksim conform` translates them.
#[derive(Debug, Clone, Default)]
pub(crate) struct Settings {
    vars: BTreeMap<String, String>,
    /// `lock_timeout` in ms (0: none), if set.
    lock_timeout_ms: Option<f64>,
    /// `innodb_lock_wait_timeout` in s, if set.
    lock_wait_s: Option<f64>,
    /// `deadlock_timeout` in ms, if set.
    deadlock_timeout_ms: Option<f64>,
    /// `statement_timeout` in ms (0: none), if set.
    statement_timeout_ms: Option<f64>,
}

impl Settings {
    pub fn set(&mut self, name: &str, value: &str) {
        self.vars.insert(name.to_string(), value.to_string());
        let ms = |n: &str| self.vars.get(n).and_then(|v| duration_ms(v));
        self.lock_timeout_ms = ms("lock_timeout");
        self.deadlock_timeout_ms = ms("deadlock_timeout");
        self.statement_timeout_ms = ms("statement_timeout");
        self.lock_wait_s = self.vars.get("innodb_lock_wait_timeout").and_then(|v| v.trim().parse::<f64>().ok());
    }

    /// `statement_timeout` in ms, if set (0: no timeout).
    pub fn statement_timeout_ms(&self) -> Option<f64> {
        self.statement_timeout_ms
    }

    /// `lock_timeout` in ms, if set (0: no timeout).
    pub fn lock_timeout_ms(&self) -> Option<f64> {
        self.lock_timeout_ms
    }

    /// `innodb_lock_wait_timeout` in s, if set.
    pub fn lock_wait_s(&self) -> Option<f64> {
        self.lock_wait_s
    }

    /// `deadlock_timeout` in ms, if set.
    pub fn deadlock_timeout_ms(&self) -> Option<f64> {
        self.deadlock_timeout_ms
    }
}

/// What an engine says when an UPDATE's new values are refused.
pub(crate) struct SetErrors {
    /// `col + n` on a column that is not an integer.
    pub arithmetic: &'static str,
    /// NULL for a NOT NULL column (given its name).
    pub not_null: fn(&str) -> String,
}

/// The row `old` becomes under `SET col = expr, ...`: literals coerced to the column types,
/// CURRENT_TIMESTAMP as the statement's tick, DEFAULT as NULL (or, given a `sequence`, the next
/// value of a serial column's sequence: PostgreSQL's `nextval` default), `col + n` from the old
/// row; NOT NULL enforced with the engine's message.
pub(crate) fn updated_row(
    table: &Table,
    old: &[Value],
    set: &[(usize, Expr)],
    tick: i64,
    errors: &SetErrors,
    mut sequence: Option<&mut i64>,
) -> Result<Vec<Value>, DbError> {
    let mut new = old.to_vec();
    for (c, e) in set {
        let v = match e {
            Expr::Default if table.columns[*c].serial && sequence.is_some() => {
                let n = sequence.as_deref_mut().expect("checked");
                *n += 1;
                Value::Int(*n)
            }
            e => set_value(table.columns[*c].ty, old, e, tick, errors)?,
        };
        if v.is_null() && table.columns[*c].not_null {
            return Err(err(ErrorKind::Other, (errors.not_null)(&table.columns[*c].name)));
        }
        new[*c] = v;
    }
    Ok(new)
}

/// One SET value of type `ty` over the old row.
fn set_value(ty: ColType, old: &[Value], e: &Expr, tick: i64, errors: &SetErrors) -> Result<Value, DbError> {
    Ok(match e {
        Expr::Lit(v) => v.clone().coerce(ty),
        Expr::Now => Value::Time(tick),
        Expr::Default => Value::Null,
        Expr::ColPlus(src, n) => match &old[*src] {
            Value::Int(i) => Value::Int(i + n),
            v if *n == 0 => v.clone(),
            _ => return Err(err(ErrorKind::Other, errors.arithmetic)),
        },
        Expr::Case(..) => e.of_row(old).expect("lower/upper of a column"),
        Expr::Excluded(_) => return Err(err(ErrorKind::Other, "EXCLUDED / VALUES() outside an upsert")),
        // textcat (varlena.c): a strict function, so NULL if either side is.
        Expr::Concat(a, b) => {
            match (set_value(ColType::Text, old, a, tick, errors)?, set_value(ColType::Text, old, b, tick, errors)?) {
                (Value::Null, _) | (_, Value::Null) => Value::Null,
                (x, y) => Value::Str(format!("{x}{y}").into()),
            }
        }
    })
}

/// An upsert's SET list with the proposed row's values (`EXCLUDED.col`, `VALUES(col)`) filled in.
pub(crate) fn with_excluded(set: &[(usize, Expr)], excluded: &[Value]) -> Vec<(usize, Expr)> {
    fn fill(e: &Expr, x: &[Value]) -> Expr {
        match e {
            Expr::Excluded(c) => Expr::Lit(x[*c].clone()),
            Expr::Concat(a, b) => Expr::Concat(Box::new(fill(a, x)), Box::new(fill(b, x))),
            other => other.clone(),
        }
    }
    set.iter().map(|(c, e)| (*c, fill(e, excluded))).collect()
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
            Expr::ColPlus(..) | Expr::Case(..) | Expr::Excluded(_) | Expr::Concat(..) => {
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
