//! The teardown blocks run after each permutation: each session's, then the spec's.
//!
//! They run as isolationtester runs them, and a statement that fails stops the run
//! (`RunError::Teardown`), as a failing setup statement does.
//!
//! The model keeps every table (DDL after setup is not run by the engines), so DROP TABLE is
//! checked here, against what the teardowns of this permutation have already dropped.

use super::RunError;
use crate::engine::{Engine, Poll, SessionId};
use crate::sql::{Catalog, DropTables, Plan, Statement, TableId};
use std::sync::Arc;

/// The teardowns of one permutation: the tables they dropped so far.
#[derive(Debug)]
pub(super) struct Teardown<'a> {
    dialect: Dialect,
    /// The spec file, for error positions.
    file: &'a str,
    dropped: TableSet,
}

/// A set of tables that allocates nothing for the first 128 (this runs after every
/// interleaving the explorer walks).
#[derive(Debug, Default)]
struct TableSet {
    low: u128,
    high: Vec<TableId>,
}

impl TableSet {
    fn contains(&self, t: TableId) -> bool {
        if t < 128 {
            self.low & (1 << t) != 0
        } else {
            self.high.contains(&t)
        }
    }

    fn insert(&mut self, t: TableId) {
        if t < 128 {
            self.low |= 1 << t;
        } else if !self.high.contains(&t) {
            self.high.push(t);
        }
    }
}

/// Which server's messages to give.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Dialect {
    MariaDb,
    Postgres,
}

/// MariaDB names a table with its database; the README's set-up uses `test`.
fn qualified(name: &str) -> String {
    format!("test.{name}")
}

impl<'a> Teardown<'a> {
    pub fn new(dialect: Dialect, file: &'a str) -> Self {
        Teardown { dialect, file, dropped: TableSet::default() }
    }

    /// Run `stmts` in session `s`, labelled `what` in lock provenance. With `reset`, the session
    /// first ends whatever it left open (the spec's teardown runs on isolationtester's own
    /// connection, outside any transaction).
    pub fn run<E: Engine>(
        &mut self,
        db: &mut E,
        s: SessionId,
        stmts: &[Arc<Statement>],
        what: impl FnOnce() -> String,
        reset: bool,
    ) -> Result<(), RunError> {
        let (dialect, file) = (self.dialect, self.file);
        let mut what = Some(what);
        let mut label: Option<Arc<str>> = None;
        let mut reset = reset;
        for st in stmts {
            let fail = |message: String| RunError::Teardown { file: file.to_string(), line: st.pos.line, message };
            if let Some(d) = &st.drop {
                self.drop_tables(db.catalog(), d).map_err(fail)?;
                continue;
            }
            if let Some(t) = st.plan.tables().into_iter().find(|&t| self.dropped.contains(t)) {
                let name = &db.catalog().tables[t].name;
                return Err(fail(match dialect {
                    // ER_NO_SUCH_TABLE (1146), checked live.
                    Dialect::MariaDb => format!("Table '{}' doesn't exist", qualified(name)),
                    // parserOpenTable, src/backend/parser/parse_relation.c.
                    Dialect::Postgres => format!("relation \"{name}\" does not exist"),
                }));
            }
            if matches!(st.plan, Plan::Ddl) {
                continue;
            }
            let label = label.get_or_insert_with(|| Arc::from(what.take().map(|w| w()).unwrap_or_default()));
            if std::mem::take(&mut reset) {
                let rollback = Statement { plan: Plan::Rollback, text: "ROLLBACK".into(), pos: st.pos, drop: None };
                db.start(s, Arc::new(rollback), label)?;
            }
            match db.start(s, st.clone(), label)? {
                Poll::Done(Ok(_)) => {}
                Poll::Done(Err(e)) => return Err(fail(e.message)),
                Poll::Blocked => return Err(fail("blocked on a lock another session holds".into())),
            }
        }
        Ok(())
    }

    /// DROP TABLE of tables that exist now: a table already dropped is an error unless IF EXISTS
    /// is given, and so is a table that a foreign key of a table that stays still references.
    fn drop_tables(&mut self, cat: &Catalog, d: &DropTables) -> Result<(), String> {
        let dialect = self.dialect;
        let name = |t: TableId| cat.tables[t].name.as_str();
        if !d.if_exists && d.tables.iter().any(|&t| self.dropped.contains(t)) {
            let gone: Vec<TableId> = d.tables.iter().copied().filter(|&t| self.dropped.contains(t)).collect();
            return Err(match dialect {
                // ER_BAD_TABLE_ERROR (1051), every missing table listed; checked live.
                Dialect::MariaDb => {
                    let names: Vec<String> = gone.iter().map(|&t| qualified(name(t))).collect();
                    format!("Unknown table '{}'", names.join(","))
                }
                // DropErrorMsgNonExistent, src/backend/commands/tablecmds.c.
                Dialect::Postgres => format!("table \"{}\" does not exist", name(gone[0])),
            });
        }
        for (k, &t) in d.tables.iter().enumerate() {
            if self.dropped.contains(t) {
                continue;
            }
            // PostgreSQL drops the listed tables together; MariaDB one after the other, so a
            // child listed after its parent still holds the parent (both checked live).
            let stays = |c: TableId| {
                let listed = match dialect {
                    Dialect::MariaDb => &d.tables[..k],
                    Dialect::Postgres => &d.tables[..],
                };
                c != t && !self.dropped.contains(c) && !listed.contains(&c)
            };
            let referenced = |c: &crate::sql::Table| c.fks.iter().any(|f| f.enforced && f.parent == t);
            if cat.tables.iter().enumerate().any(|(c, table)| referenced(table) && stays(c)) {
                return Err(match dialect {
                    // With foreign_key_checks on, a referenced table cannot be dropped (the
                    // MariaDB manual, "Foreign Keys"): ER_ROW_IS_REFERENCED (1451).
                    Dialect::MariaDb => "Cannot delete or update a parent row: a foreign key constraint fails".into(),
                    // reportDependentObjects, src/backend/catalog/dependency.c (without CASCADE).
                    Dialect::Postgres => format!("cannot drop table {} because other objects depend on it", name(t)),
                });
            }
        }
        for &t in &d.tables {
            self.dropped.insert(t);
        }
        Ok(())
    }
}
