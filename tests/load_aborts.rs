//! Aborts inside `fksim load`'s simulation: InnoDB's S-to-X upgrade deadlock with the FK on (and
//! its retries), and lock wait timeouts on both engines, with the engine's error kind.

mod common;
use common::{costs_with_timeout, repo};
use fksim::app::workload::{LoadOverrides, Workload};
use fksim::engine::EngineKind;
use fksim::sim::{shipped_costs, simulate, Costs, LoadResult};

fn run(kind: EngineKind, w: &Workload, o: LoadOverrides, costs: &Costs, fk_on: bool) -> LoadResult {
    let set = w.load_settings(&o).unwrap();
    simulate(kind, w, set, costs, fk_on, 7, &mut |_| {}).unwrap()
}

fn deadlocks(r: &LoadResult) -> u64 {
    r.aborts.get("deadlock").copied().unwrap_or(0)
}

#[test]
fn the_upgrade_deadlock_aborts_innodb_transactions_with_the_fk_and_only_then() {
    let w = Workload::load(&repo().join("model/workloads/upgrade-deadlock.toml")).unwrap();
    let o = LoadOverrides { seconds: Some(0.5), ..Default::default() };
    let on = run(EngineKind::Innodb, &w, o, &shipped_costs(EngineKind::Innodb), true);
    assert!(deadlocks(&on) > 0 && on.committed > 0, "{}", on.text());
    assert_eq!(on.retries, 0);
    // Without the FK, InnoDB's enrollment takes no lock on the user row; PostgreSQL's FOR KEY
    // SHARE does not conflict with the login's FOR NO KEY UPDATE. The logins still wait.
    for (kind, fk_on) in [(EngineKind::Innodb, false), (EngineKind::Postgres, true), (EngineKind::Postgres, false)] {
        let r = run(kind, &w, o, &shipped_costs(kind), fk_on);
        assert_eq!(deadlocks(&r), 0, "{}", r.text());
        assert!(r.lock_waits.count > 0 && r.committed > 0, "{}", r.text());
    }
}

#[test]
fn deadlock_victims_are_run_again_up_to_retry_deadlocks_times() {
    let w = Workload::load(&repo().join("model/workloads/upgrade-deadlock.toml")).unwrap();
    let costs = shipped_costs(EngineKind::Innodb);
    // Eight clients: some transactions run again are victims again.
    let retry = |n: u32| {
        let o = LoadOverrides { clients: Some(8), seconds: Some(0.5), retry_deadlocks: Some(n), ..Default::default() };
        run(EngineKind::Innodb, &w, o, &costs, true)
    };
    let never = retry(0);
    assert!(deadlocks(&never) > 0 && never.retries == 0, "{}", never.text());
    // Each victim's rollback is an abort; those run again are counted as retries too. A
    // transaction that was run once already is not run again: fewer retries than victims.
    let once = retry(1);
    assert!(once.retries > 0 && once.retries < deadlocks(&once), "{}", once.text());
    // With retries to spare, every victim is run again.
    let many = retry(100);
    assert_eq!(many.retries, deadlocks(&many), "{}", many.text());
    assert!(many.retries > once.retries, "{}", many.text());
}

#[test]
fn lock_waits_longer_than_the_timeout_abort_with_lock_timeout_on_both_engines() {
    // Logins of one user, each holding its row for 1.5 s of application work: the others wait,
    // longer than the 1 s timeout. Django's atomic rolls back the transaction the error ended
    // (InnoDB itself rolls back only the statement: tests/load_forced.rs); it is not retried.
    let text = "sessions = 1\ntransactions = 1\nactions_per_txn = [1, 1]\n[users]\nhot = 1\n[mix]\nlogin = 1\n[load]\nclients = 3\nseconds = 6.0\napp_work_ms = 1500.0\n";
    let w = Workload::parse("timeouts.toml", text).unwrap();
    for kind in EngineKind::ALL {
        for fk_on in [true, false] {
            let r = run(kind, &w, LoadOverrides::default(), &costs_with_timeout(kind, 1.0), fk_on);
            let timeouts = r.aborts.get("lock_timeout").copied().unwrap_or(0);
            assert!(timeouts > 0 && r.committed > 0, "{}", r.text());
            assert_eq!((r.aborted, r.retries), (timeouts, 0), "{}", r.text());
            // The shipped timeouts (50 s, none) outlast every wait: nothing aborts.
            let r = run(kind, &w, LoadOverrides::default(), &shipped_costs(kind), fk_on);
            assert_eq!(r.aborted, 0, "{}", r.text());
            assert!(r.lock_waits.count > 0, "{}", r.text());
        }
    }
}
