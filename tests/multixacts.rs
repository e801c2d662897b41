//! PostgreSQL's MultiXacts in the command line's output: `run`, `explore`, `workload` and `load`
//! report them on PostgreSQL, FK on, and report none with the FK off or on InnoDB.

use std::path::PathBuf;
use std::process::Command;

fn fksim(args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_fksim")).args(args).output().expect("run fksim");
    assert!(out.status.success(), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).into()
}

fn repo(path: &str) -> String {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(path).display().to_string()
}

fn lines_with<'a>(out: &'a str, what: &str) -> Vec<&'a str> {
    out.lines().filter(|l| l.contains(what)).collect()
}

#[test]
fn run_reports_what_postgres_was_seen_to_create() {
    let spec = repo("model/scenarios/multixacts.spec");
    let out = fksim(&["run", &spec, "--engine", "postgres"]);
    // Per permutation, as observed live (docs/postgres.md, "Multixacts").
    let want = [
        "  -- multixacts: 1 created, 2 members (auth_user id=1: 1 / 2)",
        "  -- multixacts: 2 created, 5 members (auth_user id=1: 2 / 5)",
        "  -- multixacts: 1 created, 2 members (auth_user id=1: 1 / 2)",
        "  -- multixacts: 1 created, 2 members (auth_user id=1: 1 / 2)",
        "  -- multixacts: 1 created, 2 members (auth_user id=1: 1 / 2)",
        "  -- multixacts: 3 created, 7 members (auth_user id=1: 3 / 7)",
        // Two users locked by the same two transactions: the second reuses the first's members.
        "  -- multixacts: 1 created, 2 members (auth_user id=1: 1 / 2)",
    ];
    assert_eq!(lines_with(&out, "multixacts"), want, "{out}");
    let one = fksim(&["run", &spec, "--engine", "postgres", "--permutation", "s1e s2e s2u s3e s1c s2c s3c"]);
    assert_eq!(lines_with(&one, "multixacts"), ["  -- multixacts: 4 created, 12 members (auth_user id=1: 4 / 12)"]);
}

#[test]
fn a_savepoint_locks_with_its_own_xid_as_postgres_was_seen_to() {
    let spec = repo("model/scenarios/multixacts-savepoints.spec");
    let one = |perm: &str| {
        let out = fksim(&["run", &spec, "--engine", "postgres", "--permutation", perm]);
        lines_with(&out, "multixacts").iter().map(|l| l.to_string()).collect::<Vec<_>>()
    };
    let two = ["  -- multixacts: 1 created, 2 members (auth_user id=1: 1 / 2)"];
    // Observed live, case by case (docs/postgres.md, "Multixacts").
    assert_eq!(one("s1sp s1e s2e s1c s2c s3c"), two, "a savepoint's check and another session's");
    assert_eq!(one("s1e s1sp s1u s1c s2c s3c"), two, "the transaction's check, then its savepoint's update");
    assert!(one("s1sp s1e s1rb s2e s1c s2c s3c").is_empty(), "a rolled-back savepoint's lock counts for nothing");
    assert!(one("s1e s1sp s1f s1c s2c s3c").is_empty(), "already held by the transaction");
    assert!(one("s1sp s1e s1rel s1f s1c s2c s3c").is_empty(), "already held by a released savepoint");
    assert_eq!(
        one("s1sp s1e s2e s1rb s3e s1c s2c s3c"),
        ["  -- multixacts: 2 created, 4 members (auth_user id=1: 2 / 4)"],
        "the rolled-back member is left out of the next multixact"
    );
    assert_eq!(one("s1e s2e s1sp s1f s1c s2c s3c"), two, "already held under the transaction's own xid");
    assert_eq!(one("s1sp s1e s1rel s1sp2 s1lock s1c s2c s3c"), two, "a released savepoint's lock beside another's");
}

