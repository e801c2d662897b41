//! `fksim conform --load` and `fksim calibrate` against the live servers: the live load commits,
//! waits on the hot user rows with the FK on MariaDB and not without it, and the cost file that
//! calibrate writes parses and carries positive figures. Without a server these tests print a
//! loud SKIPPED line; with CI=true they fail.

mod common;
use common::connect_or_skip;
use fksim::app::workload::{LoadOverrides, Workload};
use fksim::conform::{calibrate, run_live_load, Live, LiveLoad};
use fksim::engine::EngineKind;
use fksim::sim::Costs;

const MYSQL_URL: &str = "mysql://root@127.0.0.1:3306/test";
const PG_URL: &str = "postgresql://postgres@127.0.0.1:5432/test";

fn calibration() -> Workload {
    Workload::load(&common::repo().join("model/workloads/calibration.toml")).unwrap()
}

fn live_run(live: Live, url: &str, engine: EngineKind, fk_on: bool) -> Option<fksim::sim::LoadResult> {
    let mut db = connect_or_skip(live, url)?;
    let w = calibration();
    let o = LoadOverrides { seconds: Some(1.0), ..Default::default() };
    let settings = w.load_settings(&o).unwrap();
    let r = run_live_load(&mut db, LiveLoad { workload: &w, settings, engine, fk_on, seed: 3 }, &mut |_| {})
        .expect("a live load run");
    db.close().unwrap();
    Some(r)
}

#[test]
fn mariadb_with_the_fk_waits_on_the_hot_users_and_without_it_only_logins_do() {
    let Some(on) = live_run(Live::MariaDb, MYSQL_URL, EngineKind::Innodb, true) else { return };
    let Some(off) = live_run(Live::MariaDb, MYSQL_URL, EngineKind::Innodb, false) else { return };
    assert!(on.committed > 100 && off.committed > 100, "{on:?}\n{off:?}");
    assert!(on.latency_ms.contains_key("enroll") && on.latency_ms.contains_key("login"));
    // Enrollments queue on the user rows only through the FK's shared lock.
    assert!(on.lock_waits.count > off.lock_waits.count, "{} vs {}", on.lock_waits.count, off.lock_waits.count);
    assert!(on.txn_per_s < off.txn_per_s, "{} vs {}", on.txn_per_s, off.txn_per_s);
    assert!(on.cpu.server > 0.0 && on.cpu.clients > 0.0, "{:?}", on.cpu);
}

#[test]
fn postgres_live_load_commits_both_kinds() {
    let Some(r) = live_run(Live::Postgres, PG_URL, EngineKind::Postgres, true) else { return };
    assert!(r.committed > 100, "{r:?}");
    assert!(r.latency_ms.contains_key("enroll") && r.latency_ms.contains_key("login"), "{r:?}");
    // Logins of one user queue on each other (FOR NO KEY UPDATE): some wait is seen.
    assert!(r.lock_waits.count > 0, "{r:?}");
}

#[test]
fn calibrate_writes_a_cost_file_that_parses_on_both_engines() {
    for (live, url, engine) in
        [(Live::MariaDb, MYSQL_URL, EngineKind::Innodb), (Live::Postgres, PG_URL, EngineKind::Postgres)]
    {
        let Some(mut db) = connect_or_skip(live, url) else { return };
        let cal = calibrate(&mut db, engine, 20, 1, true, &mut |_| {}).expect("a calibration");
        db.close().unwrap();
        let text = cal.file("fksim calibrate --engine test");
        let costs = Costs::parse("calibrated.toml", &text).unwrap_or_else(|e| panic!("{e}\n{text}"));
        assert_eq!(costs.engine, engine.name());
        assert!(text.starts_with("# Fitted by `fksim calibrate --engine test`"), "{text}");
        // Every statement takes the server some time, and a writing commit waits for its flush.
        let s = &costs.server;
        assert!(s.insert_us + s.index_entry_us > 0.0 && s.update_us > 0.0 && s.commit_us + s.flush_us > 0.0, "{text}");
        assert!(costs.client.cpu_us > 0.0, "{text}");
    }
}
