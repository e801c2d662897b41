//! Tests of VACUUM / ANALYZE lowering and of ALTER TABLE SET (storage parameters).

use crate::spec::Pos;
use crate::sql::{parse_statement, Catalog, Maintenance, Plan, RawStatement, Relation, SchemaOptions, SqlDialect};

fn opts(dialect: SqlDialect) -> SchemaOptions {
    SchemaOptions { fk_enforced: true, implicit_fk_index: false, dialect }
}

fn run(cat: &mut Catalog, sql: &str, dialect: SqlDialect) -> Result<Plan, String> {
    let raw = RawStatement { text: sql.to_string(), pos: Pos { line: 1, col: 1 } };
    parse_statement(&raw, cat, opts(dialect)).map(|s| s.plan).map_err(|e| e.what)
}

fn parted() -> Catalog {
    let mut cat = Catalog::default();
    for d in [
        "CREATE TABLE parted (a INT, b INT) PARTITION BY LIST (a)",
        "CREATE TABLE part1 PARTITION OF parted FOR VALUES IN (1)",
        "CREATE TABLE part2 PARTITION OF parted FOR VALUES IN (2)",
        "CREATE TABLE plain (id INT PRIMARY KEY)",
    ] {
        run(&mut cat, d, SqlDialect::Postgres).unwrap();
    }
    cat
}

fn maintenance(sql: &str) -> Result<Maintenance, String> {
    match run(&mut parted(), sql, SqlDialect::Postgres)? {
        Plan::Maintenance(m) => Ok(m),
        other => panic!("{sql}: not a maintenance plan: {other:?}"),
    }
}

#[test]
fn options_and_relations() {
    let m = maintenance("VACUUM (SKIP_LOCKED, FULL) part1, \"part2\"").unwrap();
    assert!(m.vacuum && m.full && m.skip_locked && !m.analyze);
    let part = |index| Relation::Partition { parent: 0, index };
    assert_eq!(m.rels, vec![(part(0), "part1".to_string()), (part(1), "part2".to_string())]);
    let m = maintenance("ANALYZE (SKIP_LOCKED) parted").unwrap();
    assert!(!m.vacuum && m.analyze && m.skip_locked && !m.full);
    assert_eq!(m.rels, vec![(Relation::Table(0), "parted".to_string())]);
    // The old syntax, in gram.y's order, and options with values.
    let m = maintenance("VACUUM FULL FREEZE VERBOSE ANALYZE plain (id)").unwrap();
    assert!(m.full && m.analyze && !m.skip_locked);
    let m = maintenance("VACUUM (ANALYZE on, SKIP_LOCKED false, INDEX_CLEANUP auto, PARALLEL 2) public.PLAIN").unwrap();
    assert!(m.analyze && !m.skip_locked);
    assert_eq!(m.rels, vec![(Relation::Table(1), "plain".to_string())]);
    assert!(maintenance("VACUUM").unwrap().rels.is_empty(), "every table");
}

#[test]
fn errors_are_the_servers() {
    let e = |sql| maintenance(sql).unwrap_err();
    assert!(e("VACUUM (SKIP_LOCKED, nonsense) part1").starts_with("unrecognized VACUUM option \"nonsense\""));
    assert!(e("ANALYZE (FULL) part1").starts_with("unrecognized ANALYZE option \"full\""));
    assert!(e("VACUUM plain (id)").starts_with("ANALYZE option must be specified when a column list is provided"));
    assert!(e("ANALYZE plain (nope)").starts_with("column \"nope\" of relation \"plain\" does not exist"));
    assert!(e("VACUUM (FULL, PARALLEL 2) plain").starts_with("VACUUM FULL cannot be performed in parallel"));
    assert!(e("VACUUM (FULL, PROCESS_TOAST off) plain").starts_with("PROCESS_TOAST required with VACUUM FULL"));
    assert!(e("VACUUM (SKIP_LOCKED maybe) plain").starts_with("skip_locked requires a Boolean value"));
    assert!(e("VACUUM nosuch").starts_with("table `nosuch` does not exist"));
}

#[test]
fn mariadb_analyze_table_is_not_this_statement() {
    // MariaDB's ANALYZE TABLE goes the usual way (and is refused there), VACUUM is read.
    let mut cat = parted();
    assert!(run(&mut cat, "ANALYZE TABLE plain", SqlDialect::MySql).is_err_and(|e| !e.contains("relation")));
    assert!(matches!(run(&mut cat, "VACUUM plain", SqlDialect::MySql), Ok(Plan::Maintenance(_))));
}

#[test]
fn lock_table_names_a_partition() {
    let mut cat = parted();
    let Ok(Plan::LockTable { rels, .. }) = run(&mut cat, "LOCK part2 IN SHARE MODE", SqlDialect::Postgres) else {
        panic!("a LOCK TABLE plan")
    };
    assert_eq!(rels, vec![Relation::Partition { parent: 0, index: 1 }]);
}

#[test]
fn storage_parameters() {
    let mut cat = parted();
    let pg = SqlDialect::Postgres;
    let before = cat.clone();
    assert!(run(&mut cat, "ALTER TABLE part1 SET (autovacuum_enabled = false, fillfactor = 50)", pg).is_ok());
    assert_eq!(cat, before, "a no-op for the model");
    let e = |cat: &mut Catalog, sql| run(cat, sql, pg).unwrap_err();
    // A partitioned table has no storage parameters (reloptions.c, partitioned_table_reloptions).
    assert!(e(&mut cat, "ALTER TABLE parted SET (autovacuum_enabled = false)")
        .starts_with("unrecognized parameter \"autovacuum_enabled\""));
    assert!(e(&mut cat, "ALTER TABLE plain SET (nonsense = 1)").starts_with("unrecognized parameter \"nonsense\""));
    assert!(e(&mut cat, "ALTER TABLE plain SET (fillfactor = true)")
        .starts_with("invalid value for integer option \"fillfactor\": true"));
    assert!(e(&mut cat, "ALTER TABLE plain SET (autovacuum_enabled = 7)")
        .starts_with("invalid value for boolean option \"autovacuum_enabled\": 7"));
    assert!(run(&mut cat, "ALTER TABLE plain SET (fillfactor = 50)", SqlDialect::MySql).is_err());
}
