//! `fksim load`'s simulator: the same seed gives the same result; the shipped cost files parse;
//! a hot-row workload waits on the parent row with the FK on InnoDB; vacuuming changes nothing.

use fksim::app::workload::{LoadOverrides, LoadSettings, Workload};
use fksim::engine::innodb::InnoDb;
use fksim::engine::postgres::PgDb;
use fksim::engine::{Engine, EngineKind, Plain};
use fksim::sim::{shipped_costs, simulate, LoadResult, Simulation, VACUUM_EVERY};
use fksim::store::IndexedStore;

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

/// A run of `w` on engine `E` that vacuums after every `every` commits (None: the default).
fn vacuuming<E: Engine<Parts = Plain<IndexedStore>>>(
    w: &Workload,
    set: LoadSettings,
    fk_on: bool,
    seed: u64,
    every: Option<u64>,
) -> LoadResult {
    let costs = shipped_costs(E::KIND);
    let sim = Simulation::<E>::new(w, set, &costs, fk_on, seed).unwrap();
    let sim = match every {
        Some(n) => sim.vacuum_every(n),
        None => sim,
    };
    sim.run(&mut |_| {}).unwrap()
}

#[test]
fn vacuuming_changes_nothing_a_read_committed_run_measures() {
    for file in ["calibration.toml", "hot-users.toml"] {
        let w = Workload::load(&std::path::Path::new("model/workloads").join(file)).unwrap();
        let set = w.load_settings(&LoadOverrides { seconds: Some(0.5), ..Default::default() }).unwrap();
        for (seed, fk_on) in [(1, true), (2, false)] {
            let runs = |every| {
                [
                    vacuuming::<InnoDb<Plain<IndexedStore>>>(&w, set, fk_on, seed, every),
                    vacuuming::<PgDb<Plain<IndexedStore>>>(&w, set, fk_on, seed, every),
                ]
            };
            let (default, never, often) = (runs(None), runs(Some(0)), runs(Some(4)));
            // Every 4 commits, each run vacuums many times; by default InnoDB's runs do too
            // (PostgreSQL commits less on hot-users.toml, held back by its deadlock_timeout).
            assert!(default.iter().all(|r| r.committed > 2 * 4), "{file}: {default:?}");
            assert!(default[0].committed > 2 * VACUUM_EVERY, "{file}: {}", default[0].text());
            assert_eq!(never, default, "{file} seed {seed} fk {fk_on}: never vacuumed");
            assert_eq!(often, default, "{file} seed {seed} fk {fk_on}: vacuumed every 4 commits");
        }
    }
}
