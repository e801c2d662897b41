//! PostgreSQL's own isolation tests as a check of the PostgreSQL profile. Point
//! FKSIM_PG_ISOLATION at `src/test/isolation` of a PostgreSQL 15 source tree. Every spec there
//! either loads, or is refused with an error (never a panic). Every spec that loads and does not
//! use SERIALIZABLE (SSI is not modelled) must print exactly PostgreSQL's expected output, minus
//! fksim's own `--` notes and orphan lines; one that uses it is compared too, and counted as
//! identical when it matches, but a difference there is not a failure.

use fksim::report::text;
use fksim::run::{run_kind, EngineKind, Timing};
use fksim::scenario::Scenario;
use fksim::spec::parse_spec_file;
use std::path::PathBuf;

fn trimmed(s: &str) -> String {
    s.lines().map(str::trim_end).collect::<Vec<_>>().join("\n").trim_end().to_string()
}

#[test]
fn postgres_isolation_specs_agree_with_their_expected_output() {
    let Ok(dir) = std::env::var("FKSIM_PG_ISOLATION") else {
        eprintln!("\n*** SKIPPED: set FKSIM_PG_ISOLATION to PostgreSQL's src/test/isolation to run its specs ***\n");
        return;
    };
    let dir = PathBuf::from(dir);
    let mut specs: Vec<PathBuf> = std::fs::read_dir(dir.join("specs"))
        .expect("specs directory")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "spec"))
        .collect();
    specs.sort();
    let specs_total = specs.len();
    let (mut same, mut refused, mut ssi, mut differ) = (Vec::new(), 0, 0, Vec::new());
    for path in specs {
        let name = path.file_stem().and_then(|s| s.to_str()).expect("name").to_string();
        let opts = EngineKind::Postgres.schema(true);
        let Ok(mut sc) = parse_spec_file(&path)
            .map_err(|e| e.to_string())
            .and_then(|s| Scenario::load(s, opts).map_err(|e| e.to_string()))
        else {
            refused += 1;
            continue;
        };
        // The suite runs on a server's defaults: no lock_timeout.
        sc.set_session_default("lock_timeout", "0");
        let text_all = std::fs::read_to_string(&path).expect("spec text").to_ascii_uppercase();
        let uses_ssi = text_all.contains("SERIALIZABLE");
        let Ok(reports) = run_kind(EngineKind::Postgres, &sc, Timing::default()) else {
            refused += 1;
            continue;
        };
        let mut out = text::header(&sc);
        for r in &reports {
            out.push_str(&text::permutation(&sc, r));
        }
        let ours: String = out
            .lines()
            .filter(|l| !l.starts_with("  --") && !l.starts_with("orphans:"))
            .map(|l| format!("{l}\n"))
            .collect();
        let Ok(expected) = std::fs::read_to_string(dir.join("expected").join(format!("{name}.out"))) else { continue };
        if trimmed(&ours) == trimmed(&expected) {
            same.push(name);
        } else if uses_ssi {
            ssi += 1;
        } else {
            differ.push(name);
        }
    }
    eprintln!(
        "identical: {} {same:?}; refused as unsupported: {refused}; SERIALIZABLE and different (SSI is not modelled): {ssi}",
        same.len()
    );
    assert!(differ.is_empty(), "model output differs from PostgreSQL's expected output for {differ:?}");
    assert!(!same.is_empty(), "no spec was compared");
    // PostgreSQL 15's suite of 117 specs: 46 matched when this was written (docs/postgres.md).
    if specs_total == 117 {
        assert!(
            same.len() >= 46,
            "only {} specs match PostgreSQL's expected output, fewer than the 46 documented",
            same.len()
        );
    }
}
