//! The cost model (`model/costs/*.toml`): how long each statement keeps a core of the server,
//! the client and the network busy, fitted on a live server by `fksim calibrate`.

use crate::sql::{Catalog, Expr, Plan, Statement};
use serde::{Deserialize, Serialize};

/// A cost file that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum CostsError {
    #[error("{file}: {cause}")]
    Io { file: String, cause: std::io::Error },
    #[error("{file}:{line}: {what}")]
    Invalid { file: String, line: usize, what: String },
}

/// The costs of one engine on one machine, in microseconds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Costs {
    /// The engine they were measured for (`innodb`, `postgres`).
    pub engine: String,
    pub network: Network,
    pub client: Client,
    pub server: Server,
    #[serde(default)]
    pub settings: Settings,
}

/// What a statement's round trip costs outside both processes' CPU time.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Network {
    /// Send, wake-ups and receive of one statement: its latency less the CPU time of the client
    /// and of the server for it.
    pub round_trip_us: f64,
}

/// The client's own costs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Client {
    /// CPU per statement (the driver's encoding, decoding and system calls).
    pub cpu_us: f64,
    /// How much longer a sleep lasts than asked (timer slack and the wake-up).
    pub sleep_overhead_us: f64,
}

/// The server's CPU time per statement, by kind, and its log flush.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Server {
    pub begin_us: f64,
    /// A primary-key lookup.
    pub select_us: f64,
    /// A row into a table with no index besides where the row lives.
    pub insert_us: f64,
    /// A row's update that changes no indexed column.
    pub update_us: f64,
    pub delete_us: f64,
    /// Each index entry a write adds or marks besides the row itself.
    pub index_entry_us: f64,
    /// Each foreign key check: the lookup of the parent row (a child write) or of the child rows
    /// (a parent key change or delete), with its lock.
    pub fk_check_us: f64,
    /// A commit's CPU time.
    pub commit_us: f64,
    /// A commit's log flush, for a transaction that wrote (the disk's time: no CPU).
    pub flush_us: f64,
    pub rollback_us: f64,
    /// Resuming a statement whose lock was granted (the wake-up and the rest of its work).
    pub wake_us: f64,
    /// Any other statement (SET).
    pub other_us: f64,
}

/// The server's own settings that the engine model needs (its defaults differ from those of
/// the recordings, which set them).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    /// `innodb_lock_wait_timeout` (s).
    pub lock_wait_timeout_s: Option<f64>,
    /// `deadlock_timeout` (ms).
    pub deadlock_timeout_ms: Option<f64>,
    /// `lock_timeout` (ms; 0: none).
    pub lock_timeout_ms: Option<f64>,
}

/// How many index entries and FK checks one row of a write costs, from the statement and the
/// schema: what the server's CPU time for it is made of.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct WriteShape {
    pub index_entries: u32,
    pub fk_checks: u32,
}

impl WriteShape {
    /// The shape of `plan` on `cat`. `rows_in_primary_key`: the engine keeps rows in the primary
    /// key (InnoDB), so that index takes no extra entry, and an update writes only the indexes
    /// whose columns change; otherwise (PostgreSQL's heap) an update that changes an indexed
    /// column writes an entry in every index, and one that changes none (HOT) writes none.
    pub fn of(plan: &Plan, cat: &Catalog, rows_in_primary_key: bool) -> WriteShape {
        let own = usize::from(rows_in_primary_key);
        let enforced_refs =
            |t: usize| cat.tables.iter().flat_map(|c| &c.fks).filter(|f| f.enforced && f.parent == t).count() as u32;
        match plan {
            Plan::Insert { table, rows, .. } => {
                let t = &cat.tables[*table];
                let per_row = WriteShape {
                    index_entries: (t.indexes.len() - own) as u32,
                    fk_checks: t.fks.iter().filter(|f| f.enforced).count() as u32,
                };
                WriteShape {
                    index_entries: per_row.index_entries * rows.len() as u32,
                    fk_checks: per_row.fk_checks * rows.len() as u32,
                }
            }
            Plan::Update { table, set, .. } => {
                let t = &cat.tables[*table];
                let changes =
                    |c: &usize| set.iter().any(|(s, e)| s == c && !matches!(e, Expr::ColPlus(x, 0) if x == c));
                let touched = t.indexes.iter().filter(|ix| ix.cols.iter().any(changes)).count();
                let index_entries = if rows_in_primary_key {
                    // The changed secondary indexes: a delete-mark and an insert each.
                    2 * t.indexes.iter().skip(1).filter(|ix| ix.cols.iter().any(changes)).count()
                } else if touched > 0 {
                    t.indexes.len()
                } else {
                    0
                };
                let child = t.fks.iter().filter(|f| f.enforced && f.cols.iter().any(changes)).count();
                let parent = cat
                    .tables
                    .iter()
                    .flat_map(|c| &c.fks)
                    .filter(|f| f.enforced && f.parent == *table && f.parent_cols.iter().any(changes))
                    .count();
                WriteShape { index_entries: index_entries as u32, fk_checks: (child + parent) as u32 }
            }
            Plan::Delete { table, .. } => WriteShape {
                index_entries: (cat.tables[*table].indexes.len() - own) as u32,
                fk_checks: enforced_refs(*table),
            },
            _ => WriteShape::default(),
        }
    }
}

