//! Tests of the lowering of partitioned tables, UPDATE expressions and SELECTs of constants.

use crate::spec::Pos;
use crate::sql::plan::{CmpOp, Cond, Expr, Plan};
use crate::sql::{parse_statement, Catalog, RawStatement, SchemaOptions, SqlDialect, SqlError, Value};

const OPTS: SchemaOptions =
    SchemaOptions { fk_enforced: true, implicit_fk_index: false, dialect: SqlDialect::Postgres };

fn run(cat: &mut Catalog, sql: &str) -> Result<Plan, SqlError> {
    parse_statement(&RawStatement { text: sql.into(), pos: Pos { line: 3, col: 1 } }, cat, OPTS).map(|s| s.plan)
}

fn partitioned() -> Catalog {
    let mut cat = Catalog::default();
    for ddl in [
        "CREATE TABLE foo (a int PRIMARY KEY, b text) PARTITION BY LIST (a)",
        "CREATE TABLE foo1 PARTITION OF foo FOR VALUES IN (1)",
        "CREATE TABLE foo2 PARTITION OF foo FOR VALUES IN (2, 3)",
        "CREATE TABLE r (id int) PARTITION BY RANGE (id)",
        "CREATE TABLE r_lo PARTITION OF r FOR VALUES FROM (MINVALUE) TO (10)",
        "CREATE TABLE r_hi PARTITION OF r FOR VALUES FROM (10) TO (20)",
        "CREATE TABLE child (x int REFERENCES foo)",
    ] {
        run(&mut cat, ddl).unwrap();
    }
    cat
}

#[test]
fn rows_are_routed_by_the_partition_bounds() {
    let cat = partitioned();
    let foo = cat.table_id("foo").unwrap();
    assert_eq!(cat.table_id("foo2"), Some(foo));
    let row = |a: i64| vec![Value::Int(a), Value::Null];
    assert_eq!(cat.partition_of_row(foo, &row(3)).map(|p| p.name.as_str()), Some("foo2"));
    assert!(cat.partition_of_row(foo, &row(4)).is_none());
    assert_eq!(cat.relation_of_row(foo, &row(1)), "foo1");
    let r = cat.table_id("r").unwrap();
    let id = |v: i64| vec![Value::Int(v), Value::Int(0)];
    assert_eq!(cat.partition_of_row(r, &id(-5)).map(|p| p.name.as_str()), Some("r_lo"));
    assert_eq!(cat.partition_of_row(r, &id(10)).map(|p| p.name.as_str()), Some("r_hi"));
    assert!(cat.partition_of_row(r, &id(20)).is_none());
    assert!(cat.partition_of_row(r, &[Value::Null, Value::Int(0)]).is_none());
}

#[test]
fn a_partition_named_in_a_statement_is_its_bound() {
    let mut cat = partitioned();
    let Plan::Delete { table, filter } = run(&mut cat, "DELETE FROM foo2 WHERE b = 'x'").unwrap() else {
        panic!("not a DELETE")
    };
    assert_eq!(table, cat.table_id("foo").unwrap());
    assert_eq!(filter.conds[1], Cond::In(0, vec![Value::Int(2), Value::Int(3)]));
    let Plan::Select { filter, .. } = run(&mut cat, "SELECT * FROM r_hi").unwrap() else { panic!("not a SELECT") };
    assert!(filter.conds.contains(&Cond::Cmp(0, CmpOp::Lt, Value::Int(20))));
    let e = run(&mut cat, "INSERT INTO foo1 VALUES (1, 'a')").unwrap_err();
    assert!(e.what.contains("partition by its name"), "{}", e.what);
    let e = run(&mut cat, "UPDATE foo1 SET a = 2").unwrap_err();
    assert!(e.what.contains("partition key"), "{}", e.what);
}

#[test]
fn partitioned_tables_refuse_what_is_not_modelled() {
    let mut cat = Catalog::default();
    let e = run(&mut cat, "CREATE TABLE h (a int) PARTITION BY HASH (a)").unwrap_err();
    assert!(e.what.contains("LIST (col) or RANGE (col)"), "{}", e.what);
    let e = run(&mut cat, "CREATE TABLE u (a int, b int UNIQUE) PARTITION BY LIST (a)").unwrap_err();
    assert!(e.what.contains("must include all partitioning columns"), "{}", e.what);
    assert!(cat.table_id("u").is_none());
    run(&mut cat, "CREATE TABLE l (a int) PARTITION BY LIST (a)").unwrap();
    let e = run(&mut cat, "CREATE TABLE l1 PARTITION OF l FOR VALUES FROM (1) TO (2)").unwrap_err();
    assert!(e.what.contains("FOR VALUES IN"), "{}", e.what);
    let e = run(&mut cat, "CREATE TABLE l2 PARTITION OF l DEFAULT").unwrap_err();
    assert!(e.what.contains("FOR VALUES IN"), "{}", e.what);
}

#[test]
fn the_constraint_cloned_for_a_referenced_partition_is_named_after_the_child() {
    let cat = partitioned();
    let child = cat.table_id("child").unwrap();
    assert_eq!(cat.referenced_relation(child, 0, &[Value::Int(1)]), ("foo1".into(), "child_x_fkey1".into()));
    assert_eq!(cat.referenced_relation(child, 0, &[Value::Int(3)]), ("foo2".into(), "child_x_fkey2".into()));
}

#[test]
fn update_expressions_and_constants_lower() {
    let mut cat = partitioned();
    let Plan::Update { set, .. } = run(&mut cat, "UPDATE foo SET b = lower(b), a = a").unwrap() else {
        panic!("not an UPDATE")
    };
    assert_eq!(set, vec![(1, Expr::Case(1, false)), (0, Expr::ColPlus(0, 0))]);
    let Plan::Update { set, .. } = run(&mut cat, "UPDATE foo SET b = b || ' moved'").unwrap() else {
        panic!("not an UPDATE")
    };
    let row = [Value::Int(1), Value::Str("x".into())];
    assert_eq!(set[0].1.of_row(&row), Some(Value::Str("x moved".into())));
    assert_eq!(set[0].1.of_row(&[Value::Int(1), Value::Null]), Some(Value::Null));
    assert!(run(&mut cat, "UPDATE foo SET b = md5(b)").is_err());
    let Plan::Values { names, row } = run(&mut cat, "SELECT 1").unwrap() else { panic!("not constants") };
    assert_eq!((names, row), (vec!["?column?".to_string()], vec![Value::Int(1)]));
    let sql = "SELECT current_setting('default_transaction_isolation') <> 'read committed'";
    let Plan::Values { row, .. } = run(&mut cat, sql).unwrap() else { panic!("not constants") };
    assert_eq!(row, vec![Value::Bool(false)]);
}
