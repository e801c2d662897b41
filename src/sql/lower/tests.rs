//! Tests of the SQL lowering: `NOT IN` forms, `col % n`, system columns, PREPARE / EXECUTE, and refusals that name their cause.

use crate::spec::Pos;
use crate::sql::plan::{not_in, Cond, Plan};
use crate::sql::{parse_statement, Catalog, RawStatement, SchemaOptions, SqlDialect, SqlError, Value};

const OPTS: SchemaOptions = SchemaOptions { fk_enforced: true, implicit_fk_index: true, dialect: SqlDialect::Generic };

fn catalog() -> Catalog {
    let mut cat = Catalog::default();
    for ddl in [
        "CREATE TABLE auth_user (id INT PRIMARY KEY, username VARCHAR(30) UNIQUE, last_login TIMESTAMP NULL)",
        "CREATE TABLE bookmarks_bookmark (id INT PRIMARY KEY, user_id INT NOT NULL, FOREIGN KEY (user_id) REFERENCES auth_user (id))",
    ] {
        parse_statement(&RawStatement { text: ddl.into(), pos: Pos { line: 1, col: 1 } }, &mut cat, OPTS).unwrap();
    }
    cat
}

fn lower(sql: &str) -> Result<Plan, SqlError> {
    parse_statement(&RawStatement { text: sql.into(), pos: Pos { line: 7, col: 3 } }, &mut catalog(), OPTS)
        .map(|st| st.plan)
}

fn conds(sql: &str) -> Vec<Cond> {
    match lower(sql).unwrap() {
        Plan::Delete { filter, .. } | Plan::Update { filter, .. } | Plan::Select { filter, .. } => filter.conds,
        other => panic!("not a filtered statement: {other:?}"),
    }
}

#[test]
fn not_in_subquery_binds_to_the_catalog() {
    let got = conds("DELETE FROM bookmarks_bookmark WHERE user_id NOT IN (SELECT id FROM auth_user)");
    assert_eq!(got, vec![Cond::NotInSelect { col: 1, table: 0, pcol: 0 }]);
    let got = conds("DELETE FROM bookmarks_bookmark WHERE id > 5 AND user_id NOT IN (SELECT username FROM auth_user)");
    assert_eq!(got[1], Cond::NotInSelect { col: 1, table: 0, pcol: 1 });
}

#[test]
fn not_in_list_is_a_condition() {
    let got = conds("SELECT * FROM auth_user WHERE id NOT IN (1, 2, 3)");
    assert_eq!(got, vec![Cond::NotIn(0, vec![Value::Int(1), Value::Int(2), Value::Int(3)])]);
    assert!(Cond::NotIn(0, vec![Value::Int(1)]).matches(&[Value::Int(2)]));
    assert!(!Cond::NotIn(0, vec![Value::Int(1)]).matches(&[Value::Int(1)]));
    // SQL's NULL rules: a NULL on either side selects nothing.
    assert!(!not_in(&Value::Null, &[Value::Int(1)]));
    assert!(!not_in(&Value::Int(2), &[Value::Int(1), Value::Null]));
    assert!(not_in(&Value::Int(2), &[]));
}

#[test]
fn resolve_turns_a_subquery_into_a_list() {
    let Plan::Delete { filter, .. } =
        lower("DELETE FROM bookmarks_bookmark WHERE user_id NOT IN (SELECT id FROM auth_user)").unwrap()
    else {
        panic!("a DELETE")
    };
    assert!(filter.has_subquery());
    // Unresolved, the subquery filters nothing.
    assert!(filter.matches(&[Value::Int(100), Value::Int(1)]));
    let resolved = filter.resolve(|_, _| Ok::<_, ()>(vec![Value::Int(1), Value::Int(2)])).unwrap();
    assert!(!resolved.has_subquery());
    assert!(!resolved.matches(&[Value::Int(100), Value::Int(1)]));
    assert!(resolved.matches(&[Value::Int(101), Value::Int(9)]));
}

