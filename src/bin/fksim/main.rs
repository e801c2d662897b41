//! The `fksim` binary: `cli.rs` parses the command line and runs each command; a big command
//! has a file of its own. Built with `--cfg loom` (the model checker's build, which has no live
//! drivers) it only says so.

#[cfg(not(loom))]
mod args;
#[cfg(not(loom))]
mod calibrate;
#[cfg(not(loom))]
mod cli;
#[cfg(not(loom))]
mod conform_load;
#[cfg(not(loom))]
mod conform_specs;
#[cfg(not(loom))]
mod interrupt;
#[cfg(not(loom))]
mod load;
#[cfg(not(loom))]
mod report;
#[cfg(not(loom))]
mod see;
#[cfg(not(loom))]
mod stress;

#[cfg(not(loom))]
use cli::{engine_arg, engines_arg, load_as, Engines, Fk, Which2};

#[cfg(not(loom))]
fn main() -> std::process::ExitCode {
    cli::main()
}

#[cfg(loom)]
fn main() {
    eprintln!("fksim: this build is for loom's model checker (--cfg loom); build without it to run the tool");
    std::process::exit(2);
}
