//! InnoDB at READ COMMITTED: the semi-consistent read of UPDATE and which row locks a scan keeps.

mod common;
use common::*;
use fksim::run::{Outcome, PermutationReport};
use fksim::sql::Value;

const SCHEMA: &str = "setup {
  CREATE TABLE auth_user (id INT PRIMARY KEY, username VARCHAR(30) UNIQUE, last_login TIMESTAMP NULL, is_active BOOLEAN);
  CREATE TABLE enrollment (id INT PRIMARY KEY, user_id INT NOT NULL, course VARCHAR(10) NOT NULL, FOREIGN KEY (user_id) REFERENCES auth_user (id));
  INSERT INTO auth_user VALUES (1, 'u1', NULL, TRUE), (2, 'u2', NULL, TRUE), (3, 'u3', NULL, FALSE);
}
";

const RC: &str = "setup { SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED; BEGIN; }";

fn run(sessions: &str, fk_on: bool) -> Vec<PermutationReport> {
    run_mem(&load_text("rc.spec", &format!("{SCHEMA}{sessions}"), fk_on))
}

/// (step, outcome, error kind) of every reported line of a permutation.
fn outcomes_of(r: &PermutationReport) -> Vec<(String, Outcome, Option<&'static str>)> {
    r.events.iter().map(|e| (e.step.to_string(), e.outcome, e.error.as_ref().map(|x| x.kind.name()))).collect()
}

/// The steps reported waiting in a permutation, in order.
fn waiting(r: &PermutationReport) -> Vec<String> {
    r.events.iter().filter(|e| e.outcome == Outcome::Waiting).map(|e| e.step.to_string()).collect()
}

/// The ids a SELECT step returned.
fn ids(r: &PermutationReport, step: &str) -> Vec<i64> {
    let e = r.events.iter().find(|e| &*e.step == step && !e.rows.is_empty()).expect("the SELECT step's rows");
    e.rows[0]
        .rows
        .iter()
        .map(|row| match row[0] {
            Value::Int(i) => i,
            ref v => panic!("id {v:?}"),
        })
        .collect()
}

/// s1 deactivates user 2 and has not committed.
fn deactivate_user_2() -> String {
    format!("session s1\n{RC}\nstep s1a {{ UPDATE auth_user SET is_active = FALSE WHERE id = 2; }}\nstep s1c {{ COMMIT; }}\nstep s1r {{ ROLLBACK; }}\n")
}

#[test]
fn an_update_skips_a_locked_row_whose_committed_version_does_not_match() {
    let sessions = format!(
        "{}session s2\n{RC}\nstep s2n {{ UPDATE auth_user SET last_login = CURRENT_TIMESTAMP WHERE is_active = FALSE; }}\nstep s2c {{ COMMIT; }}\npermutation s1a s2n s1c s2c\n",
        deactivate_user_2()
    );
    for fk in [true, false] {
        assert_eq!(waiting(&run(&sessions, fk)[0]), Vec::<String>::new());
    }
}

#[test]
fn a_matching_committed_version_is_waited_for_and_the_newest_version_judged() {
    // After s1's commit user 2 is inactive: the UPDATE, which waited for it, leaves it alone;
    // after a rollback it updates it.
    let sessions = format!(
        "{}session s2\n{RC}\nstep s2m {{ UPDATE auth_user SET last_login = CURRENT_TIMESTAMP WHERE is_active = TRUE; }}\nstep s2c {{ COMMIT; }}\nsession s3\nstep s3r {{ SELECT id FROM auth_user WHERE last_login IS NOT NULL; }}\npermutation s1a s2m s1c s2c s3r\npermutation s1a s2m s1r s2c s3r\n",
        deactivate_user_2()
    );
    let r = run(&sessions, false);
    assert_eq!(waiting(&r[0]), vec!["s2m"]);
    assert_eq!(ids(&r[0], "s3r"), vec![1]);
    assert_eq!(waiting(&r[1]), vec!["s2m"]);
    assert_eq!(ids(&r[1], "s3r"), vec![1, 2]);
}

