//! A scenario's sessions as threads over the threaded engine: each session's thread issues its
//! steps in the spec's order, the calling thread runs the clock, and the run is recorded.

use super::{Arrival, Park, StepDone, Threaded, ThreadedError};
use crate::engine::{DeadlockInfo, Engine, Plain};
use crate::run::{end_sessions, Runner};
use crate::scenario::Scenario;
use crate::store::MemStore;
use crate::sync::thread;
use std::sync::Arc;

/// An ordering the application puts between its sessions' steps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Gate {
    /// None: any schedule.
    Free,
    /// A session's second and later steps wait until every session's first step has reached the
    /// engine (the transactions overlap: each has done its first statement, or waits in it).
    FirstSteps,
}

/// What a pause before step `k` of session `s` does (`stress`'s seeded random delays).
pub type Pause = Arc<dyn Fn(usize, usize) + Send + Sync>;

/// How session threads issue their steps.
#[derive(Clone)]
pub struct Schedule {
    pub gate: Gate,
    /// A real pause before each step (on the session's thread).
    pub pause: Option<Pause>,
    /// Virtual time (µs) each session sleeps before each of its steps (`think[s][k]`; missing
    /// entries are 0): the application's work, during which the clock may fire timers.
    pub think: Vec<Vec<u64>>,
    /// Check the lock table's invariant after every call into the engine.
    pub check_grants: bool,
}

impl Default for Schedule {
    fn default() -> Self {
        Schedule { gate: Gate::Free, pause: None, think: Vec::new(), check_grants: true }
    }
}

/// A recorded threaded run of a scenario.
#[derive(Debug, Clone)]
pub struct ThreadedRun {
    /// Steps and clock moves, in the order they reached the engine.
    pub arrivals: Vec<Arrival>,
    /// Each step's outcome, in the spec's order of sessions and steps.
    pub steps: Vec<(Arc<str>, StepDone)>,
    /// Orphans after the session teardowns, with every transaction rolled back.
    pub orphans: usize,
    pub parks: Vec<Park>,
    pub deadlocks: Vec<DeadlockInfo>,
    /// The first grant that broke the lock table's invariant (with `check_grants`).
    pub violation: Option<String>,
}

impl ThreadedRun {
    /// The step named `name`.
    pub fn step(&self, name: &str) -> &StepDone {
        &self.steps.iter().find(|(n, _)| &**n == name).unwrap_or_else(|| panic!("no step {name}")).1
    }

    /// Steps that ended with an error of this kind (`deadlock`, `lock_timeout`, ...).
    pub fn errors(&self, kind: &str) -> Vec<&str> {
        self.steps
            .iter()
            .filter(|(_, d)| d.error.as_ref().is_some_and(|e| e.kind.name() == kind))
            .map(|(n, _)| &**n)
            .collect()
    }

    /// Did the clock move (a timer or a sleeper decided something)?
    pub fn clock_moved(&self) -> bool {
        self.arrivals.iter().any(|a| matches!(a, Arrival::Clock(_)))
    }

    /// The `permutation` line of the steps' arrival order.
    pub fn permutation(&self) -> String {
        let steps: Vec<&str> = self
            .arrivals
            .iter()
            .filter_map(|a| match a {
                Arrival::Step(_, name) => Some(&**name),
                Arrival::Clock(_) => None,
            })
            .collect();
        format!("permutation {}", steps.join(" "))
    }
}

/// Run `sc`'s sessions on engine `E` (in memory), a thread each, from the state its setup leaves,
/// as `how` says; this thread runs the clock.
pub fn run_threads<E>(sc: &Arc<Scenario>, how: &Schedule) -> Result<ThreadedRun, ThreadedError>
where
    E: Engine<Parts = Plain<MemStore>> + 'static,
{
    let db = Runner::<E>::new(sc, MemStore::default())?.sessions_ready(MemStore::default())?;
    let n = sc.sessions.len();
    let with_steps = sc.sessions.iter().filter(|p| !p.steps.is_empty()).count();
    let eng = crate::sync::Arc::new(Threaded::new(db, n, how.check_grants));
    let handles: Vec<_> = (0..n)
        .map(|s| {
            let (eng, sc, how) = (eng.clone(), sc.clone(), how.clone());
            thread::spawn(move || {
                let body = || -> Result<Vec<StepDone>, ThreadedError> {
                    let mut out = Vec::new();
                    for (k, step) in sc.sessions[s].steps.iter().enumerate() {
                        if k > 0 && how.gate == Gate::FirstSteps {
                            eng.wait_arrived(s, with_steps)?;
                        }
                        if let Some(p) = &how.pause {
                            p(s, k);
                        }
                        match how.think.get(s).and_then(|t| t.get(k)) {
                            Some(&us) if us > 0 => eng.sleep(s, us)?,
                            _ => {}
                        }
                        out.push(eng.step(s, step.name.clone(), step.stmts.clone())?);
                    }
                    Ok(out)
                };
                let r = run_guarded(body);
                if let Err(e) = &r {
                    eng.fail(e.clone());
                }
                eng.leave(s);
                r
            })
        })
        .collect();
    let clock = eng.run_clock();
    let mut steps = Vec::new();
    let mut first_err = clock.err();
    for (s, h) in handles.into_iter().enumerate() {
        match h.join() {
            Ok(Ok(done)) => steps.extend(sc.sessions[s].steps.iter().map(|p| p.name.clone()).zip(done)),
            Ok(Err(e)) => {
                first_err.get_or_insert(e);
            }
            Err(_) => {
                first_err.get_or_insert(ThreadedError::Panicked(sc.sessions[s].name.clone()));
            }
        }
    }
    if let Some(e) = first_err {
        return Err(e);
    }
    let orphans = eng.with_engine(|db| end_sessions(db, sc, &vec![false; n]))?;
    let (arrivals, parks, deadlocks, violation) = eng.record();
    Ok(ThreadedRun { arrivals, steps, orphans, parks, deadlocks, violation })
}

/// Run a session thread's body, turning a panic into an error (so that the clock and the other
/// threads stop instead of waiting for it). Under loom a panic fails the model as it is.
#[cfg(not(loom))]
fn run_guarded<T>(body: impl FnOnce() -> Result<T, ThreadedError>) -> Result<T, ThreadedError> {
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(body)) {
        Ok(r) => r,
        Err(p) => {
            let what = p.downcast_ref::<String>().cloned().or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()));
            Err(ThreadedError::Panicked(what.unwrap_or_default()))
        }
    }
}

#[cfg(loom)]
fn run_guarded<T>(body: impl FnOnce() -> Result<T, ThreadedError>) -> Result<T, ThreadedError> {
    body()
}
