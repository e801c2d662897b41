//! `fksim conform` against the live servers (MariaDB at 127.0.0.1:3306, PostgreSQL at
//! 127.0.0.1:5432). Without a server these tests print a loud SKIPPED line; with CI=true they fail.

mod common;
use common::connect_or_skip as connect;
use common::*;
use fksim::conform::{Comparison, Live};
use fksim::run::EngineKind;
use std::process::Command;

const MYSQL_URL: &str = "mysql://root@127.0.0.1:3306/test";
const PG_URL: &str = "postgresql://postgres@127.0.0.1:5432/test";

/// Live runs are timed (a step waiting 0.6 s counts as waiting), so they run one at a time
/// rather than compete for the machine's cores.
static LIVE: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn one_at_a_time() -> std::sync::MutexGuard<'static, ()> {
    LIVE.lock().unwrap_or_else(|e| e.into_inner())
}

#[test]
fn innodb_model_agrees_with_live_mariadb() {
    let _turn = one_at_a_time();
    let Some(mut db) = connect(Live::MariaDb, MYSQL_URL) else { return };
    for name in ["upgrade-deadlock", "delete-user-race", "duplicate-enrollment"] {
        for fk_on in [true, false] {
            let sc = load_file(&repo().join(format!("model/scenarios/{name}.spec")), fk_on);
            let cmp = Comparison::run(name, &sc, EngineKind::Innodb, fk_on, &mut db).expect("live run");
            assert_eq!(cmp.differences(), 0, "{}", cmp.report());
        }
    }
    db.close().expect("drop scratch database");
}

/// `conform` compares the index each statement scans with MariaDB's EXPLAIN: the live report
/// carries the paths, they equal the model's, and a wrong model path would count as a difference.
#[test]
fn access_paths_agree_with_live_explain() {
    let _turn = one_at_a_time();
    let Some(mut db) = connect(Live::MariaDb, MYSQL_URL) else { return };
    let sc = load_file(&repo().join("model/scenarios/access-paths.spec"), true);
    let cmp = Comparison::run("access-paths", &sc, EngineKind::Innodb, true, &mut db).expect("live run");
    assert_eq!(cmp.differences(), 0, "{}", cmp.report());
    let paths = |r: &fksim::run::PermutationReport| -> Vec<(String, String)> {
        r.events.iter().flat_map(|e| e.access.iter().map(|a| (e.step.to_string(), a.path.clone()))).collect()
    };
    let model = cmp.model.as_ref().expect("the model ran");
    let live: Vec<_> = cmp.live.iter().map(paths).collect();
    assert!(live.iter().map(Vec::len).sum::<usize>() >= 8, "EXPLAIN reported too few paths: {live:?}");
    assert!(live.iter().flatten().any(|(_, p)| p == "full scan"));
    assert!(live.iter().flatten().any(|(_, p)| p == "enr_user"));
    assert_eq!(live, model.iter().map(paths).collect::<Vec<_>>());
    db.close().expect("drop scratch database");
}

#[test]
fn postgres_model_agrees_with_live_postgresql() {
    let _turn = one_at_a_time();
    let Some(mut db) = connect(Live::Postgres, PG_URL) else { return };
    for name in ["upgrade-deadlock", "delete-user-race", "cascade-read-committed"] {
        for fk_on in [true, false] {
            let path = repo().join(format!("model/scenarios/{name}.spec"));
            let sc = load_file_for(&path, EngineKind::Postgres, fk_on);
            let cmp = Comparison::run(name, &sc, EngineKind::Postgres, fk_on, &mut db).expect("live run");
            assert_eq!(cmp.differences(), 0, "{}", cmp.report());
        }
    }
    db.close().expect("drop scratch database");
}

#[test]
fn live_recording_matches_the_shared_mariadb_recording() {
    let _turn = one_at_a_time();
    // The live runner reproduces the shared recording procedure: same spec, same file, byte for byte.
    let Some(mut db) = connect(Live::MariaDb, MYSQL_URL) else { return };
    let sc = load_file(&repo().join("model/scenarios/update-then-insert.spec"), true);
    let cmp = Comparison::run("update-then-insert", &sc, EngineKind::Innodb, true, &mut db).expect("live run");
    let want = std::fs::read_to_string(repo().join("model/scenarios/expected/update-then-insert.innodb.fk-on.jsonl"))
        .expect("recording");
    assert_eq!(cmp.recording(), want);
    db.close().expect("drop scratch database");
}

