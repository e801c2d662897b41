//! Referential actions done by the engines (ON DELETE / ON UPDATE CASCADE, SET NULL, RESTRICT):
//! which rows they change, which locks they take and wait for, on InnoDB and PostgreSQL.

mod common;
use common::*;
use fksim::run::{EngineKind, Outcome, PermutationReport};
use fksim::sql::Value;

fn schema(action: &str) -> String {
    format!(
        "setup {{
  CREATE TABLE auth_user (id INT PRIMARY KEY, username VARCHAR(30) UNIQUE);
  CREATE TABLE enrollment (id INT PRIMARY KEY, user_id INT NULL, course VARCHAR(10) NOT NULL, FOREIGN KEY (user_id) REFERENCES auth_user (id) {action});
  CREATE INDEX enr_user ON enrollment (user_id);
  INSERT INTO auth_user VALUES (1, 'u1'), (2, 'u2');
  INSERT INTO enrollment VALUES (10, 1, 'a'), (11, 1, 'b'), (12, 2, 'a');
}}
"
    )
}

fn run(engine: EngineKind, action: &str, sessions: &str) -> Vec<PermutationReport> {
    let sc = load_text_for("actions.spec", &format!("{}{sessions}", schema(action)), engine, true);
    run_on(&sc, engine)
}

fn outcomes_of(r: &PermutationReport) -> Vec<(String, Outcome, Option<&'static str>)> {
    r.events.iter().map(|e| (e.step.to_string(), e.outcome, e.error.as_ref().map(|x| x.kind.name()))).collect()
}

/// The rows the last step's SELECT returned.
fn last_rows(r: &PermutationReport) -> Vec<Vec<Value>> {
    r.events.iter().rev().find_map(|e| e.rows.first()).map(|rows| rows.rows.clone()).unwrap_or_default()
}

const BOTH: [EngineKind; 2] = [EngineKind::Innodb, EngineKind::Postgres];

#[test]
fn on_delete_cascade_deletes_the_children_and_nothing_else() {
    for engine in BOTH {
        let r = run(
            engine,
            "ON DELETE CASCADE",
            "session s1\nstep d { DELETE FROM auth_user WHERE id = 1; }\nstep q { SELECT id FROM enrollment; }\n",
        );
        assert!(r[0].events.iter().all(|e| e.error.is_none()), "{engine:?}: {:?}", outcomes_of(&r[0]));
        assert_eq!(last_rows(&r[0]), vec![vec![Value::Int(12)]], "{engine:?}");
        assert_eq!(r[0].orphans, 0);
    }
}

#[test]
fn on_delete_set_null_keeps_the_children_with_null() {
    for engine in BOTH {
        let r = run(
            engine,
            "ON DELETE SET NULL",
            "session s1\nstep d { DELETE FROM auth_user WHERE id = 1; }\nstep q { SELECT id FROM enrollment WHERE user_id IS NULL; }\n",
        );
        assert!(r[0].events.iter().all(|e| e.error.is_none()), "{engine:?}: {:?}", outcomes_of(&r[0]));
        let mut ids = last_rows(&r[0]);
        ids.sort();
        assert_eq!(ids, vec![vec![Value::Int(10)], vec![Value::Int(11)]], "{engine:?}");
        assert_eq!(r[0].orphans, 0);
    }
}

#[test]
fn restrict_refuses_like_no_action() {
    for engine in BOTH {
        for action in ["ON DELETE RESTRICT", ""] {
            let r = run(engine, action, "session s1\nstep d { DELETE FROM auth_user WHERE id = 1; }\n");
            assert_eq!(outcomes_of(&r[0]), vec![("d".into(), Outcome::Immediate, Some("fk_violation"))]);
        }
    }
}

#[test]
fn on_update_cascade_moves_the_children_with_the_key() {
    for engine in BOTH {
        let r = run(
            engine,
            "ON UPDATE CASCADE",
            "session s1\nstep k { UPDATE auth_user SET id = 7 WHERE id = 1; }\nstep q { SELECT id FROM enrollment WHERE user_id = 7; }\n",
        );
        assert!(r[0].events.iter().all(|e| e.error.is_none()), "{engine:?}: {:?}", outcomes_of(&r[0]));
        assert_eq!(last_rows(&r[0]).len(), 2, "{engine:?}");
        assert_eq!(r[0].orphans, 0);
    }
}

