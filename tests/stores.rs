//! Every scenario gives byte-identical output on the in-memory and the sled store, and twice in a
//! row on the same store (same input, same output).

mod common;
use common::*;
use fksim::engine::{Engine, EngineTask, Plain};
use fksim::explore::Tracing;
use fksim::run::run_scenario;
use fksim::scenario::Scenario;
use fksim::store::{MemStore, SledStore};

/// A scenario's JSON Lines on the in-memory store and on sled, with the engine chosen at run time.
struct BothStores<'a>(&'a Scenario);

impl EngineTask for BothStores<'_> {
    type Output = (String, String);
    fn run<E: Engine<Parts = Plain<MemStore>> + Clone + 'static>(self) -> Self::Output
    where
        E::With<Tracing>: Clone,
    {
        let mem = as_json(&run_scenario::<E>(self.0, MemStore::default()).expect("memory run"));
        let sled = SledStore::temporary().expect("sled");
        let sled = as_json(&run_scenario::<E::With<Plain<SledStore>>>(self.0, sled).expect("sled run"));
        (mem, sled)
    }
}

#[test]
fn memory_and_sled_agree_on_every_scenario() {
    let files = scenario_files();
    assert!(files.len() >= 10, "scenarios missing: {files:?}");
    for path in files {
        for engine in engines_for(&path) {
            for fk_on in [true, false] {
                let sc = load_file_for(&path, engine, fk_on);
                let (mem, sled) = engine.run(BothStores(&sc));
                assert_eq!(mem, sled, "{} {engine:?} fk_on={fk_on}: memory and sled stores differ", path.display());
            }
        }
    }
}

#[test]
fn same_input_same_output() {
    for path in scenario_files() {
        for engine in engines_for(&path) {
            let sc = load_file_for(&path, engine, true);
            let first = as_json(&run_on(&sc, engine));
            let second = as_json(&run_on(&sc, engine));
            assert_eq!(first, second, "{} {engine:?}: two runs differ", path.display());
        }
    }
}
