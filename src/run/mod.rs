//! The deterministic step runner: issues a permutation's steps to an engine one at a time and
//! reports, as isolationtester does, which steps finished at once, which waited, and when each
//! waiting step completed.

mod footprint;
mod play;
mod session;
mod steps;
mod teardown;

pub use footprint::Footprint;
pub use play::{Ended, Play};

pub(crate) use steps::{cancel_remaining, complete_waiting, own_event, Track};

use crate::engine::innodb::InnoDb;
use crate::engine::postgres::PgDb;
use crate::engine::{Access, DbError, DeadlockInfo, Engine, EngineError, Poll, Rows, WaitInfo};
use crate::engine::{SessionId, Snapshot};
use crate::scenario::Scenario;
use crate::spec::PermStep;
use crate::sql::{Catalog, Statement};
use crate::store::{MemStore, Store};
use serde::Serialize;
use session::Sessions;
use std::borrow::Borrow;
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
}

/// The report of one permutation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PermutationReport {
    pub steps: Vec<String>,
    pub events: Vec<StepEvent>,
    pub orphans: usize,
    /// The longest chain of waiting transactions seen when a step was reported (a waiter behind
    /// a holder is 2; 0 when nothing waited).
    pub max_wait_chain: usize,
    /// Steps left unfinished although their session was not blocked (see [`Ended::stranded`]).
    pub stranded: Vec<String>,
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

/// The engine profiles.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum EngineKind {
    Innodb,
    Postgres,
}

impl EngineKind {
    /// The name used on the command line and in file names: `innodb`, `postgres`.
    pub fn name(self) -> &'static str {
        match self {
            EngineKind::Innodb => "innodb",
            EngineKind::Postgres => "postgres",
        }
    }
}

/// A database of either engine, over the same store type.
#[derive(Clone)]
enum Db<S: Store> {
    Inno(InnoDb<S>),
    Pg(PgDb<S>),
}

macro_rules! both {
    ($db:expr, $x:ident => $e:expr) => {
        match $db {
            Db::Inno($x) => $e,
            Db::Pg($x) => $e,
        }
    };
}

impl<S: Store> Engine for Db<S> {
    fn start(&mut self, s: SessionId, stmt: Arc<Statement>, label: &Arc<str>) -> Result<Poll, EngineError> {
        both!(self, d => d.start(s, stmt, label))
    }
    fn poll(&mut self, s: SessionId) -> Result<Poll, EngineError> {
        both!(self, d => d.poll(s))
    }
    fn take_wakeups(&mut self) -> Vec<SessionId> {
        both!(self, d => d.take_wakeups())
    }
    fn take_deadlocks(&mut self) -> Vec<DeadlockInfo> {
        both!(self, d => d.take_deadlocks())
    }
    fn take_access(&mut self, s: SessionId) -> Option<Access> {
        both!(self, d => d.take_access(s))
    }
    fn wait_info(&self, s: SessionId) -> Option<WaitInfo> {
        both!(self, d => d.wait_info(s))
    }
    fn waits_behind(&self, s: SessionId) -> Vec<SessionId> {
        both!(self, d => d.waits_behind(s))
    }
    fn next_timer(&self) -> Option<u64> {
        both!(self, d => d.next_timer())
    }
    fn advance(&mut self, now: u64) -> Result<(), EngineError> {
        both!(self, d => d.advance(now))
    }
    fn finish(&mut self) -> Result<usize, EngineError> {
        both!(self, d => d.finish())
    }
    fn catalog(&self) -> &Catalog {
        both!(self, d => d.catalog())
    }
}

impl<S: Store> Db<S> {
    fn new(
        engine: EngineKind,
        cat: Arc<Catalog>,
        store: S,
        snap: &Snapshot,
        names: Vec<String>,
    ) -> Result<Self, EngineError> {
        Ok(match engine {
            EngineKind::Innodb => Db::Inno(InnoDb::from_snapshot(cat, store, snap, names)?),
            EngineKind::Postgres => Db::Pg(PgDb::from_snapshot(cat, store, snap, names)?),
        })
    }

    fn into_store(self) -> S {
        both!(self, d => d.into_store())
    }
}

/// Runs a scenario's permutations on one engine and store, from the state its setup leaves.
pub struct Runner<'a, S: Store> {
    scenario: &'a Scenario,
    engine: EngineKind,
    /// The step cadence of the recording procedure, in virtual time.
    pub timing: Timing,
    snapshot: Snapshot,
    store: Option<S>,
}

