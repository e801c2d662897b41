//! The threaded engine under loom: every thread schedule of small scenarios, up to
//! `LOOM_MAX_PREEMPTIONS` preemptions (2 unless set), checked for the races a concurrent lock
//! manager can have: a lost wake-up (loom reports a schedule where every thread is blocked), two
//! conflicting locks granted at once, a deadlock found twice or never, a victim woken after its
//! rollback, a grant to a session whose wait timed out. In every schedule the run must also be the
//! step runner's run of the order its steps reached the engine (refinement).
//!
//! `RUSTFLAGS="--cfg loom" cargo test --release --test loom` (README, "Model-checking the threaded
//! engine"). Built with `FKSIM_MUTANT=lost_wakeup` (or `--cfg fksim_mutant_lost_wakeup`), the
//! engine drops one wake-up and this suite must fail.
#![cfg(loom)]

use fksim::engine::innodb::InnoDb;
use fksim::engine::postgres::PgDb;
use fksim::engine::{Engine, Plain};
use fksim::scenario::Scenario;
use fksim::spec::parse_spec_file;
use fksim::store::MemStore;
use fksim::threaded::{compare, replay, run_threads, Gate, Schedule, ThreadedRun};
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

type Inno = InnoDb<Plain<MemStore>>;
type Pg = PgDb<Plain<MemStore>>;

/// A shipped scenario, bound for `E` with the FK on or off.
fn scenario<E: Engine>(name: &str, fk: bool) -> Arc<Scenario> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("model/scenarios").join(format!("{name}.spec"));
    let spec = parse_spec_file(&path).expect("shipped spec parses");
    Arc::new(Scenario::load(spec, E::schema(fk)).expect("shipped spec binds"))
}

/// loom's checker with the suite's default bound; prints how many schedules it ran.
#[track_caller]
fn check(f: impl Fn() + Sync + Send + 'static) {
    let mut b = loom::model::Builder::new();
    if b.preemption_bound.is_none() {
        b.preemption_bound = Some(2);
    }
    let schedules = Arc::new(AtomicUsize::new(0));
    let counted = schedules.clone();
    let started = std::time::Instant::now();
    b.check(move || {
        counted.fetch_add(1, Ordering::Relaxed);
        f()
    });
    let at = std::panic::Location::caller();
    eprintln!(
        "loom model at line {}: {} schedules (preemption bound {:?}) in {:.1} s",
        at.line(),
        schedules.load(Ordering::Relaxed),
        b.preemption_bound,
        started.elapsed().as_secs_f64()
    );
}

/// One schedule's run, checked in every model: no conflicting grant, and refinement.
fn run<E>(sc: &Arc<Scenario>, how: &Schedule) -> ThreadedRun
where
    E: Engine<Parts = Plain<MemStore>> + 'static,
{
    let r = run_threads::<E>(sc, how).expect("the threaded run ends");
    assert_eq!(r.violation, None, "two conflicting locks granted at once");
    let replayed = replay::<E>(sc, &r.arrivals).expect("the step runner replays it");
    if let Some(d) = compare(&r, &replayed) {
        panic!("threads and step runner differ on {} ({:?}): {:#?}", d.permutation, d.clock, d.differences);
    }
    r
}

/// The one deadlock of a run: found once, and its victim's statement the only one with the
/// deadlock error. Returns the victim's step.
fn sole_victim(r: &ThreadedRun) -> &str {
    let victims = r.errors("deadlock");
    assert_eq!(victims.len(), 1, "{}: {:?}", r.permutation(), r.steps);
    assert_eq!(r.deadlocks.len(), 1, "one deadlock found, once");
    victims[0]
}

/// Sessions' first steps all reach the engine before any second step (the transactions overlap).
fn overlapping() -> Schedule {
    Schedule { gate: Gate::FirstSteps, ..Schedule::default() }
}

