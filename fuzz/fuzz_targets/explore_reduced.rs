//! A small spec decoded from the bytes (`fksim_fuzz::specs`: 2-3 sessions of 1-3 steps over a
//! parent and a child table) explored on InnoDB and PostgreSQL, FK on or off, with sleep-set
//! reduction and without (`fksim explore --no-reduce`): the same verdicts (the outcome classes,
//! whether any interleaving orphans or deadlocks, the error kinds, parent-lock waits, the longest
//! wait chain, as tests/explore.rs compares them), never more interleavings run reduced, no
//! stranded statement, no panic. Run with `cargo fuzz run explore_reduced` (docs/fuzzing.md).
#![no_main]

use arbitrary::Unstructured;
use fksim::explore::{explore_kind, Space, Summary};
use fksim::run::EngineKind;
use fksim::scenario::Scenario;
use fksim::spec::parse_spec;
use libfuzzer_sys::fuzz_target;

/// What exploration concludes, leaving out how many interleavings showed it (tests/explore.rs).
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

fuzz_target!(|data: &[u8]| {
    let mut u = Unstructured::new(data);
    let Ok(fk_on) = u.arbitrary::<bool>() else { return };
    let Ok(text) = fksim_fuzz::specs::small_spec(&mut u) else { return };
    let spec = parse_spec("fuzz.spec", &text).unwrap_or_else(|e| panic!("a decoded spec must parse: {e}\n{text}"));
    for engine in [EngineKind::Innodb, EngineKind::Postgres] {
        let sc = Scenario::load(spec.clone(), engine.schema(fk_on))
            .unwrap_or_else(|e| panic!("a decoded spec must load: {e}\n{text}"));
        let full = explore_kind(engine, &sc, Space::All, 1, &|_| {});
        let reduced = explore_kind(engine, &sc, Space::Reduced, 1, &|_| {});
        let (full, reduced) = match (full, reduced) {
            (Ok(f), Ok(r)) => (f, r),
            (Err(f), Err(r)) => {
                assert_eq!(f.to_string(), r.to_string(), "{engine:?} fk {fk_on}:\n{text}");
                continue;
            }
            (f, r) => panic!("{engine:?} fk {fk_on}: full {:?}, reduced {:?}\n{text}", f.err(), r.err()),
        };
        assert_eq!(verdict(&full), verdict(&reduced), "{engine:?} fk {fk_on}:\n{text}");
        assert!(reduced.explored <= full.explored, "{engine:?} fk {fk_on}:\n{text}");
        assert_eq!(full.stranded, 0, "{engine:?} fk {fk_on}: {:?}\n{text}", full.stranded_example);
        assert_eq!(reduced.stranded, 0, "{engine:?} fk {fk_on}: {:?}\n{text}", reduced.stranded_example);
    }
});
