//! Every scenario gives byte-identical output on the in-memory and the sled store, and twice in a
//! row on the same store (same input, same output).

mod common;
use common::*;
use fksim::run::{run_scenario, EngineKind};
use fksim::store::{MemStore, SledStore};

#[test]
fn memory_and_sled_agree_on_every_scenario() {
    let files = scenario_files();
    assert!(files.len() >= 10, "scenarios missing: {files:?}");
    for path in files {
        for engine in [EngineKind::Innodb, EngineKind::Postgres] {
            for fk_on in [true, false] {
                let sc = load_file_for(&path, engine, fk_on);
                let mem = as_json(&run_scenario(&sc, engine, MemStore::default()).expect("memory run"));
                let sled =
                    as_json(&run_scenario(&sc, engine, SledStore::temporary().expect("sled")).expect("sled run"));
                assert_eq!(mem, sled, "{} {engine:?} fk_on={fk_on}: memory and sled stores differ", path.display());
            }
        }
    }
}

#[test]
fn same_input_same_output() {
    for path in scenario_files() {
        for engine in [EngineKind::Innodb, EngineKind::Postgres] {
            let sc = load_file_for(&path, engine, true);
            let first = as_json(&run_on(&sc, engine));
            let second = as_json(&run_on(&sc, engine));
            assert_eq!(first, second, "{} {engine:?}: two runs differ", path.display());
        }
    }
}
