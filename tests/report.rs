//! `fksim report` from the command line: on Django's Open edX schemas, both engines, it writes
//! report.md, report.json and figures that parse as XML; its verdicts and checks follow from
//! the runs; the same seed gives the same bytes for any thread count; bad input exits 2.

use std::path::Path;
use std::process::{Command, Output};

const BIN: &str = env!("CARGO_BIN_EXE_fksim");

fn report(out: &Path, extra: &[&str]) -> Output {
    let root = env!("CARGO_MANIFEST_DIR");
    let mut cmd = Command::new(BIN);
    cmd.current_dir(root).args([
        "report",
        "--schema",
        "innodb=model/schemas/openedx.mysql.sql",
        "--schema",
        "postgres=model/schemas/openedx.postgres.sql",
        "--workload",
        "model/workloads/openedx-report.toml",
        "--seed",
        "7",
        "--runs",
        "12",
        "--clients",
        "1,4",
        "--seconds",
        "0.2",
        "--out",
    ]);
    cmd.arg(out).args(extra);
    cmd.output().expect("fksim runs")
}

fn json(dir: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(dir.join("report.json")).unwrap()).unwrap()
}

#[test]
fn report_on_openedx_writes_its_files_and_judges_each_fk() {
    let dir = tempfile::tempdir().unwrap();
    let out = report(dir.path(), &[]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("seed 7"), "the seed is printed: {stderr}");
    let md = std::fs::read_to_string(dir.path().join("report.md")).unwrap();
    assert!(md.starts_with("# fksim report"), "{md}");
    let v = json(dir.path());
    let engines = v["engines"].as_array().unwrap();
    assert_eq!(engines.len(), 2);
    for e in engines {
        let name = e["engine"].as_str().unwrap();
        // Two declared FKs to auth_user in Django's DDL: fk on, each off, all off.
        let settings: Vec<&str> =
            e["settings"].as_array().unwrap().iter().map(|s| s["setting"].as_str().unwrap()).collect();
        assert_eq!(
            settings,
            ["fk on", "off=student_courseenrollment.user_id", "off=bookmarks_bookmark.user_id", "fk off"],
            "{name}"
        );
        let verdicts = e["verdicts"].as_array().unwrap();
        assert_eq!(verdicts.len(), 3, "{name}");
        for v in verdicts {
            // The delete-vs-write race leaves an orphan once the FK is gone, on both engines.
            assert_eq!(v["orphans_possible"], true, "{name}: {v}");
            assert!(v["orphan_example"].as_str().unwrap().contains("permutation "), "{v}");
            // A dropped FK's child rows never wait for an FK check.
            assert_eq!(v["fk_check_waits"][1], 0, "{name}: {v}");
            assert_eq!(v["parent_lock_waits"][1], 0, "{name}: {v}");
            let row = format!("| {name} | {} |", v["setting"].as_str().unwrap());
            assert!(md.contains(&row), "the verdict table has {row}");
        }
        // On InnoDB the enrollment's FK check waits behind a login in some interleaving of the
        // race; PostgreSQL's FOR KEY SHARE does not conflict with the login's FOR NO KEY UPDATE.
        let on_waits = verdicts[0]["parent_lock_waits"][0].as_u64().unwrap();
        assert_eq!(on_waits > 0, name == "innodb", "{name}: {}", verdicts[0]);
        for c in e["checks"].as_array().unwrap() {
            assert_eq!(c["holds"], true, "{name}: {c}");
        }
    }
    // Every figure named in report.md is written and parses as XML (SVG).
    let figures: Vec<_> = std::fs::read_dir(dir.path().join("figures")).unwrap().map(|e| e.unwrap().path()).collect();
    assert_eq!(figures.len(), 7, "{figures:?}");
    for f in &figures {
        let text = std::fs::read_to_string(f).unwrap();
        let doc = roxmltree::Document::parse(&text).unwrap_or_else(|e| panic!("{}: {e}", f.display()));
        assert_eq!(doc.root_element().tag_name().name(), "svg");
        let name = f.file_name().unwrap().to_str().unwrap();
        assert!(md.contains(&format!("(figures/{name})")), "report.md links {name}");
    }
}

#[test]
fn same_seed_same_report_for_any_thread_count() {
    let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let ra = report(a.path(), &["--threads", "1", "--engine", "innodb"]);
    let rb = report(b.path(), &["--threads", "2", "--engine", "innodb"]);
    assert!(ra.status.success() && rb.status.success(), "{}", String::from_utf8_lossy(&rb.stderr));
    assert_eq!(json(a.path()), json(b.path()));
    for f in ["throughput-innodb.svg", "lock-waits-innodb.svg", "latency-innodb.svg"] {
        let read = |d: &Path| std::fs::read(d.join("figures").join(f)).unwrap();
        assert_eq!(read(a.path()), read(b.path()), "{f}");
    }
}

#[test]
fn bad_input_exits_2_with_the_cause() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("not-a-dir");
    std::fs::write(&file, "x").unwrap();
    let out = report(&file, &[]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("not a directory"));
    let out = report(dir.path(), &["--clients", "0"]);
    assert_eq!(out.status.code(), Some(2), "{}", String::from_utf8_lossy(&out.stderr));
    let out = report(dir.path(), &["--schema", "innodb=model/schemas/missing.sql"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("missing.sql"), "{}", String::from_utf8_lossy(&out.stderr));
}
