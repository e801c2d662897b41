//! Refinement: a threaded run's arrival order replayed on the step runner, and the two compared
//! step by step (at once or waited, which error, which rows) and on the orphans left.

use super::{Arrival, ThreadedRun};
use crate::engine::{DbError, Engine, Plain, Rows};
use crate::run::{Ended, Outcome, RunError, Runner, Timing};
use crate::scenario::Scenario;
use crate::spec::{PermStep, Pos};
use crate::store::MemStore;
use std::collections::BTreeMap;
use std::sync::Arc;

/// Run `arrivals` (steps and clock moves, as the threaded engine recorded them) on the step
/// runner, with no time between steps but the recorded clock moves ([`Timing::ZERO`]).
pub fn replay<E>(sc: &Scenario, arrivals: &[Arrival]) -> Result<Ended, RunError>
where
    E: Engine<Parts = Plain<MemStore>>,
{
    let mut runner = Runner::<E>::new(sc, MemStore::default())?;
    runner.timing = Timing::ZERO;
    let mut play = runner.play(MemStore::default())?;
    for a in arrivals {
        match a {
            Arrival::Step(_, name) => {
                play.step(Arc::new(PermStep { name: name.clone(), markers: Vec::new(), pos: Pos::default() }))?
            }
            Arrival::Clock(t) => play.advance_to(*t)?,
        }
    }
    Ok(play.end()?.0)
}

/// Where a threaded run and the step runner's replay of its arrival order differ.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Divergence {
    /// The steps in arrival order, as `fksim run --permutation` takes them.
    pub permutation: String,
    /// The clock moves among them (`after STEP: clock to T µs`).
    pub clock: Vec<String>,
    pub differences: Vec<String>,
}

/// What the step runner reported for one step.
#[derive(Debug, Default)]
struct Reported {
    waited: bool,
    error: Option<DbError>,
    rows: Vec<Rows>,
}

/// Compare a threaded run with the step runner's replay of it; None when they agree.
pub fn compare(run: &ThreadedRun, replayed: &Ended) -> Option<Divergence> {
    let mut reported: BTreeMap<&str, Reported> = BTreeMap::new();
    for e in &replayed.events {
        let r = reported.entry(&*e.step).or_default();
        match e.outcome {
            Outcome::Waiting => r.waited = true,
            Outcome::Immediate | Outcome::Completed => {
                r.error = e.error.clone();
                r.rows = e.rows.clone();
            }
        }
    }
    let mut differences = Vec::new();
    let what = |waited: bool, error: &Option<DbError>| {
        let how = if waited { "waited" } else { "at once" };
        match error {
            None => how.to_string(),
            Some(e) => format!("{how}, {}: {}", e.kind.name(), e.message),
        }
    };
    for (name, done) in &run.steps {
        let Some(r) = reported.get(&**name) else {
            differences.push(format!("{name}: ran on threads, not reported by the step runner"));
            continue;
        };
        if r.waited != done.waited || r.error != done.error {
            differences.push(format!(
                "{name}: threads {}, step runner {}",
                what(done.waited, &done.error),
                what(r.waited, &r.error)
            ));
        }
        if r.rows != done.rows {
            differences.push(format!("{name}: threads returned {:?}, step runner {:?}", done.rows, r.rows));
        }
    }
    if run.orphans != replayed.orphans {
        differences.push(format!("orphans: threads {}, step runner {}", run.orphans, replayed.orphans));
    }
    let deadlocks: usize = replayed.events.iter().map(|e| e.deadlocks.len()).sum();
    if deadlocks != run.deadlocks.len() {
        differences.push(format!("deadlocks: threads {}, step runner {deadlocks}", run.deadlocks.len()));
    }
    if !replayed.stranded.is_empty() {
        differences.push(format!("step runner left unfinished: {:?}", replayed.stranded));
    }
    if differences.is_empty() {
        return None;
    }
    let mut clock = Vec::new();
    let mut last = "start";
    for a in &run.arrivals {
        match a {
            Arrival::Step(_, name) => last = name,
            Arrival::Clock(t) => clock.push(format!("after {last}: clock to {t} µs")),
        }
    }
    Some(Divergence { permutation: run.permutation(), clock, differences })
}
