//! Criterion benchmark: every interleaving of model/bench/three-by-three.spec (1680) through the
//! InnoDB model, FK on and off, in-memory store. `fksim bench` measures the same from the CLI.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use fksim::engine::innodb::InnoDb;
use fksim::engine::{Engine, Plain};
use fksim::run::Runner;
use fksim::scenario::Scenario;
use fksim::spec::parse_spec_file;
use fksim::store::MemStore;

type InnoDbMem = InnoDb<Plain<MemStore>>;
use std::path::Path;

fn interleavings(c: &mut Criterion) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("model/bench/three-by-three.spec");
    let mut group = c.benchmark_group("three-by-three");
    for fk_on in [true, false] {
        let spec = parse_spec_file(&path).expect("bench spec parses");
        let sc = Scenario::load(spec, InnoDbMem::schema(fk_on)).expect("binds");
        let perms: Vec<_> = sc.permutations().collect();
        let mut runner = Runner::<InnoDbMem>::new(&sc, MemStore::default()).expect("setup runs");
        group.throughput(Throughput::Elements(perms.len() as u64));
        group.sample_size(10);
        group.bench_function(if fk_on { "fk-on" } else { "fk-off" }, |b| {
            b.iter(|| {
                for p in &perms {
                    std::hint::black_box(runner.run(p).expect("runs"));
                }
            })
        });
    }
    group.finish();
}

criterion_group!(benches, interleavings);
criterion_main!(benches);
