//! The logical references beside a schema file (`openedx.references.toml`, from Django's
//! models): the foreign keys Django's DDL does not declare are counted for orphans, FK on or off,
//! and a reference naming what the schema lacks is an error at its line.

mod common;
use common::*;
use fksim::references::References;
use fksim::run::EngineKind;
use fksim::schema::{Base, SchemaFile};

const SPEC: &str = "setup
{
  INSERT INTO auth_user (id, password, last_login, is_superuser, username, first_name, last_name, email, is_staff, is_active, date_joined) VALUES (1, '', NULL, FALSE, 'u1', '', '', '', FALSE, TRUE, CURRENT_TIMESTAMP);
}
session s1
step s1m { INSERT INTO courseware_studentmodule (id, module_type, module_id, course_id, done, created, modified, student_id) VALUES (1, 'problem', 'm1', 'c1', 'na', CURRENT_TIMESTAMP, CURRENT_TIMESTAMP, 1), (2, 'problem', 'm1', 'c1', 'na', CURRENT_TIMESTAMP, CURRENT_TIMESTAMP, 7); }
step s1d { DELETE FROM auth_user WHERE id = 1; }
permutation s1m s1d
";

#[test]
fn studentmodule_orphans_are_counted_over_djangos_reference() {
    for (engine, file) in [(EngineKind::Postgres, "openedx.postgres.sql"), (EngineKind::Innodb, "openedx.mysql.sql")] {
        let schema = SchemaFile::read(&repo().join("model/schemas").join(file)).expect("schema file");
        assert!(schema.references.refs.iter().any(|(r, _)| r.table == "courseware_studentmodule" && !r.db_constraint));
        for fk_on in [true, false] {
            let base = Base { schema: Some(schema.clone()), fk_off: vec![] };
            let spec = fksim::spec::parse_spec("refs.spec", SPEC).expect("spec");
            let sc = base.scenario(spec, engine.schema(fk_on)).expect("binds");
            let r = &run_on(&sc, engine)[0];
            // Both rows lose their user (7 never existed, 1 is deleted: no constraint stops it).
            assert_eq!(r.orphans, 2, "{engine:?} fk_on={fk_on}");
            let by_ref: Vec<_> = r.orphans_by_ref.iter().filter(|(_, n)| *n > 0).cloned().collect();
            assert_eq!(by_ref, vec![("courseware_studentmodule.student_id".to_string(), 2)]);
        }
    }
}

#[test]
fn a_reference_to_a_missing_table_is_an_error_at_its_line() {
    let dir = std::env::temp_dir().join(format!("fksim-refs-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    std::fs::write(dir.join("x.postgres.sql"), "CREATE TABLE auth_user (id integer NOT NULL PRIMARY KEY);\n")
        .expect("write");
    let refs = "# c\n\n[[reference]]\ntable = \"nope\"\ncolumn = \"user_id\"\nparent_table = \"auth_user\"\n\
                parent_column = \"id\"\ndb_constraint = false\non_delete = \"CASCADE\"\n";
    std::fs::write(dir.join("x.references.toml"), refs).expect("write");
    let schema = SchemaFile::read(&dir.join("x.postgres.sql")).expect("reads");
    let err = schema.catalog(EngineKind::Postgres.schema(true)).expect_err("unknown table").to_string();
    assert!(err.contains("x.references.toml:3:"), "{err}");
    assert!(err.contains("no table `nope`"), "{err}");
    assert!(References::beside(&dir.join("none.sql")).expect("no file").refs.is_empty());
    let _ = std::fs::remove_dir_all(&dir);
}
