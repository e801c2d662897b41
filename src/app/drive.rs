//! Runs a concrete workload through the model as Django would drive it, and reads the result:
//! what each transaction did and when, the rows at the end, the orphans and who wrote them.

use super::spec::{spec_text, Layout, Role, Tail};
use super::workload::Concrete;
use super::{Action, CHILD_TABLES};
use crate::engine::{DbError, ErrorKind};
use crate::run::{EngineKind, Outcome, PermutationReport, RunError, Runner};
use crate::scenario::{LoadError, Scenario};
use crate::spec::{parse_spec, SpecError};
use crate::sql::{SchemaOptions, Value};
use crate::store::MemStore;
use std::collections::{BTreeSet, HashMap, HashSet};

/// A generated run that could not be made (a bug in the generator or the SQL subset).
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error(transparent)]
    Spec(#[from] SpecError),
    #[error(transparent)]
    Load(#[from] LoadError),
    #[error(transparent)]
    Run(#[from] RunError),
    #[error("generated spec has no permutation line")]
    NoPermutation,
    #[error("{0}: {1}")]
    Write(String, String),
}

/// One finished run: the spec that replays it, its layout (after Django's rollbacks) and report.
#[derive(Debug, Clone)]
pub struct AppRun {
    pub engine: EngineKind,
    pub fk_on: bool,
    pub spec: String,
    pub layout: Layout,
    pub order: Vec<(usize, usize)>,
    pub report: PermutationReport,
    /// Model runs it took (one more for each action that raised).
    pub passes: usize,
}

/// Run `c` in `schedule` order (see [`Layout::order`]). When an action raises (an SQL error, or a
/// request whose user is already gone), Django's `atomic` rolls the transaction back and sends
/// nothing more of it: the step after it becomes ROLLBACK and the rest no-ops, and the run is
/// repeated. The steps before the failure do the same thing again, so this converges.
pub fn run_app(
    c: &Concrete,
    schedule: &[usize],
    engine: EngineKind,
    fk_on: bool,
    tail: Tail,
    comment: &str,
) -> Result<AppRun, AppError> {
    let mut layout = Layout::new(c);
    let order = layout.order(schedule);
    let opts = SchemaOptions { fk_enforced: fk_on, implicit_fk_index: engine == EngineKind::Innodb };
    let mut handled: HashSet<(usize, usize)> = HashSet::new();
    let mut passes = 0;
    loop {
        passes += 1;
        let text = spec_text(c, &layout, &order, tail, comment);
        let sc = Scenario::load(parse_spec("generated.spec", &text)?, opts)?;
        let perm = sc.permutations().next().ok_or(AppError::NoPermutation)?;
        let report = Runner::new(&sc, engine, MemStore::default())?.run(&perm)?;
        let times = Times::of(&report);
        // The first failure (in report order) not yet answered by a rollback.
        let mut failures: Vec<(usize, (usize, usize))> = order
            .iter()
            .filter(|&&(s, i)| {
                !handled.contains(&(s, i)) && raised(&layout.sessions[s][i].role, &times, &layout.sessions[s][i].name)
            })
            .filter_map(|&(s, i)| times.done.get(&layout.sessions[s][i].name).map(|&d| (d, (s, i))))
            .collect();
        failures.sort_unstable();
        let mut changed = false;
        for (_, (s, i)) in failures {
            handled.insert((s, i));
            if layout.abort_after(s, i) {
                changed = true;
                break;
            }
        }
        if !changed || passes > order.len() + 1 {
            return Ok(AppRun { engine, fk_on, spec: text, layout, order, report, passes });
        }
    }
}

/// Did the application see this step raise?
fn raised(role: &Role, times: &Times, name: &str) -> bool {
    let Some(ev) = times.finish.get(name) else { return false };
    match (role, &ev.0) {
        (Role::Begin { users }, None) => ev.1 < users.len(),
        (Role::Action(a), Some(DbError { kind: ErrorKind::UniqueViolation, .. })) => !a.unique_violation_is_get(),
        (_, e) => e.is_some(),
    }
}

/// When each step was issued and finished, as positions in the report's event list.
#[derive(Debug, Default)]
pub struct Times {
    pub issued: HashMap<String, usize>,
    pub done: HashMap<String, usize>,
    /// The finishing line's error and the row count of its first result.
    pub finish: HashMap<String, (Option<DbError>, usize)>,
}

impl Times {
    pub fn of(r: &PermutationReport) -> Times {
        let mut t = Times::default();
        for (k, e) in r.events.iter().enumerate() {
            t.issued.entry(e.step.to_string()).or_insert(k);
            if e.outcome != Outcome::Waiting && !t.done.contains_key(&*e.step) {
                t.done.insert(e.step.to_string(), k);
                t.finish.insert(e.step.to_string(), (e.error.clone(), e.rows.first().map_or(0, |x| x.rows.len())));
            }
        }
        t
    }
}

/// A transaction of the run: its span and whether it committed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TxnSpan {
    pub session: usize,
    pub txn: usize,
    /// Event position of its begin step (the request's user load).
    pub start: usize,
    /// Event position of its last step's finish (`usize::MAX`: never finished).
    pub end: usize,
    pub committed: bool,
}

impl TxnSpan {
    /// Two transactions overlap when each started before the other ended.
    pub fn overlaps(&self, o: &TxnSpan) -> bool {
        self.start <= o.end && o.start <= self.end
    }
}

impl AppRun {
    pub fn times(&self) -> Times {
        Times::of(&self.report)
    }

    /// Every transaction's span.
    pub fn spans(&self) -> Vec<TxnSpan> {
        let times = self.times();
        let mut out = Vec::new();
        for (s, steps) in self.layout.sessions.iter().enumerate() {
            let txns = steps.iter().map(|st| st.txn).max().map_or(0, |m| m + 1);
            for t in 0..txns {
                let mine: Vec<_> = steps.iter().filter(|st| st.txn == t).collect();
                let (first, last) = (mine[0], mine[mine.len() - 1]);
                let start = times.issued.get(&first.name).copied().unwrap_or(usize::MAX);
                let end = times.done.get(&last.name).copied().unwrap_or(usize::MAX);
                let committed = last.role == Role::Commit
                    && times.finish.get(&last.name).is_some_and(|f| f.0.is_none())
                    && !mine.iter().any(|st| raised(&st.role, &times, &st.name));
                out.push(TxnSpan { session: s, txn: t, start, end, committed });
            }
        }
        out
    }

    /// The action that wrote child row `id`, with its transaction.
    pub fn writer_of(&self, table: &str, id: i64) -> Option<(usize, usize, &Action)> {
        self.layout.sessions.iter().enumerate().find_map(|(s, steps)| {
            steps.iter().find_map(|st| match &st.role {
                Role::Action(a) if a.child_write().is_some_and(|w| w.0 == table && w.1 == id) => Some((s, st.txn, a)),
                _ => None,
            })
        })
    }

    /// Committed transactions that deleted `user` with the cascade.
    pub fn deleters_of(&self, user: i64) -> Vec<TxnSpan> {
        let spans = self.spans();
        spans
            .into_iter()
            .filter(|sp| {
                sp.committed
                    && self.layout.sessions[sp.session]
                        .iter()
                        .any(|st| st.txn == sp.txn && st.role == Role::Action(Action::DeleteUserCascade { user }))
            })
            .collect()
    }

    /// Statements on a child table that waited on a lock on an `auth_user` row: a wait on
    /// `auth_user` taken for an FK check, or by a step that has no statement on `auth_user`.
    pub fn child_waits_on_users(&self) -> Vec<String> {
        let mut out = Vec::new();
        for e in &self.report.events {
            let Some(w) = &e.wait else { continue };
            if &*w.wants.table != "auth_user" {
                continue;
            }
            let Some(st) = self.layout.sessions.iter().flatten().find(|st| *st.name == *e.step) else { continue };
            let touches_user = match &st.role {
                Role::Action(a) => a.statements().iter().any(|q| q.contains(" auth_user ") && !q.starts_with("SELECT")),
                _ => true,
            };
            if w.wants.taken_by.contains("FK check") || !touches_user {
                out.push(format!(
                    "{} waits for {} behind {:?}",
                    e.step,
                    w.wants,
                    w.behind.iter().map(|b| &b.session).collect::<Vec<_>>()
                ));
            }
        }
        out
    }

    /// The rows a tail observation (`obs1`, `obs2`) read.
    pub fn observed(&self, step: &str) -> Option<Observed> {
        let e = self.report.events.iter().find(|e| &*e.step == step && e.outcome != Outcome::Waiting)?;
        let ints = |k: usize, col: usize| -> Vec<i64> {
            e.rows.get(k).map_or(vec![], |r| {
                r.rows
                    .iter()
                    .filter_map(|row| if let Some(Value::Int(v)) = row.get(col) { Some(*v) } else { None })
                    .collect()
            })
        };
        let users: BTreeSet<i64> = ints(0, 0).into_iter().collect();
        let mut children = BTreeSet::new();
        for (k, table) in CHILD_TABLES.iter().enumerate() {
            for (id, user) in ints(k + 1, 0).into_iter().zip(ints(k + 1, 1)) {
                children.insert((*table, id, user));
            }
        }
        Some(Observed { users, children })
    }
}

/// Every row of `auth_user` and of the child tables at one moment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Observed {
    pub users: BTreeSet<i64>,
    /// (table, id, user_id)
    pub children: BTreeSet<(&'static str, i64, i64)>,
}

impl Observed {
    pub fn orphans(&self) -> Vec<(&'static str, i64, i64)> {
        self.children.iter().filter(|c| !self.users.contains(&c.2)).copied().collect()
    }
}
