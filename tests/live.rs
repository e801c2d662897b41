//! `fksim conform` against the live servers (MariaDB at 127.0.0.1:3306, PostgreSQL at
//! 127.0.0.1:5432). Without a server these tests print a loud SKIPPED line; with CI=true they fail.

mod common;
use common::*;
use fksim::conform::{Comparison, Live, LiveDb, Timing};
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

/// Connect, or explain loudly why the test cannot run.
fn connect(live: Live, url: &str) -> Option<LiveDb> {
    match LiveDb::connect(live, url, Timing::default()) {
        Ok(db) => Some(db),
        Err(e) => {
            if std::env::var("CI").as_deref() == Ok("true") {
                panic!("CI=true and the server is not reachable: {e}");
            }
            eprintln!("\n*** SKIPPED: no {live:?} at {url}: {e} ***\n");
            None
        }
    }
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
