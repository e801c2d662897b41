//! PostgreSQL's dialect: double-quoted names, SERIAL, PostgreSQL's constraint names, its four
//! locking clauses, its lock timeout in ms, the session settings of the recordings.

use super::mariadb::{int_type, text_type};
use super::Dialect;
use crate::sql::{ColType, Column, ForeignKey, Index, RowLock};

pub(super) struct Postgres;

impl Dialect for Postgres {
    fn name(&self) -> &'static str {
        "PostgreSQL"
    }

    fn quote(&self, name: &str) -> String {
        format!("\"{name}\"")
    }

    fn col_type(&self, c: &Column) -> String {
        match (c.ty, c.serial) {
            (ColType::Int, true) if c.width.bytes == 8 => "BIGSERIAL".into(),
            (ColType::Int, true) => "SERIAL".into(),
            (ColType::Int, false) => int_type(c).into(),
            (ColType::Text, _) => text_type(c),
            (ColType::Float, _) => "DOUBLE PRECISION".into(),
            (ColType::Numeric, _) => "NUMERIC".into(),
            (ColType::Bool, _) => "BOOLEAN".into(),
            (ColType::Timestamp, _) => "TIMESTAMP NULL".into(),
        }
    }

    fn primary_key_name(&self, pk: &Index) -> String {
        format!("CONSTRAINT {} ", self.quote(&pk.pg_name))
    }

    /// PostgreSQL's index names are per schema (MariaDB's per table).
    fn index_name<'a>(&self, ix: &'a Index) -> &'a str {
        &ix.pg_name
    }

    fn fk_name<'a>(&self, fk: &'a ForeignKey) -> &'a str {
        &fk.pg_name
    }

    fn drop_fk(&self, table: &str, name: &str) -> String {
        format!("ALTER TABLE {} DROP CONSTRAINT {}", self.quote(table), self.quote(name))
    }

    fn drop_suffix(&self) -> &'static str {
        " CASCADE"
    }

    fn translate_set(&self, name: &str, value: Option<&str>, words: &[&str], sql: &str) -> Option<Vec<String>> {
        match name {
            "innodb_lock_wait_timeout" => {
                let secs = value.and_then(|v| v.trim().parse::<f64>().ok()).unwrap_or(50.0);
                Some(vec![format!("SET lock_timeout = '{}ms'", (secs * 1000.0) as i64)])
            }
            "transaction" if words.get(1) == Some(&"SESSION") => {
                let upper = sql.to_ascii_uppercase();
                let rest = &sql[upper.find("TRANSACTION").map(|i| i + "TRANSACTION".len()).unwrap_or(0)..];
                Some(vec![format!("SET SESSION CHARACTERISTICS AS TRANSACTION{rest}")])
            }
            _ => None,
        }
    }

    fn lock_clause(&self, lock: RowLock) -> &'static str {
        match lock {
            RowLock::Update => "FOR UPDATE",
            RowLock::NoKeyUpdate => "FOR NO KEY UPDATE",
            RowLock::Share => "FOR SHARE",
            RowLock::KeyShare => "FOR KEY SHARE",
        }
    }

    /// No fsync wait at COMMIT: row locks are unaffected, and a slow disk no longer makes a
    /// COMMIT look `waiting`.
    fn session_settings(&self) -> &'static [&'static str] {
        &["SET deadlock_timeout = '100ms'", "SET lock_timeout = '10s'", "SET synchronous_commit = off"]
    }

    /// PostgreSQL has no statement limit by default.
    fn admin_limit(&self) -> &'static str {
        "SET statement_timeout = '60s'"
    }

    fn explains(&self) -> bool {
        false
    }
}
