//! Tests of the lowering of `ALTER TABLE ... ATTACH PARTITION` (read from its text).

use crate::spec::Pos;
use crate::sql::plan::{CmpOp, Cond, Plan};
use crate::sql::{parse_statement, Catalog, RawStatement, SchemaOptions, SqlDialect, SqlError, Value};

fn opts(dialect: SqlDialect) -> SchemaOptions {
    SchemaOptions { fk_enforced: true, implicit_fk_index: false, dialect }
}

fn run_as(cat: &mut Catalog, sql: &str, dialect: SqlDialect) -> Result<Plan, SqlError> {
    parse_statement(&RawStatement { text: sql.into(), pos: Pos { line: 7, col: 2 } }, cat, opts(dialect))
        .map(|s| s.plan)
}

fn run(cat: &mut Catalog, sql: &str) -> Result<Plan, SqlError> {
    run_as(cat, sql, SqlDialect::Postgres)
}

fn schema(ddl: &[&str]) -> Catalog {
    let mut cat = Catalog::default();
    for d in ddl {
        run(&mut cat, d).unwrap();
    }
    cat
}

const PARTTAB: &[&str] = &[
    "CREATE TABLE parttab (col1 text, key INTEGER PRIMARY KEY, col2 text) PARTITION BY LIST (key)",
    "CREATE TABLE parttab1 (key INTEGER PRIMARY KEY, col1 text, col2 text)",
    "CREATE TABLE r (id int PRIMARY KEY, v int) PARTITION BY RANGE (id)",
    "CREATE TABLE r1 (v int, id int PRIMARY KEY)",
];

#[test]
fn attach_maps_the_columns_by_name_and_adds_the_partition() {
    let mut cat = schema(PARTTAB);
    let plan = run(&mut cat, "ALTER TABLE parttab ATTACH PARTITION parttab1 FOR VALUES IN (1);").unwrap();
    let (parent, table) = (cat.table_id("parttab").unwrap(), 1);
    assert_eq!(cat.tables[table].name, "parttab1");
    // parttab's (col1, key, col2) from parttab1's (key, col1, col2).
    assert_eq!(plan, Plan::AttachPartition { parent, table, partition: 0, cols: vec![1, 0, 2] });
    let p = &cat.partitions[0];
    assert_eq!((p.name.as_str(), p.parent, p.attached_from), ("parttab1", parent, Some(table)));
    assert_eq!(p.bound, vec![Cond::In(1, vec![Value::Int(1)])]);
    // The table keeps its name as a table; a row of parttab with key 1 is the partition's.
    assert_eq!(cat.table_id("parttab1"), Some(table));
    let row = [Value::Null, Value::Int(1), Value::Null];
    assert_eq!(cat.relation_of_row(parent, &row), "parttab1");
}

#[test]
fn attach_reads_a_range_bound_and_quoted_names() {
    let mut cat = schema(PARTTAB);
    let plan = run(&mut cat, "alter table only \"r\" attach partition \"r1\" for values from (1) to (10)").unwrap();
    assert!(matches!(plan, Plan::AttachPartition { cols, .. } if cols == vec![1, 0]));
    let ge = Cond::Cmp(0, CmpOp::Ge, Value::Int(1));
    let lt = Cond::Cmp(0, CmpOp::Lt, Value::Int(10));
    assert_eq!(cat.partitions[0].bound, vec![Cond::IsNull(0, false), ge, lt]);
}