#[test]
fn other_subquery_forms_are_clear_errors() {
    let cases = [
        ("UPDATE bookmarks_bookmark SET user_id = 1 WHERE user_id NOT IN (SELECT id FROM auth_user)", "DELETE only"),
        ("SELECT * FROM bookmarks_bookmark WHERE user_id NOT IN (SELECT id FROM auth_user)", "DELETE only"),
        ("DELETE FROM bookmarks_bookmark WHERE user_id IN (SELECT id FROM auth_user)", "only NOT IN"),
        ("DELETE FROM bookmarks_bookmark WHERE user_id NOT IN (SELECT id FROM auth_user WHERE id > 1)", "WHERE inside"),
        ("DELETE FROM bookmarks_bookmark WHERE user_id NOT IN (SELECT id, username FROM auth_user)", "one column"),
        ("DELETE FROM bookmarks_bookmark WHERE user_id NOT IN (SELECT last_login FROM auth_user)", "lead an index"),
        ("DELETE FROM bookmarks_bookmark WHERE user_id NOT IN (SELECT id FROM nosuch)", "does not exist"),
        ("DELETE FROM bookmarks_bookmark WHERE user_id NOT IN (SELECT DISTINCT id FROM auth_user)", "DISTINCT"),
        ("DELETE FROM bookmarks_bookmark WHERE user_id NOT IN (SELECT id FROM auth_user LIMIT 1)", "LIMIT"),
        ("DELETE FROM bookmarks_bookmark WHERE user_id NOT IN (SELECT a.id FROM auth_user a JOIN auth_user b ON a.id = b.id)", "joins"),
    ];
    for (sql, want) in cases {
        let e = lower(sql).unwrap_err();
        assert_eq!(e.pos, Pos { line: 7, col: 3 }, "{sql}");
        assert!(e.what.contains(want), "{sql}: {}", e.what);
    }
}

/// A refusal names its real cause: a SELECT without FROM is not a join.
#[test]
fn select_without_from_is_refused_as_such() {
    let e = lower("SELECT current_setting('x')").unwrap_err().to_string();
    assert!(e.starts_with("7:3: a SELECT without FROM"), "{e}");
    let e =
        lower("SELECT a.id FROM auth_user a JOIN bookmarks_bookmark b ON b.user_id = a.id").unwrap_err().to_string();
    assert!(e.contains("no joins"), "{e}");
}

#[test]
fn order_by_and_limit_lower_to_sort_keys() {
    use crate::sql::plan::SortKey;
    let Plan::Select { order, limit, .. } =
        lower("SELECT * FROM auth_user ORDER BY username DESC, id LIMIT 3").unwrap()
    else {
        panic!("not a SELECT")
    };
    let keys =
        vec![SortKey { col: 1, desc: true, nulls_first: true }, SortKey { col: 0, desc: false, nulls_first: false }];
    assert_eq!((order, limit), (keys, Some(3)));
    assert!(lower("SELECT * FROM auth_user ORDER BY lower(username)").unwrap_err().what.contains("ORDER BY key"));
    assert!(lower("SELECT * FROM auth_user LIMIT 1 OFFSET 2").unwrap_err().what.contains("LIMIT n"));
}

#[test]
fn numeric_columns_and_typed_literals() {
    let mut cat = Catalog::default();
    let mut run = |sql: &str| {
        parse_statement(&RawStatement { text: sql.into(), pos: Pos { line: 1, col: 1 } }, &mut cat, OPTS)
            .map(|s| s.plan)
    };
    run("CREATE TABLE acct (id TEXT PRIMARY KEY, balance NUMERIC NOT NULL, opened DATE)").unwrap();
    let Plan::Insert { rows, .. } = run("INSERT INTO acct VALUES ('x', 600, DATE '2008-01-01')").unwrap() else {
        panic!("not an INSERT")
    };
    assert_eq!(rows[0][1], crate::sql::Expr::Lit(Value::Int(600)));
    assert_eq!(rows[0][2], crate::sql::Expr::Lit(Value::Str("2008-01-01".into())));
    assert!(run("INSERT INTO acct VALUES ('y', 1.5, NULL)").unwrap_err().what.contains("unsupported number"));
    assert!(run("INSERT INTO acct VALUES ('y', 1, DATE 'today')").unwrap_err().what.contains("unsupported literal"));
    let err = run("CREATE TABLE r (n INT PRIMARY KEY, amount NUMERIC(13,2))").unwrap_err();
    assert!(err.what.contains("with a scale is not modelled"), "{}", err.what);
    assert_eq!(cat.tables[0].columns[1].ty, crate::sql::ColType::Numeric);
}

#[test]
fn insert_select_expands_literals_and_generate_series() {
    let rows = |sql: &str| match lower(sql).unwrap() {
        Plan::Insert { rows, .. } => rows.iter().map(|r| r[..2].to_vec()).collect::<Vec<_>>(),
        other => panic!("not an INSERT: {other:?}"),
    };
    let lit = |v: Value| crate::sql::Expr::Lit(v);
    let want = |a: i64, b: &str| vec![lit(Value::Int(a)), lit(Value::Str(b.into()))];
    assert_eq!(rows("INSERT INTO auth_user SELECT 7, 'u7'"), vec![want(7, "u7")]);
    assert_eq!(rows("INSERT INTO auth_user SELECT generate_series(1, 2), 'x'"), vec![want(1, "x"), want(2, "x")]);
    assert_eq!(
        rows("INSERT INTO auth_user SELECT g, 'y' FROM generate_series(3, 4) g"),
        vec![want(3, "y"), want(4, "y")]
    );
    let nested = "INSERT INTO auth_user (id, username) SELECT x, 'z' FROM (SELECT * FROM generate_series(5, 5)) a(x)";
    assert_eq!(rows(nested), vec![want(5, "z")]);
    assert!(lower("INSERT INTO auth_user SELECT id, username FROM auth_user").is_err());
    let big = lower("INSERT INTO auth_user (id) SELECT generate_series(1, 1000000)").unwrap_err();
    assert!(big.what.contains("more rows than the model keeps"), "{}", big.what);
}