impl Costs {
    /// Parse a cost file's text; errors name `file:line`.
    pub fn parse(file: &str, text: &str) -> Result<Costs, CostsError> {
        let line_of = |at: usize| text[..at.min(text.len())].matches('\n').count() + 1;
        let c: Costs = toml::from_str(text).map_err(|e| CostsError::Invalid {
            file: file.to_string(),
            line: line_of(e.span().map_or(0, |s| s.start)),
            what: e.message().replace('\n', " ").trim().to_string(),
        })?;
        let s = &c.server;
        let all = [
            ("network.round_trip_us", c.network.round_trip_us),
            ("client.cpu_us", c.client.cpu_us),
            ("client.sleep_overhead_us", c.client.sleep_overhead_us),
            ("server.begin_us", s.begin_us),
            ("server.select_us", s.select_us),
            ("server.insert_us", s.insert_us),
            ("server.update_us", s.update_us),
            ("server.delete_us", s.delete_us),
            ("server.index_entry_us", s.index_entry_us),
            ("server.fk_check_us", s.fk_check_us),
            ("server.commit_us", s.commit_us),
            ("server.flush_us", s.flush_us),
            ("server.rollback_us", s.rollback_us),
            ("server.wake_us", s.wake_us),
            ("server.other_us", s.other_us),
        ];
        if let Some((name, v)) = all.iter().find(|(_, v)| !(v.is_finite() && *v >= 0.0 && *v < 1e9)) {
            let key = name.rsplit('.').next().unwrap_or(name);
            let at = text.find(&format!("{key} ")).or_else(|| text.find(&format!("{key}="))).unwrap_or(0);
            return Err(CostsError::Invalid {
                file: file.to_string(),
                line: line_of(at),
                what: format!("{name} must be a number of microseconds, 0 or more (not {v})"),
            });
        }
        Ok(c)
    }

