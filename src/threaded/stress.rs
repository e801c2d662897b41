//! `fksim stress`: a spec's sessions as real OS threads over the threaded engine, run after run
//! with seeded random delays between steps; each run's arrival order is replayed on the step
//! runner and compared, and the outcome classes seen are counted beside the explorer's.

use super::{compare, replay, run_threads, Divergence, Schedule, ThreadedError};
use crate::engine::{Engine, EngineTask, Plain};
use crate::explore::{self, Space};
use crate::run::error_kinds;
use crate::scenario::Scenario;
use crate::store::MemStore;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::Serialize;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How long to stress, and the seed of the delays.
#[derive(Debug, Clone, Copy)]
pub struct StressOptions {
    pub seconds: f64,
    pub seed: u64,
    /// The longest delay before a step (µs); half the steps get none.
    pub max_delay_us: u64,
}

/// One outcome class seen: how many runs, the first run's arrival order.
#[derive(Debug, Clone, Serialize)]
pub struct SeenClass {
    pub outcome: String,
    pub runs: u64,
    pub example: String,
    /// The explorer finds this class too.
    pub explored: bool,
}

/// A divergence, with the run's seed.
#[derive(Debug, Clone, Serialize)]
pub struct Diverged {
    pub run: u64,
    pub permutation: String,
    pub clock: Vec<String>,
    pub differences: Vec<String>,
}

/// What a stress run found.
#[derive(Debug, Clone, Serialize)]
pub struct StressSummary {
    pub engine: String,
    pub fk: String,
    pub seed: u64,
    pub seconds: f64,
    pub runs: u64,
    pub runs_per_second: f64,
    pub classes: Vec<SeenClass>,
    /// The classes `fksim explore` finds (every interleaving, reduced), with its counts and
    /// examples, for comparison.
    pub explore_classes: Vec<explore::Class>,
    pub divergences: u64,
    pub first_divergences: Vec<Diverged>,
    /// Grants that broke the lock table's invariant, and the first.
    pub grant_violations: u64,
    pub first_violation: Option<String>,
}

/// The stress loop for engine `E`; `progress(elapsed, runs)` is called now and then.
pub fn stress<E>(
    sc: &Arc<Scenario>,
    opts: StressOptions,
    progress: &dyn Fn(f64, u64),
) -> Result<StressSummary, ThreadedError>
where
    E: Engine<Parts = Plain<MemStore>> + Clone + 'static,
    E::With<crate::explore::Tracing>: Clone,
{
    let explored = explore::explore::<E>(sc, Space::Reduced, 1, &|_| {})?;
    let explore_classes = explored.classes;
    let mut seeds = ChaCha8Rng::seed_from_u64(opts.seed);
    let mut classes = explore::Classes::default();
    let (mut runs, mut divergences, mut violations) = (0u64, 0u64, 0u64);
    let (mut first_divergences, mut first_violation) = (Vec::new(), None);
    let started = Instant::now();
    let limit = Duration::from_secs_f64(opts.seconds);
    let mut last_progress = Instant::now();
    while runs == 0 || started.elapsed() < limit {
        let run_seed: u64 = seeds.gen();
        let delays = delays(sc, run_seed, opts.max_delay_us);
        let pause: super::harness::Pause = Arc::new(move |s, k| {
            let us = delays[s][k];
            if us > 0 {
                std::thread::sleep(Duration::from_micros(us));
            }
        });
        let how = Schedule { pause: Some(pause), ..Schedule::default() };
        let run = run_threads::<E>(sc, &how)?;
        let replayed = replay::<E>(sc, &run.arrivals)?;
        let kinds = error_kinds(replayed.events.iter().map(|e| &**e));
        classes.add(&kinds, replayed.orphans, runs, || replayed.steps());
        if let Some(v) = &run.violation {
            violations += 1;
            first_violation.get_or_insert_with(|| format!("run {runs}: {v}"));
        }
        if let Some(Divergence { permutation, clock, differences }) = compare(&run, &replayed) {
            divergences += 1;
            if first_divergences.len() < 5 {
                first_divergences.push(Diverged { run: runs, permutation, clock, differences });
            }
        }
        runs += 1;
        if last_progress.elapsed() > Duration::from_millis(500) {
            last_progress = Instant::now();
            progress(started.elapsed().as_secs_f64(), runs);
        }
    }
    let seconds = started.elapsed().as_secs_f64();
    Ok(StressSummary {
        engine: E::KIND.name().to_string(),
        fk: String::new(),
        seed: opts.seed,
        seconds,
        runs,
        runs_per_second: runs as f64 / seconds.max(1e-9),
        classes: classes
            .into_classes()
            .into_iter()
            .map(|c| SeenClass {
                explored: explore_classes.iter().any(|e| e.outcome == c.outcome),
                outcome: c.outcome,
                runs: c.interleavings,
                example: c.example,
            })
            .collect(),
        explore_classes,
        divergences,
        first_divergences,
        grant_violations: violations,
        first_violation,
    })
}

/// The delay before each step of each session in one run (µs): none for half the steps, else
/// uniform up to `max`.
fn delays(sc: &Scenario, seed: u64, max: u64) -> Vec<Vec<u64>> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    sc.sessions
        .iter()
        .map(|p| p.steps.iter().map(|_| if rng.gen_bool(0.5) { 0 } else { rng.gen_range(0..=max) }).collect())
        .collect()
}

/// The readable summary.
pub fn text(s: &StressSummary) -> String {
    let mut out = format!(
        "engine {} fk {}: {} runs on threads in {:.1} s ({:.0} runs/s), seed {}\n",
        s.engine, s.fk, s.runs, s.seconds, s.runs_per_second, s.seed
    );
    out.push_str("  outcomes seen (runs, first arrival order; * = explore finds it too):\n");
    for c in &s.classes {
        let mark = if c.explored { "*" } else { " " };
        out.push_str(&format!("    {mark} {:<28} {:>8}  {}\n", c.outcome, c.runs, c.example));
    }
    let explored: Vec<String> =
        s.explore_classes.iter().map(|c| format!("{} ({})", c.outcome, c.interleavings)).collect();
    out.push_str(&format!("  explore's classes (interleavings of its reduced walk): {}\n", explored.join(", ")));
    match &s.first_violation {
        None => out.push_str("  grants:                 no two conflicting locks granted at once\n"),
        Some(v) => {
            out.push_str(&format!("  grants:                 BROKEN in {} runs; first: {v}\n", s.grant_violations))
        }
    }
    if s.divergences == 0 {
        out.push_str("  refinement:             every run is the step runner's run of its arrival order\n");
    } else {
        out.push_str(&format!(
            "  refinement:             {} runs DIVERGE from the step runner; first:\n",
            s.divergences
        ));
        for d in &s.first_divergences {
            out.push_str(&format!("    run {}: {}\n", d.run, d.permutation));
            for c in &d.clock {
                out.push_str(&format!("      {c}\n"));
            }
            for x in &d.differences {
                out.push_str(&format!("      {x}\n"));
            }
        }
    }
    out
}

/// `stress` with the engine chosen at run time.
pub struct StressTask<'a> {
    pub sc: &'a Arc<Scenario>,
    pub opts: StressOptions,
    pub progress: &'a dyn Fn(f64, u64),
}

impl EngineTask for StressTask<'_> {
    type Output = Result<StressSummary, ThreadedError>;
    fn run<E: Engine<Parts = Plain<MemStore>> + Clone + 'static>(self) -> Self::Output
    where
        E::With<crate::explore::Tracing>: Clone,
    {
        stress::<E>(self.sc, self.opts, self.progress)
    }
}
