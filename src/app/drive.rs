//! Runs a concrete workload through the model as Django would drive it, and reads the result:
//! what each transaction did and when, the rows at the end, the orphans and who wrote them.

use super::spec::{spec_text, Layout, Role, Tail};
use super::workload::Concrete;
use super::{Action, Part, CHILD_TABLES};
use crate::engine::{DbError, ErrorKind};
use crate::report::text;
use crate::run::{run_kind_on, EngineKind, Outcome, PermutationReport, RunError, Timing};
use crate::scenario::LoadError;
use crate::spec::{parse_spec, SpecError};
use crate::sql::{SchemaOptions, Value};
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::path::Path;

/// A generated run that could not be made (a bug in the generator or the SQL subset).
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error(transparent)]
    Spec(#[from] SpecError),
    #[error(transparent)]
    Load(#[from] LoadError),
    #[error(transparent)]
    Run(#[from] RunError),
    #[error(transparent)]
    Schema(#[from] crate::schema::SchemaError),
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
    /// The schema and `--fk off=` it ran on.
    pub sql: std::sync::Arc<super::sql::AppSql>,
}

/// Run `c` in `schedule` order (see [`Layout::order`]). When an action raises (an SQL error, or a
/// request whose user is already gone), Django's `atomic` rolls the transaction back and sends
/// nothing more of it: the step after it becomes ROLLBACK and the rest no-ops, and the run is
/// repeated. When a get_or_create's get finds the row, or its create succeeds, the rest of it
/// becomes no-ops the same way. Each such change is made for the step that finished first among
/// those not yet answered, and only changes later steps of its own session, so the steps before
/// it do the same thing again and this converges.
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
    let opts = schema_options(engine, fk_on);
    let mut handled: HashSet<(usize, usize)> = HashSet::new();
    let mut passes = 0;
    loop {
        passes += 1;
        let text = spec_text(c, &layout, &order, tail, comment);
        let sc = c.sql.base.scenario(parse_spec("generated.spec", &text)?, opts)?;
        let perm = sc.permutations().next().ok_or(AppError::NoPermutation)?;
        let report = run_kind_on(engine, &sc, Timing::default(), &[perm])?.pop().ok_or(AppError::NoPermutation)?;
        let times = Times::of(&report);
        // The first step (in report order) whose result changes what Django sends next, not yet
        // answered.
        let mut pending: Vec<(usize, (usize, usize), Next)> = order
            .iter()
            .filter(|&&(s, i)| !handled.contains(&(s, i)))
            .filter_map(|&(s, i)| {
                let st = &layout.sessions[s][i];
                let next = next_after(&st.role, times.finish.get(&st.name)?);
                (next != Next::Same).then(|| (times.done[&st.name], (s, i), next))
            })
            .collect();
        pending.sort_unstable();
        let mut changed = false;
        for (_, (s, i), next) in pending {
            handled.insert((s, i));
            let did = match next {
                Next::Raise => layout.abort_after(s, i),
                Next::Returned => layout.skip_rest_of_action(s, i),
                Next::Same => false,
            };
            if did {
                changed = true;
                break;
            }
        }
        if !changed || passes > order.len() + 1 {
            return Ok(AppRun { engine, fk_on, spec: text, layout, order, report, passes, sql: c.sql.clone() });
        }
    }
}

/// What Django does after a step finished.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Next {
    /// Goes on with the next step.
    Same,
    /// The action raised: the transaction rolls back.
    Raise,
    /// get_or_create returned (its get found the row, or its create succeeded).
    Returned,
}

/// What Django does after a step finished with `ev` (its error, and the row count of its first
/// result).
fn next_after(role: &Role, ev: &(Option<DbError>, usize)) -> Next {
    match (role, &ev.0) {
        (Role::Begin { users }, None) if ev.1 < users.len() => Next::Raise,
        (Role::Action(_, Part::Get), None) if ev.1 > 0 => Next::Returned,
        (Role::Action(_, Part::Create), None) => Next::Returned,
        // get_or_create catches an IntegrityError from its create, rolls back to its savepoint
        // and gets again (on both engines: see `Action::GetOrCreateEnrollment`).
        (Role::Action(_, Part::Create), Some(e)) if is_integrity_error(e) => Next::Same,
        // The get again found nothing: get_or_create re-raises the IntegrityError.
        (Role::Action(_, Part::GetAgain), None) if ev.1 == 0 => Next::Raise,
        (_, Some(_)) => Next::Raise,
        _ => Next::Same,
    }
}

/// Django's `IntegrityError`: what the database drivers raise for a unique or foreign key
/// violation (mysqlclient for MySQL's duplicate-key and no-referenced-row errors, psycopg for
/// SQLSTATE class 23), and what `QuerySet.get_or_create` (django/db/models/query.py) catches.
fn is_integrity_error(e: &DbError) -> bool {
    matches!(e.kind, ErrorKind::UniqueViolation | ErrorKind::FkViolation)
}

/// The schema options `fksim run` binds a spec with.
fn schema_options(engine: EngineKind, fk_on: bool) -> SchemaOptions {
    engine.schema(fk_on)
}

/// Did the application see this step raise?
fn raised(role: &Role, times: &Times, name: &str) -> bool {
    times.finish.get(name).is_some_and(|ev| next_after(role, ev) == Next::Raise)
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

/// A word as a POSIX shell reads it: as is when it is plain, else in single quotes.
fn shell_word(s: &str) -> String {
    let plain = |c: char| c.is_ascii_alphanumeric() || "_-./:=@%+,".contains(c);
    if !s.is_empty() && s.chars().all(plain) {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', "'\\''"))
    }
}

impl AppRun {
    /// The `fksim run` command that replays this run's spec written at `path`, byte for byte:
    /// the engine and the FK setting it ran with (`run` defaults to `--fk on`, `workload` to
    /// `--fk off`). No `--permutation` is needed: the spec's permutation line is the run's order.
    pub fn replay_command(&self, path: &Path) -> String {
        let fk = if self.fk_on { "on" } else { "off" };
        let path = shell_word(&path.display().to_string());
        let base = self.sql.base.args();
        format!("fksim run {path} --engine {} --fk {fk}{base}", self.engine.name())
    }

    /// The spec as written to `path`: a header with the command that replays it, then the spec.
    pub fn written(&self, path: &Path) -> String {
        format!("# replay: {}\n{}", self.replay_command(path), self.spec)
    }

    /// The transcript of the run as the driver ran it: what `fksim run` prints for its spec
    /// with [`AppRun::replay_command`]'s engine and FK setting.
    pub fn transcript(&self) -> Result<String, AppError> {
        let spec = parse_spec("generated.spec", &self.spec)?;
        let sc = self.sql.base.scenario(spec, schema_options(self.engine, self.fk_on))?;
        Ok(text::header(&sc) + &text::permutation(&sc, &self.report))
    }

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
                Role::Action(a, _) if a.child_write().is_some_and(|w| w.0 == table && w.1 == id) => {
                    Some((s, st.txn, a))
                }
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
                    && self.layout.sessions[sp.session].iter().any(|st| {
                        st.txn == sp.txn && st.role == Role::Action(Action::DeleteUserCascade { user }, Part::Whole)
                    })
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
                Role::Action(a, part) => {
                    a.part_statements(*part).iter().any(|q| q.contains(" auth_user ") && !q.starts_with("SELECT"))
                }
                _ => true,
            };
            if w.wants.fk_check || !touches_user {
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

    /// [`AppRun::child_waits_on_users`] counted by the child table of the action that waited
    /// (only the waits for an FK check's lock: those a dropped FK removes).
    pub fn fk_check_waits_by_table(&self) -> BTreeMap<&'static str, u64> {
        let mut out = BTreeMap::new();
        for e in &self.report.events {
            if !e.wait.as_ref().is_some_and(|w| w.wants.fk_check && &*w.wants.table == "auth_user") {
                continue;
            }
            let step = self.layout.sessions.iter().flatten().find(|st| *st.name == *e.step);
            if let Some(Role::Action(a, _)) = step.map(|st| &st.role) {
                *out.entry(a.child_table().unwrap_or("auth_user")).or_default() += 1;
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::app::spec::Step;
    use crate::app::workload::{IsolationChoice, Txn};

    #[test]
    fn replay_commands_quote_paths_for_the_shell() {
        assert_eq!(shell_word("out/run-1.spec"), "out/run-1.spec");
        assert_eq!(shell_word("my runs/it's.spec"), "'my runs/it'\\''s.spec'");
    }

    /// Sessions that each run one get_or_create of user 1's enrollment in `course`.
    fn get_or_creates(sessions: usize, course: &str, isolation: IsolationChoice) -> Concrete {
        let g = Action::GetOrCreateEnrollment { row: 0, user: 1, new_user: None, course: course.into() };
        let mut c = Concrete {
            sql: Default::default(),
            users: 1,
            isolation,
            sessions: vec![vec![Txn { actions: vec![g] }]; sessions],
        };
        c.number();
        c
    }

    fn step<'r>(r: &'r AppRun, name: &str) -> &'r Step {
        r.layout.sessions.iter().flatten().find(|s| s.name == name).expect("step")
    }

    fn lines(r: &AppRun, name: &str) -> Vec<(Outcome, Option<ErrorKind>, usize)> {
        let rows = |e: &crate::run::StepEvent| e.rows.first().map_or(0, |x| x.rows.len());
        r.report
            .events
            .iter()
            .filter(|e| &*e.step == name)
            .map(|e| (e.outcome, e.error.as_ref().map(|x| x.kind), rows(e)))
            .collect()
    }

    #[test]
    fn get_or_create_that_finds_the_row_sends_no_insert() {
        // Every user starts with an enrollment in `c-old`.
        let c = get_or_creates(1, "c-old", IsolationChoice::ReadCommitted);
        for engine in [EngineKind::Innodb, EngineKind::Postgres] {
            let r = run_app(&c, &[], engine, false, Tail::default(), "").unwrap();
            assert_eq!(lines(&r, "s1t1g1"), [(Outcome::Immediate, None, 1)], "{engine:?}");
            for skipped in ["s1t1g1i", "s1t1g1r"] {
                assert_eq!(step(&r, skipped).role, Role::Skipped, "{engine:?}");
            }
            assert!(!r.spec.contains("INSERT INTO student_courseenrollment VALUES (1000"), "{}", r.spec);
            assert!(r.report.events.iter().all(|e| e.error.is_none()), "{engine:?}");
            assert!(r.spans()[0].committed);
        }
    }

    /// Two requests race to create one enrollment: s2's create waits on s1's, and fails once s1
    /// commits.
    fn race(engine: EngineKind, isolation: IsolationChoice) -> AppRun {
        let c = get_or_creates(2, "c1", isolation);
        // s1b s2b s1g s2g s1gi s2gi s1gr s1c s2gr s2c
        let r = run_app(&c, &[0, 1, 0, 1, 0, 1, 0, 0, 0, 0], engine, false, Tail::default(), "").unwrap();
        assert_eq!(
            lines(&r, "s2t1g1i"),
            [(Outcome::Waiting, None, 0), (Outcome::Completed, Some(ErrorKind::UniqueViolation), 0)],
            "{engine:?}\n{}",
            r.spec
        );
        assert_eq!(step(&r, "s1t1g1r").role, Role::Skipped, "s1's create succeeded");
        r
    }

    #[test]
    fn postgres_get_or_create_goes_on_after_a_unique_violation_in_its_savepoint() {
        // READ COMMITTED: the violation aborted only the savepoint's subtransaction; the get
        // again (after ROLLBACK TO SAVEPOINT) sees s1's row, and s2 commits.
        let r = race(EngineKind::Postgres, IsolationChoice::ReadCommitted);
        assert_eq!(lines(&r, "s2t1g1r"), [(Outcome::Immediate, None, 1)], "{}", r.spec);
        assert_eq!(step(&r, "s2t1c").role, Role::Commit);
        assert!(r.report.events.iter().all(|e| e.error.as_ref().is_none_or(|x| x.kind != ErrorKind::Other)));
        let spans = r.spans();
        assert!(spans[0].committed && spans[1].committed);
        // REPEATABLE READ: the get again does not see s1's row; get_or_create re-raises.
        let r = race(EngineKind::Postgres, IsolationChoice::RepeatableRead);
        assert_eq!(lines(&r, "s2t1g1r"), [(Outcome::Immediate, None, 0)]);
        assert_eq!(step(&r, "s2t1c").role, Role::Rollback);
    }

    #[test]
    fn innodb_get_or_create_gets_again_after_a_unique_violation() {
        // READ COMMITTED: the get again sees s1's row, and s2 commits.
        let r = race(EngineKind::Innodb, IsolationChoice::ReadCommitted);
        assert_eq!(lines(&r, "s2t1g1r"), [(Outcome::Immediate, None, 1)]);
        assert_eq!(step(&r, "s2t1c").role, Role::Commit);
        assert!(r.spans()[1].committed);
        // REPEATABLE READ: s2's snapshot (from its first get) does not have s1's row, so the get
        // again finds nothing and get_or_create re-raises: s2 rolls back.
        let r = race(EngineKind::Innodb, IsolationChoice::RepeatableRead);
        assert_eq!(lines(&r, "s2t1g1r"), [(Outcome::Immediate, None, 0)]);
        assert_eq!(step(&r, "s2t1c").role, Role::Rollback);
        assert!(!r.spans()[1].committed);
    }
}
