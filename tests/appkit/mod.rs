//! Property-test kit for the application layer: seeded runners, workload and schedule
//! strategies, and failing schedules written out as spec files `fksim run` replays.
#![allow(dead_code)]

use fksim::app::drive::{run_app, AppRun};
use fksim::app::spec::Tail;
use fksim::app::workload::{Concrete, Draw, Workload};
use fksim::run::EngineKind;
use proptest::prelude::*;
use proptest::test_runner::{Config, RngAlgorithm, TestError, TestRng, TestRunner};
use std::path::PathBuf;

/// A workload file of model/workloads.
pub fn workload(name: &str) -> Workload {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("model/workloads").join(name);
    Workload::load(&path).unwrap_or_else(|e| panic!("{e}"))
}

/// The seed: `FKSIM_SEED`, or a fresh one.
pub fn seed() -> u64 {
    match std::env::var("FKSIM_SEED") {
        Ok(s) => s.trim().parse().unwrap_or_else(|_| panic!("FKSIM_SEED must be a u64, not {s:?}")),
        Err(_) => rand::random(),
    }
}

/// A runner seeded from `seed`, with `cases` cases unless `PROPTEST_CASES` says otherwise.
pub fn runner(seed: u64, cases: u32) -> TestRunner {
    let cases = std::env::var("PROPTEST_CASES").ok().and_then(|c| c.parse().ok()).unwrap_or(cases);
    let mut bytes = [0u8; 32];
    bytes[..8].copy_from_slice(&seed.to_le_bytes());
    let config = Config { cases, failure_persistence: None, max_shrink_iters: 2000, ..Config::default() };
    TestRunner::new_with_rng(config, TestRng::from_seed(RngAlgorithm::ChaCha, &bytes))
}

/// Concrete session scripts drawn like `Workload::generate`, but shrinkable: fewer transactions,
/// fewer actions, draws towards zero (the first action kind, the first hot user).
pub fn concrete(w: &Workload) -> impl Strategy<Value = Concrete> {
    let w = w.clone();
    let [lo, hi] = *w.actions_per_txn.get_ref();
    let draw = (any::<u32>(), any::<u32>(), any::<u32>()).prop_map(|(kind, user, item)| Draw { kind, user, item });
    let txn = prop::collection::vec(draw, lo as usize..=hi as usize);
    let session = prop::collection::vec(txn, 1..=*w.transactions.get_ref() as usize);
    prop::collection::vec(session, *w.sessions.get_ref() as usize).prop_map(move |d| w.concrete(&d))
}

/// A schedule for up to `steps` steps: see `Layout::order` (all zeros: one session after another).
pub fn schedule(steps: usize, sessions: usize) -> impl Strategy<Value = Vec<usize>> {
    prop::collection::vec(0..sessions.max(1), steps)
}

/// The most steps a workload's sessions can have (get_or_create is three steps).
pub fn max_steps(w: &Workload) -> usize {
    let per_txn = 3 * w.actions_per_txn.get_ref()[1] as usize + 2;
    *w.sessions.get_ref() as usize * *w.transactions.get_ref() as usize * per_txn
}

/// A workload and a schedule for it.
pub fn case(w: &Workload) -> impl Strategy<Value = (Concrete, Vec<usize>)> {
    (concrete(w), schedule(max_steps(w), *w.sessions.get_ref() as usize))
}

/// `NAME-ENGINE-fk-FK`: a property's name on one engine and FK setting.
fn label(name: &str, engine: EngineKind, fk_on: bool) -> String {
    format!("{name}-{}-fk-{}", engine.name(), if fk_on { "on" } else { "off" })
}

/// Run one case.
pub fn run(c: &Concrete, sched: &[usize], engine: EngineKind, fk_on: bool, tail: Tail, comment: &str) -> AppRun {
    run_app(c, sched, engine, fk_on, tail, comment).unwrap_or_else(|e| panic!("generated run failed to load: {e}"))
}

/// Write a failing run's spec to target/fksim-failures/NAME.spec, headed by the command that
/// replays it; returns its path.
pub fn write_failure(name: &str, r: &AppRun) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/fksim-failures");
    std::fs::create_dir_all(&dir).expect("create target/fksim-failures");
    let path = dir.join(format!("{name}.spec"));
    std::fs::write(&path, r.written(&path)).expect("write failing spec");
    path
}

/// Check `prop` on `cases` random workloads and schedules of `w`; on failure, shrink, write the
/// minimal run as a spec and panic with its path, the seed and the replay command.
pub fn check(
    name: &str,
    w: &Workload,
    engine: EngineKind,
    fk_on: bool,
    tail: Tail,
    cases: u32,
    prop: impl Fn(&AppRun) -> Result<(), String>,
) {
    check_cases(name, case(w), engine, fk_on, tail, cases, prop)
}

/// `check` over any strategy of workloads and schedules.
pub fn check_cases(
    name: &str,
    cases_strategy: impl Strategy<Value = (Concrete, Vec<usize>)>,
    engine: EngineKind,
    fk_on: bool,
    tail: Tail,
    cases: u32,
    prop: impl Fn(&AppRun) -> Result<(), String>,
) {
    let seed = seed();
    let full = label(name, engine, fk_on);
    eprintln!("{full}: FKSIM_SEED={seed}");
    let comment = format!("{full}, FKSIM_SEED={seed}");
    let mut runner = runner(seed, cases);
    let result = runner.run(&cases_strategy, |(c, sched)| {
        let r = run(&c, &sched, engine, fk_on, tail, &comment);
        prop(&r).map_err(TestCaseError::fail)
    });
    match result {
        Ok(()) => {}
        Err(TestError::Fail(why, (c, sched))) => {
            let r = run(&c, &sched, engine, fk_on, tail, &comment);
            let path = write_failure(&full, &r);
            panic!(
                "{full} failed (FKSIM_SEED={seed}): {why}\nminimal run written to {}\nreplay: {}",
                path.display(),
                r.replay_command(&path)
            );
        }
        Err(e) => panic!("{full} (FKSIM_SEED={seed}): {e}"),
    }
}

/// Search `cases` random runs for one where `found` holds; return the first (written out as a
/// spec under target/fksim-failures/NAME.spec, as evidence) or None.
pub fn find(
    name: &str,
    w: &Workload,
    engine: EngineKind,
    fk_on: bool,
    tail: Tail,
    cases: u32,
    found: impl Fn(&AppRun) -> bool,
) -> Option<(AppRun, PathBuf)> {
    let seed = seed();
    let full = label(name, engine, fk_on);
    eprintln!("{full}: FKSIM_SEED={seed}");
    let comment = format!("{full}, FKSIM_SEED={seed}");
    // Shrinking finds a small example: the "property" is that the outcome does not happen.
    let mut runner = runner(seed, cases);
    let result = runner.run(&case(w), |(c, sched)| {
        let r = run(&c, &sched, engine, fk_on, tail, &comment);
        if found(&r) {
            Err(TestCaseError::fail("found"))
        } else {
            Ok(())
        }
    });
    match result {
        Err(TestError::Fail(_, (c, sched))) => {
            let r = run(&c, &sched, engine, fk_on, tail, &comment);
            let path = write_failure(&full, &r);
            eprintln!("{full}: example written to {}", path.display());
            Some((r, path))
        }
        _ => None,
    }
}
