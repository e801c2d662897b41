//! `fksim explore`: every interleaving or a seeded sample, the same answer on any thread count,
//! and counterexamples that `fksim run --permutation` replays.

mod common;
use common::*;
use fksim::explore::{explore, Space, Summary};
use fksim::run::{run_scenario, EngineKind};
use fksim::scenario::Scenario;
use fksim::store::MemStore;

/// delete-user-race with its permutation line removed: every interleaving is explored.
fn race(engine: EngineKind, fk_on: bool) -> Scenario {
    let text = std::fs::read_to_string(repo().join("model/scenarios/delete-user-race.spec")).expect("spec");
    let text: String = text.lines().filter(|l| !l.starts_with("permutation")).map(|l| format!("{l}\n")).collect();
    load_text_for("delete-user-race-all.spec", &text, engine, fk_on)
}

fn run(sc: &Scenario, engine: EngineKind, space: Space, threads: usize) -> Summary {
    explore(sc, engine, space, threads, &|_| {}).expect("explores")
}

/// Replay a class's example alone and return its outcome class name.
fn replay(sc: &Scenario, engine: EngineKind, example: &str) -> (usize, bool) {
    let mut only = sc.clone();
    let names: Vec<fksim::spec::PermStep> = example
        .trim_start_matches("permutation ")
        .split_whitespace()
        .map(|n| fksim::spec::PermStep { name: n.into(), markers: vec![], pos: Default::default() })
        .collect();
    only.spec.permutations = vec![fksim::spec::Permutation { steps: names, pos: Default::default() }];
    let r = run_scenario(&only, engine, MemStore::default()).expect("replays");
    (r[0].orphans, r[0].events.iter().any(|e| e.error.is_some()))
}

#[test]
fn fk_on_never_orphans_and_fk_off_orphans_without_parent_waits() {
    for engine in [EngineKind::Innodb, EngineKind::Postgres] {
        let on = run(&race(engine, true), engine, Space::All, 2);
        assert_eq!(on.space, "15");
        assert_eq!(on.explored, 15);
        assert_eq!(on.with_orphans, 0, "{engine:?} FK on");
        let off_sc = race(engine, false);
        let off = run(&off_sc, engine, Space::All, 2);
        assert!(off.with_orphans > 0, "{engine:?} FK off");
        assert_eq!(off.parent_lock_waits, 0, "{engine:?} FK off");
        let orphan_class = off.classes.iter().find(|c| c.outcome.contains("orphans")).expect("an orphan class");
        assert!(replay(&off_sc, engine, &orphan_class.example).0 > 0, "the example replays the orphan");
    }
}

#[test]
fn innodb_fk_on_has_deadlocks_and_parent_waits() {
    let s = run(&race(EngineKind::Innodb, true), EngineKind::Innodb, Space::All, 1);
    assert!(s.with_deadlocks > 0);
    assert!(s.parent_lock_waits > 0);
    assert!(s.longest_wait_chain >= 2);
}

#[test]
fn the_answer_does_not_depend_on_the_thread_count() {
    let sc = load_file(&repo().join("model/bench/three-by-three.spec"), true);
    let one = run(&sc, EngineKind::Innodb, Space::All, 1);
    let two = run(&sc, EngineKind::Innodb, Space::All, 2);
    let three = run(&sc, EngineKind::Innodb, Space::All, 3);
    assert_eq!(one.explored, 1680);
    assert_eq!(one, two);
    assert_eq!(one, three);
}

#[test]
fn a_sample_is_reproduced_by_its_seed() {
    let sc = load_file(&repo().join("model/bench/three-by-three.spec"), true);
    let a = run(&sc, EngineKind::Innodb, Space::Sample { count: 200, seed: 42 }, 1);
    let b = run(&sc, EngineKind::Innodb, Space::Sample { count: 200, seed: 42 }, 2);
    let c = run(&sc, EngineKind::Innodb, Space::Sample { count: 200, seed: 43 }, 1);
    assert_eq!(a, b);
    assert_eq!(a.seed, Some(42));
    assert_eq!(a.explored, 200);
    assert_ne!(a.classes, c.classes, "another seed draws other interleavings");
}

/// What exploration concludes, leaving out how many interleavings showed it.
fn verdict(s: &Summary) -> (Vec<String>, bool, bool, Vec<String>, bool, usize) {
    let mut classes: Vec<String> = s.classes.iter().map(|c| c.outcome.clone()).collect();
    classes.sort();
    (
        classes,
        s.with_orphans > 0,
        s.with_deadlocks > 0,
        s.with_error.keys().cloned().collect(),
        s.parent_lock_waits > 0,
        s.longest_wait_chain,
    )
}

/// Every shipped scenario with its permutation lines removed, explored with and without
/// reduction on both engines, FK on and off: the same verdicts, and never more interleavings run.
#[test]
fn reduction_reaches_the_verdicts_of_the_full_space() {
    let mut reduced_total = 0;
    let mut full_total = 0;
    for path in scenario_files() {
        let text = std::fs::read_to_string(&path).expect("spec");
        let text: String = text.lines().filter(|l| !l.starts_with("permutation")).map(|l| format!("{l}\n")).collect();
        for engine in [EngineKind::Innodb, EngineKind::Postgres] {
            for fk_on in [true, false] {
                let sc = load_text_for(&path.display().to_string(), &text, engine, fk_on);
                let counts = sc.spec.step_counts();
                if fksim::spec::count_interleavings(&counts) > 5_000 {
                    continue;
                }
                let full = run(&sc, engine, Space::All, 2);
                let reduced = run(&sc, engine, Space::Reduced, 2);
                assert_eq!(verdict(&full), verdict(&reduced), "{} {engine:?} fk {fk_on}", path.display());
                assert!(reduced.explored <= full.explored);
                for class in &reduced.classes {
                    let example = full.classes.iter().find(|c| c.outcome == class.outcome).expect("same classes");
                    let _ = example;
                    let (orphans, errors) = replay(&sc, engine, &class.example);
                    assert_eq!(orphans > 0, class.outcome.contains("orphans"), "{} replays", class.example);
                    assert_eq!(errors, class.outcome != "clean" && class.outcome != "orphans", "{}", class.example);
                }
                reduced_total += reduced.explored;
                full_total += full.explored;
            }
        }
    }
    assert!(full_total > 1000, "the scenarios give a real space to reduce ({full_total})");
    eprintln!("reduction: {reduced_total} of {full_total} interleavings run");
    assert!(reduced_total < full_total, "reduction runs fewer interleavings");
}

#[test]
fn reduction_runs_far_fewer_of_the_benchmark_with_the_same_verdicts() {
    let sc = load_file(&repo().join("model/bench/three-by-three.spec"), false);
    let full = run(&sc, EngineKind::Innodb, Space::All, 2);
    let reduced = run(&sc, EngineKind::Innodb, Space::Reduced, 2);
    assert_eq!(verdict(&full), verdict(&reduced));
    assert!(reduced.explored * 10 < full.explored, "{} of {}", reduced.explored, full.explored);
    let again = run(&sc, EngineKind::Innodb, Space::Reduced, 1);
    assert_eq!(reduced, again, "the reduced walk does not depend on the thread count");
}
