//! Any text either fails to load with an error or runs to the end: parse, bind, then run every
//! permutation (when there are few) on every engine, FK on and off. Nothing may panic.
//! Run with `cargo fuzz run spec_run` from the repository root (see docs/fuzzing.md).
#![no_main]

use fksim::run::{run_kind, EngineKind, Timing};
use fksim::scenario::Scenario;
use fksim::spec::parse_spec;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let Ok(spec) = parse_spec("fuzz.spec", text) else { return };
    for engine in EngineKind::ALL {
        for fk_enforced in [true, false] {
            let Ok(sc) = Scenario::load(spec.clone(), engine.schema(fk_enforced)) else { return };
            if sc.permutation_count() <= 64 {
                let _ = run_kind(engine, &sc, Timing::default());
            }
        }
    }
});
