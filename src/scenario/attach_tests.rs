//! Tests of how a spec with ALTER TABLE ... ATTACH PARTITION binds: in the setup and in steps.

use super::Scenario;
use crate::spec::parse_spec;
use crate::sql::{Plan, SchemaOptions, SqlDialect};

const OPTS: SchemaOptions =
    SchemaOptions { fk_enforced: true, implicit_fk_index: false, dialect: SqlDialect::Postgres };

fn load(setup: &str, steps: &str) -> Result<Scenario, String> {
    let text = format!(
        "setup {{ CREATE TABLE p (a int PRIMARY KEY, b int) PARTITION BY LIST (a); \
         CREATE TABLE p1 PARTITION OF p FOR VALUES IN (1); CREATE TABLE c (b int, a int PRIMARY KEY); \
         INSERT INTO c VALUES (20, 2); {setup} }}\n\
         session s1\nstep s1a {{ ALTER TABLE p ATTACH PARTITION c FOR VALUES IN (2); }}\n\
         session s2\n{steps}\n"
    );
    Scenario::load(parse_spec("t.spec", &text).map_err(|e| e.to_string())?, OPTS).map_err(|e| e.to_string())
}

#[test]
fn a_step_attach_adds_its_partition_to_the_run_catalog() {
    let sc = load("", "step s2r { SELECT * FROM p; }").unwrap();
    let c = sc.catalog.table_id("c").unwrap();
    let Plan::AttachPartition { partition, table, .. } = &sc.sessions[0].steps[0].stmts[0].plan else {
        panic!("an ATTACH plan")
    };
    assert_eq!((*partition, *table), (1, c));
    assert_eq!(sc.catalog.partitions[1].attached_from, Some(c));
    assert_eq!(sc.catalog.partitions.len(), 2);
}

#[test]
fn statements_naming_an_attached_table_or_routing_rows_past_a_step_attach_are_refused() {
    let e = load("", "step s2r { SELECT * FROM c; }").unwrap_err();
    assert!(e.contains("naming table `c` after it is attached as a partition of `p` is not modelled"), "{e}");
    let e = load("", "step s2i { INSERT INTO p VALUES (2, 1); }").unwrap_err();
    assert!(e.contains("writing to `p` in a spec whose steps attach partition `c` to it is not modelled"), "{e}");
    // A DELETE routes no row.
    assert!(load("", "step s2d { DELETE FROM p WHERE a = 1; }").is_ok());
}

#[test]
fn a_setup_attach_refuses_only_the_statements_after_it() {
    let setup = "CREATE TABLE d (a int PRIMARY KEY, b int); INSERT INTO d VALUES (3, 30); \
                 ALTER TABLE p ATTACH PARTITION d FOR VALUES IN (3); INSERT INTO p VALUES (1, 31);";
    // The INSERT into d runs before the ATTACH; the INSERT through p after it is routed to d.
    let sc = load(setup, "step s2r { SELECT * FROM p; }").unwrap();
    assert!(matches!(sc.setup[2].plan, Plan::AttachPartition { partition: 1, .. }));
    let e = load(&format!("{setup} SELECT * FROM d;"), "step s2r { SELECT * FROM p; }").unwrap_err();
    assert!(e.contains("naming table `d` after it is attached"), "{e}");
}