/// A child insert and a `last_login` update of one user, InnoDB, FK on: every schedule ends (no
/// lost wake-up), both commit, and exactly one of the two statements waited.
#[test]
fn fk_check_and_login_update_one_waits() {
    let sc = scenario::<Inno>("update-then-insert", true);
    check(move || {
        let r = run::<Inno>(&sc, &overlapping());
        assert!(r.steps.iter().all(|(_, d)| d.error.is_none()), "{:?}", r.steps);
        let waited = [r.step("s1u").waited, r.step("s2e").waited];
        assert_eq!(waited.iter().filter(|w| **w).count(), 1, "{}: {waited:?}", r.permutation());
    });
}

/// InnoDB's S-to-X upgrade deadlock (two child inserts take S on user 1, both then update it):
/// exactly one victim, whose UPDATE gets the deadlock error, found at once by the request that
/// closes the cycle; the other's UPDATE and COMMIT succeed.
#[test]
fn upgrade_deadlock_one_victim() {
    let sc = scenario::<Inno>("upgrade-deadlock", true);
    check(move || {
        let r = run::<Inno>(&sc, &overlapping());
        let other = if sole_victim(&r) == "s1u" { ["s2u", "s2c"] } else { ["s1u", "s1c"] };
        for s in other {
            assert_eq!(r.step(s).error, None, "{s} of the survivor");
        }
        assert!(!r.clock_moved(), "no timer needed");
    });
}

/// With the FK off, no statement on a child table ever parks on a lock on an `auth_user` row,
/// on either engine (the child inserts of the login and upgrade scenarios).
#[test]
fn fk_off_children_never_park_on_users() {
    let login = scenario::<Inno>("update-then-insert", false);
    let upgrade = scenario::<Inno>("upgrade-deadlock", false);
    let pg = scenario::<Pg>("update-then-insert", false);
    let child_steps = ["s2e", "s1e", "s2b"];
    let on_users = move |r: &ThreadedRun| {
        r.parks
            .iter()
            .filter(|p| child_steps.contains(&&*p.step) && p.wants.as_ref().is_some_and(|w| &*w.table == "auth_user"))
            .count()
    };
    // One run per model: loom counts every thread an execution spawns (at most 4 besides main).
    check(move || assert_eq!(on_users(&run::<Inno>(&login, &Schedule::default())), 0));
    check(move || assert_eq!(on_users(&run::<Inno>(&upgrade, &overlapping())), 0));
    check(move || assert_eq!(on_users(&run::<Pg>(&pg, &Schedule::default())), 0));
}

/// Django's cascade (delete the user's enrollments and bookmarks, then the user) against a
/// concurrent enrollment of that user, InnoDB: with the FK no schedule leaves an orphan; without
/// it some schedule does.
#[test]
fn django_cascade_orphans_only_without_fk() {
    static ORPHANED: AtomicUsize = AtomicUsize::new(0);
    let with_fk = scenario::<Inno>("delete-user-race", true);
    check(move || {
        let r = run::<Inno>(&with_fk, &Schedule::default());
        assert_eq!(r.orphans, 0, "{}", r.permutation());
    });
    let without = scenario::<Inno>("delete-user-race", false);
    check(move || {
        if run::<Inno>(&without, &Schedule::default()).orphans > 0 {
            ORPHANED.fetch_add(1, Ordering::Relaxed);
        }
    });
    assert!(ORPHANED.load(Ordering::Relaxed) > 0, "no schedule without the FK left an orphan");
}

/// Three sessions queue on user 1 (two child inserts' S locks and a login's X), on both
/// engines: at every grant no two conflicting locks are held (checked inside the engine after
/// every call, by `run`), and every schedule ends with every statement done.
#[test]
fn hot_row_queue_grants_never_conflict() {
    let inno = scenario::<Inno>("three-session-queue", true);
    let pg = scenario::<Pg>("three-session-queue", true);
    let all_done = |r: ThreadedRun| {
        assert_eq!(r.steps.len(), 6);
        assert!(r.steps.iter().all(|(_, d)| d.error.is_none()), "{:?}", r.steps);
    };
    check(move || all_done(run::<Inno>(&inno, &Schedule::default())));
    check(move || all_done(run::<Pg>(&pg, &Schedule::default())));
}

