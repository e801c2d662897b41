//! `fksim explore`: every interleaving or a seeded sample, the same answer on any thread count,
//! and counterexamples that `fksim run --permutation` replays.

mod common;
use common::*;
use fksim::explore::{explore_kind, Space, Summary};
use fksim::run::{run_kind, EngineKind, Timing};
use fksim::scenario::Scenario;

/// delete-user-race with its permutation line removed: every interleaving is explored.
fn race(engine: EngineKind, fk_on: bool) -> Scenario {
    let text = std::fs::read_to_string(repo().join("model/scenarios/delete-user-race.spec")).expect("spec");
    let text: String = text.lines().filter(|l| !l.starts_with("permutation")).map(|l| format!("{l}\n")).collect();
    load_text_for("delete-user-race-all.spec", &text, engine, fk_on)
}

fn run(sc: &Scenario, engine: EngineKind, space: Space, threads: usize) -> Summary {
    explore_kind(engine, sc, space, threads, &|_| {}).expect("explores")
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
    let r = run_kind(engine, &only, Timing::default()).expect("replays");
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
        for engine in engines_for(&path) {
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

/// PostgreSQL's heap scans read predicates, so the 4x3 benchmark's inserts, updates and commits of
/// other users' rows commute: FK on (each enrollment's RI check reads its user) and off.
#[test]
fn postgres_reduction_runs_far_fewer_of_the_four_by_three_benchmark() {
    let bench = repo().join("model/bench/four-by-three.spec");
    let sc = load_file_for(&bench, EngineKind::Postgres, true);
    let full = run(&sc, EngineKind::Postgres, Space::All, 2);
    let reduced = run(&sc, EngineKind::Postgres, Space::Reduced, 2);
    assert_eq!(full.explored, 369_600);
    assert_eq!(verdict(&full), verdict(&reduced));
    assert!(reduced.explored * 50 < full.explored, "{} of {}", reduced.explored, full.explored);
    let off = run(&load_file_for(&bench, EngineKind::Postgres, false), EngineKind::Postgres, Space::Reduced, 2);
    assert_eq!(verdict(&off), verdict(&full), "FK off: every interleaving is clean too");
    assert!(off.explored * 200 < full.explored, "FK off: {}", off.explored);
}

/// Two inserts into one table take heap roots from one counter, so their order decides the order
/// a later multi-row UPDATE locks the rows in, and so whether it deadlocks: the deadlock needs
/// s2's row first. s2's insert into another table before it moves the counter, so that only the
/// root-draw rule (not a shared key) makes the two inserts dependent.
#[test]
fn reduction_keeps_both_heap_orders_of_two_inserts() {
    let text = "setup\n{\n  CREATE TABLE t (id INT PRIMARY KEY, v INT);\n  CREATE TABLE log (id INT PRIMARY KEY);\n}\n\
                session s1\nsetup { BEGIN; }\n\
                step s1i { INSERT INTO t VALUES (1, 0); }\nstep s1c { COMMIT; }\n\
                session s2\nsetup { BEGIN; }\n\
                step s2x { INSERT INTO log VALUES (1); }\nstep s2i { INSERT INTO t VALUES (2, 0); }\n\
                step s2c { COMMIT; }\n\
                session s3\nsetup { BEGIN; }\n\
                step s3a { UPDATE t SET v = 1 WHERE id = 1; }\nstep s3b { UPDATE t SET v = 1 WHERE id = 2; }\n\
                step s3c { COMMIT; }\n\
                session s4\nstep s4a { UPDATE t SET v = 2; }\n";
    let sc = load_text_for("heap-order.spec", text, EngineKind::Postgres, true);
    let full = run(&sc, EngineKind::Postgres, Space::All, 2);
    let reduced = run(&sc, EngineKind::Postgres, Space::Reduced, 2);
    assert!(full.with_deadlocks > 0);
    assert_eq!(verdict(&full), verdict(&reduced));
    assert!(reduced.explored < full.explored);
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

/// A random spec over a parent and a child table: three sessions of three steps drawn from
/// inserts, key and non-key updates, deletes, locking and plain reads, `NOT IN (SELECT ...)`
/// sweeps, commits and rollbacks, at READ COMMITTED or REPEATABLE READ or in autocommit.
fn random_spec(seed: u64) -> String {
    use rand::{Rng, SeedableRng};
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    let mut text = String::from(
        "setup\n{\n  CREATE TABLE p (id INT PRIMARY KEY, name VARCHAR(10) UNIQUE, v INT);\n  \
         CREATE TABLE c (id INT PRIMARY KEY, pid INT, v INT, FOREIGN KEY (pid) REFERENCES p (id));\n  \
         CREATE INDEX c_pid ON c (pid);\n  \
         INSERT INTO p VALUES (1, 'a', 0), (2, 'b', 1), (3, 'c', 0);\n  \
         INSERT INTO c VALUES (10, 1, 0), (11, 2, 1);\n}\nteardown\n{\n  DROP TABLE c;\n  DROP TABLE p;\n}\n",
    );
    for s in 1..=3 {
        text.push_str(&format!("session s{s}\n"));
        match rng.gen_range(0..3) {
            0 => text.push_str("setup { BEGIN; }\n"),
            1 => text.push_str("setup { BEGIN ISOLATION LEVEL REPEATABLE READ; }\n"),
            _ => {}
        }
        for i in 1..=3 {
            let (k, j, v) = (rng.gen_range(1..=4), rng.gen_range(10..=13), rng.gen_range(0..=2));
            let stmt = match rng.gen_range(0..16) {
                0 => format!("INSERT INTO c VALUES ({}, {k}, {v});", rng.gen_range(12..=14)),
                1 => format!("INSERT INTO p VALUES ({}, 'n{k}', {v});", rng.gen_range(4..=5)),
                2 => format!("UPDATE p SET v = v + 1 WHERE id = {k};"),
                3 => format!("UPDATE p SET v = {v} WHERE v = {};", rng.gen_range(0..=2)),
                4 => format!("UPDATE p SET id = {} WHERE id = {k};", k + 4),
                5 => format!("UPDATE p SET name = 'x' WHERE id = {k};"),
                6 => format!("UPDATE c SET pid = {k} WHERE id = {j};"),
                7 => format!("UPDATE c SET v = {v} WHERE pid = {k};"),
                8 => format!("DELETE FROM p WHERE id = {k};"),
                9 => format!("DELETE FROM c WHERE pid = {k};"),
                10 => format!("SELECT * FROM p WHERE v = {v} FOR UPDATE;"),
                11 => format!("SELECT * FROM p WHERE id = {k} FOR KEY SHARE;"),
                12 => format!("SELECT * FROM c WHERE v = {v};"),
                13 => "DELETE FROM c WHERE pid NOT IN (SELECT id FROM p);".to_string(),
                14 => "ROLLBACK;".to_string(),
                _ => "COMMIT;".to_string(),
            };
            text.push_str(&format!("step s{s}x{i} {{ {stmt} }}\n"));
        }
    }
    text
}

/// Random specs, both engines, FK on and off: reduced and full give the same verdicts.
/// `FKSIM_RANDOM_SPECS=n` runs n specs instead of a few.
#[test]
fn reduction_reaches_the_verdicts_of_the_full_space_on_random_specs() {
    let n: u64 = std::env::var("FKSIM_RANDOM_SPECS").ok().and_then(|v| v.parse().ok()).unwrap_or(6);
    let (mut reduced_total, mut full_total, mut varied) = (0, 0, 0);
    for seed in 0..n {
        let text = random_spec(seed);
        for engine in [EngineKind::Innodb, EngineKind::Postgres] {
            for fk_on in [true, false] {
                let sc = load_text_for(&format!("random-{seed}.spec"), &text, engine, fk_on);
                let full = run(&sc, engine, Space::All, 2);
                let reduced = run(&sc, engine, Space::Reduced, 2);
                assert_eq!(verdict(&full), verdict(&reduced), "seed {seed} {engine:?} fk {fk_on}:\n{text}");
                assert_eq!(full.stranded, 0, "seed {seed} {engine:?} fk {fk_on}: {:?}\n{text}", full.stranded_example);
                reduced_total += reduced.explored;
                full_total += full.explored;
                varied += usize::from(full.classes.len() > 1);
            }
        }
    }
    eprintln!("random specs: {reduced_total} of {full_total} interleavings run, {varied} runs with several outcomes");
}

/// The ring of issue 10 as it was reported: single-row enrollments, so the weights of the second
/// cycle's members tie.
fn tied_ring() -> String {
    let text = std::fs::read_to_string(repo().join("model/scenarios/deadlock-ring.spec")).expect("spec");
    text.replace("(2, 3, 'c1', TRUE), (5, 3, 'c2', TRUE)", "(2, 3, 'c2', TRUE)")
        .replace("(3, 1, 'c1', TRUE), (6, 1, 'c2', TRUE)", "(3, 1, 'c3', TRUE)")
}

/// A scenario with more interleavings than this (a catalogue of cases such as
/// `vacuum-skip-locked`: 68.6 million) is checked on a seeded sample of `SAMPLE` of them.
const FULL_WALK_LIMIT: u128 = 2_000_000;
const SAMPLE: u64 = 200_000;

/// The end invariant (no statement left unfinished unless its session is blocked on a lock) over
/// every interleaving of every shipped scenario (a seeded sample of those above
/// `FULL_WALK_LIMIT`), of the 4-session deadlock ring with tied weights, and of the 4x3
/// benchmark, both engines, FK on and off, without reduction.
#[test]
fn no_statement_is_left_unfinished_unless_blocked() {
    let mut specs: Vec<(String, String)> = scenario_files()
        .into_iter()
        .map(|p| (p.display().to_string(), std::fs::read_to_string(&p).expect("spec")))
        .collect();
    specs.push(("tied-ring.spec".into(), tied_ring()));
    let bench = repo().join("model/bench/four-by-three.spec");
    specs.push((bench.display().to_string(), std::fs::read_to_string(&bench).expect("spec")));
    let mut checked = 0;
    for (name, text) in specs {
        let text: String = text.lines().filter(|l| !l.starts_with("permutation")).map(|l| format!("{l}\n")).collect();
        for engine in engines_for(std::path::Path::new(&name)) {
            for fk_on in [true, false] {
                let sc = load_text_for(&name, &text, engine, fk_on);
                let space = fksim::spec::count_interleavings(&sc.spec.step_counts());
                let walk = if space > FULL_WALK_LIMIT {
                    println!("{name}: {space} interleavings, a sample of {SAMPLE} (seed 1)");
                    Space::Sample { count: SAMPLE, seed: 1 }
                } else {
                    Space::All
                };
                let full = run(&sc, engine, walk, 2);
                assert_eq!(full.stranded, 0, "{name} {engine:?} fk {fk_on}: first {:?}", full.stranded_example);
                checked += full.explored;
            }
        }
    }
    assert!(checked > 1_000_000, "{checked} interleavings checked");
}

/// Issue 10's permutation: s1's login closes a first cycle and is its victim; its rollback leaves a
/// second cycle that InnoDB's deferred check finds, and that victim's waiting login ends with the
/// deadlock error too (it used to be left waiting and was cancelled as `other`).
#[test]
fn the_second_victim_of_a_deadlock_ring_gets_its_error() {
    for (name, text) in [
        ("tied-ring.spec", tied_ring()),
        (
            "deadlock-ring.spec",
            std::fs::read_to_string(repo().join("model/scenarios/deadlock-ring.spec")).expect("spec"),
        ),
    ] {
        let sc = load_text_for(name, &text, EngineKind::Innodb, true);
        let reports = run_on(&sc, EngineKind::Innodb);
        for r in &reports {
            let deadlocks = r.events.iter().filter(|e| e.error.as_ref().is_some_and(|x| x.kind.name() == "deadlock"));
            assert_eq!(deadlocks.count(), 2, "{name} {:?}", r.steps);
            assert!(r.events.iter().all(|e| e.error.as_ref().is_none_or(|x| x.kind.name() == "deadlock")));
            assert!(r.stranded.is_empty());
        }
    }
}
