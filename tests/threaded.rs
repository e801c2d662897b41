//! The threaded engine on real threads (loom's models are in `tests/loom.rs`): runs end, match
//! the step runner's replay of their arrival order, and the comparison catches a difference.

use fksim::engine::innodb::InnoDb;
use fksim::engine::postgres::PgDb;
use fksim::engine::{Engine, Plain};
use fksim::run::Ended;
use fksim::scenario::Scenario;
use fksim::spec::parse_spec_file;
use fksim::store::MemStore;
use fksim::threaded::{compare, replay, run_threads, Arrival, Gate, Schedule, ThreadedRun};
use std::path::Path;
use std::sync::Arc;

type Inno = InnoDb<Plain<MemStore>>;
type Pg = PgDb<Plain<MemStore>>;

fn scenario<E: Engine>(name: &str, fk: bool) -> Arc<Scenario> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("model/scenarios").join(format!("{name}.spec"));
    Arc::new(Scenario::load(parse_spec_file(&path).expect("parses"), E::schema(fk)).expect("binds"))
}

/// One run of `sc` on threads with every session's first step in before any second one, and
/// the step runner's replay of it, which must agree.
fn overlapping_run<E: Engine<Parts = Plain<MemStore>> + 'static>(sc: &Arc<Scenario>) -> (ThreadedRun, Ended) {
    let r = run_threads::<E>(sc, &Schedule { gate: Gate::FirstSteps, ..Schedule::default() }).expect("ends");
    let replayed = replay::<E>(sc, &r.arrivals).expect("replays");
    assert_eq!(compare(&r, &replayed), None);
    (r, replayed)
}

/// Many runs of the S-to-X upgrade deadlock on real threads: each has exactly one victim, and
/// each is the step runner's run of its arrival order.
#[test]
fn upgrade_deadlock_on_real_threads_matches_the_step_runner() {
    let sc = scenario::<Inno>("upgrade-deadlock", true);
    for _ in 0..200 {
        let (r, _) = overlapping_run::<Inno>(&sc);
        assert_eq!(r.errors("deadlock").len(), 1, "{}: {:?} {:?}", r.permutation(), r.steps, r.arrivals);
    }
}

/// PostgreSQL's deadlock is found when the clock reaches `deadlock_timeout` (800 ms in the spec):
/// the clock move is recorded, and the replay fires the check at the same time.
#[test]
fn postgres_deadlock_check_is_a_recorded_clock_move() {
    let sc = scenario::<Pg>("slow-deadlock-detection", true);
    let (r, _) = overlapping_run::<Pg>(&sc);
    assert_eq!(r.errors("deadlock").len(), 1, "{:?}", r.steps);
    assert!(r.arrivals.iter().any(|a| matches!(a, Arrival::Clock(t) if *t > 0)), "{:?}", r.arrivals);
}

/// The comparison is not vacuous: a run whose recorded outcome is changed, or whose arrival
/// order is replayed differently, is reported with the step that differs.
#[test]
fn compare_reports_a_changed_outcome() {
    let sc = scenario::<Inno>("update-then-insert", true);
    let (mut r, replayed) = overlapping_run::<Inno>(&sc);
    let (name, done) = r.steps.iter_mut().find(|(_, d)| d.waited).expect("one step waited");
    let name = name.clone();
    done.waited = false;
    let d = compare(&r, &replayed).expect("a difference");
    assert_eq!(d.permutation, r.permutation());
    assert!(
        d.differences.iter().any(|x| x.starts_with(&format!("{name}: threads at once, step runner waited"))),
        "{d:?}"
    );
}
