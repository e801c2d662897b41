//! `fksim load`'s simulator: the same seed gives the same result; the shipped cost files parse;
//! a hot-row workload waits on the parent row with the FK on InnoDB.

use fksim::app::workload::{LoadOverrides, Workload};
use fksim::engine::EngineKind;
use fksim::sim::{shipped_costs, simulate};

fn calibration() -> Workload {
    Workload::load(std::path::Path::new("model/workloads/calibration.toml")).unwrap()
}

fn run(kind: EngineKind, fk_on: bool, seed: u64, clients: u32) -> fksim::sim::LoadResult {
    let w = calibration();
    let o = LoadOverrides { clients: Some(clients), seconds: Some(0.5), ..Default::default() };
    let set = w.load_settings(&o).unwrap();
    simulate(kind, &w, set, &shipped_costs(kind), fk_on, seed, &mut |_| {}).unwrap()
}

#[test]
fn the_same_seed_gives_the_same_result_and_another_seed_another() {
    for kind in EngineKind::ALL {
        let a = run(kind, true, 11, 8);
        assert_eq!(a, run(kind, true, 11, 8));
        assert_ne!(a, run(kind, true, 12, 8));
        assert!(a.committed > 0, "{kind:?} committed nothing");
    }
}

#[test]
fn shipped_cost_files_parse_for_both_engines() {
    for kind in EngineKind::ALL {
        assert_eq!(shipped_costs(kind).engine, kind.name());
    }
}

#[test]
fn with_the_fk_innodb_enrollments_wait_on_the_hot_user_rows_and_without_it_fewer_waits() {
    let on = run(EngineKind::Innodb, true, 5, 8);
    let off = run(EngineKind::Innodb, false, 5, 8);
    assert!(on.lock_waits.per_table.contains_key("auth_user"));
    assert!(on.lock_waits.count > off.lock_waits.count, "{} vs {}", on.lock_waits.count, off.lock_waits.count);
    assert!(on.txn_per_s < off.txn_per_s);
}
