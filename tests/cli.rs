//! The binary as a new user meets it: bad input gives one line naming file:line and exit code 2,
//! never a panic; good input gives the transcript or JSON.

mod common;
use common::GOOD;
use std::path::PathBuf;
use std::process::Command;

fn fksim(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_fksim")).args(args).output().expect("run fksim");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into(),
        String::from_utf8_lossy(&out.stderr).into(),
    )
}

fn write_spec(name: &str, text: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("fksim-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let path = dir.join(name);
    std::fs::write(&path, text).expect("write spec");
    path
}

/// Run a bad spec and check: exit 2, one stderr line `fksim: FILE:LINE:...` containing `what`.
fn rejects(name: &str, text: &str, line: usize, what: &str) {
    let path = write_spec(name, text);
    let p = path.display().to_string();
    let (code, stdout, stderr) = fksim(&["run", &p]);
    assert_eq!(code, 2, "{name}: exit code; stderr: {stderr}");
    assert!(stdout.is_empty(), "{name}: printed {stdout}");
    assert_eq!(stderr.lines().count(), 1, "{name}: want one line, got {stderr}");
    assert!(stderr.starts_with(&format!("fksim: {p}:{line}:")), "{name}: {stderr}");
    assert!(stderr.contains(what), "{name}: {stderr}");
    assert!(!stderr.contains("panicked"), "{name}: {stderr}");
}

#[test]
fn good_spec_prints_transcript_and_json() {
    let p = write_spec("good.spec", GOOD).display().to_string();
    let (code, out, err) = fksim(&["run", &p]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("step s2u: UPDATE parent SET note = 'b' WHERE id = 1; <waiting ...>"), "{out}");
    assert!(out.contains("behind s1, which holds S record lock on parent.PRIMARY (id=1)"), "{out}");
    let (code, out, _) = fksim(&["run", &p, "--json", "--fk", "off"]);
    assert_eq!(code, 0);
    assert!(out.contains(r#"{"step": "s2u", "outcome": "immediate", "error": null, "access": [{"table": "parent", "path": "PRIMARY"}]}"#), "{out}");
    assert!(out.ends_with("{\"orphans\": 0}\n"), "{out}");
}

#[test]
fn missing_file() {
    let (code, _, err) = fksim(&["run", "no/such/file.spec"]);
    assert_eq!(code, 2);
    assert!(err.starts_with("fksim: no/such/file.spec: cannot read"), "{err}");
}

#[test]
fn unknown_step_in_permutation() {
    rejects(
        "unknown.spec",
        &GOOD.replace("permutation s1i s2u s1c", "permutation s1i s2x s1c"),
        8,
        "unknown step `s2x`",
    );
}

#[test]
fn duplicate_step_name() {
    rejects("dup.spec", &GOOD.replace("step s2u", "step s1i"), 7, "duplicate step name `s1i`");
}

#[test]
fn unsupported_sql() {
    rejects(
        "unsupported.spec",
        &GOOD.replace("UPDATE parent SET note = 'b' WHERE id = 1;", "TRUNCATE parent;"),
        7,
        "unsupported statement",
    );
}

#[test]
fn unterminated_block() {
    rejects("unterminated.spec", &GOOD.replace("step s1c { COMMIT; }", "step s1c { COMMIT;"), 5, "unterminated block");
    rejects("unterminated-eof.spec", "session s1\nstep a { SELECT 1;\n", 2, "unterminated block");
}

#[test]
fn table_that_does_not_exist() {
    rejects("notable.spec", &GOOD.replace("UPDATE parent SET", "UPDATE parnt SET"), 7, "table `parnt` does not exist");
}

#[test]
fn column_that_does_not_exist() {
    rejects("nocol.spec", &GOOD.replace("SET note =", "SET nte ="), 7, "column `nte` does not exist");
}

#[test]
fn failing_setup_names_its_line() {
    rejects("setup.spec", &GOOD.replace("VALUES (1, 'a');", "VALUES (1, 'a'), (1, 'b');"), 1, "Duplicate entry");
}

#[test]
fn garbage_never_panics() {
    for text in [
        "",
        "{",
        "}",
        "session",
        "session s\nstep",
        "permutation a",
        "\u{0}\u{ffff}",
        "step a { }",
        "session s step a {SELECT} permutation a(b",
    ] {
        let p = write_spec("garbage.spec", text).display().to_string();
        let (code, _, err) = fksim(&["run", &p]);
        assert_eq!(code, 2, "{text:?}: {err}");
        assert!(!err.contains("panicked"), "{text:?}: {err}");
    }
}

/// Run a spec whose teardown fails: exit 2, one stderr line `fksim: FILE:LINE: teardown
/// statement failed: ...` containing `what`.
fn teardown_fails(name: &str, text: &str, args: &[&str], line: usize, what: &str) {
    let p = write_spec(name, text).display().to_string();
    let (code, _, stderr) = fksim(&[&["run", p.as_str()], args].concat());
    assert_eq!(code, 2, "{name} {args:?}: exit code; stderr: {stderr}");
    assert_eq!(stderr.lines().count(), 1, "{name} {args:?}: want one line, got {stderr}");
    let want = format!("fksim: {p}:{line}: teardown statement failed: {what}\n");
    assert_eq!(stderr, want, "{name} {args:?}");
}

/// GOOD with a spec-level teardown block (its statements on lines 4 and 5).
fn with_teardown(first: &str, second: &str) -> String {
    GOOD.replacen("session s1", &format!("teardown\n{{\n  {first};\n  {second};\n}}\nsession s1"), 1)
}

#[test]
fn failing_teardown_names_its_line() {
    // A second DROP of a table.
    let text = with_teardown("DROP TABLE child", "DROP TABLE child");
    teardown_fails("drop-twice.spec", &text, &[], 5, "Unknown table 'test.child'");
    teardown_fails("drop-twice.spec", &text, &["--engine", "postgres"], 5, "table \"child\" does not exist");
    // A duplicate INSERT: the spec's teardown runs after the permutation, on what it left.
    let text = with_teardown("INSERT INTO parent VALUES (2, 'x')", "INSERT INTO parent VALUES (1, 'x')");
    teardown_fails("dup-insert.spec", &text, &[], 5, "Duplicate entry '1' for key 'PRIMARY'");
    teardown_fails(
        "dup-insert.spec",
        &text,
        &["--engine", "postgres"],
        5,
        "duplicate key value violates unique constraint \"parent_pkey\"",
    );
    // A statement on a table already dropped.
    let text = with_teardown("DROP TABLE child", "SELECT id FROM child");
    teardown_fails("select-dropped.spec", &text, &["--engine", "postgres"], 5, "relation \"child\" does not exist");
    // A session's teardown block.
    let text =
        GOOD.replace("step s1c { COMMIT; }", "step s1c { COMMIT; }\nteardown { INSERT INTO child VALUES (1, 1); }");
    teardown_fails("session-teardown.spec", &text, &[], 6, "Duplicate entry '1' for key 'PRIMARY'");
}

#[test]
fn teardown_drops_a_parent_only_after_its_children() {
    let parent_first = with_teardown("DROP TABLE parent", "DROP TABLE child");
    teardown_fails(
        "parent-first.spec",
        &parent_first,
        &[],
        4,
        "Cannot delete or update a parent row: a foreign key constraint fails",
    );
    teardown_fails(
        "parent-first.spec",
        &parent_first,
        &["--engine", "postgres"],
        4,
        "cannot drop table parent because other objects depend on it",
    );
    // Without the FK nothing depends on the parent; children first always works.
    let p = write_spec("parent-first-ok.spec", &parent_first).display().to_string();
    let (code, out, err) = fksim(&["run", &p, "--fk", "off"]);
    assert_eq!((code, err.as_str()), (0, ""), "{out}");
    for text in [
        with_teardown("DROP TABLE child", "DROP TABLE parent"),
        with_teardown("DROP TABLE child, parent", "DROP TABLE IF EXISTS child"),
    ] {
        let p = write_spec("children-first.spec", &text).display().to_string();
        for engine in ["innodb", "postgres"] {
            let (code, out, err) = fksim(&["run", &p, "--engine", engine]);
            assert_eq!((code, err.as_str()), (0, ""), "{text}\n{out}");
            assert!(out.ends_with("orphans: 0\n"), "{out}");
        }
    }
}

/// `fksim stress` runs the spec's sessions on threads, checks every run against the step runner
/// and says so; its JSON has the runs and the classes; the seed is printed.
#[test]
fn stress_checks_runs_against_the_step_runner() {
    let spec = concat!(env!("CARGO_MANIFEST_DIR"), "/model/scenarios/upgrade-deadlock.spec");
    let (code, stdout, stderr) = fksim(&["stress", spec, "--seconds", "0.3", "--seed", "5"]);
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert!(stderr.contains("seed 5"), "{stderr}");
    assert!(stdout.contains("every run is the step runner's run of its arrival order"), "{stdout}");
    assert!(stdout.contains("no two conflicting locks granted at once"), "{stdout}");
    let (code, stdout, _) =
        fksim(&["stress", spec, "--engine", "postgres", "--fk", "off", "--seconds", "0.2", "--json"]);
    assert_eq!(code, 0);
    let v: serde_json::Value = serde_json::from_str(stdout.trim()).expect("one JSON object");
    assert!(v["runs"].as_u64().expect("runs") > 0, "{v}");
    assert_eq!(v["divergences"], 0);
    assert_eq!(v["fk"], "off");
    assert!(v["classes"].as_array().is_some_and(|c| !c.is_empty()), "{v}");
}

#[test]
fn stress_refuses_a_duration_that_is_not_positive() {
    let spec = concat!(env!("CARGO_MANIFEST_DIR"), "/model/scenarios/upgrade-deadlock.spec");
    for bad in ["0", "-1", "NaN", "inf"] {
        let (code, _, stderr) = fksim(&["stress", spec, &format!("--seconds={bad}")]);
        assert_eq!(code, 2, "--seconds {bad}: {stderr}");
        assert!(stderr.contains("--seconds must be a positive number"), "{stderr}");
    }
}

/// Each engine reads a spec with its own SQL dialect: PostgreSQL takes a column named `key` (as
/// its isolation suite uses), MariaDB's grammar, as the server's, reads `key` as an index clause
/// and refuses it, at its file:line.
#[test]
fn a_column_named_key_is_postgres_sql_only() {
    let spec = "setup { CREATE TABLE foo (key INT PRIMARY KEY, value INT); INSERT INTO foo VALUES (1, 1); }
session s1
step s1u { UPDATE foo SET value = 2 WHERE key = 1; }
step s1s { SELECT key, value FROM foo; }
";
    let path = write_spec("key-column.spec", spec);
    let p = path.display().to_string();
    let (code, stdout, stderr) = fksim(&["run", &p, "--engine", "postgres"]);
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.contains("key|value\n---+-----\n  1|    2"), "{stdout}");
    let (code, _, stderr) = fksim(&["run", &p, "--engine", "innodb"]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.starts_with(&format!("fksim: {p}:1:")) && stderr.contains("cannot parse SQL"), "{stderr}");
}

#[test]
fn deferrable_foreign_keys_and_set_constraints_are_postgres_sql_only() {
    let spec = "setup {
  CREATE TABLE parent (id INT PRIMARY KEY);
  CREATE TABLE child (id INT PRIMARY KEY, parent_id INT NOT NULL, CONSTRAINT child_fk FOREIGN KEY (parent_id) REFERENCES parent (id) DEFERRABLE INITIALLY DEFERRED);
}
session s1
setup { BEGIN; }
step s1i { INSERT INTO child VALUES (1, 7); }
step s1c { COMMIT; }
";
    let path = write_spec("deferred.spec", spec);
    let p = path.display().to_string();
    // On PostgreSQL the check waits for COMMIT, and it is the COMMIT that fails.
    let (code, stdout, stderr) = fksim(&["run", &p, "--engine", "postgres"]);
    assert_eq!(code, 0, "{stderr}");
    let after_commit = stdout.split("step s1c: COMMIT;").nth(1).unwrap_or("");
    assert!(stdout.contains("step s1i: INSERT INTO child VALUES (1, 7);\nstep s1c"), "{stdout}");
    assert!(after_commit.contains("violates foreign key constraint \"child_fk\""), "{stdout}");
    let (code, _, stderr) = fksim(&["run", &p, "--engine", "innodb"]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.starts_with(&format!("fksim: {p}:3:")) && stderr.contains("DEFERRABLE"), "{stderr}");
    let set = "setup { CREATE TABLE parent (id INT PRIMARY KEY); }
session s1
setup { BEGIN; }
step s1s { SET CONSTRAINTS ALL IMMEDIATE; }
";
    let path = write_spec("set-constraints.spec", set);
    let p = path.display().to_string();
    let (code, _, stderr) = fksim(&["run", &p, "--engine", "postgres"]);
    assert_eq!(code, 0, "{stderr}");
    let (code, _, stderr) = fksim(&["run", &p, "--engine", "innodb"]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.starts_with(&format!("fksim: {p}:4:")) && stderr.contains("SET CONSTRAINTS"), "{stderr}");
}

#[test]
fn nowait_needs_a_locking_clause() {
    rejects(
        "nowait.spec",
        "setup { CREATE TABLE t (id INT PRIMARY KEY); }\nsession s1\nstep s1 { SELECT id FROM t NOWAIT; }\n",
        3,
        "NOWAIT and SKIP LOCKED belong after a locking clause",
    );
}

/// `--set NAME=VALUE` starts every session with that setting: a lock_timeout of 1 ms ends the
/// wait of an UPDATE on PostgreSQL at once; a malformed `--set` exits 2.
#[test]
fn set_gives_every_session_a_setting() {
    let spec = "setup { CREATE TABLE t (id INT PRIMARY KEY, n INT); INSERT INTO t VALUES (1, 0); }
session s1
setup { BEGIN; }
step u1 { UPDATE t SET n = 1 WHERE id = 1; }
step c1 { COMMIT; }
session s2
step u2 { UPDATE t SET n = 2 WHERE id = 1; }
permutation u1 u2 c1
";
    let p = write_spec("set.spec", spec).display().to_string();
    let (code, out, err) = fksim(&["run", &p, "--engine", "postgres", "--set", "lock_timeout=1ms"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("canceling statement due to lock timeout"), "{out}");
    let (code, out, _) = fksim(&["run", &p, "--engine", "postgres"]);
    assert_eq!(code, 0);
    assert!(!out.contains("lock timeout"), "{out}");
    let (code, _, err) = fksim(&["run", &p, "--set", "lock_timeout"]);
    assert_eq!((code, err.contains("NAME=VALUE")), (2, true), "{err}");
}

#[test]
fn vacuum_is_postgresql_only_and_its_warnings_are_printed() {
    let spec = "setup { CREATE TABLE t (id INT PRIMARY KEY); }
session s1
step l { BEGIN; LOCK TABLE t IN SHARE MODE; }
step c { COMMIT; }
session s2
step v { VACUUM (SKIP_LOCKED) t; }
permutation l v c
";
    let p = write_spec("vacuum.spec", spec).display().to_string();
    let (code, out, err) = fksim(&["run", &p, "--engine", "postgres"]);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains(
            "s2: WARNING:  skipping vacuum of \"t\" --- lock not available\nstep v: VACUUM (SKIP_LOCKED) t;\n"
        ),
        "{out}"
    );
    let (code, out, _) = fksim(&["run", &p, "--engine", "postgres", "--json"]);
    assert_eq!(code, 0);
    assert!(
        out.contains(
            r#""notices": [{"severity": "WARNING", "message": "skipping vacuum of \"t\" --- lock not available"}]"#
        ),
        "{out}"
    );
    // MariaDB has no VACUUM (and LOCK TABLE is refused there first; VACUUM alone here).
    let innodb = "setup { CREATE TABLE t (id INT PRIMARY KEY); }\nsession s1\nstep v { VACUUM t; }\n";
    let p = write_spec("vacuum-innodb.spec", innodb).display().to_string();
    let (code, _, err) = fksim(&["run", &p, "--engine", "innodb"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("VACUUM and ANALYZE are PostgreSQL's") && !err.contains("panicked"), "{err}");
}

#[test]
fn ddl_in_a_step_is_refused() {
    let spec = "setup { CREATE TABLE t (id INT PRIMARY KEY); }\nsession s1\nstep d { DROP TABLE t; }\n";
    rejects("ddl-step.spec", spec, 3, "DDL in a step is not modelled");
}
