//! The deterministic step runner: issues a permutation's steps to an engine one at a time and
//! reports, as isolationtester does, which steps finished at once, which waited, and when each
//! waiting step completed.

pub(crate) mod cadence;
mod play;
mod steps;
mod teardown;

pub use crate::engine::EngineKind;
pub use play::{Ended, Play};

pub(crate) use teardown::end_sessions;

pub(crate) use steps::{cancel_remaining, complete_waiting, has_blocker, own_event, Track};

use crate::engine::{
    Access, DbError, DeadlockInfo, Engine, EngineError, MultixactCount, Notice, Parts, Plain, Poll, Rows, Snapshot,
    WaitInfo,
};
use crate::scenario::Scenario;
use crate::spec::PermStep;
use crate::store::MemStore;
use serde::Serialize;
use std::sync::Arc;
use std::time::Duration;

/// How a step is reported.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Immediate,
    Waiting,
    Completed,
}

/// One line of a permutation's report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StepEvent {
    pub step: Arc<str>,
    pub outcome: Outcome,
    pub error: Option<DbError>,
    /// Rows of the SELECTs the step ran (on its finishing line).
    pub rows: Vec<Rows>,
    /// For a waiting step: what it waits for (None when it only queues behind its own session).
    pub wait: Option<Box<WaitInfo>>,
    /// For a step queued behind an earlier step of its own session: that step.
    pub queued_behind: Option<Arc<str>>,
    /// Deadlocks detected while this step was issued.
    pub deadlocks: Vec<DeadlockInfo>,
    /// Extra explanation (a step cancelled at the end of the permutation).
    pub note: Option<String>,
    /// The access path of each of the step's statements that scans an index (InnoDB's choice,
    /// or a live EXPLAIN's), on the first line reported after the statement started.
    pub access: Vec<Access>,
    /// The notices (warnings) the step's statements sent since its last line, printed before
    /// this one as isolationtester's notice processor prints them.
    pub notices: Vec<Notice>,
}

impl StepEvent {
    /// A line for `step` with `outcome` and nothing else on it (no error, rows, wait or notes).
    pub fn new(step: Arc<str>, outcome: Outcome) -> StepEvent {
        StepEvent {
            step,
            outcome,
            error: None,
            rows: Vec::new(),
            wait: None,
            queued_behind: None,
            deadlocks: Vec::new(),
            note: None,
            access: Vec::new(),
            notices: Vec::new(),
        }
    }
}

/// The report of one permutation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PermutationReport {
    pub steps: Vec<String>,
    pub events: Vec<StepEvent>,
    pub orphans: usize,
    /// Of them, the orphans over each logical reference (a foreign key Django knows and its DDL
    /// does not declare, see [`crate::references`]): (`table.column`, rows). Empty without one.
    pub orphans_by_ref: Vec<(String, usize)>,
    /// The MultiXacts the permutation created (PostgreSQL; None on InnoDB and live servers).
    pub multixacts: Option<MultixactCount>,
    /// The longest chain of waiting transactions seen when a step was reported (a waiter behind
    /// a holder is 2; 0 when nothing waited).
    pub max_wait_chain: usize,
    /// Steps left unfinished although their session was not blocked (see [`Ended::stranded`]).
    pub stranded: Vec<String>,
    /// The results printed by the sessions' setup blocks (before the first step) and teardown
    /// blocks (after the last), as isolationtester prints them.
    pub setup_rows: Vec<Rows>,
    pub teardown_rows: Vec<Rows>,
}

/// Errors that stop a run (not SQL outcomes).
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error(transparent)]
    Engine(#[from] EngineError),
    #[error("{file}:{line}: setup statement failed: {message}")]
    Setup { file: String, line: usize, message: String },
    /// A statement of a session's or the spec's teardown failed at the end of a permutation.
    #[error("{file}:{line}: teardown statement failed: {message}")]
    Teardown { file: String, line: usize, message: String },
    #[error("{file}:{line}: {what}")]
    Permutation { file: String, line: usize, what: String },
}

