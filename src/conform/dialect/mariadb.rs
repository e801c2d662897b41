//! MariaDB's dialect: backquoted names, AUTO_INCREMENT, InnoDB's own constraint names, the
//! locking clauses MariaDB has, its lock wait timeout in whole seconds.

use super::{seconds_of, Dialect};
use crate::sql::{ColType, Column, ForeignKey, Index, RowLock};

pub(super) struct MariaDb;

/// An integer type of the column's width.
pub(super) fn int_type(c: &Column) -> &'static str {
    match c.width.bytes {
        8 => "BIGINT",
        2 => "SMALLINT",
        _ => "INT",
    }
}

/// A text type of the column's declared length.
pub(super) fn text_type(c: &Column) -> String {
    match c.width.chars {
        Some(n) => format!("VARCHAR({n})"),
        None => "TEXT".into(),
    }
}

impl Dialect for MariaDb {
    fn name(&self) -> &'static str {
        "MariaDB"
    }

    fn quote(&self, name: &str) -> String {
        format!("`{name}`")
    }

    fn col_type(&self, c: &Column) -> String {
        match (c.ty, c.serial) {
            (ColType::Int, true) => format!("{} AUTO_INCREMENT", int_type(c)),
            (ColType::Int, false) => int_type(c).into(),
            (ColType::Text, _) => text_type(c),
            (ColType::Float, _) => "DOUBLE".into(),
            (ColType::Numeric, _) => "DECIMAL(65, 0)".into(),
            (ColType::Bool, _) => "BOOLEAN".into(),
            // MariaDB gives a bare TIMESTAMP column an automatic default; NULL DEFAULT NULL avoids it.
            (ColType::Timestamp, _) => "TIMESTAMP NULL DEFAULT NULL".into(),
        }
    }

    fn primary_key_name(&self, _pk: &Index) -> String {
        String::new()
    }

    fn index_name<'a>(&self, ix: &'a Index) -> &'a str {
        &ix.name
    }

    fn fk_name<'a>(&self, fk: &'a ForeignKey) -> &'a str {
        &fk.name
    }

    fn drop_fk(&self, table: &str, name: &str) -> String {
        format!("ALTER TABLE {} DROP FOREIGN KEY {}", self.quote(table), self.quote(name))
    }

    fn drop_suffix(&self) -> &'static str {
        ""
    }

    fn translate_set(&self, name: &str, value: Option<&str>, _words: &[&str], _sql: &str) -> Option<Vec<String>> {
        match name {
            "deadlock_timeout" => Some(vec![]),
            "lock_timeout" => {
                // PostgreSQL's lock_timeout (ms, 0 = none) as InnoDB's lock wait timeout (s).
                let secs = value.and_then(seconds_of).unwrap_or(0.0);
                let secs = if secs <= 0.0 { 1_073_741_824.0 } else { secs.ceil().max(1.0) };
                Some(vec![format!("SET SESSION innodb_lock_wait_timeout = {secs}")])
            }
            _ => None,
        }
    }

    fn begin_isolation(&self, sql: &str) -> Option<Vec<String>> {
        let upper = sql.to_ascii_uppercase();
        let level = &sql[upper.find("ISOLATION LEVEL")?..];
        Some(vec![format!("SET TRANSACTION {level}"), "BEGIN".into()])
    }

    fn lock_clause(&self, lock: RowLock) -> &'static str {
        match lock {
            RowLock::Update | RowLock::NoKeyUpdate => "FOR UPDATE",
            RowLock::Share | RowLock::KeyShare => "LOCK IN SHARE MODE",
        }
    }

    fn session_settings(&self) -> &'static [&'static str] {
        &["SET SESSION innodb_lock_wait_timeout = 10"]
    }

    /// Metadata locks wait a year by default.
    fn admin_limit(&self) -> &'static str {
        "SET SESSION lock_wait_timeout = 30"
    }

    fn explains(&self) -> bool {
        true
    }
}
