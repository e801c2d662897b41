//! What the live servers are sent: the schema written out from the model's catalog (so the live
//! tables are exactly the tables the model runs, FK stripped or not), and each statement
//! translated where MariaDB's and PostgreSQL's dialects differ.

use crate::sql::{peel_lock_clause, Catalog, ColType, Column, RowLock, Table};

/// The live servers: the ones the engine profiles model.
pub use crate::engine::Server as Live;

fn quote(live: Live, name: &str) -> String {
    match live {
        Live::MariaDb => format!("`{name}`"),
        Live::Postgres => format!("\"{name}\""),
    }
}

/// The column's type as declared (its width decides MariaDB's key lengths, and so its choice of
/// index), in the live engine's words.
fn col_type(live: Live, c: &Column) -> String {
    let int = match c.width.bytes {
        8 => "BIGINT",
        2 => "SMALLINT",
        _ => "INT",
    };
    match (live, c.ty, c.serial) {
        (Live::Postgres, ColType::Int, true) if c.width.bytes == 8 => "BIGSERIAL".into(),
        (Live::Postgres, ColType::Int, true) => "SERIAL".into(),
        (Live::MariaDb, ColType::Int, true) => format!("{int} AUTO_INCREMENT"),
        (_, ColType::Int, false) => int.into(),
        (_, ColType::Text, _) => match c.width.chars {
            Some(n) => format!("VARCHAR({n})"),
            None => "TEXT".into(),
        },
        (_, ColType::Bool, _) => "BOOLEAN".into(),
        // MariaDB gives a bare TIMESTAMP column an automatic default; NULL DEFAULT NULL avoids it.
        (Live::MariaDb, ColType::Timestamp, _) => "TIMESTAMP NULL DEFAULT NULL".into(),
        (Live::Postgres, ColType::Timestamp, _) => "TIMESTAMP NULL".into(),
    }
}

fn cols(live: Live, t: &Table, cs: &[usize]) -> String {
    cs.iter().map(|&c| quote(live, &t.columns[c].name)).collect::<Vec<_>>().join(", ")
}

/// CREATE TABLE and CREATE INDEX statements for every table, in creation order. Foreign keys are
/// written only where the catalog enforces them; indexes (InnoDB's implicit FK index included)
/// always, in the catalog's order.
pub fn create_schema(live: Live, cat: &Catalog) -> Vec<String> {
    let mut out = Vec::new();
    for t in &cat.tables {
        let mut parts: Vec<String> = t
            .visible_columns()
            .map(|(_, c)| {
                let null = if c.not_null { " NOT NULL" } else { "" };
                format!("{} {}{null}", quote(live, &c.name), col_type(live, c))
            })
            .collect();
        // Constraint names as the model gives them (PostgreSQL's index names are per schema,
        // MariaDB's per table), so that the servers' messages name what the model's name.
        let pk = &t.indexes[0];
        if !t.columns[pk.cols[0]].hidden {
            let name = match live {
                Live::MariaDb => String::new(),
                Live::Postgres => format!("CONSTRAINT {} ", quote(live, &pk.pg_name)),
            };
            parts.push(format!("{name}PRIMARY KEY ({})", cols(live, t, &pk.cols)));
        }
        let mut after = Vec::new();
        for ix in &t.indexes[1..] {
            let name = match live {
                Live::MariaDb => &ix.name,
                Live::Postgres => &ix.pg_name,
            };
            if ix.unique {
                parts.push(format!("CONSTRAINT {} UNIQUE ({})", quote(live, name), cols(live, t, &ix.cols)));
            } else {
                after.push(format!(
                    "CREATE INDEX {} ON {} ({})",
                    quote(live, name),
                    quote(live, &t.name),
                    cols(live, t, &ix.cols)
                ));
            }
        }
        for fk in t.fks.iter().filter(|f| f.enforced) {
            let parent = &cat.tables[fk.parent];
            let mut action = String::new();
            for (event, a) in [("DELETE", fk.on_delete), ("UPDATE", fk.on_update)] {
                if let Some(words) = a.sql() {
                    action.push_str(&format!(" ON {event} {words}"));
                }
            }
            let name = match live {
                Live::MariaDb => &fk.name,
                Live::Postgres => &fk.pg_name,
            };
            parts.push(format!(
                "CONSTRAINT {} FOREIGN KEY ({}) REFERENCES {} ({}){action}",
                quote(live, name),
                cols(live, t, &fk.cols),
                quote(live, &parent.name),
                cols(live, parent, &fk.parent_cols)
            ));
        }
        out.push(format!("CREATE TABLE {} ({})", quote(live, &t.name), parts.join(", ")));
        out.extend(after);
    }
    out
}

/// DROP TABLE for every table, children first.
pub fn drop_schema(live: Live, cat: &Catalog) -> Vec<String> {
    let cascade = if live == Live::Postgres { " CASCADE" } else { "" };
    cat.tables.iter().rev().map(|t| format!("DROP TABLE IF EXISTS {}{cascade}", quote(live, &t.name))).collect()
}