/// Runs a scenario's permutations on engine `E`, from the state its setup leaves.
pub struct Runner<'a, E: Engine> {
    scenario: &'a Scenario,
    /// The step cadence of the recording procedure, in virtual time.
    pub timing: Timing,
    snapshot: Snapshot,
    store: Option<<E::Parts as Parts>::Store>,
}

impl<'a, E: Engine> Runner<'a, E> {
    /// Run the scenario's setup once (in memory) and keep its result for every permutation, each
    /// of which runs on `store`.
    pub fn new(scenario: &'a Scenario, store: <E::Parts as Parts>::Store) -> Result<Self, RunError> {
        let cat = scenario.catalog.clone();
        let mut db = E::With::<Plain<MemStore>>::empty(cat, MemStore::default(), vec!["setup".to_string()]);
        let label: Arc<str> = Arc::from("setup");
        for st in &scenario.setup {
            let fail = |message| RunError::Setup { file: scenario.spec.file.clone(), line: st.pos.line, message };
            match db.start(0, st.clone(), &label)? {
                Poll::Done(Ok(_)) => {}
                Poll::Done(Err(e)) => return Err(fail(e.message)),
                Poll::Blocked => return Err(fail("blocked on a lock".into())),
            }
        }
        let snapshot = db.snapshot()?;
        Ok(Runner { scenario, timing: Timing::default(), snapshot, store: Some(store) })
    }

    /// A database in the setup state on `store`, with sessions named `names` (a driver of its
    /// own: the load simulator).
    pub fn database(&self, store: <E::Parts as Parts>::Store, names: Vec<String>) -> Result<E, RunError> {
        Ok(E::from_snapshot(self.scenario.catalog.clone(), store, &self.snapshot, names)?)
    }

    /// The database a permutation starts from, on `store`: the setup state, with every
    /// session's setup block run (the step runner's, and the threaded engine's).
    pub fn sessions_ready(&self, store: <E::Parts as Parts>::Store) -> Result<E, RunError> {
        Ok(self.sessions_ready_rows(store)?.0)
    }

    /// [`Runner::sessions_ready`], with the results the setup blocks printed.
    fn sessions_ready_rows(&self, store: <E::Parts as Parts>::Store) -> Result<(E, Vec<Rows>), RunError> {
        let mut db = self.database(store, self.scenario.session_names())?;
        let mut rows = Vec::new();
        for s in 0..self.scenario.sessions.len() {
            rows.extend(play::run_setup(&mut db, self.scenario, s)?);
        }
        Ok((db, rows))
    }

    /// Start a permutation from the setup state on `store`.
    pub fn play(&self, store: <E::Parts as Parts>::Store) -> Result<Play<'a, E>, RunError> {
        let (db, rows) = self.sessions_ready_rows(store)?;
        Ok(Play::new(self.scenario, db, self.timing).with_setup_rows(rows))
    }

    /// Run one permutation from the setup state.
    pub fn run(&mut self, perm: &[PermStep]) -> Result<PermutationReport, RunError> {
        let store = self.store.take().expect("store is returned after each run");
        let mut play = self.play(store)?;
        for p in perm {
            play.step(Arc::new(p.clone()))?;
        }
        let (report, store) = play.finish()?;
        self.store = Some(store);
        Ok(report)
    }
}

/// The error kinds a permutation's lines carry, sorted, each once.
pub fn error_kinds<'e>(events: impl IntoIterator<Item = &'e StepEvent>) -> Vec<&'static str> {
    let mut kinds: Vec<&'static str> =
        events.into_iter().filter_map(|e| e.error.as_ref().map(|x| x.kind.name())).collect();
    kinds.sort_unstable();
    kinds.dedup();
    kinds
}

