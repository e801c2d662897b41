//! InnoDB rules seen through the runner: which lock each statement waits for and behind whom,
//! and how the permutation markers `step(*)` and `step(other)` are reported.

mod common;
use common::*;
use fksim::run::{Outcome, PermutationReport};

const SCHEMA: &str = "setup {
  CREATE TABLE auth_user (id INT PRIMARY KEY, username VARCHAR(30) UNIQUE, last_login TIMESTAMP NULL);
  CREATE TABLE enrollment (id INT PRIMARY KEY, user_id INT NOT NULL, course VARCHAR(10) NOT NULL, UNIQUE (user_id, course), FOREIGN KEY (user_id) REFERENCES auth_user (id));
  INSERT INTO auth_user VALUES (1, 'u1', NULL), (2, 'u2', NULL), (5, 'u5', NULL);
  INSERT INTO enrollment VALUES (10, 2, 'a');
}
";

fn run(sessions: &str, fk_on: bool) -> Vec<PermutationReport> {
    run_mem(&load_text("rules.spec", &format!("{SCHEMA}{sessions}"), fk_on))
}

/// The wait line of `step` in the first permutation: (wanted lock, blockers).
fn wait_of(reports: &[PermutationReport], step: &str) -> (String, Vec<String>) {
    let e = reports[0]
        .events
        .iter()
        .find(|e| &*e.step == step && e.outcome == Outcome::Waiting)
        .unwrap_or_else(|| panic!("{step} did not wait: {:?}", reports[0].events));
    let w = e.wait.as_ref().expect("wait info");
    let fmt = |d: &fksim::engine::LockDesc| {
        format!("{} {} {}.{} ({}) by {}", d.mode, d.kind, d.table, d.index, d.key, d.session)
    };
    (fmt(&w.wants), w.behind.iter().map(fmt).collect())
}

fn outcomes_of(r: &PermutationReport) -> Vec<(String, Outcome, Option<&'static str>)> {
    r.events.iter().map(|e| (e.step.to_string(), e.outcome, e.error.as_ref().map(|x| x.kind.name()))).collect()
}

#[test]
fn fk_check_takes_a_shared_record_lock_on_the_parent() {
    let r = run(
        "session s1\nsetup { BEGIN; }\nstep i { INSERT INTO enrollment VALUES (1, 1, 'x'); }\nsession s2\nstep u { UPDATE auth_user SET last_login = NOW() WHERE id = 1; }\npermutation i u\n",
        true,
    );
    let (want, behind) = wait_of(&r, "u");
    assert_eq!(want, "X record auth_user.PRIMARY (id=1) by s2");
    assert_eq!(behind, vec!["S record auth_user.PRIMARY (id=1) by s1"]);
}

#[test]
fn missing_parent_gets_a_gap_lock_and_fails() {
    let r = run("session s1\nstep i { INSERT INTO enrollment VALUES (1, 3, 'x'); }\npermutation i\n", true);
    assert_eq!(outcomes_of(&r[0]), vec![("i".into(), Outcome::Immediate, Some("fk_violation"))]);
    // The gap lock before id=5 then blocks inserting user 3 until the transaction ends.
    let r = run(
        "session s1\nsetup { BEGIN; }\nstep i { INSERT INTO enrollment VALUES (1, 3, 'x'); }\nsession s2\nstep u { INSERT INTO auth_user VALUES (3, 'u3', NULL); }\npermutation i u\n",
        true,
    );
    let (want, behind) = wait_of(&r, "u");
    assert_eq!(want, "X insert-intention auth_user.PRIMARY (id=5) by s2");
    assert_eq!(behind, vec!["S gap auth_user.PRIMARY (id=5) by s1"]);
}

#[test]
fn equality_delete_on_a_secondary_index_locks_the_gap_after() {
    let r = run(
        "session s1\nsetup { BEGIN; }\nstep d { DELETE FROM enrollment WHERE user_id = 1; }\nsession s2\nstep i { INSERT INTO enrollment VALUES (3, 1, 'z'); }\npermutation d i\n",
        false,
    );
    let (want, behind) = wait_of(&r, "i");
    assert_eq!(want, "X insert-intention enrollment.user_id (user_id=2, course='a', id=10) by s2");
    assert_eq!(behind, vec!["X gap enrollment.user_id (user_id=2, course='a', id=10) by s1"]);
}

#[test]
fn read_committed_takes_no_gap_locks() {
    let r = run(
        "session s1\nsetup { SET TRANSACTION ISOLATION LEVEL READ COMMITTED; BEGIN; }\nstep d { DELETE FROM enrollment WHERE user_id = 1; }\nsession s2\nstep i { INSERT INTO enrollment VALUES (3, 1, 'z'); }\npermutation d i\n",
        false,
    );
    assert_eq!(
        outcomes_of(&r[0]),
        vec![("d".into(), Outcome::Immediate, None), ("i".into(), Outcome::Immediate, None)]
    );
}

