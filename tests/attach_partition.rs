//! PostgreSQL's ALTER TABLE ... ATTACH PARTITION in the model: what its rollback leaves, its errors, and its table locks.

mod common;
use common::*;
use fksim::run::{EngineKind, Outcome, PermutationReport};
use fksim::sql::Value;

const SCHEMA: &str = "setup {
  CREATE TABLE auth_user (id INT PRIMARY KEY);
  CREATE TABLE enrollment (id INT PRIMARY KEY, user_id INT NOT NULL REFERENCES auth_user (id)) PARTITION BY LIST (id);
  CREATE TABLE enrollment_1 PARTITION OF enrollment FOR VALUES IN (1);
  CREATE TABLE enrollment_2 (user_id INT NOT NULL, id INT PRIMARY KEY);
  INSERT INTO auth_user VALUES (1), (2);
  INSERT INTO enrollment VALUES (1, 1);
  CREATE TABLE enrollment_3 (user_id INT NOT NULL, id INT PRIMARY KEY);
  INSERT INTO enrollment_2 VALUES (2, 2);
  INSERT INTO enrollment_3 VALUES (1, 4);
}
session s1
step s1b { BEGIN; }
step s1a { ALTER TABLE enrollment ATTACH PARTITION enrollment_2 FOR VALUES IN (2); }
step s1x { ALTER TABLE enrollment ATTACH PARTITION enrollment_3 FOR VALUES IN (3); }
step s1c { COMMIT; }
step s1r { ROLLBACK; }
session s2
step s2b { BEGIN; }
step s2r { SELECT id, user_id FROM enrollment ORDER BY id; }
step s2d { DELETE FROM auth_user WHERE id = 2; }
step s2c { COMMIT; }
";

fn run(perms: &str, fk_on: bool) -> Vec<PermutationReport> {
    run_on(
        &load_text_for("attach.spec", &format!("{SCHEMA}{perms}"), EngineKind::Postgres, fk_on),
        EngineKind::Postgres,
    )
}

/// The ids each completed SELECT of `step` returned, in order.
fn reads(r: &PermutationReport, step: &str) -> Vec<Vec<i64>> {
    let id = |v: &Value| match v {
        Value::Int(i) => *i,
        v => panic!("id {v:?}"),
    };
    r.events
        .iter()
        .filter(|e| &*e.step == step && !e.rows.is_empty())
        .map(|e| e.rows[0].rows.iter().map(|row| id(&row[0])).collect())
        .collect()
}

fn errors(r: &PermutationReport) -> Vec<(String, String)> {
    r.events.iter().filter_map(|e| e.error.as_ref().map(|x| (e.step.to_string(), x.message.clone()))).collect()
}

#[test]
fn the_rows_an_attach_moves_are_seen_from_its_commit_and_never_after_its_rollback() {
    let r = &run("permutation s1b s1a s2r s1c s2r\n", true)[0];
    assert_eq!(reads(r, "s2r"), vec![vec![1], vec![1, 2]]);
    // Rolled back, enrollment 2 references nobody in enrollment: user 2 can go.
    let r = &run("permutation s1b s1a s2r s1r s2r s2d\n", true)[0];
    assert_eq!(reads(r, "s2r"), vec![vec![1], vec![1]]);
    assert!(errors(r).is_empty(), "{:?}", errors(r));
}

#[test]
fn a_permutation_may_not_run_an_attach_step_twice() {
    let text = format!("{SCHEMA}permutation s1b s1a s1r s1b s1a s1c\n");
    let spec = fksim::spec::parse_spec("attach.spec", &text).unwrap();
    let e = fksim::scenario::Scenario::load(spec, EngineKind::Postgres.schema(true)).unwrap_err().to_string();
    assert!(e.contains("runs ATTACH PARTITION step s1a twice is not modelled"), "{e}");
}

#[test]
fn the_attach_checks_the_bound_then_the_foreign_key_with_the_latest_snapshot() {
    let r = &run("permutation s1b s1x s1r s2d s1b s1a s1c\n", true)[0];
    let want = [
        ("s1x", "partition constraint of relation \"enrollment_3\" is violated by some row"),
        (
            "s1a",
            "insert or update on table \"enrollment_2\" violates foreign key constraint \"enrollment_user_id_fkey\"",
        ),
    ];
    assert_eq!(errors(r), want.map(|(s, m)| (s.to_string(), m.to_string())).to_vec());
    // Without the FK the attach neither checks nor locks auth_user.
    let r = &run("permutation s1b s2d s1a s1c\n", false)[0];
    assert!(errors(r).is_empty() && r.events.iter().all(|e| e.outcome != Outcome::Waiting));
}

#[test]
fn the_fk_clone_locks_the_referenced_table_against_a_delete_both_ways() {
    let r = &run("permutation s2b s2d s1b s1a s2c s1c\n", true)[0];
    let waited: Vec<&str> = r.events.iter().filter(|e| e.outcome == Outcome::Waiting).map(|e| &*e.step).collect();
    assert_eq!(waited, ["s1a"]);
    let r = &run("permutation s1b s1a s2d s1c\n", true)[0];
    let waited: Vec<&str> = r.events.iter().filter(|e| e.outcome == Outcome::Waiting).map(|e| &*e.step).collect();
    assert_eq!(waited, ["s2d"]);
    let msg = "update or delete on table \"auth_user\" violates foreign key constraint \"enrollment_user_id_fkey\" on table \"enrollment\"";
    assert_eq!(errors(r), vec![("s2d".to_string(), msg.to_string())]);
}
