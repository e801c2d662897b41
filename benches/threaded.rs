//! Criterion benchmark: lock requests per second through the threaded engine (InnoDB's rules),
//! at 1, 2, 4 and 8 session threads, each thread's transactions updating its own row
//! (uncontended) or all updating one hot row, beside a bare `parking_lot::Mutex` taken as often
//! (three times per transaction: BEGIN, UPDATE, COMMIT) in the same run. README, "Threaded
//! engine: speed".

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use fksim::engine::innodb::InnoDb;
use fksim::engine::{Engine, Plain};
use fksim::run::Runner;
use fksim::scenario::Scenario;
use fksim::spec::parse_spec;
use fksim::store::MemStore;
use fksim::threaded::Threaded;
use std::sync::Arc;
use std::time::{Duration, Instant};

type Inno = InnoDb<Plain<MemStore>>;
const MAX_THREADS: usize = 8;

/// Eight sessions, each with BEGIN, an UPDATE of its own row, an UPDATE of row 1, and COMMIT.
fn scenario() -> Arc<Scenario> {
    let mut text = String::from("setup\n{\n  CREATE TABLE t (id INT PRIMARY KEY, v INT);\n  INSERT INTO t VALUES ");
    let rows: Vec<String> = (1..=MAX_THREADS).map(|i| format!("({i}, 0)")).collect();
    text.push_str(&rows.join(", "));
    text.push_str(";\n}\n");
    for i in 1..=MAX_THREADS {
        text.push_str(&format!(
            "session s{i}\nstep b{i} {{ BEGIN; }}\nstep own{i} {{ UPDATE t SET v = v + 1 WHERE id = {i}; }}\n\
             step hot{i} {{ UPDATE t SET v = v + 1 WHERE id = 1; }}\nstep c{i} {{ COMMIT; }}\n"
        ));
    }
    let spec = parse_spec("threaded-bench.spec", &text).expect("bench spec parses");
    Arc::new(Scenario::load(spec, Inno::schema(true)).expect("bench spec binds"))
}

/// `threads` sessions each run `txns` transactions (BEGIN, one UPDATE, COMMIT) of their own row
/// or of the hot row; returns the time they took.
fn through_engine(sc: &Arc<Scenario>, threads: usize, txns: u64, hot: bool) -> Duration {
    let runner = Runner::<Inno>::new(sc, MemStore::default()).expect("setup runs");
    let db = runner.database(MemStore::default(), sc.session_names()).expect("database");
    let eng = Arc::new(Threaded::new(db, sc.sessions.len(), false));
    let started = Instant::now();
    std::thread::scope(|scope| {
        for s in 0..threads {
            let (eng, steps) = (eng.clone(), &sc.sessions[s].steps);
            scope.spawn(move || {
                let update = if hot { &steps[2] } else { &steps[1] };
                for t in 0..txns {
                    // A long run forgets old row versions now and then, as the simulator does.
                    if t % 64 == 63 {
                        eng.vacuum().expect("vacuum");
                    }
                    for step in [&steps[0], update, &steps[3]] {
                        let done = eng.step(s, step.name.clone(), step.stmts.clone()).expect("runs");
                        assert!(done.error.is_none(), "{:?}", done.error);
                    }
                }
            });
        }
    });
    started.elapsed()
}

/// The same threads taking a bare `parking_lot::Mutex` as often, doing nothing under it.
fn bare_mutex(threads: usize, txns: u64) -> Duration {
    let m = parking_lot::Mutex::new(0u64);
    let started = Instant::now();
    std::thread::scope(|scope| {
        for _ in 0..threads {
            scope.spawn(|| {
                for _ in 0..txns * 3 {
                    *m.lock() += 1;
                }
            });
        }
    });
    std::hint::black_box(*m.lock());
    started.elapsed()
}

fn lock_requests(c: &mut Criterion) {
    let sc = scenario();
    let mut group = c.benchmark_group("threaded");
    group.sample_size(10).warm_up_time(Duration::from_secs(1)).measurement_time(Duration::from_secs(3));
    for threads in [1, 2, 4, 8] {
        // One element: one transaction's lock request (its UPDATE).
        group.throughput(Throughput::Elements(threads as u64));
        group.bench_with_input(BenchmarkId::new("uncontended", threads), &threads, |b, &n| {
            b.iter_custom(|iters| through_engine(&sc, n, iters, false))
        });
        group.bench_with_input(BenchmarkId::new("hot-row", threads), &threads, |b, &n| {
            b.iter_custom(|iters| through_engine(&sc, n, iters, true))
        });
        group.bench_with_input(BenchmarkId::new("bare-mutex", threads), &threads, |b, &n| {
            b.iter_custom(|iters| bare_mutex(n, iters))
        });
    }
    group.finish();
}

criterion_group!(benches, lock_requests);
criterion_main!(benches);
