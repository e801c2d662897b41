//! `--schema FILE` (the Django-made schemas of model/schemas) and `--fk off=TABLE.COLUMN` on the
//! command line: run, workload and load on both engines, and bad input as `file:line` with exit 2.

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

fn write(name: &str, text: &str) -> String {
    let dir = std::env::temp_dir().join(format!("fksim-schema-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let path = dir.join(name);
    std::fs::write(&path, text).expect("write");
    path.display().to_string()
}

fn schema(server: &str) -> String {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(format!("model/schemas/openedx.{server}.sql")).display().to_string()
}

const ENGINES: [(&str, &str); 2] = [("innodb", "mysql"), ("postgres", "postgres")];

/// A child insert for a user who does not exist, into enrollment, then into bookmark.
const ORPHANS: &str = "session s1
step e { INSERT INTO student_courseenrollment (user_id, course_id, is_active, mode) VALUES (99, 'c1', TRUE, 'audit'); }
step b { INSERT INTO bookmarks_bookmark (user_id, course_key, usage_key, created, modified) VALUES (99, 'c1', 'b1', CURRENT_TIMESTAMP, CURRENT_TIMESTAMP); }
";

#[test]
fn a_spec_runs_on_the_django_schema_and_an_update_blocks_the_enrollment_fk_check() {
    let spec = write(
        "wait.spec",
        "setup { INSERT INTO auth_user (id, password, is_superuser, username, first_name, last_name, email, is_staff, is_active, date_joined) VALUES (1, '', FALSE, 'u1', '', '', '', FALSE, TRUE, CURRENT_TIMESTAMP); }
session s1
step u { BEGIN; UPDATE auth_user SET last_login = CURRENT_TIMESTAMP WHERE id = 1; }
step c { COMMIT; }
session s2
step e { INSERT INTO student_courseenrollment (user_id, course_id, is_active, mode) VALUES (1, 'c1', TRUE, 'audit'); }
permutation u e c
",
    );
    let (code, out, err) = fksim(&["run", &spec, "--engine", "innodb", "--schema", &schema("mysql")]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("FK check of a student_courseenrollment row on auth_user id=1"), "{out}");
    let (code, out, err) = fksim(&["run", &spec, "--engine", "postgres", "--schema", &schema("postgres")]);
    assert_eq!(code, 0, "{err}");
    // PostgreSQL's FOR KEY SHARE does not conflict with a non-key UPDATE.
    assert!(!out.contains("<waiting ...>"), "{out}");
    assert!(out.contains("orphans: 0"), "{out}");
}

#[test]
fn fk_off_for_one_column_drops_only_that_constraint() {
    let spec = write("orphans.spec", ORPHANS);
    for (engine, server) in ENGINES {
        let s = schema(server);
        let (code, out, err) =
            fksim(&["run", &spec, "--engine", engine, "--schema", &s, "--fk", "off=bookmarks_bookmark.user_id"]);
        assert_eq!(code, 0, "{err}");
        let (enroll, bookmark) = out.split_once("step b:").expect("both steps");
        assert!(enroll.contains("foreign key constraint"), "{engine}: enrollment's FK still holds: {out}");
        assert!(!bookmark.contains("ERROR"), "{engine}: bookmark's FK is off: {out}");
        assert!(out.contains("orphans: 1"), "{engine}: {out}");
        // With the FK on, both inserts fail.
        let (_, out, _) = fksim(&["run", &spec, "--engine", engine, "--schema", &s]);
        assert_eq!(out.matches("foreign key constraint").count(), 2, "{engine}: {out}");
        assert!(out.contains("orphans: 0"), "{out}");
    }
}

#[test]
fn bad_schema_input_exits_2_naming_file_and_line() {
    let bad = write("bad.sql", "BEGIN;\n--\nCREATE TABLE t (id integer NOT NULL PRIMARY KEY);\nALTER TABLE t ADD CONSTRAINT c CHECK (id > 0);\nCOMMIT;\n");
    let spec = write("orphans2.spec", ORPHANS);
    let (code, out, err) = fksim(&["run", &spec, "--schema", &bad]);
    assert_eq!(code, 2, "{err}");
    assert!(out.is_empty());
    assert!(err.starts_with(&format!("fksim: {bad}:4:")), "{err}");
    assert!(err.contains("unsupported ALTER TABLE operation"), "{err}");
    let (code, _, err) =
        fksim(&["run", &spec, "--schema", &schema("mysql"), "--fk", "off=student_courseenrollment.nope"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("student_courseenrollment.nope"), "{err}");
    // A spec that creates a table the schema made is an error at the spec's own line.
    let dup = write(
        "dup.spec",
        "setup {\n  CREATE TABLE auth_user (id INT PRIMARY KEY);\n}\nsession s\nstep a { COMMIT; }\n",
    );
    let (code, _, err) = fksim(&["run", &dup, "--schema", &schema("mysql")]);
    assert_eq!(code, 2, "{err}");
    assert!(err.starts_with(&format!("fksim: {dup}:2:")) && err.contains("already exists"), "{err}");
}

fn workload() -> String {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("model/workloads/openedx.toml").display().to_string()
}

#[test]
fn workload_runs_on_both_django_schemas() {
    for (engine, server) in ENGINES {
        let s = schema(server);
        let args =
            ["workload", &workload(), "--engine", engine, "--schema", &s, "--fk", "on", "--seed", "7", "--runs", "6"];
        let (code, out, err) = fksim(&args);
        assert_eq!(code, 0, "{engine}: {err}");
        assert!(out.contains("runs:                        6"), "{out}");
        assert_eq!(fksim(&args).1, out, "the same seed gives the same summary");
    }
    // The new tables need a schema that has them.
    let (code, _, err) = fksim(&["workload", &workload(), "--runs", "1"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("courseware_studentmodule"), "{err}");
}

#[test]
fn load_runs_on_both_django_schemas() {
    for (engine, server) in ENGINES {
        let s = schema(server);
        let args =
            ["load", &workload(), "--engine", engine, "--schema", &s, "--seed", "3", "--seconds", "0.2", "--json"];
        let (code, out, err) = fksim(&args);
        assert_eq!(code, 0, "{engine}: {err}");
        assert_eq!(out.lines().count(), 3, "FK on, FK off and the ratio: {out}");
    }
}