/// `SELECT COUNT(*)` of orphans for every declared foreign key (stripped or not).
pub fn orphan_queries(live: Live, cat: &Catalog) -> Vec<String> {
    let mut out = Vec::new();
    for t in &cat.tables {
        for fk in &t.fks {
            let parent = &cat.tables[fk.parent];
            let not_null: Vec<String> =
                fk.cols.iter().map(|&c| format!("c.{} IS NOT NULL", quote(live, &t.columns[c].name))).collect();
            let join: Vec<String> = fk
                .cols
                .iter()
                .zip(&fk.parent_cols)
                .map(|(&c, &p)| {
                    format!("p.{} = c.{}", quote(live, &parent.columns[p].name), quote(live, &t.columns[c].name))
                })
                .collect();
            out.push(format!(
                "SELECT COUNT(*) FROM {} c WHERE {} AND NOT EXISTS (SELECT 1 FROM {} p WHERE {})",
                quote(live, &t.name),
                not_null.join(" AND "),
                quote(live, &parent.name),
                join.join(" AND ")
            ));
        }
    }
    out
}

fn seconds_of(value: &str) -> Option<f64> {
    crate::sql::duration_ms(value).map(|ms| ms / 1000.0)
}

/// Translate one statement of a spec for a live engine; `None` when the statement has no meaning
/// there (PostgreSQL's deadlock_timeout on MariaDB). May expand to several statements.
pub fn translate(live: Live, sql: &str) -> Vec<String> {
    let upper = sql.trim().to_ascii_uppercase();
    let words: Vec<&str> = upper.split_whitespace().collect();
    if words.first() == Some(&"SET") && words.len() >= 2 {
        let var = words[1..].iter().find(|w| !matches!(**w, "SESSION" | "LOCAL" | "GLOBAL")).copied().unwrap_or("");
        let name = var.split('=').next().unwrap_or("").to_ascii_lowercase();
        let value = sql
            .split_once('=')
            .map(|(_, v)| v)
            .or_else(|| sql.to_ascii_lowercase().find(" to ").map(|i| &sql[i + 4..]));
        match (live, name.as_str()) {
            (Live::MariaDb, "deadlock_timeout") => return vec![],
            (Live::MariaDb, "lock_timeout") => {
                // PostgreSQL's lock_timeout (ms, 0 = none) as InnoDB's lock wait timeout (s).
                let secs = value.and_then(seconds_of).unwrap_or(0.0);
                let secs = if secs <= 0.0 { 1_073_741_824.0 } else { secs.ceil().max(1.0) };
                return vec![format!("SET SESSION innodb_lock_wait_timeout = {secs}")];
            }
            (Live::Postgres, "innodb_lock_wait_timeout") => {
                let secs = value.and_then(|v| v.trim().parse::<f64>().ok()).unwrap_or(50.0);
                return vec![format!("SET lock_timeout = '{}ms'", (secs * 1000.0) as i64)];
            }
            (Live::Postgres, "transaction") if words.get(1) == Some(&"SESSION") => {
                let rest = &sql[upper.find("TRANSACTION").map(|i| i + "TRANSACTION".len()).unwrap_or(0)..];
                return vec![format!("SET SESSION CHARACTERISTICS AS TRANSACTION{rest}")];
            }
            _ => {}
        }
    }
    if live == Live::MariaDb && words.first() == Some(&"BEGIN") && upper.contains("ISOLATION LEVEL") {
        let level = &sql[upper.find("ISOLATION LEVEL").unwrap_or(0)..];
        return vec![format!("SET TRANSACTION {level}"), "BEGIN".into()];
    }
    if let Ok((body, Some(lock))) = peel_lock_clause(sql) {
        let clause = match (live, lock) {
            (Live::MariaDb, RowLock::Update | RowLock::NoKeyUpdate) => "FOR UPDATE",
            (Live::MariaDb, RowLock::Share | RowLock::KeyShare) => "LOCK IN SHARE MODE",
            (Live::Postgres, RowLock::Update) => "FOR UPDATE",
            (Live::Postgres, RowLock::NoKeyUpdate) => "FOR NO KEY UPDATE",
            (Live::Postgres, RowLock::Share) => "FOR SHARE",
            (Live::Postgres, RowLock::KeyShare) => "FOR KEY SHARE",
        };
        return vec![format!("{body} {clause}")];
    }
    vec![sql.to_string()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locking_clauses_follow_the_dialect() {
        assert_eq!(
            translate(Live::MariaDb, "SELECT * FROM t FOR KEY SHARE"),
            vec!["SELECT * FROM t LOCK IN SHARE MODE"]
        );
        assert_eq!(translate(Live::Postgres, "SELECT * FROM t LOCK IN SHARE MODE"), vec!["SELECT * FROM t FOR SHARE"]);
        assert_eq!(translate(Live::MariaDb, "SELECT * FROM t FOR NO KEY UPDATE"), vec!["SELECT * FROM t FOR UPDATE"]);
    }

    #[test]
    fn settings_follow_the_dialect() {
        assert!(translate(Live::MariaDb, "SET deadlock_timeout = '100ms'").is_empty());
        assert_eq!(
            translate(Live::MariaDb, "SET lock_timeout = '2s'"),
            vec!["SET SESSION innodb_lock_wait_timeout = 2"]
        );
        assert_eq!(translate(Live::Postgres, "SET innodb_lock_wait_timeout = 3"), vec!["SET lock_timeout = '3000ms'"]);
        assert_eq!(
            translate(Live::Postgres, "SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED"),
            vec!["SET SESSION CHARACTERISTICS AS TRANSACTION ISOLATION LEVEL READ COMMITTED"]
        );
        assert_eq!(
            translate(Live::MariaDb, "BEGIN ISOLATION LEVEL READ COMMITTED"),
            vec!["SET TRANSACTION ISOLATION LEVEL READ COMMITTED", "BEGIN"]
        );
    }
}
