//! Helpers shared by the behaviour tests.
#![allow(dead_code)]

use fksim::engine::innodb::InnoDb;
use fksim::engine::Plain;
use fksim::report::json;
use fksim::run::{run_kind, run_scenario, EngineKind, PermutationReport, Timing};
use fksim::scenario::Scenario;
use fksim::spec::parse_spec;
use fksim::store::SledStore;
use std::path::{Path, PathBuf};

pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Every scenario shipped in model/scenarios.
pub fn scenario_files() -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = std::fs::read_dir(repo().join("model/scenarios"))
        .expect("model/scenarios exists")
        .map(|e| e.expect("readable dir").path())
        .filter(|p| p.extension().is_some_and(|e| e == "spec"))
        .collect();
    out.sort();
    out
}

/// The engines a shipped scenario is for: those it has live recordings of
/// (`model/scenarios/expected/NAME.ENGINE.*`; a PostgreSQL-only spec, such as one with deferrable
/// foreign keys, has none for InnoDB, which refuses it). Any other spec is for both.
pub fn engines_for(path: &Path) -> Vec<EngineKind> {
    let both = vec![EngineKind::Innodb, EngineKind::Postgres];
    let Some(name) = path.file_stem().and_then(|n| n.to_str()) else { return both };
    let expected = repo().join("model/scenarios/expected");
    if path.parent() != Some(repo().join("model/scenarios").as_path()) {
        return both;
    }
    [(EngineKind::Innodb, "innodb"), (EngineKind::Postgres, "postgres")]
        .into_iter()
        .filter(|(_, e)| expected.join(format!("{name}.{e}.fk-on.jsonl")).exists())
        .map(|(k, _)| k)
        .collect()
}

pub fn load_text(name: &str, text: &str, fk_on: bool) -> Scenario {
    load_text_for(name, text, EngineKind::Innodb, fk_on)
}

/// Bind a spec as `fksim` does for `engine` (InnoDB creates an index for an FK that has none).
pub fn load_text_for(name: &str, text: &str, engine: EngineKind, fk_on: bool) -> Scenario {
    let spec = parse_spec(name, text).unwrap_or_else(|e| panic!("{e}"));
    Scenario::load(spec, engine.schema(fk_on)).unwrap_or_else(|e| panic!("{e}"))
}

pub fn load_file_for(path: &Path, engine: EngineKind, fk_on: bool) -> Scenario {
    let text = std::fs::read_to_string(path).expect("readable spec");
    load_text_for(&path.display().to_string(), &text, engine, fk_on)
}

pub fn run_on(sc: &Scenario, engine: EngineKind) -> Vec<PermutationReport> {
    run_kind(engine, sc, Timing::default()).unwrap_or_else(|e| panic!("{e}"))
}

pub fn load_file(path: &Path, fk_on: bool) -> Scenario {
    let text = std::fs::read_to_string(path).expect("readable spec");
    load_text(&path.display().to_string(), &text, fk_on)
}

pub fn run_mem(sc: &Scenario) -> Vec<PermutationReport> {
    run_on(sc, EngineKind::Innodb)
}

pub fn run_sled(sc: &Scenario) -> Vec<PermutationReport> {
    run_scenario::<InnoDb<Plain<SledStore>>>(sc, SledStore::temporary().expect("temporary sled"))
        .unwrap_or_else(|e| panic!("{e}"))
}

pub fn as_json(reports: &[PermutationReport]) -> String {
    reports.iter().map(json::permutation).collect()
}

/// One reported step: (step, outcome, error).
pub type StepOutcome = (String, String, Option<String>);

/// A permutation as compare_spec.py reads it: step names, step outcomes, orphans.
pub type PermOutcome = (Vec<String>, Vec<StepOutcome>, Option<u64>);

/// The outcomes of each permutation in JSON Lines output.
pub fn outcomes(jsonl: &str) -> Vec<PermOutcome> {
    let mut perms: Vec<PermOutcome> = Vec::new();
    for line in jsonl.lines().filter(|l| !l.trim().is_empty()) {
        let v: serde_json::Value = serde_json::from_str(line).expect("JSON line");
        if let Some(p) = v.get("permutation") {
            let names = p.as_array().expect("array").iter().map(|s| s.as_str().expect("name").to_string()).collect();
            perms.push((names, Vec::new(), None));
        } else if let Some(step) = v.get("step") {
            let last = perms.last_mut().expect("step after permutation");
            last.1.push((
                step.as_str().expect("step name").to_string(),
                v["outcome"].as_str().expect("outcome").to_string(),
                v["error"].as_str().map(str::to_string),
            ));
        } else if let Some(n) = v.get("orphans") {
            perms.last_mut().expect("orphans after permutation").2 = n.as_u64();
        }
    }
    perms
}

/// Connect to a live server, or explain loudly why the test cannot run (with CI=true, fail).
pub fn connect_or_skip(live: fksim::conform::Live, url: &str) -> Option<fksim::conform::LiveDb> {
    match fksim::conform::LiveDb::connect(live, url, Timing::default()) {
        Ok(db) => Some(db),
        Err(e) => {
            if std::env::var("CI").as_deref() == Ok("true") {
                panic!("CI=true and the server is not reachable: {e}");
            }
            eprintln!("\n*** SKIPPED: no {live:?} at {url}: {e} ***\n");
            None
        }
    }
}

/// The shipped cost file of `kind` with lock waits timing out after `seconds` (its `[settings]`:
/// `innodb_lock_wait_timeout` for InnoDB, `lock_timeout` for PostgreSQL).
pub fn costs_with_timeout(kind: EngineKind, seconds: f64) -> fksim::sim::Costs {
    let mut costs = fksim::sim::shipped_costs(kind);
    costs.settings.lock_wait_timeout_s = Some(seconds);
    costs.settings.lock_timeout_ms = Some(seconds * 1000.0);
    costs
}

/// A good two-session spec the CLI tests run and break: a child insert under the FK, a parent
/// update of the same row.
pub const GOOD: &str = "setup { CREATE TABLE parent (id INT PRIMARY KEY, note VARCHAR(20)); CREATE TABLE child (id INT PRIMARY KEY, parent_id INT NOT NULL, FOREIGN KEY (parent_id) REFERENCES parent (id)); INSERT INTO parent VALUES (1, 'a'); }
session s1
setup { BEGIN; }
step s1i { INSERT INTO child VALUES (1, 1); }
step s1c { COMMIT; }
session s2
step s2u { UPDATE parent SET note = 'b' WHERE id = 1; }
permutation s1i s2u s1c
";

/// What a finished `fksim` command printed.
pub struct Ran {
    pub code: i32,
    pub out: String,
    pub err: String,
}

/// Run the `fksim` binary with `args` and wait for it.
pub fn fksim(args: &[&str]) -> Ran {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_fksim")).args(args).output().expect("run fksim");
    Ran {
        code: out.status.code().unwrap_or(-1),
        out: String::from_utf8_lossy(&out.stdout).into(),
        err: String::from_utf8_lossy(&out.stderr).into(),
    }
}
