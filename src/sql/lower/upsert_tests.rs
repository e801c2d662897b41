//! Tests of upsert lowering: arbiter inference, the SET and WHERE forms, and each dialect's
//! refusal of the other server's clauses.

use crate::spec::Pos;
use crate::sql::plan::{CmpOp, Cond, Expr, OnConflict, Plan};
use crate::sql::{parse_statement, Catalog, RawStatement, SchemaOptions, SqlDialect, Value};

fn lower(dialect: SqlDialect, sql: &str) -> Result<Option<OnConflict>, String> {
    let opts = SchemaOptions { fk_enforced: true, implicit_fk_index: dialect == SqlDialect::MySql, dialect };
    let mut cat = Catalog::default();
    let raw = |text: &str| RawStatement { text: text.into(), pos: Pos { line: 3, col: 5 } };
    let ddl = "CREATE TABLE auth_user (id INT PRIMARY KEY, username VARCHAR(30) UNIQUE, last_login TIMESTAMP NULL, \
               is_active BOOLEAN)";
    parse_statement(&raw(ddl), &mut cat, opts).unwrap();
    match parse_statement(&raw(sql), &mut cat, opts).map_err(|e| e.to_string())?.plan {
        Plan::Insert { on_conflict, .. } => Ok(on_conflict),
        other => panic!("not an INSERT: {other:?}"),
    }
}

const PG: SqlDialect = SqlDialect::Postgres;
const MY: SqlDialect = SqlDialect::MySql;

#[test]
fn conflict_targets_name_their_arbiter_index() {
    let got = lower(PG, "INSERT INTO auth_user VALUES (1, 'u', NULL, TRUE) ON CONFLICT (username) DO NOTHING").unwrap();
    assert_eq!(got, Some(OnConflict::Nothing { arbiters: vec![1] }));
    let got = lower(PG, "INSERT INTO auth_user VALUES (1, 'u', NULL, TRUE) ON CONFLICT DO NOTHING").unwrap();
    assert_eq!(got, Some(OnConflict::Nothing { arbiters: vec![] }));
    let sql = "INSERT INTO auth_user VALUES (1, 'u', NULL, TRUE) ON CONFLICT ON CONSTRAINT auth_user_pkey DO NOTHING";
    assert_eq!(lower(PG, sql).unwrap(), Some(OnConflict::Nothing { arbiters: vec![0] }));
    let e = lower(PG, "INSERT INTO auth_user VALUES (1, 'u', NULL, TRUE) ON CONFLICT (last_login) DO NOTHING");
    assert!(e.unwrap_err().contains("3:5: there is no unique or exclusion constraint matching"));
    let e = lower(PG, "INSERT INTO auth_user VALUES (1, 'u', NULL, TRUE) ON CONFLICT DO UPDATE SET is_active = TRUE");
    assert!(e.unwrap_err().contains("requires inference specification or constraint name"));
}

#[test]
fn do_update_takes_excluded_the_existing_row_and_a_where() {
    let sql = "INSERT INTO auth_user AS u VALUES (1, 'u', NULL, TRUE) ON CONFLICT (id) DO UPDATE \
               SET last_login = EXCLUDED.last_login, username = u.username || '!', id = id + 10 WHERE u.is_active";
    let Some(OnConflict::Update { arbiters, set, filter }) = lower(PG, sql).unwrap() else { panic!("not DO UPDATE") };
    assert_eq!(arbiters, vec![0]);
    let concat = Expr::Concat(Box::new(Expr::ColPlus(1, 0)), Box::new(Expr::Lit(Value::Str("!".into()))));
    assert_eq!(set, vec![(2, Expr::Excluded(2)), (1, concat), (0, Expr::ColPlus(0, 10))]);
    assert_eq!(filter.unwrap().conds, vec![Cond::Cmp(3, CmpOp::Eq, Value::Bool(true))]);
    let sql = "INSERT INTO auth_user VALUES (1, 'u', NULL, TRUE) ON CONFLICT (id) DO UPDATE SET is_active = FALSE \
               WHERE FALSE";
    let Some(OnConflict::Update { filter: Some(f), .. }) = lower(PG, sql).unwrap() else { panic!("no WHERE") };
    assert!(!f.matches(&[Value::Int(1), Value::Null, Value::Null, Value::Bool(true)]));
    let sql = "INSERT INTO auth_user VALUES (1, 'u', NULL, TRUE) ON CONFLICT (id) DO UPDATE SET is_active = other.x";
    assert!(lower(PG, sql).unwrap_err().contains("unknown row `other`"));
}

#[test]
fn mariadb_upserts() {
    let sql =
        "INSERT INTO auth_user VALUES (1, 'u', NULL, TRUE) ON DUPLICATE KEY UPDATE last_login = VALUES(last_login)";
    assert_eq!(lower(MY, sql).unwrap(), Some(OnConflict::DuplicateKey { set: vec![(2, Expr::Excluded(2))] }));
    let sql = "INSERT IGNORE INTO auth_user VALUES (1, 'u', NULL, TRUE)";
    assert_eq!(lower(MY, sql).unwrap(), Some(OnConflict::Ignore));
}

#[test]
fn each_dialect_refuses_the_other_servers_upsert() {
    let pg = "INSERT INTO auth_user VALUES (1, 'u', NULL, TRUE) ON CONFLICT (id) DO UPDATE SET is_active = TRUE";
    assert!(lower(MY, pg).unwrap_err().contains("3:5: INSERT ... ON CONFLICT is PostgreSQL's: MariaDB refuses it"));
    let my = "INSERT INTO auth_user VALUES (1, 'u', NULL, TRUE) ON DUPLICATE KEY UPDATE is_active = TRUE";
    assert!(lower(PG, my).unwrap_err().contains("3:5: INSERT ... ON DUPLICATE KEY UPDATE is MariaDB's"));
    let ig = "INSERT IGNORE INTO auth_user VALUES (1, 'u', NULL, TRUE)";
    assert!(lower(PG, ig).unwrap_err().contains("3:5: INSERT IGNORE is MariaDB's"));
    let rep = "REPLACE INTO auth_user VALUES (1, 'u', NULL, TRUE)";
    assert!(lower(MY, rep).unwrap_err().contains("REPLACE"));
}