#[test]
fn without_the_fk_the_checks_lock_nothing_and_make_none() {
    let spec = repo("model/scenarios/multixacts.spec");
    let off = fksim(&["run", &spec, "--engine", "postgres", "--fk", "off"]);
    assert!(lines_with(&off, "multixacts").is_empty(), "{off}");
    let json = fksim(&["run", &spec, "--engine", "postgres", "--fk", "off", "--json"]);
    let zero = r#"{"multixacts": {"created": 0, "members": 0, "rows": []}}"#;
    assert_eq!(lines_with(&json, "multixacts"), vec![zero; 7]);
    // key-share-reads: the FK check is the only key-share locker in the last permutation.
    let ks = repo("model/scenarios/key-share-reads.spec");
    let on = fksim(&["run", &ks, "--engine", "postgres", "--permutation", "s1n s2e s1c s2c"]);
    assert_eq!(lines_with(&on, "multixacts"), ["  -- multixacts: 1 created, 2 members (auth_user id=1: 1 / 2)"]);
    let off = fksim(&["run", &ks, "--engine", "postgres", "--fk", "off", "--permutation", "s1n s2e s1c s2c"]);
    assert!(lines_with(&off, "multixacts").is_empty(), "{off}");
}

#[test]
fn json_puts_them_on_a_line_of_their_own_before_the_orphans() {
    let spec = repo("model/scenarios/multixacts.spec");
    let json = fksim(&["run", &spec, "--engine", "postgres", "--json", "--permutation", "s1e s2e s3e s1c s2c s3c"]);
    let lines: Vec<&str> = json.lines().collect();
    let want = r#"{"multixacts": {"created": 2, "members": 5, "rows": [{"table": "auth_user", "key": "id=1", "created": 2, "members": 5}]}}"#;
    assert_eq!(lines[lines.len() - 2], want);
    assert_eq!(lines[lines.len() - 1], r#"{"orphans": 0}"#);
    let innodb = fksim(&["run", &spec, "--engine", "innodb", "--json"]);
    assert!(lines_with(&innodb, "multixacts").is_empty(), "InnoDB has none to report");
}

#[test]
fn explore_workload_and_load_count_them_fk_on_only() {
    let spec = repo("model/scenarios/multixacts.spec");
    let on = fksim(&["explore", &spec, "--engine", "postgres", "--no-reduce"]);
    let line = lines_with(&on, "multixacts:");
    assert_eq!(line.len(), 1, "{on}");
    assert!(
        line[0].contains("in 3144 interleavings") && line[0].contains("most in one: 5 created, 14 members"),
        "{on}"
    );
    let off = fksim(&["explore", &spec, "--engine", "postgres", "--fk", "off"]);
    assert_eq!(lines_with(&off, "multixacts:"), ["  multixacts:            none"]);
    assert!(lines_with(&fksim(&["explore", &spec, "--engine", "innodb"]), "multixacts").is_empty());

    let w = repo("model/workloads/calibration.toml");
    for (fk, some) in [("on", true), ("off", false)] {
        let out = fksim(&["workload", &w, "--engine", "postgres", "--fk", fk, "--seed", "1", "--runs", "20"]);
        let line = lines_with(&out, "multixacts:");
        assert_eq!(line.len(), 1, "{out}");
        assert_eq!(!line[0].contains(" 0 created"), some, "workload fk {fk}: {out}");
        let out = fksim(&["load", &w, "--engine", "postgres", "--fk", fk, "--seed", "1", "--seconds", "0.5"]);
        let line = lines_with(&out, "multixacts:");
        assert_eq!(line.len(), 1, "{out}");
        assert_eq!(line[0].contains("auth_user id="), some, "load fk {fk}: {out}");
    }
    let innodb = fksim(&["load", &w, "--engine", "innodb", "--seed", "1", "--seconds", "0.5"]);
    assert!(lines_with(&innodb, "multixacts").is_empty(), "{innodb}");
}