/// The longest chain of waits now (in sessions), from each waiting session to the sessions it
/// waits behind.
fn wait_chain<E: Engine>(db: &E, sc: &Scenario) -> usize {
    let n = sc.sessions.len();
    let edges: Vec<Vec<usize>> = (0..n).map(|s| db.waits_behind(s)).collect();
    if edges.iter().all(Vec::is_empty) {
        return 0;
    }
    fn longest(s: usize, edges: &[Vec<usize>], seen: &mut Vec<bool>) -> usize {
        seen[s] = true;
        let mut best = 0;
        for &t in &edges[s] {
            if !seen[t] {
                best = best.max(longest(t, edges, seen));
            }
        }
        seen[s] = false;
        best + 1
    }
    (0..n).map(|s| longest(s, &edges, &mut vec![false; n])).max().unwrap_or(0)
}

/// The steps' cadence, as in the recordings (`../shared/conformance/README.md`): a step still
/// running `wait` after it was sent counts as waiting; the next step follows `pause` after a step
/// that finished; each earlier waiting step gets `settle` to report completion; at the end, steps
/// still waiting get `drain` before they are cancelled. The model runs these in virtual time, so
/// timers (lock wait timeouts, PostgreSQL's deadlock_timeout) fire as they would on a server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timing {
    pub wait: Duration,
    pub pause: Duration,
    pub settle: Duration,
    pub drain: Duration,
}

impl Default for Timing {
    fn default() -> Self {
        Timing {
            wait: Duration::from_millis(600),
            pause: Duration::from_millis(100),
            settle: Duration::from_millis(400),
            drain: Duration::from_secs(2),
        }
    }
}

impl Timing {
    /// No time between steps: a step waits if it did not finish when it was sent, and time
    /// passes only where the caller moves the clock ([`Play::advance_to`]: the threaded engine's
    /// recorded clock).
    pub const ZERO: Timing =
        Timing { wait: Duration::ZERO, pause: Duration::ZERO, settle: Duration::ZERO, drain: Duration::ZERO };
}

/// Every permutation of `sc` on the engine `kind` names, in memory, with the cadence `timing`.
pub fn run_kind(kind: EngineKind, sc: &Scenario, timing: Timing) -> Result<Vec<PermutationReport>, RunError> {
    kind.run(RunPerms { sc, timing, only: None })
}

/// The permutations `perms` of `sc` on the engine `kind` names, as [`run_kind`] runs them.
pub fn run_kind_on(
    kind: EngineKind,
    sc: &Scenario,
    timing: Timing,
    perms: &[Vec<PermStep>],
) -> Result<Vec<PermutationReport>, RunError> {
    kind.run(RunPerms { sc, timing, only: Some(perms) })
}

/// Permutations of a scenario to run with an engine chosen at run time.
struct RunPerms<'a> {
    sc: &'a Scenario,
    timing: Timing,
    only: Option<&'a [Vec<PermStep>]>,
}

impl crate::engine::EngineTask for RunPerms<'_> {
    type Output = Result<Vec<PermutationReport>, RunError>;
    fn run<E: Engine<Parts = Plain<MemStore>> + Clone + 'static>(self) -> Self::Output
    where
        E::With<crate::explore::Tracing>: Clone,
    {
        let mut runner = Runner::<E>::new(self.sc, MemStore::default())?;
        runner.timing = self.timing;
        match self.only {
            Some(perms) => perms.iter().map(|p| runner.run(p)).collect(),
            None => self.sc.permutations().map(|p| runner.run(&p)).collect(),
        }
    }
}

/// Run every permutation of a scenario (the spec's, or every interleaving) on engine `E`.
pub fn run_scenario<E: Engine>(
    sc: &Scenario,
    store: <E::Parts as Parts>::Store,
) -> Result<Vec<PermutationReport>, RunError> {
    let mut runner = Runner::<E>::new(sc, store)?;
    sc.permutations().map(|p| runner.run(&p)).collect()
}