#[test]
fn parent_delete_with_a_child_fails_and_without_fk_orphans() {
    let sessions = "session s1\nstep d { DELETE FROM auth_user WHERE id = 2; }\npermutation d\n";
    let on = run(sessions, true);
    assert_eq!(outcomes_of(&on[0]), vec![("d".into(), Outcome::Immediate, Some("fk_violation"))]);
    assert_eq!(on[0].orphans, 0);
    let off = run(sessions, false);
    assert_eq!(outcomes_of(&off[0]), vec![("d".into(), Outcome::Immediate, None)]);
    assert_eq!(off[0].orphans, 1);
}

#[test]
fn statement_error_keeps_the_transaction_and_its_locks() {
    // A duplicate key fails one statement; the transaction goes on and still holds its locks.
    let r = run(
        "session s1\nsetup { BEGIN; }\nstep a { UPDATE auth_user SET last_login = NOW() WHERE id = 1; }\nstep b { INSERT INTO auth_user VALUES (2, 'dup', NULL); }\nstep c { COMMIT; }\nsession s2\nstep u { UPDATE auth_user SET last_login = NOW() WHERE id = 1; }\npermutation a b u c\n",
        true,
    );
    assert_eq!(
        outcomes_of(&r[0]),
        vec![
            ("a".into(), Outcome::Immediate, None),
            ("b".into(), Outcome::Immediate, Some("unique_violation")),
            ("u".into(), Outcome::Waiting, None),
            ("c".into(), Outcome::Immediate, None),
            ("u".into(), Outcome::Completed, None),
        ]
    );
}

#[test]
fn a_step_issued_to_a_busy_session_queues_behind_it() {
    let r = run(
        "session s1\nsetup { BEGIN; }\nstep a { UPDATE auth_user SET last_login = NOW() WHERE id = 1; }\nstep c { COMMIT; }\nsession s2\nsetup { BEGIN; }\nstep u { UPDATE auth_user SET last_login = NOW() WHERE id = 1; }\nstep v { UPDATE auth_user SET last_login = NOW() WHERE id = 2; }\npermutation a u v c\n",
        true,
    );
    let queued = r[0].events.iter().find(|e| &*e.step == "v").expect("v reported");
    assert_eq!(queued.outcome, Outcome::Waiting);
    assert_eq!(queued.queued_behind.as_deref(), Some("u"));
    assert_eq!(
        outcomes_of(&r[0])[3..],
        [
            ("c".into(), Outcome::Immediate, None),
            ("u".into(), Outcome::Completed, None),
            ("v".into(), Outcome::Completed, None)
        ]
    );
}

#[test]
fn star_marker_reports_waiting_even_when_the_step_finished() {
    let r = run(
        "session s1\nstep a { SELECT * FROM auth_user; }\nsession s2\nstep b { SELECT * FROM auth_user WHERE id = 1; }\npermutation a(*) b\n",
        true,
    );
    assert_eq!(
        outcomes_of(&r[0]),
        vec![
            ("a".into(), Outcome::Waiting, None),
            ("b".into(), Outcome::Immediate, None),
            ("a".into(), Outcome::Completed, None)
        ]
    );
}

#[test]
fn other_step_marker_holds_completion_until_that_step_completes() {
    // u2 waits for u1's lock; with `c(u2)` the commit's completion is held back until u2 has
    // completed. As in isolationtester, a step launched now joins the waiting list only after this
    // round of completions, so `c` is reported at the next step.
    let r = run(
        "session s1\nsetup { BEGIN; }\nstep u1 { UPDATE auth_user SET last_login = NOW() WHERE id = 1; }\nstep c { COMMIT; }\nsession s2\nsetup { BEGIN; }\nstep u2 { UPDATE auth_user SET last_login = NOW() WHERE id = 1; }\nstep c2 { COMMIT; }\npermutation u1 u2 c(u2) c2\n",
        true,
    );
    assert_eq!(
        outcomes_of(&r[0]),
        vec![
            ("u1".into(), Outcome::Immediate, None),
            ("u2".into(), Outcome::Waiting, None),
            ("c".into(), Outcome::Waiting, None),
            ("u2".into(), Outcome::Completed, None),
            ("c2".into(), Outcome::Immediate, None),
            ("c".into(), Outcome::Completed, None),
        ]
    );
}

#[test]
fn select_shows_rows_through_a_consistent_read() {
    // Repeatable read: s1's snapshot from its first read does not see s2's later commit.
    let r = run(
        "session s1\nsetup { BEGIN; }\nstep r1 { SELECT id FROM auth_user; }\nstep r2 { SELECT id FROM auth_user; }\nsession s2\nstep i { INSERT INTO auth_user VALUES (9, 'u9', NULL); }\npermutation r1 i r2\n",
        true,
    );
    let rows: Vec<usize> =
        r[0].events.iter().filter(|e| e.step.starts_with('r')).map(|e| e.rows[0].rows.len()).collect();
    assert_eq!(rows, vec![3, 3]);
}