#[test]
fn attach_refuses_what_postgres_refuses_or_the_model_does_not_model() {
    let err = |ddl: &[&str], sql: &str| run(&mut schema(ddl), sql).unwrap_err().to_string();
    let e = err(PARTTAB, "ALTER TABLE parttab1 ATTACH PARTITION r1 FOR VALUES IN (1)");
    assert_eq!(
        e,
        "7:2: table \"parttab1\" is not partitioned: `ALTER TABLE parttab1 ATTACH PARTITION r1 FOR VALUES IN (1)`"
    );
    assert!(err(PARTTAB, "ALTER TABLE parttab ATTACH PARTITION nope FOR VALUES IN (1)")
        .contains("table `nope` does not exist"));
    assert!(err(PARTTAB, "ALTER TABLE parttab ATTACH PARTITION r1 FOR VALUES IN (1)")
        .contains("table \"r1\" contains column \"v\" not found in parent \"parttab\""));
    let e = err(PARTTAB, "ALTER TABLE parttab ATTACH PARTITION parttab1 DEFAULT");
    assert!(e.contains("partitions are modelled, not `DEFAULT`"), "{e}");
    let missing = ["CREATE TABLE p (a int, b int) PARTITION BY LIST (a)", "CREATE TABLE c (a int)"];
    assert!(err(&missing, "ALTER TABLE p ATTACH PARTITION c FOR VALUES IN (1)")
        .contains("child table is missing column \"b\""));
    let typed = ["CREATE TABLE p (a int, b int) PARTITION BY LIST (a)", "CREATE TABLE c (b text, a int)"];
    assert!(err(&typed, "ALTER TABLE p ATTACH PARTITION c FOR VALUES IN (1)")
        .contains("child table \"c\" has different type for column \"b\""));
    let mut cat = schema(PARTTAB);
    run(&mut cat, "ALTER TABLE parttab ATTACH PARTITION parttab1 FOR VALUES IN (1)").unwrap();
    let e = run(&mut cat, "ALTER TABLE parttab ATTACH PARTITION parttab1 FOR VALUES IN (2)").unwrap_err().to_string();
    assert!(e.contains("\"parttab1\" is already a partition"), "{e}");
    let e = err(PARTTAB, "ALTER TABLE parttab DETACH PARTITION parttab1");
    assert!(e.contains("DETACH PARTITION statements are not modelled"), "{e}");
}

#[test]
fn mariadb_has_no_attach_partition() {
    let mut cat = Catalog::default();
    run_as(&mut cat, "CREATE TABLE t (a int PRIMARY KEY)", SqlDialect::MySql).unwrap();
    let e = run_as(&mut cat, "ALTER TABLE t ATTACH PARTITION u FOR VALUES IN (1)", SqlDialect::MySql).unwrap_err();
    assert!(e.to_string().contains("MariaDB has no such statement"), "{e}");
}

#[test]
fn other_alter_tables_are_not_read_as_attach() {
    let mut cat = schema(PARTTAB);
    let e = run(&mut cat, "ALTER TABLE parttab1 ADD COLUMN attach int").unwrap_err().to_string();
    assert!(!e.contains("ATTACH PARTITION"), "{e}");
    assert!(run(&mut cat, "ALTER TABLE parttab1 ALTER COLUMN col1 SET NOT NULL").is_ok());
}

#[test]
fn a_bound_may_not_overlap_another_partition() {
    let mut cat = schema(PARTTAB);
    run(&mut cat, "CREATE TABLE r_lo PARTITION OF r FOR VALUES FROM (MINVALUE) TO (10)").unwrap();
    let e = run(&mut cat.clone(), "ALTER TABLE r ATTACH PARTITION r1 FOR VALUES FROM (5) TO (20)").unwrap_err();
    assert!(e.to_string().contains("partition \"r1\" would overlap partition \"r_lo\""), "{e}");
    let e = run(&mut cat.clone(), "CREATE TABLE r_min PARTITION OF r FOR VALUES FROM (MINVALUE) TO (0)").unwrap_err();
    assert!(e.to_string().contains("partition \"r_min\" would overlap partition \"r_lo\""), "{e}");
    run(&mut cat, "ALTER TABLE r ATTACH PARTITION r1 FOR VALUES FROM (10) TO (20)").unwrap();
    let mut cat = schema(PARTTAB);
    run(&mut cat, "CREATE TABLE parttab2 PARTITION OF parttab FOR VALUES IN (2, 3)").unwrap();
    let e = run(&mut cat, "ALTER TABLE parttab ATTACH PARTITION parttab1 FOR VALUES IN (1, 3)").unwrap_err();
    assert!(e.to_string().contains("partition \"parttab1\" would overlap partition \"parttab2\""), "{e}");
}