impl<'a, S: Store> Runner<'a, S> {
    /// Run the scenario's setup once and keep its result for every permutation.
    pub fn new(scenario: &'a Scenario, engine: EngineKind, store: S) -> Result<Self, RunError> {
        let cat = scenario.catalog.clone();
        let names = vec!["setup".to_string()];
        let mut db = match engine {
            EngineKind::Innodb => Db::Inno(InnoDb::empty(cat, MemStore::default(), names)),
            EngineKind::Postgres => Db::Pg(PgDb::empty(cat, MemStore::default(), names)),
        };
        for st in &scenario.setup {
            match db.start(0, st.clone(), &Arc::from("setup"))? {
                Poll::Done(Ok(_)) => {}
                Poll::Done(Err(e)) => {
                    return Err(RunError::Setup {
                        file: scenario.spec.file.clone(),
                        line: st.pos.line,
                        message: e.message,
                    });
                }
                Poll::Blocked => unreachable!("a single session cannot wait on itself"),
            }
        }
        let snapshot = match &db {
            Db::Inno(d) => d.snapshot()?,
            Db::Pg(d) => d.snapshot()?,
        };
        Ok(Runner { scenario, engine, timing: Timing::default(), snapshot, store: Some(store) })
    }

    /// Start a permutation from the setup state on `store`.
    pub fn play(&self, store: S) -> Result<Play<'a, S>, RunError> {
        let names = self.scenario.session_names();
        let db = Db::new(self.engine, self.scenario.catalog.clone(), store, &self.snapshot, names)?;
        Play::new(self.scenario, db, self.timing)
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

/// Deadlocks found while time passed belong to the last line reported.
fn attach_deadlocks<E: Engine>(db: &mut E, events: &mut [Arc<StepEvent>]) {
    let found = db.take_deadlocks();
    if found.is_empty() {
        return;
    }
    if let Some(last) = events.last_mut() {
        Arc::make_mut(last).deadlocks.extend(found);
    }
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

/// Virtual time, in microseconds since the permutation started.
#[derive(Debug, Clone)]
struct Clock {
    now: u64,
}

impl Clock {
    /// Let up to `span` pass, firing the engine's timers in order, until `done` holds; returns
    /// whether it holds.
    fn run_until<E: Engine>(
        &mut self,
        db: &mut E,
        sessions: &mut Sessions,
        tracks: &mut [Track],
        span: Duration,
        done: impl Fn(&[Track]) -> bool,
    ) -> Result<bool, RunError> {
        let deadline = self.now + span.as_micros() as u64;
        if done(tracks) {
            return Ok(true);
        }
        while !done(tracks) {
            match db.next_timer() {
                Some(t) if t <= deadline => {
                    self.now = self.now.max(t);
                    db.advance(self.now)?;
                    sessions.settle(db, tracks)?;
                }
                _ => {
                    // No timer before the deadline: time still passes for the engine.
                    self.now = deadline;
                    db.advance(self.now)?;
                    return Ok(done(tracks));
                }
            }
        }
        Ok(true)
    }
}

fn waiting_event<E: Engine, P: Borrow<PermStep>>(
    db: &E,
    sessions: &Sessions,
    perm: &[P],
    tracks: &[Track],
    i: usize,
) -> StepEvent {
    let (wait, queued_behind) = if tracks[i].finished {
        (None, None)
    } else {
        match sessions.active_of(tracks[i].session) {
            Some(j) if j != i => (None, Some(perm[j].borrow().name.clone())),
            _ => (db.wait_info(tracks[i].session).map(Box::new), None),
        }
    };
    StepEvent {
        step: perm[i].borrow().name.clone(),
        outcome: Outcome::Waiting,
        error: None,
        rows: Vec::new(),
        wait,
        queued_behind,
        deadlocks: Vec::new(),
        note: None,
        access: Vec::new(),
    }
}

/// Run every permutation of a scenario (the spec's, or every interleaving) on one engine and store.
pub fn run_scenario<S: Store>(sc: &Scenario, engine: EngineKind, store: S) -> Result<Vec<PermutationReport>, RunError> {
    let mut runner = Runner::new(sc, engine, store)?;
    sc.permutations().map(|p| runner.run(&p)).collect()
}
