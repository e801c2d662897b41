//! The orphan sweeper (`DELETE ... WHERE user_id NOT IN (SELECT id FROM auth_user)`): which locks
//! each engine's profile takes for the subquery, seen through the runner's wait reports.

mod common;
use common::*;
use fksim::run::{EngineKind, Outcome, PermutationReport};

const SCHEMA: &str = "setup {
  CREATE TABLE auth_user (id INT PRIMARY KEY, last_login TIMESTAMP NULL);
  CREATE TABLE bookmark (id INT PRIMARY KEY, user_id INT NOT NULL, FOREIGN KEY (user_id) REFERENCES auth_user (id));
  INSERT INTO auth_user VALUES (1, NULL), (2, NULL), (3, NULL);
  INSERT INTO bookmark VALUES (100, 3), (101, 1);
}
";

const SWEEP: &str = "DELETE FROM bookmark WHERE user_id NOT IN (SELECT id FROM auth_user)";

/// Run `sessions` after the schema, FK off (so a step can make an orphan).
fn run(sessions: &str, engine: EngineKind) -> Vec<PermutationReport> {
    run_on(&load_text_for("sweeper.spec", &format!("{SCHEMA}{sessions}"), engine, false), engine)
}

/// The wanted lock and the blockers of `step`'s wait, or None if it did not wait.
fn wait_of(r: &PermutationReport, step: &str) -> Option<(String, Vec<String>)> {
    let e = r.events.iter().find(|e| &*e.step == step && e.outcome == Outcome::Waiting)?;
    let w = e.wait.as_ref().expect("wait info");
    let fmt = |d: &fksim::engine::LockDesc| {
        format!("{} {} {}.{} ({}) by {}", d.mode, d.kind, d.table, d.index, d.key, d.session)
    };
    Some((fmt(&w.wants), w.behind.iter().map(fmt).collect()))
}

fn sweeper_then(iso: &str, other: &str) -> String {
    format!(
        "session s1\nsetup {{ BEGIN ISOLATION LEVEL {iso}; }}\nstep o {{ INSERT INTO bookmark VALUES (102, 9); }}\nstep s {{ {SWEEP}; }}\nstep c {{ COMMIT; }}\nsession s2\nstep x {{ {other}; }}\npermutation o s x c\n"
    )
}

#[test]
fn innodb_sweeper_share_locks_each_referenced_user_at_both_levels() {
    for iso in ["REPEATABLE READ", "READ COMMITTED"] {
        let r = run(&sweeper_then(iso, "UPDATE auth_user SET last_login = NOW() WHERE id = 1"), EngineKind::Innodb);
        let (want, behind) = wait_of(&r[0], "x").unwrap_or_else(|| panic!("{iso}: the login did not wait"));
        assert_eq!(want, "X record auth_user.PRIMARY (id=1) by s2", "{iso}");
        assert_eq!(behind, vec!["S record auth_user.PRIMARY (id=1) by s1"], "{iso}");
        // A user with no bookmark is not touched.
        let r = run(&sweeper_then(iso, "UPDATE auth_user SET last_login = NOW() WHERE id = 2"), EngineKind::Innodb);
        assert_eq!(wait_of(&r[0], "x"), None, "{iso}");
    }
}

#[test]
fn innodb_sweeper_gap_locks_the_orphan_value_at_repeatable_read_only() {
    let r = run(&sweeper_then("REPEATABLE READ", "INSERT INTO auth_user VALUES (9, NULL)"), EngineKind::Innodb);
    let (want, behind) = wait_of(&r[0], "x").expect("the user insert waits");
    assert_eq!(want, "X insert-intention auth_user.PRIMARY (supremum) by s2");
    assert_eq!(behind, vec!["S gap auth_user.PRIMARY (supremum) by s1"]);
    // Below the smallest user the gap is free; at READ COMMITTED there are no gap locks.
    let r = run(&sweeper_then("REPEATABLE READ", "INSERT INTO auth_user VALUES (0, NULL)"), EngineKind::Innodb);
    assert_eq!(wait_of(&r[0], "x"), None);
    let r = run(&sweeper_then("READ COMMITTED", "INSERT INTO auth_user VALUES (9, NULL)"), EngineKind::Innodb);
    assert_eq!(wait_of(&r[0], "x"), None);
}

#[test]
fn postgres_sweeper_takes_no_lock_on_auth_user() {
    for iso in ["REPEATABLE READ", "READ COMMITTED"] {
        for other in ["UPDATE auth_user SET last_login = NOW() WHERE id = 1", "DELETE FROM auth_user WHERE id = 3"] {
            let r = run(&sweeper_then(iso, other), EngineKind::Postgres);
            assert_eq!(wait_of(&r[0], "x"), None, "{iso}: {other}");
        }
    }
}

#[test]
fn postgres_recheck_uses_the_statement_snapshot_subquery() {
    // The orphan is moved to a user created after the sweeper's snapshot: READ COMMITTED's
    // re-check still sees no user 7 and deletes the row; the re-insert of id 102 then succeeds.
    let sessions = format!(
        "session s1\nsetup {{ BEGIN; }}\nstep u {{ INSERT INTO auth_user VALUES (7, NULL); }}\nstep m {{ UPDATE bookmark SET user_id = 7 WHERE id = 102; }}\nstep c {{ COMMIT; }}\nsession s2\nstep o {{ INSERT INTO bookmark VALUES (102, 9); }}\nstep s {{ {SWEEP}; }}\nstep r {{ INSERT INTO bookmark VALUES (102, 7); }}\npermutation o u m s c r\n"
    );
    let pg = run(&sessions, EngineKind::Postgres);
    let r_pg = pg[0].events.iter().find(|e| &*e.step == "r").expect("r ran");
    assert!(r_pg.error.is_none(), "PostgreSQL deleted the re-attached bookmark");
    let inno = run(&sessions, EngineKind::Innodb);
    let r_inno = inno[0].events.iter().find(|e| &*e.step == "r").expect("r ran");
    assert_eq!(r_inno.error.as_ref().map(|e| e.kind.name()), Some("unique_violation"), "InnoDB kept it");
}