#[test]
fn unreachable_server_is_a_clear_error_with_exit_2() {
    let spec = repo().join("model/scenarios/minimal-parent-child.spec");
    let out = Command::new(env!("CARGO_BIN_EXE_fksim"))
        .args([
            "conform",
            spec.to_str().expect("utf-8 path"),
            "--engine",
            "innodb",
            "--mysql-url",
            "mysql://root@127.0.0.1:1/test",
        ])
        .output()
        .expect("run fksim");
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("cannot connect to mysql://root@127.0.0.1:1/test"), "{err}");
}

/// The PostgreSQL tables of `ddl` with their constraint names, as the model names them.
fn model_pg_names(ddl: &str) -> Vec<(String, String)> {
    let sc = load_text_for(
        "names.spec",
        &format!("setup {{ {ddl} }}\nsession s1\nstep a {{ COMMIT; }}\n"),
        EngineKind::Postgres,
        true,
    );
    let mut out = Vec::new();
    for t in &sc.catalog.tables {
        let named = t.indexes.iter().filter(|ix| ix.unique && !ix.pg_name.is_empty()).map(|ix| &ix.pg_name);
        out.extend(named.chain(t.fks.iter().map(|f| &f.pg_name)).map(|n| (t.name.clone(), n.clone())));
    }
    out.sort();
    out
}

#[test]
fn postgres_names_constraints_as_the_model_does() {
    let _turn = one_at_a_time();
    if connect(Live::Postgres, PG_URL).is_none() {
        return;
    }
    // Implicit names of every kind, explicit ones, a name cut to 63 bytes and two cut names that
    // collide, created on the server exactly as written.
    let long = "a_very_long_table_name_that_goes_on_and_on_forever_yes";
    let ddl = format!(
        "CREATE TABLE auth_user (id INT PRIMARY KEY, username VARCHAR(30) UNIQUE);
         CREATE TABLE student_courseenrollment (id INT PRIMARY KEY, user_id INT NOT NULL, course_id VARCHAR(100) NOT NULL, UNIQUE (user_id, course_id), FOREIGN KEY (user_id) REFERENCES auth_user (id));
         CREATE TABLE c (x INT CONSTRAINT c_named_pk PRIMARY KEY, y INT CONSTRAINT c_named_y UNIQUE, z INT REFERENCES auth_user, FOREIGN KEY (x, y) REFERENCES c (x, y), FOREIGN KEY (z) REFERENCES auth_user (id), CONSTRAINT c_named_fk FOREIGN KEY (y) REFERENCES auth_user (id), UNIQUE (x, y));
         CREATE TABLE {long} (a_very_long_column_name_as_well_really_long_1 INT UNIQUE, a_very_long_column_name_as_well_really_long_2 INT UNIQUE, bb INT REFERENCES auth_user (id), PRIMARY KEY (bb));"
    );
    let want = model_pg_names(&ddl);
    let mut admin = postgres::Client::connect(PG_URL, postgres::NoTls).expect("connect");
    let db = format!("fksim_names_{}", std::process::id());
    admin.batch_execute(&format!("DROP DATABASE IF EXISTS {db}")).expect("drop a leftover scratch database");
    admin.batch_execute(&format!("CREATE DATABASE {db}")).expect("scratch database");
    let url = PG_URL.replace("/test", &format!("/{db}"));
    let got = (|| -> Result<Vec<(String, String)>, postgres::Error> {
        let mut c = postgres::Client::connect(&url, postgres::NoTls)?;
        c.batch_execute(&ddl)?;
        let rows = c.query(
            "SELECT conrelid::regclass::text, conname::text FROM pg_constraint WHERE connamespace = 'public'::regnamespace",
            &[],
        )?;
        let mut v: Vec<(String, String)> = rows.iter().map(|r| (r.get(0), r.get(1))).collect();
        v.sort();
        Ok(v)
    })();
    admin.batch_execute(&format!("DROP DATABASE IF EXISTS {db}")).expect("drop scratch database");
    let got = got.expect("create the tables on PostgreSQL");
    assert!(got.iter().any(|(_, n)| n.ends_with("_key1")), "the collision case: {got:?}");
    assert_eq!(want, got);
}

