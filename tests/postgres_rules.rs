//! PostgreSQL rules seen through the runner: row-lock strengths, RI checks under MVCC, READ
//! COMMITTED re-checks, REPEATABLE READ failures, and timers on the virtual clock.

mod common;
use common::*;
use fksim::run::{EngineKind, Outcome, PermutationReport};

const SCHEMA: &str = "setup {
  CREATE TABLE auth_user (id INT PRIMARY KEY, username VARCHAR(30) UNIQUE, last_login TIMESTAMP NULL, active BOOLEAN);
  CREATE TABLE enrollment (id INT PRIMARY KEY, user_id INT NOT NULL, FOREIGN KEY (user_id) REFERENCES auth_user (id));
  INSERT INTO auth_user VALUES (1, 'u1', NULL, TRUE), (2, 'u2', NULL, TRUE);
}
";

fn run(sessions: &str) -> Vec<PermutationReport> {
    let sc = load_text_for("pg.spec", &format!("{SCHEMA}{sessions}"), EngineKind::Postgres, true);
    run_on(&sc, EngineKind::Postgres)
}

fn outcomes_of(r: &PermutationReport) -> Vec<(String, Outcome, Option<&'static str>)> {
    r.events.iter().map(|e| (e.step.to_string(), e.outcome, e.error.as_ref().map(|x| x.kind.name()))).collect()
}

fn ev(step: &str, o: Outcome, e: Option<&'static str>) -> (String, Outcome, Option<&'static str>) {
    (step.to_string(), o, e)
}

use Outcome::*;

#[test]
fn fk_check_and_non_key_update_do_not_conflict_but_key_update_does() {
    let r = run("session s1\nsetup { BEGIN; }\nstep i { INSERT INTO enrollment VALUES (1, 1); }\nstep c { COMMIT; }\nsession s2\nstep u { UPDATE auth_user SET last_login = NOW() WHERE id = 1; }\nstep n { UPDATE auth_user SET username = 'x' WHERE id = 1; }\npermutation i u n c\n");
    assert_eq!(
        outcomes_of(&r[0]),
        vec![
            ev("i", Immediate, None),
            ev("u", Immediate, None),
            ev("n", Waiting, None),
            ev("c", Immediate, None),
            ev("n", Completed, None)
        ]
    );
    let w = r[0].events[2].wait.as_ref().expect("wait info");
    assert_eq!(w.wants.mode, "FOR UPDATE");
    assert_eq!(w.behind[0].mode, "FOR KEY SHARE");
}

#[test]
fn uncommitted_parent_is_invisible_to_the_fk_check() {
    let r = run("session s1\nsetup { BEGIN; }\nstep p { INSERT INTO auth_user VALUES (7, 'u7', NULL, TRUE); }\nstep c { COMMIT; }\nsession s2\nstep i { INSERT INTO enrollment VALUES (1, 7); }\npermutation p i c\n");
    assert_eq!(
        outcomes_of(&r[0]),
        vec![ev("p", Immediate, None), ev("i", Immediate, Some("fk_violation")), ev("c", Immediate, None)]
    );
}

#[test]
fn read_committed_rechecks_the_newest_version() {
    // s2's UPDATE waits for s1; after s1 commits, the row no longer matches `active = TRUE`, so
    // s2 skips it: the later SELECT shows last_login still NULL.
    let r = run("session s1\nsetup { BEGIN; }\nstep a { UPDATE auth_user SET active = FALSE WHERE id = 1; }\nstep c { COMMIT; }\nsession s2\nstep u { UPDATE auth_user SET last_login = NOW() WHERE active = TRUE AND id = 1; }\nstep q { SELECT last_login FROM auth_user WHERE id = 1; }\npermutation a u c q\n");
    assert_eq!(
        outcomes_of(&r[0])[..4],
        [ev("a", Immediate, None), ev("u", Waiting, None), ev("c", Immediate, None), ev("u", Completed, None)]
    );
    let q = r[0].events.iter().find(|e| &*e.step == "q").expect("q");
    assert_eq!(q.rows[0].rows, vec![vec![fksim::sql::Value::Null]]);
}

#[test]
fn repeatable_read_fails_on_a_concurrently_updated_row() {
    let r = run("session s1\nsetup { BEGIN ISOLATION LEVEL REPEATABLE READ; }\nstep r { SELECT id FROM auth_user; }\nstep u { UPDATE auth_user SET last_login = NOW() WHERE id = 2; }\nsession s2\nstep w { UPDATE auth_user SET last_login = NOW() WHERE id = 2; }\npermutation r w u\n");
    assert_eq!(
        outcomes_of(&r[0]),
        vec![ev("r", Immediate, None), ev("w", Immediate, None), ev("u", Immediate, Some("serialization"))]
    );
}

#[test]
fn an_error_aborts_the_block_until_its_end() {
    let r = run("session s1\nsetup { BEGIN; }\nstep i { INSERT INTO enrollment VALUES (1, 9); }\nstep q { SELECT 1 FROM auth_user; }\nstep c { COMMIT; }\npermutation i q c\n");
    assert_eq!(
        outcomes_of(&r[0]),
        vec![ev("i", Immediate, Some("fk_violation")), ev("q", Immediate, Some("other")), ev("c", Immediate, None)]
    );
}

#[test]
fn the_deadlock_is_found_by_the_waiter_whose_check_runs_after_the_cycle_forms() {
    // s1 waits first; its check 100 ms later finds no cycle. s2 closes the cycle and is the victim.
    let r = run("session s1\nsetup { BEGIN; }\nstep a { UPDATE auth_user SET last_login = NOW() WHERE id = 1; }\nstep b { UPDATE auth_user SET last_login = NOW() WHERE id = 2; }\nstep c { COMMIT; }\nsession s2\nsetup { BEGIN; }\nstep x { UPDATE auth_user SET last_login = NOW() WHERE id = 2; }\nstep y { UPDATE auth_user SET last_login = NOW() WHERE id = 1; }\nstep z { COMMIT; }\npermutation a x b y c z\n");
    assert_eq!(
        outcomes_of(&r[0])[..5],
        [
            ev("a", Immediate, None),
            ev("x", Immediate, None),
            ev("b", Waiting, None),
            ev("y", Immediate, Some("deadlock")),
            ev("b", Completed, None)
        ]
    );
    assert_eq!(&*r[0].events[3].deadlocks[0].victim, "s2");
}

#[test]
fn a_longer_deadlock_timeout_delays_detection_past_the_wait_window() {
    // With deadlock_timeout = 1s the cycle is found after the 0.6 s window: the step is reported
    // waiting, then completed with the deadlock error.
    let r = run("session s1\nsetup { BEGIN; }\nstep a { UPDATE auth_user SET last_login = NOW() WHERE id = 1; }\nstep b { UPDATE auth_user SET last_login = NOW() WHERE id = 2; }\nstep c { COMMIT; }\nsession s2\nsetup { SET deadlock_timeout = '1s'; BEGIN; }\nstep x { UPDATE auth_user SET last_login = NOW() WHERE id = 2; }\nstep y { UPDATE auth_user SET last_login = NOW() WHERE id = 1; }\nstep z { COMMIT; }\npermutation a x b y c z\n");
    let out = outcomes_of(&r[0]);
    assert_eq!(out[3], ev("y", Waiting, None));
    assert!(out.contains(&ev("y", Completed, Some("deadlock"))), "{out:?}");
}