#[test]
fn advisory_lock_calls_lower_to_plans_and_filters() {
    use crate::sql::plan::{Advisory, AdvisoryOp};
    let lock = |name: &str, op, key, xact, shared| Advisory { name: name.into(), op, key, xact, shared };
    let Plan::Advisory(calls) = lower("SELECT pg_advisory_lock(5), pg_advisory_unlock_shared(1, 2)").unwrap() else {
        panic!("not an advisory SELECT")
    };
    assert_eq!(
        calls,
        vec![
            lock("pg_advisory_lock", AdvisoryOp::Lock, 5, false, false),
            lock("pg_advisory_unlock_shared", AdvisoryOp::Unlock, (1 << 32) | 2, false, true)
        ]
    );
    let Plan::Select { filter, .. } =
        lower("SELECT * FROM auth_user WHERE pg_advisory_xact_lock(0) IS NOT NULL AND id = 1").unwrap()
    else {
        panic!("not a SELECT")
    };
    assert_eq!(filter.advisory, vec![lock("pg_advisory_xact_lock", AdvisoryOp::Lock, 0, true, false)]);
    assert_eq!(filter.conds.len(), 1);
    assert!(lower("SELECT pg_advisory_lock(id)").is_err());
}

#[test]
fn prepare_binds_its_statement_and_execute_names_it() {
    let Plan::Prepare { name, stmt } =
        lower("PREPARE Run1 AS SELECT id FROM auth_user WHERE id = 1 FOR UPDATE NOWAIT").unwrap()
    else {
        panic!("not a PREPARE");
    };
    assert_eq!(name, "run1");
    assert_eq!(stmt.text, "SELECT id FROM auth_user WHERE id = 1 FOR UPDATE NOWAIT");
    assert_eq!(stmt.pos, Pos { line: 7, col: 3 });
    assert!(matches!(stmt.plan, Plan::Select { lock: Some(_), wait: crate::sql::LockWait::NoWait, .. }));
    assert_eq!(lower("EXECUTE RUN1").unwrap(), Plan::Execute("run1".into()));
    assert_eq!(lower("EXECUTE \"RUN1\"").unwrap(), Plan::Execute("RUN1".into()));
    let err = lower("PREPARE p AS BEGIN").unwrap_err().what;
    assert!(err.contains("utility statements cannot be prepared"), "{err}");
    let err = lower("PREPARE p (int) AS SELECT id FROM auth_user WHERE id = $1").unwrap_err().what;
    assert!(err.contains("PREPARE with parameters is not supported"), "{err}");
    assert!(lower("PREPARE p AS SELECT id FROM nosuch").is_err());
    assert!(lower("EXECUTE p (1)").is_err());
}

#[test]
fn modulo_conditions_and_system_columns() {
    let got = conds("SELECT id FROM auth_user WHERE id % 2 = 0");
    assert_eq!(got, vec![Cond::Mod(0, 2, crate::sql::plan::CmpOp::Eq, Value::Int(0))]);
    assert!(got[0].matches(&[Value::Int(4), Value::Null, Value::Null]));
    assert!(!got[0].matches(&[Value::Int(3), Value::Null, Value::Null]));
    assert!(!got[0].matches(&[Value::Null, Value::Null, Value::Null]));
    // int4mod: the remainder has the dividend's sign, so -3 % 2 is -1.
    let neg = Cond::Mod(0, 2, crate::sql::plan::CmpOp::Eq, Value::Int(-1));
    assert!(neg.matches(&[Value::Int(-3)]));
    assert!(lower("SELECT id FROM auth_user WHERE id % 0 = 1").unwrap_err().what.contains("division by zero"));
    match lower("SELECT xmin, xmax, ctid, * FROM auth_user").unwrap() {
        Plan::Select { proj: crate::sql::Projection::SystemColumns(names), .. } => {
            assert_eq!(names, ["xmin", "xmax", "ctid"]);
        }
        other => panic!("not a SELECT of system columns: {other:?}"),
    }
    assert!(crate::engine::refuse_system_columns(&lower("SELECT xmin FROM auth_user").unwrap()).is_err());
}