    /// Read and parse a cost file.
    pub fn load(path: &std::path::Path) -> Result<Costs, CostsError> {
        let file = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|cause| CostsError::Io { file: file.clone(), cause })?;
        Costs::parse(&file, &text)
    }

    /// The server's CPU time for `stmt` when it runs without waiting.
    pub fn statement_us(&self, stmt: &Statement, cat: &Catalog, rows_in_primary_key: bool) -> f64 {
        let s = &self.server;
        let shape = WriteShape::of(&stmt.plan, cat, rows_in_primary_key);
        let base = match &stmt.plan {
            Plan::Select { .. } => s.select_us,
            Plan::Insert { rows, .. } => s.insert_us * rows.len() as f64,
            Plan::Update { .. } => s.update_us,
            Plan::Delete { .. } => s.delete_us,
            Plan::Begin(_) => s.begin_us,
            Plan::Commit => s.commit_us,
            Plan::Rollback | Plan::RollbackToSavepoint(_) => s.rollback_us,
            Plan::Savepoint(_) | Plan::ReleaseSavepoint(_) | Plan::SetConstraints { .. } => s.other_us,
            Plan::SetIsolation { .. } | Plan::SetVar { .. } | Plan::Ddl | Plan::LockTable { .. } => s.other_us,
            Plan::Advisory(_)
            | Plan::Values { .. }
            | Plan::Prepare { .. }
            | Plan::AttachPartition { .. }
            | Plan::NextVal { .. }
            | Plan::AlterSequence { .. }
            | Plan::Maintenance(_) => s.other_us,
            // What the prepared statement costs is not known here; EXECUTE is priced as a SELECT.
            Plan::Execute(_) => s.select_us,
        };
        base + f64::from(shape.index_entries) * s.index_entry_us + f64::from(shape.fk_checks) * s.fk_check_us
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::Scenario;
    use crate::spec::parse_spec;

    const COSTS: &str = "engine = \"innodb\"\n[network]\nround_trip_us = 40\n[client]\ncpu_us = 10\nsleep_overhead_us = 50\n[server]\nbegin_us = 5\nselect_us = 20\ninsert_us = 30\nupdate_us = 25\ndelete_us = 28\nindex_entry_us = 4\nfk_check_us = 12\ncommit_us = 15\nflush_us = 300\nrollback_us = 10\nwake_us = 8\nother_us = 5\n";

    fn catalog(fk_on: bool, rows_in_pk: bool) -> Catalog {
        let text = format!(
            "setup {{ {} }}\nsession s1\nstep a {{ SELECT 1 FROM auth_user WHERE id = 0; }}\n",
            crate::app::SCHEMA
        );
        let sc = Scenario::load(
            parse_spec("c.spec", &text).unwrap(),
            crate::sql::SchemaOptions {
                fk_enforced: fk_on,
                implicit_fk_index: rows_in_pk,
                dialect: crate::sql::SqlDialect::Generic,
            },
        )
        .unwrap();
        (*sc.catalog).clone()
    }

    fn stmt(cat: &Catalog, sql: &str) -> Statement {
        let raw = crate::sql::RawStatement { text: sql.into(), pos: crate::spec::Pos { line: 1, col: 1 } };
        crate::sql::parse_statement(
            &raw,
            &mut cat.clone(),
            crate::sql::SchemaOptions {
                fk_enforced: true,
                implicit_fk_index: true,
                dialect: crate::sql::SqlDialect::Generic,
            },
        )
        .unwrap()
    }

    #[test]
    fn a_statement_costs_its_base_its_index_entries_and_its_fk_checks() {
        let c = Costs::parse("c.toml", COSTS).unwrap();
        let enroll = "INSERT INTO student_courseenrollment (user_id, course_id, is_active) VALUES (1, 'c', TRUE)";
        let on = catalog(true, true);
        let off = catalog(false, true);
        // InnoDB: the clustered index holds the row; two secondary indexes; one FK.
        assert_eq!(c.statement_us(&stmt(&on, enroll), &on, true), 30.0 + 2.0 * 4.0 + 12.0);
        assert_eq!(c.statement_us(&stmt(&off, enroll), &off, true), 30.0 + 2.0 * 4.0);
        // PostgreSQL's heap: three index entries.
        assert_eq!(c.statement_us(&stmt(&on, enroll), &on, false), 30.0 + 3.0 * 4.0 + 12.0);
        // A login changes no indexed column (a HOT update on PostgreSQL) and no key.
        let login = "UPDATE auth_user SET last_login = CURRENT_TIMESTAMP WHERE id = 1";
        assert_eq!(c.statement_us(&stmt(&on, login), &on, true), 25.0);
        assert_eq!(c.statement_us(&stmt(&on, login), &on, false), 25.0);
        // A rename changes the unique username index.
        let rename = "UPDATE auth_user SET username = 'x' WHERE id = 1";
        assert_eq!(c.statement_us(&stmt(&on, rename), &on, true), 25.0 + 2.0 * 4.0);
        assert_eq!(c.statement_us(&stmt(&on, rename), &on, false), 25.0 + 2.0 * 4.0);
        // Deleting a user checks both child tables when the FKs are enforced.
        let del = "DELETE FROM auth_user WHERE id IN (1)";
        assert_eq!(c.statement_us(&stmt(&on, del), &on, true), 28.0 + 4.0 + 2.0 * 12.0);
        assert_eq!(c.statement_us(&stmt(&off, del), &off, true), 28.0 + 4.0);
    }

    #[test]
    fn bad_cost_files_name_their_line() {
        let e = Costs::parse("c.toml", &COSTS.replace("wake_us = 8", "wake_us = -8")).unwrap_err().to_string();
        assert_eq!(e, "c.toml:18: server.wake_us must be a number of microseconds, 0 or more (not -8)");
        let e = Costs::parse("c.toml", &COSTS.replace("other_us = 5", "other_us = 5\nspeed = 1")).unwrap_err();
        assert!(e.to_string().starts_with("c.toml:20: unknown field `speed`"), "{e}");
    }
}