#[test]
fn a_row_inserted_by_an_open_transaction_is_skipped_by_update_and_waited_for_by_delete() {
    let sessions = format!(
        "session s1\n{RC}\nstep s1i {{ INSERT INTO auth_user VALUES (4, 'u4', NULL, TRUE); }}\nstep s1c {{ COMMIT; }}\nsession s2\n{RC}\nstep s2u {{ UPDATE auth_user SET last_login = CURRENT_TIMESTAMP WHERE is_active = TRUE; }}\nstep s2d {{ DELETE FROM auth_user WHERE is_active = FALSE; }}\nstep s2c {{ COMMIT; }}\nsession s3\nstep s3r {{ SELECT id FROM auth_user WHERE last_login IS NOT NULL; }}\npermutation s1i s2u s1c s2c s3r\npermutation s1i s2d s1c s2c\n"
    );
    let r = run(&sessions, false);
    assert_eq!(waiting(&r[0]), Vec::<String>::new());
    assert_eq!(ids(&r[0], "s3r"), vec![1, 2]);
    assert_eq!(waiting(&r[1]), vec!["s2d"]);
}

#[test]
fn a_row_whose_last_committed_version_is_deleted_is_skipped() {
    // s3's open snapshot keeps the deleted user 2; s4's uncommitted insert of user 2 writes over it.
    let sessions = format!(
        "session s1\n{RC}\nstep s1d {{ DELETE FROM auth_user WHERE id = 2; }}\nstep s1c {{ COMMIT; }}\nsession s2\n{RC}\nstep s2m {{ UPDATE auth_user SET last_login = CURRENT_TIMESTAMP WHERE is_active = TRUE; }}\nstep s2c {{ COMMIT; }}\nsession s3\nsetup {{ BEGIN ISOLATION LEVEL REPEATABLE READ; }}\nstep s3r {{ SELECT id FROM auth_user WHERE id = 2; }}\nstep s3c {{ COMMIT; }}\nsession s4\n{RC}\nstep s4i {{ INSERT INTO auth_user VALUES (2, 'u2b', NULL, TRUE); }}\nstep s4c {{ COMMIT; }}\npermutation s3r s1d s1c s4i s2m s4c s2c s3c\n"
    );
    assert_eq!(waiting(&run(&sessions, false)[0]), Vec::<String>::new());
}

#[test]
fn only_a_clustered_scan_that_is_not_a_unique_search_reads_semi_consistently() {
    let wheres = [
        ("id = 2 AND is_active = FALSE", true),
        ("id IN (2, 3) AND is_active = FALSE", true),
        ("username = 'u2' AND is_active = FALSE", true),
        ("id >= 2 AND is_active = FALSE", false),
        ("is_active = FALSE", false),
    ];
    for (cond, waits) in wheres {
        let sessions = format!(
            "{}session s2\n{RC}\nstep s2u {{ UPDATE auth_user SET last_login = CURRENT_TIMESTAMP WHERE {cond}; }}\nstep s2c {{ COMMIT; }}\npermutation s1a s2u s1c s2c\n",
            deactivate_user_2()
        );
        let want = if waits { vec!["s2u".to_string()] } else { vec![] };
        assert_eq!(waiting(&run(&sessions, false)[0]), want, "WHERE {cond}");
    }
}

#[test]
fn delete_and_repeatable_read_never_read_semi_consistently() {
    for (setup, stmt) in [
        (RC, "DELETE FROM auth_user WHERE is_active = FALSE"),
        (
            "setup { BEGIN ISOLATION LEVEL REPEATABLE READ; }",
            "UPDATE auth_user SET last_login = CURRENT_TIMESTAMP WHERE is_active = FALSE",
        ),
    ] {
        let sessions = format!(
            "{}session s2\n{setup}\nstep s2u {{ {stmt}; }}\nstep s2c {{ COMMIT; }}\npermutation s1a s2u s1c s2c\n",
            deactivate_user_2()
        );
        assert_eq!(waiting(&run(&sessions, false)[0]), vec!["s2u"], "{stmt}");
    }
}

