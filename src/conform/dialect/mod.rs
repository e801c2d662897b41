//! What the live servers are sent: the schema written out from the model's catalog (so the live
//! tables are exactly the tables the model runs, FK stripped or not), and each statement
//! translated where MariaDB's and PostgreSQL's dialects differ. What differs is a [`Dialect`],
//! one file per server; this file writes everything from those differences.

mod mariadb;
mod postgres;

use crate::sql::{peel_lock_clause, requote, Catalog, Column, ForeignKey, Index, LockWait, RowLock, Table};

/// The live servers: the ones the engine profiles model.
pub use crate::engine::Server as Live;

/// How one server's SQL and session set-up differ.
pub trait Dialect: Sync {
    /// The server's name in messages.
    fn name(&self) -> &'static str;
    /// An identifier, quoted.
    fn quote(&self, name: &str) -> String;
    /// A column's type as declared (its width decides MariaDB's key lengths, and so its choice
    /// of index), in the server's words.
    fn col_type(&self, c: &Column) -> String;
    /// The name clause of the primary key (empty, or `CONSTRAINT name `).
    fn primary_key_name(&self, pk: &Index) -> String;
    /// The name the server knows an index or its constraint by.
    fn index_name<'a>(&self, ix: &'a Index) -> &'a str;
    /// The name the server knows a foreign key by.
    fn fk_name<'a>(&self, fk: &'a ForeignKey) -> &'a str;
    /// `ALTER TABLE table` dropping the foreign key constraint `name`.
    fn drop_fk(&self, table: &str, name: &str) -> String;
    /// What follows `DROP TABLE IF EXISTS t`.
    fn drop_suffix(&self) -> &'static str;
    /// A `SET name = value` of the spec in this server's terms, if it differs (`sql` is the
    /// statement, `words` its upper-cased words); an empty list drops it.
    fn translate_set(&self, name: &str, value: Option<&str>, words: &[&str], sql: &str) -> Option<Vec<String>>;
    /// `BEGIN ISOLATION LEVEL ...` in this server's terms, if it differs.
    fn begin_isolation(&self, _sql: &str) -> Option<Vec<String>> {
        None
    }
    /// A locking clause.
    fn lock_clause(&self, lock: RowLock) -> &'static str;
    /// What each session's connection runs first (the recordings' timeouts).
    fn session_settings(&self) -> &'static [&'static str];
    /// What bounds the admin connection's waits.
    fn admin_limit(&self) -> &'static str;
    /// Does `conform` compare each statement's access path with this server's EXPLAIN?
    fn explains(&self) -> bool;
}

impl Live {
    /// The server's dialect.
    pub fn dialect(self) -> &'static dyn Dialect {
        match self {
            Live::MariaDb => &mariadb::MariaDb,
            Live::Postgres => &postgres::Postgres,
        }
    }
}

fn quote(live: Live, name: &str) -> String {
    live.dialect().quote(name)
}

fn cols(live: Live, t: &Table, cs: &[usize]) -> String {
    cs.iter().map(|&c| quote(live, &t.columns[c].name)).collect::<Vec<_>>().join(", ")
}

fn seconds_of(value: &str) -> Option<f64> {
    crate::sql::duration_ms(value).map(|ms| ms / 1000.0)
}

/// CREATE TABLE and CREATE INDEX statements for every table, in creation order. Foreign keys are
/// written only where the catalog enforces them; indexes (InnoDB's implicit FK index included)
/// always, in the catalog's order.
pub fn create_schema(live: Live, cat: &Catalog) -> Vec<String> {
    create_tables(live, cat, 0)
}

