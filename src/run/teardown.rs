//! The teardown blocks run after each permutation: each session's, then the spec's.
//!
//! They run as isolationtester runs them, and a statement that fails stops the run
//! (`RunError::Teardown`), as a failing setup statement does.
//!
//! The model keeps every table (DDL after setup is not run by the engines), so DROP TABLE is
//! checked here, against what the teardowns of this permutation have already dropped.

use super::RunError;
use crate::engine::{DdlRefusal, Engine, Poll, Rows, SessionId};
use crate::scenario::Scenario;
use crate::sql::{Catalog, DropTables, Plan, Statement, TableId};
use std::sync::Arc;

/// End a permutation whose steps have run: each session's teardown (none for a session whose
/// step is still `stuck` on a lock), then every open transaction rolled back and the orphans
/// counted, then the spec's teardown (which usually drops the tables). Returns the orphans.
pub(crate) fn end_sessions<E: Engine>(db: &mut E, sc: &Scenario, stuck: &[bool]) -> Result<usize, RunError> {
    Ok(end_sessions_rows(db, sc, stuck)?.0)
}

/// [`end_sessions`], with the result each session teardown block printed (its last statement's,
/// if it returned rows: isolationtester's `PQexec` of the block).
pub(crate) fn end_sessions_rows<E: Engine>(db: &mut E, sc: &Scenario, stuck: &[bool]) -> Result<TeardownEnd, RunError> {
    let mut td = Teardown::new(&sc.spec.file);
    let mut rows = Vec::new();
    for (s, plan) in sc.sessions.iter().enumerate().filter(|(s, _)| !stuck[*s]) {
        rows.extend(td.run(db, s, &plan.teardown, || format!("{} teardown", plan.name), false)?);
    }
    let orphans = db.finish()?;
    let by_ref = db.logical_orphans()?;
    if !sc.teardown.is_empty() {
        td.run(db, 0, &sc.teardown, || "teardown".to_string(), true)?;
    }
    Ok((orphans, rows, by_ref))
}

/// A permutation's end: its orphans, the rows the session teardowns printed, and the orphans over
/// each logical reference.
pub(crate) type TeardownEnd = (usize, Vec<Rows>, Vec<(String, usize)>);

/// The teardowns of one permutation: the tables they dropped so far.
#[derive(Debug)]
struct Teardown<'a> {
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

impl<'a> Teardown<'a> {
    pub fn new(file: &'a str) -> Self {
        Teardown { file, dropped: TableSet::default() }
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
    ) -> Result<Option<Rows>, RunError> {
        let mut last = None;
        let file = self.file;
        let mut what = Some(what);
        let mut label: Option<Arc<str>> = None;
        let mut reset = reset;
        for st in stmts {
            let fail = |message: String| RunError::Teardown { file: file.to_string(), line: st.pos.line, message };
            if let Some(d) = &st.drop {
                self.drop_tables::<E>(db.catalog(), d).map_err(fail)?;
                continue;
            }
            if let Some(t) = st.plan.tables().into_iter().find(|&t| self.dropped.contains(t)) {
                let name = db.catalog().tables[t].name.clone();
                return Err(fail(E::ddl_refusal(&DdlRefusal::NoSuchTable(name))));
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
                Poll::Done(Ok(rows)) => last = rows,
                Poll::Done(Err(e)) => return Err(fail(e.message)),
                Poll::Blocked => return Err(fail("blocked on a lock another session holds".into())),
            }
        }
        Ok(last)
    }

    /// DROP TABLE of tables that exist now: a table already dropped is an error unless IF EXISTS
    /// is given, and so is a table that a foreign key of a table that stays still references.
    fn drop_tables<E: Engine>(&mut self, cat: &Catalog, d: &DropTables) -> Result<(), String> {
        let name = |t: TableId| cat.tables[t].name.clone();
        if !d.if_exists && d.tables.iter().any(|&t| self.dropped.contains(t)) {
            let gone = d.tables.iter().copied().filter(|&t| self.dropped.contains(t)).map(name).collect();
            return Err(E::ddl_refusal(&DdlRefusal::UnknownTables(gone)));
        }
        for (k, &t) in d.tables.iter().enumerate() {
            if self.dropped.contains(t) {
                continue;
            }
            // The tables listed are dropped together, or one after the other, so that a child
            // listed after its parent still holds the parent (`Engine::DROPS_TOGETHER`).
            let stays = |c: TableId| {
                let listed = if E::DROPS_TOGETHER { &d.tables[..] } else { &d.tables[..k] };
                c != t && !self.dropped.contains(c) && !listed.contains(&c)
            };
            let referenced = |c: &crate::sql::Table| c.fks.iter().any(|f| f.enforced && f.parent == t);
            if cat.tables.iter().enumerate().any(|(c, table)| referenced(table) && stays(c)) {
                return Err(E::ddl_refusal(&DdlRefusal::Referenced(name(t))));
            }
        }
        for &t in &d.tables {
            self.dropped.insert(t);
        }
        Ok(())
    }
}
