//! SQL values as the model stores and compares them.

use serde::{Deserialize, Serialize};
use std::cmp::Ordering;
use std::fmt;
use std::sync::Arc;

/// A column value. `Time` is a logical timestamp (CURRENT_TIMESTAMP gives the statement's tick).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Value {
    Null,
    Bool(bool),
    Int(i64),
    /// Text, shared: rows are copied for every permutation and every version.
    Str(Arc<str>),
    Time(i64),
}

impl Value {
    /// The value as a column of type `ty` stores it (booleans and integers interconvert).
    pub fn coerce(self, ty: super::ColType) -> Value {
        match (ty, self) {
            (super::ColType::Bool, Value::Int(i)) => Value::Bool(i != 0),
            (super::ColType::Int, Value::Bool(b)) => Value::Int(b as i64),
            (_, v) => v,
        }
    }

    pub fn is_null(&self) -> bool {
        matches!(self, Value::Null)
    }

    /// SQL comparison: `None` when either side is NULL or the types cannot be compared.
    /// Booleans compare with integers as MySQL's TINYINT(1) does.
    pub fn sql_cmp(&self, other: &Value) -> Option<Ordering> {
        use Value::*;
        match (self, other) {
            (Null, _) | (_, Null) => None,
            (Bool(a), Bool(b)) => Some(a.cmp(b)),
            (Bool(a), Int(b)) => Some((*a as i64).cmp(b)),
            (Int(a), Bool(b)) => Some(a.cmp(&(*b as i64))),
            (Int(a), Int(b)) | (Time(a), Time(b)) => Some(a.cmp(b)),
            (Str(a), Str(b)) => Some(a.cmp(b)),
            _ => None,
        }
    }
}

impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Null => f.write_str(""),
            Value::Bool(b) => f.write_str(if *b { "t" } else { "f" }),
            Value::Int(i) => write!(f, "{i}"),
            Value::Str(s) => f.write_str(s),
            Value::Time(t) => write!(f, "T{t}"),
        }
    }
}

/// `col=value` pairs joined by `, `, values as [`show_literal`] shows them, written into one string.
/// Lock descriptions are made for every wait the explorer meets, so this avoids `format!`.
pub fn show_assignments<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a Value)>) -> String {
    let mut out = String::with_capacity(32);
    let mut digits = itoa::Buffer::new();
    for (i, (name, v)) in pairs.into_iter().enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        out.push_str(name);
        out.push('=');
        match v {
            Value::Null => out.push_str("NULL"),
            Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
            Value::Int(n) => out.push_str(digits.format(*n)),
            Value::Str(s) => {
                out.push('\'');
                out.push_str(s);
                out.push('\'');
            }
            Value::Time(t) => {
                out.push('T');
                out.push_str(digits.format(*t));
            }
        }
    }
    out
}

/// A key or row value list shown as `(1, 'a')`-free text for reports: `1`, `'a'`, `NULL`.
pub fn show_literal(v: &Value) -> String {
    // Keep in step with `show_assignments`.
    match v {
        Value::Null => "NULL".into(),
        Value::Str(s) => format!("'{s}'"),
        Value::Bool(b) => b.to_string(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn assignments_show_values_as_literals() {
        let vals = [Value::Null, Value::Bool(true), Value::Int(-3), Value::Str("o'k".into()), Value::Time(7)];
        for v in &vals {
            assert_eq!(show_assignments([("c", v)]), format!("c={}", show_literal(v)));
        }
        assert_eq!(show_assignments([("a", &vals[2]), ("b", &vals[3])]), "a=-3, b='o'k'");
        assert_eq!(show_assignments([]), "");
    }
}