#[test]
fn a_shared_fk_lock_on_a_user_is_judged_by_the_committed_row() {
    let sessions = format!(
        "session s1\n{RC}\nstep s1e {{ INSERT INTO enrollment VALUES (20, 2, 'c9'); }}\nstep s1c {{ COMMIT; }}\nsession s2\n{RC}\nstep s2n {{ UPDATE auth_user SET last_login = CURRENT_TIMESTAMP WHERE is_active = FALSE; }}\nstep s2m {{ UPDATE auth_user SET last_login = CURRENT_TIMESTAMP WHERE is_active = TRUE; }}\nstep s2c {{ COMMIT; }}\npermutation s1e s2n s1c s2c\npermutation s1e s2m s1c s2c\n"
    );
    let on = run(&sessions, true);
    assert_eq!(waiting(&on[0]), Vec::<String>::new());
    assert_eq!(waiting(&on[1]), vec!["s2m"]);
    let off = run(&sessions, false);
    assert!(off.iter().all(|r| waiting(r).is_empty()));
}

#[test]
fn a_semi_consistent_read_queues_no_request_and_so_closes_no_deadlock() {
    // s1 waits for s2's lock on user 3; s2's scan then meets s1's lock on user 2. A queued request
    // would close the cycle s2 -> s1 -> s2; the semi-consistent read skips user 2 instead.
    let sessions = format!(
        "{}step s1w {{ UPDATE auth_user SET last_login = CURRENT_TIMESTAMP WHERE id = 3; }}\nsession s2\n{RC}\nstep s2k {{ UPDATE auth_user SET username = 'x3' WHERE id = 3; }}\nstep s2n {{ UPDATE auth_user SET last_login = CURRENT_TIMESTAMP WHERE is_active = FALSE; }}\nstep s2c {{ COMMIT; }}\npermutation s1a s2k s1w s2n s2c s1c\n",
        deactivate_user_2()
    );
    let r = run(&sessions, false);
    assert_eq!(
        outcomes_of(&r[0]),
        vec![
            ("s1a".into(), Outcome::Immediate, None),
            ("s2k".into(), Outcome::Immediate, None),
            ("s1w".into(), Outcome::Waiting, None),
            ("s2n".into(), Outcome::Immediate, None),
            ("s2c".into(), Outcome::Immediate, None),
            ("s1w".into(), Outcome::Completed, None),
            ("s1c".into(), Outcome::Immediate, None),
        ]
    );
}

#[test]
fn a_rejected_row_keeps_a_lock_waited_for_or_held_before() {
    // s2's UPDATE waited for user 2 and then rejected it: s3 queues behind s2, not behind nobody.
    let waited = format!(
        "{}session s2\n{RC}\nstep s2m {{ UPDATE auth_user SET last_login = CURRENT_TIMESTAMP WHERE is_active = TRUE; }}\nstep s2c {{ COMMIT; }}\nsession s3\nstep s3u {{ UPDATE auth_user SET username = 'v2' WHERE id = 2; }}\npermutation s1a s2m s1c s3u s2c\n",
        deactivate_user_2()
    );
    assert_eq!(waiting(&run(&waited, false)[0]), vec!["s2m", "s3u"]);
    // A lock taken by FOR UPDATE stays when a later scan rejects the row; one the scan has just
    // taken is given back.
    let held = format!(
        "session s1\n{RC}\nstep s1s {{ SELECT id FROM auth_user WHERE id = 2 FOR UPDATE; }}\nstep s1n {{ UPDATE auth_user SET last_login = CURRENT_TIMESTAMP WHERE is_active = FALSE; }}\nstep s1c {{ COMMIT; }}\nsession s2\nstep s2u {{ UPDATE auth_user SET is_active = FALSE WHERE id = 2; }}\npermutation s1s s1n s2u s1c\npermutation s1n s2u s1c\n"
    );
    let r = run(&held, false);
    assert_eq!(waiting(&r[0]), vec!["s2u"]);
    assert_eq!(waiting(&r[1]), Vec::<String>::new());
}
