//! PostgreSQL's sequences and expression indexes in the model: the values nextval returns (never
//! given back, except those taken from an uncommitted ALTER's relfilenode), and a unique check on
//! a computed key.

mod common;
use common::*;
use fksim::engine::EngineKind;
use fksim::run::PermutationReport;
use fksim::sql::Value;

fn run(text: &str) -> Vec<PermutationReport> {
    run_on(&load_text_for("t.spec", text, EngineKind::Postgres, true), EngineKind::Postgres)
}

/// The values a step returned, and its error message.
fn values(r: &PermutationReport, step: &str) -> (Vec<i64>, Option<String>) {
    let e = r.events.iter().rev().find(|e| &*e.step == step).expect("the step ran");
    let vals = e.rows.iter().flat_map(|rows| rows.rows.iter()).map(|row| match row[0] {
        Value::Int(i) => i,
        ref v => panic!("not an integer: {v:?}"),
    });
    (vals.collect(), e.error.as_ref().map(|x| x.message.clone()))
}

const SEQ: &str = "setup { CREATE SEQUENCE q MAXVALUE 4; }
session s1
step s1b { BEGIN; }
step s1n { SELECT nextval('q') FROM generate_series(1, 2); }
step s1restart { ALTER SEQUENCE q RESTART WITH 3; }
step s1r { ROLLBACK; }
step s1c { COMMIT; }
session s2
step s2n { SELECT nextval('q') FROM generate_series(1, 3); }
";

#[test]
fn nextval_values_are_not_rolled_back_but_an_alters_are() {
    let spec = format!("{SEQ}permutation s1b s1n s1r s2n\npermutation s1b s1n s1restart s1n s1r s2n\npermutation s1b s1restart s1c s2n\n");
    let r = run(&spec);
    assert_eq!(values(&r[0], "s1n"), (vec![1, 2], None));
    // 3 and 4, then past MAXVALUE: the statement fails (the two values stay taken).
    let max = Some("nextval: reached maximum value of sequence \"q\" (4)".to_string());
    assert_eq!(values(&r[0], "s2n"), (vec![], max.clone()));
    // The second s1n took 3 and 4 from the ALTER's relfilenode, which the rollback dropped.
    assert_eq!(values(&r[1], "s1n"), (vec![3, 4], None));
    assert_eq!(values(&r[1], "s2n"), (vec![], max));
    assert_eq!(values(&r[2], "s2n"), (vec![], Some("nextval: reached maximum value of sequence \"q\" (4)".into())));
}

#[test]
fn nextval_waits_for_an_uncommitted_alter_and_sees_it_after_commit() {
    let spec = format!("{SEQ}permutation s1b s1restart s2n s1c\n");
    let r = run(&spec);
    let waiting: Vec<&str> =
        r[0].events.iter().filter(|e| e.outcome == fksim::run::Outcome::Waiting).map(|e| &*e.step).collect();
    assert_eq!(waiting, ["s2n"]);
    // RESTART WITH 3 committed: 3, 4, then the maximum.
    assert!(values(&r[0], "s2n").1.is_some_and(|m| m.contains("reached maximum value")));
}

#[test]
fn a_unique_index_on_lower_compares_the_lowered_keys() {
    let spec = "setup { CREATE TABLE t (name text not null, note text); CREATE UNIQUE INDEX ON t (lower(name)) INCLUDE (note); INSERT INTO t VALUES ('Bar', 'a'); }
session s1
step s1dup { INSERT INTO t VALUES ('bAR', 'b'); }
step s1up { INSERT INTO t VALUES ('BAR', 'c') ON CONFLICT (lower(name)) DO UPDATE SET note = t.note || EXCLUDED.note; }
step s1ok { INSERT INTO t VALUES ('Baz', 'd'); }
step s1s { SELECT * FROM t; }
permutation s1dup s1up s1ok s1s
";
    let r = run(spec);
    let dup = r[0].events.iter().find(|e| &*e.step == "s1dup").and_then(|e| e.error.as_ref()).expect("an error");
    assert_eq!(dup.message, "duplicate key value violates unique constraint \"t_lower_note_idx\"");
    let rows = &r[0].events.iter().find(|e| &*e.step == "s1s").expect("the select").rows[0].rows;
    let shown: Vec<String> = rows.iter().map(|r| format!("{}:{}", r[0], r[1])).collect();
    assert_eq!(shown, ["Bar:ac", "Baz:d"]);
}

#[test]
fn innodb_refuses_sequences_and_expression_indexes() {
    for setup in ["CREATE SEQUENCE q;", "CREATE TABLE t (name text); CREATE UNIQUE INDEX ON t (lower(name));"] {
        let spec =
            fksim::spec::parse_spec("t.spec", &format!("setup {{ {setup} }}\nsession s1\nstep a {{ BEGIN; }}\n"))
                .unwrap();
        let e = fksim::scenario::Scenario::load(spec, EngineKind::Innodb.schema(true)).unwrap_err();
        assert!(e.what.contains("not modelled"), "{e}");
    }
}