/// The cascade locks each child row it deletes: it waits behind an open update of one, and names
/// the child row and the action in its wait.
#[test]
fn the_cascade_waits_for_a_locked_child_row() {
    let sessions = "session s1\nsetup { BEGIN; }\nstep u { UPDATE enrollment SET course = 'z' WHERE id = 11; }\nstep c { COMMIT; }\n\
                    session s2\nsetup { BEGIN; }\nstep d { DELETE FROM auth_user WHERE id = 1; }\nstep c2 { COMMIT; }\n\
                    permutation u d c c2\n";
    for engine in BOTH {
        let r = run(engine, "ON DELETE CASCADE", sessions);
        let waits: Vec<_> = r[0].events.iter().filter(|e| e.outcome == Outcome::Waiting).collect();
        assert_eq!(waits.len(), 1, "{engine:?}: {:?}", outcomes_of(&r[0]));
        assert_eq!(&*waits[0].step, "d");
        let w = waits[0].wait.as_ref().expect("wait info");
        assert_eq!(&*w.wants.table, "enrollment", "{engine:?}: {w:?}");
        assert_eq!(&*w.behind[0].session, "s1");
        if engine == EngineKind::Innodb {
            assert_eq!((w.wants.mode, w.wants.kind, &*w.wants.index), ("X", "record", "PRIMARY"));
            assert!(w.wants.taken_by.contains("ON DELETE CASCADE"), "{}", w.wants.taken_by);
        }
        assert!(r[0].events.iter().all(|e| e.error.is_none()));
        assert_eq!(r[0].orphans, 0);
    }
}

/// An enrollment inserted while the user is being deleted: it waits for the delete and fails,
/// or, inserted first, makes the delete wait and is deleted with the others; never an orphan.
#[test]
fn a_concurrent_insert_is_refused_or_deleted_with_the_rest() {
    let sessions = "session s1\nsetup { BEGIN; }\nstep d { DELETE FROM auth_user WHERE id = 1; }\nstep c { COMMIT; }\n\
                    session s2\nsetup { BEGIN; }\nstep i { INSERT INTO enrollment VALUES (20, 1, 'n'); }\nstep c2 { COMMIT; }\n\
                    permutation d i c c2\npermutation i d c2 c\n";
    for engine in BOTH {
        let r = run(engine, "ON DELETE CASCADE", sessions);
        use Outcome::*;
        let o = |s: &str, o: Outcome, e: Option<&'static str>| (s.to_string(), o, e);
        assert_eq!(
            outcomes_of(&r[0]),
            vec![
                o("d", Immediate, None),
                o("i", Waiting, None),
                o("c", Immediate, None),
                o("i", Completed, Some("fk_violation")),
                o("c2", Immediate, None)
            ],
            "{engine:?}"
        );
        assert_eq!(
            outcomes_of(&r[1]),
            vec![
                o("i", Immediate, None),
                o("d", Waiting, None),
                o("c2", Immediate, None),
                o("d", Completed, None),
                o("c", Immediate, None)
            ],
            "{engine:?}"
        );
        assert_eq!((r[0].orphans, r[1].orphans), (0, 0));
    }
}

/// Under REPEATABLE READ, a child row committed after the snapshot: InnoDB's cascade (a locking
/// read) deletes it; PostgreSQL's (cross-checked against the transaction snapshot) fails.
#[test]
fn repeatable_read_cascade_meets_a_row_committed_after_the_snapshot() {
    let sessions =
        "session s1\nsetup { BEGIN ISOLATION LEVEL REPEATABLE READ; }\nstep r { SELECT COUNT(*) FROM enrollment; }\n\
                    step d { DELETE FROM auth_user WHERE id = 1; }\nstep c { COMMIT; }\n\
                    session s2\nstep i { INSERT INTO enrollment VALUES (20, 1, 'n'); }\npermutation r i d c\n";
    let inno = run(EngineKind::Innodb, "ON DELETE CASCADE", sessions);
    assert!(inno[0].events.iter().all(|e| e.error.is_none()));
    assert_eq!(inno[0].orphans, 0);
    let pg = run(EngineKind::Postgres, "ON DELETE CASCADE", sessions);
    let d = pg[0].events.iter().find(|e| &*e.step == "d").expect("d reported");
    assert_eq!(d.error.as_ref().map(|e| e.kind.name()), Some("serialization"));
    assert_eq!(pg[0].orphans, 0);
}

/// SET NULL on a NOT NULL column: MariaDB refuses the table (errno 150); PostgreSQL accepts it
/// and the delete fails on the NOT NULL constraint.
#[test]
fn set_null_on_a_not_null_column() {
    let text = "setup {\n  CREATE TABLE p (id INT PRIMARY KEY);\n  CREATE TABLE c (id INT PRIMARY KEY, pid INT NOT NULL, FOREIGN KEY (pid) REFERENCES p (id) ON DELETE SET NULL);\n  INSERT INTO p VALUES (1);\n  INSERT INTO c VALUES (1, 1);\n}\nsession s1\nstep d { DELETE FROM p WHERE id = 1; }\n";
    let spec = fksim::spec::parse_spec("notnull.spec", text).expect("parses");
    let opts = EngineKind::Innodb.schema(true);
    let e = fksim::scenario::Scenario::load(spec, opts).map(|_| ()).expect_err("InnoDB refuses the table").to_string();
    assert!(e.contains("errno: 150"), "{e}");
    let sc = load_text_for("notnull.spec", text, EngineKind::Postgres, true);
    let r = run_on(&sc, EngineKind::Postgres);
    assert_eq!(outcomes_of(&r[0]), vec![("d".into(), Outcome::Immediate, Some("other"))]);
    assert!(r[0].events[0].error.as_ref().is_some_and(|e| e.message.contains("not-null")));
}