/// [`create_schema`] of the catalog's tables from the `first`.
pub fn create_tables(live: Live, cat: &Catalog, first: usize) -> Vec<String> {
    let mut out = if first == 0 { create_sequences(live, cat) } else { Vec::new() };
    for t in cat.tables.iter().skip(first) {
        let mut parts: Vec<String> = t
            .visible_columns()
            .map(|(_, c)| {
                let null = if c.not_null { " NOT NULL" } else { "" };
                format!("{} {}{null}", quote(live, &c.name), live.dialect().col_type(c))
            })
            .collect();
        // Constraint names as the model gives them (PostgreSQL's index names are per schema,
        // MariaDB's per table), so that the servers' messages name what the model's name.
        let pk = &t.indexes[0];
        if !t.columns[pk.cols[0]].hidden {
            let name = live.dialect().primary_key_name(pk);
            parts.push(format!("{name}PRIMARY KEY ({})", cols(live, t, &pk.cols)));
        }
        let mut after = Vec::new();
        for ix in &t.indexes[1..] {
            let name = live.dialect().index_name(ix);
            if ix.unique && !ix.has_exprs() && ix.include.is_empty() {
                parts.push(format!("CONSTRAINT {} UNIQUE ({})", quote(live, name), cols(live, t, &ix.cols)));
            } else {
                // An expression key or INCLUDE columns (PostgreSQL's) need CREATE INDEX.
                let keys: Vec<String> = ix
                    .cols
                    .iter()
                    .enumerate()
                    .map(|(i, &c)| match ix.exprs.get(i).copied().flatten() {
                        Some(f) => format!("{}({})", f.sql(), quote(live, &t.columns[c].name)),
                        None => quote(live, &t.columns[c].name),
                    })
                    .collect();
                let include = if ix.include.is_empty() {
                    String::new()
                } else {
                    format!(" INCLUDE ({})", cols(live, t, &ix.include))
                };
                after.push(format!(
                    "CREATE {}INDEX {} ON {} ({}){include}",
                    if ix.unique { "UNIQUE " } else { "" },
                    quote(live, name),
                    quote(live, &t.name),
                    keys.join(", ")
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
            // Only PostgreSQL has deferrable constraints (the InnoDB profile refuses them).
            if fk.deferrable && live == Live::Postgres {
                action.push_str(if fk.initially_deferred { " DEFERRABLE INITIALLY DEFERRED" } else { " DEFERRABLE" });
            }
            let name = live.dialect().fk_name(fk);
            parts.push(format!(
                "CONSTRAINT {} FOREIGN KEY ({}) REFERENCES {} ({}){action}",
                quote(live, name),
                cols(live, t, &fk.cols),
                quote(live, &parent.name),
                cols(live, parent, &fk.parent_cols)
            ));
        }
        let id = cat.tables.iter().position(|x| std::ptr::eq(x, t)).expect("own table");
        match cat.partition_keys.get(&id) {
            Some(k) => {
                let by = if k.range { "RANGE" } else { "LIST" };
                let col = quote(live, &t.columns[k.col].name);
                out.push(format!(
                    "CREATE TABLE {} ({}) PARTITION BY {by} ({col})",
                    quote(live, &t.name),
                    parts.join(", ")
                ));
                // A table attached by ALTER TABLE ... ATTACH PARTITION is made as a table of its
                // own; the spec's ATTACH attaches it.
                for (_, p) in cat.partitions_of(id).filter(|(_, p)| p.attached_from.is_none()) {
                    out.push(format!(
                        "CREATE TABLE {} PARTITION OF {} {}",
                        quote(live, &p.name),
                        quote(live, &t.name),
                        p.sql
                    ));
                }
            }
            None => out.push(format!("CREATE TABLE {} ({})", quote(live, &t.name), parts.join(", "))),
        }
        out.extend(after);
    }
    out
}

/// CREATE SEQUENCE for every sequence (PostgreSQL's; the InnoDB profile refuses them), with
/// the parameters it was created with.
fn create_sequences(live: Live, cat: &Catalog) -> Vec<String> {
    cat.sequences
        .iter()
        .map(|q| {
            let p = q.created.params;
            let cycle = if p.cycle { "CYCLE" } else { "NO CYCLE" };
            format!(
                "CREATE SEQUENCE {} INCREMENT BY {} MINVALUE {} MAXVALUE {} START WITH {} CACHE {} {cycle}",
                quote(live, &q.name),
                p.increment,
                p.min,
                p.max,
                p.start,
                p.cache
            )
        })
        .collect()
}

/// DROP TABLE for every table, children first, then DROP SEQUENCE for every sequence.
pub fn drop_schema(live: Live, cat: &Catalog) -> Vec<String> {
    let cascade = live.dialect().drop_suffix();
    let tables = cat.tables.iter().rev().map(|t| format!("DROP TABLE IF EXISTS {}{cascade}", quote(live, &t.name)));
    let sequences = cat.sequences.iter().map(|q| format!("DROP SEQUENCE IF EXISTS {}", quote(live, &q.name)));
    tables.chain(sequences).collect()
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

/// Translate one statement of a spec for a live engine; `None` when the statement has no meaning
/// there (PostgreSQL's deadlock_timeout on MariaDB). May expand to several statements.
pub fn translate(live: Live, sql: &str) -> Vec<String> {
    let requoted = requote(sql, if live == Live::MariaDb { '`' } else { '"' });
    let sql = requoted.as_str();
    let upper = sql.trim().to_ascii_uppercase();
    let words: Vec<&str> = upper.split_whitespace().collect();
    if words.first() == Some(&"SET") && words.len() >= 2 {
        let var = words[1..].iter().find(|w| !matches!(**w, "SESSION" | "LOCAL" | "GLOBAL")).copied().unwrap_or("");
        let name = var.split('=').next().unwrap_or("").to_ascii_lowercase();
        let value = sql
            .split_once('=')
            .map(|(_, v)| v)
            .or_else(|| sql.to_ascii_lowercase().find(" to ").map(|i| &sql[i + 4..]));
        if let Some(out) = live.dialect().translate_set(&name, value, &words, sql) {
            return out;
        }
    }
    if words.first() == Some(&"BEGIN") && upper.contains("ISOLATION LEVEL") {
        if let Some(out) = live.dialect().begin_isolation(sql) {
            return out;
        }
    }
    if let Ok((body, Some(clause))) = peel_lock_clause(sql) {
        // Both servers spell NOWAIT and SKIP LOCKED the same, after the locking clause (MariaDB's
        // manual, "SELECT": `[FOR UPDATE | LOCK IN SHARE MODE] [WAIT n | NOWAIT] [SKIP LOCKED]`).
        let wait = match clause.wait {
            LockWait::Wait => "",
            LockWait::NoWait => " NOWAIT",
            LockWait::SkipLocked => " SKIP LOCKED",
        };
        return vec![format!("{body} {}{wait}", live.dialect().lock_clause(clause.lock))];
    }
    vec![sql.to_string()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoted_names_reach_each_server_quoted_its_way() {
        assert_eq!(
            translate(Live::MariaDb, r#"SELECT "id" FROM "t" WHERE a = 'x'"#),
            ["SELECT `id` FROM `t` WHERE a = 'x'"]
        );
        assert_eq!(translate(Live::Postgres, "SELECT `id` FROM t FOR UPDATE"), [r#"SELECT "id" FROM t FOR UPDATE"#]);
    }

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