/// Refinement on a deadlock-prone pair (InnoDB's cross deadlock, any schedule): each statement's
/// outcome and the orphans are the step runner's for the recorded arrival order (`run` checks it),
/// and the schedules reach both outcomes the explorer finds.
#[test]
fn threads_refine_the_step_runner() {
    static DEADLOCKED: AtomicUsize = AtomicUsize::new(0);
    static CLEAN: AtomicUsize = AtomicUsize::new(0);
    let sc = scenario::<Inno>("cross-deadlock", true);
    check(move || {
        let r = run::<Inno>(&sc, &Schedule::default());
        let n = if r.errors("deadlock").is_empty() { &CLEAN } else { &DEADLOCKED };
        n.fetch_add(1, Ordering::Relaxed);
    });
    assert!(DEADLOCKED.load(Ordering::Relaxed) > 0 && CLEAN.load(Ordering::Relaxed) > 0);
}

/// A login holding user 1 and a second login that waits for it with `lock_timeout` 1 s.
const TIMEOUT_SPEC: &str = r#"
setup
{
  CREATE TABLE auth_user (id INT PRIMARY KEY, username VARCHAR(30) UNIQUE, last_login TIMESTAMP NULL, is_active BOOLEAN);
  INSERT INTO auth_user VALUES (1, 'u1', NULL, TRUE);
}
session s1
setup { BEGIN; }
step s1u { UPDATE auth_user SET last_login = CURRENT_TIMESTAMP WHERE id = 1; }
step s1c { COMMIT; }
session s2
setup { SET lock_timeout = '1s'; BEGIN; }
step s2u { UPDATE auth_user SET last_login = CURRENT_TIMESTAMP WHERE id = 1; }
step s2c { COMMIT; }
"#;

/// Lock wait timeouts on the explicit clock, on both engines: s1 locks user 1 and works until
/// the very instant s2's wait times out (s2 arrives 1 µs after s1, so at 1 s + 1 µs) before it
/// commits. The timeout fires first: s2's UPDATE fails with the timeout, having waited, and is
/// never granted the lock s1's commit releases; s1 commits.
#[test]
fn lock_timeout_by_the_clock() {
    fn model<E: Engine<Parts = Plain<MemStore>> + 'static>() {
        let spec = fksim::spec::parse_spec("timeout.spec", TIMEOUT_SPEC).expect("parses");
        let sc = Arc::new(Scenario::load(spec, E::schema(true)).expect("binds"));
        check(move || {
            let how = Schedule { think: vec![vec![0, 1_000_001], vec![1]], ..Schedule::default() };
            let r = run::<E>(&sc, &how);
            assert_eq!(r.errors("lock_timeout"), ["s2u"], "{}: {:?}", r.permutation(), r.steps);
            assert!(r.step("s2u").waited);
            assert_eq!(r.step("s1c").error, None);
        });
    }
    model::<Inno>();
    model::<Pg>();
}

/// PostgreSQL's deadlock (two logins updating two users in opposite orders) is found only after
/// `deadlock_timeout`, when the clock fires the waiting session's check: exactly one victim, the
/// other commits.
#[test]
fn postgres_deadlock_by_the_clock() {
    let sc = scenario::<Pg>("slow-deadlock-detection", true);
    check(move || {
        let r = run::<Pg>(&sc, &overlapping());
        let survivor_commit = if sole_victim(&r) == "s1b" { "s2c" } else { "s1c" };
        assert!(r.clock_moved(), "found by the clock");
        assert_eq!(r.step(survivor_commit).error, None);
    });
}