#[test]
fn postgres_error_messages_are_the_servers() {
    let _turn = one_at_a_time();
    let Some(mut db) = connect(Live::Postgres, PG_URL) else { return };
    let mut compared = 0;
    // Both foreign key messages and both unique constraints' (a primary key's is in the unit tests).
    for name in
        ["duplicate-enrollment", "enroll-missing-user", "cascade-read-committed", "username-race", "move-enrollment"]
    {
        let path = repo().join(format!("model/scenarios/{name}.spec"));
        let sc = load_file_for(&path, EngineKind::Postgres, true);
        let cmp = Comparison::run(name, &sc, EngineKind::Postgres, true, &mut db).expect("live run");
        let model = cmp.model.as_ref().expect("the model runs");
        for (l, m) in cmp.live.iter().zip(model) {
            for (le, me) in l.events.iter().zip(&m.events) {
                if let (Some(a), Some(b)) = (&le.error, &me.error) {
                    assert_eq!(
                        (&le.step, &a.message),
                        (&me.step, &b.message),
                        "{name}: permutation {}",
                        l.steps.join(" ")
                    );
                    compared += 1;
                }
            }
        }
    }
    assert!(compared > 0, "no error was compared");
    db.close().expect("drop scratch database");
}

/// `conform` on a schema file creates the file's own DDL on the server (Django's column types,
/// not the model's), and `--fk off` drops its foreign key constraints after it.
#[test]
fn schema_file_ddl_is_what_the_server_gets() {
    use fksim::conform::LiveSchema;
    use fksim::schema::{Base, SchemaFile};
    let _turn = one_at_a_time();
    let spec = repo().join("model/scenarios/django/enroll-delete-user.spec");
    for (live, url, engine, file, type_query, fk_query) in [
        (
            Live::Postgres,
            PG_URL,
            EngineKind::Postgres,
            "model/schemas/openedx.postgres.sql",
            "SELECT COUNT(*) FROM information_schema.columns WHERE table_name = 'auth_user' \
             AND column_name = 'date_joined' AND data_type = 'timestamp with time zone'",
            "SELECT COUNT(*) FROM pg_constraint WHERE conname = \
             'student_courseenrollment_user_id_4263a8e2_fk_auth_user_id' AND condeferred",
        ),
        (
            Live::MariaDb,
            MYSQL_URL,
            EngineKind::Innodb,
            "model/schemas/openedx.mysql.sql",
            "SELECT COUNT(*) FROM information_schema.columns WHERE table_schema = DATABASE() AND \
             table_name = 'auth_user' AND column_name = 'date_joined' AND column_type = 'datetime(6)'",
            "SELECT COUNT(*) FROM information_schema.referential_constraints WHERE constraint_schema = \
             DATABASE() AND constraint_name = 'student_courseenrollment_user_id_4263a8e2_fk_auth_user_id'",
        ),
    ] {
        let Some(mut db) = connect(live, url) else { continue };
        let file = SchemaFile::read(&repo().join(file)).expect("schema file");
        for fk_on in [true, false] {
            let base = Base { schema: Some(file.clone()), fk_off: vec![] };
            let opts = engine.schema(fk_on);
            let tables = base.catalog(opts).expect("catalog").tables.len();
            let sc = base.scenario(fksim::spec::parse_spec_file(&spec).expect("spec"), opts).expect("binds");
            db.set_schema(Some(LiveSchema { file: file.clone(), tables }));
            db.set_up(&sc).expect("schema created");
            assert_eq!(db.count(type_query).expect("query"), 1, "{live:?}: Django's column type");
            assert_eq!(db.count(fk_query).expect("query"), fk_on as i64, "{live:?} fk_on={fk_on}: the constraint");
            db.clean(&sc).expect("dropped");
        }
        db.close().expect("drop scratch database");
    }
}
