//! Build script: `FKSIM_MUTANT=lost_wakeup` builds the threaded engine's mutant (it drops one
//! wake-up; `tests/loom.rs` must fail on it) by setting `--cfg fksim_mutant_lost_wakeup` on this
//! crate only, so that the dependencies are not rebuilt as a `RUSTFLAGS` change would.
fn main() {
    println!("cargo:rerun-if-env-changed=FKSIM_MUTANT");
    if std::env::var("FKSIM_MUTANT").as_deref() == Ok("lost_wakeup") {
        println!("cargo:rustc-cfg=fksim_mutant_lost_wakeup");
    }
}
