//! The model against outcomes recorded on real engines: every recording in
//! model/scenarios/expected (MariaDB as `innodb`, PostgreSQL as `postgres`) must be reproduced
//! exactly, without a server.

mod common;
use common::*;
use fksim::run::EngineKind;

#[test]
fn model_reproduces_every_recording() {
    let expected_dir = repo().join("model/scenarios/expected");
    let mut checked = 0;
    let mut failures = Vec::new();
    for entry in std::fs::read_dir(&expected_dir).expect("expected dir") {
        let path = entry.expect("entry").path();
        let base = path.file_name().and_then(|n| n.to_str()).expect("name").trim_end_matches(".jsonl").to_string();
        let parts: Vec<&str> = base.rsplitn(3, '.').collect();
        let (fk, engine, name) = (parts[0], parts[1], parts[2]);
        let engine = match engine {
            "innodb" => EngineKind::Innodb,
            "postgres" => EngineKind::Postgres,
            other => panic!("{base}: unknown engine {other}"),
        };
        let sc = load_file_for(&repo().join("model/scenarios").join(format!("{name}.spec")), engine, fk == "fk-on");
        let got = outcomes(&as_json(&run_on(&sc, engine)));
        let want = outcomes(&std::fs::read_to_string(&path).expect("recording"));
        for (i, w) in want.iter().enumerate() {
            checked += 1;
            if got.get(i) != Some(w) {
                failures.push(format!("{base} permutation {}: want {w:?}\n  got {:?}", i + 1, got.get(i)));
            }
        }
    }
    assert!(checked >= 100, "only {checked} recorded permutations found");
    assert!(
        failures.is_empty(),
        "{} of {checked} recorded permutations differ:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
