//! `fksim stress`: the command line of `fksim::threaded::stress` (arguments, progress, output).

use fksim::engine::EngineKind;
use fksim::report::json;
use fksim::threaded::stress::{self, StressOptions, StressTask};
use fksim::Error;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

type Result<T> = std::result::Result<T, Error>;

#[derive(clap::Args)]
pub struct StressArgs {
    /// The isolation spec file.
    spec: PathBuf,
    /// The engine whose locking rules run on the threads.
    #[arg(long, value_parser = super::engine_arg(), default_value = "innodb")]
    engine: EngineKind,
    /// `off` strips every FOREIGN KEY / REFERENCES clause and keeps the index on the column.
    #[arg(long, value_enum, default_value = "on")]
    fk: super::Fk,
    /// Wall-clock seconds to keep running (at least one run).
    #[arg(long, default_value_t = 10.0, value_parser = crate::args::positive_seconds, allow_negative_numbers = true)]
    seconds: f64,
    /// The seed of the delays between steps (printed when not given).
    #[arg(long)]
    seed: Option<u64>,
    /// The longest random delay before a step, in microseconds (half the steps get none).
    #[arg(long, default_value_t = 200)]
    max_delay_us: u64,
    /// One JSON object instead of the summary.
    #[arg(long)]
    json: bool,
}

/// Run it; exit 1 on a divergence or a broken grant.
pub fn run(a: StressArgs) -> Result<ExitCode> {
    let fk_on = a.fk == super::Fk::On;
    let sc = Arc::new(super::load_as(&a.spec, a.engine, fk_on)?);
    let seed = a.seed.unwrap_or_else(rand::random);
    eprintln!(
        "fksim stress: {} engine {} fk {} seed {seed} (--seed {seed} gives the same delays)",
        a.spec.display(),
        a.engine.name(),
        if fk_on { "on" } else { "off" }
    );
    let tenths = (a.seconds * 10.0).ceil() as u64;
    let bar = ProgressBar::with_draw_target(Some(tenths), ProgressDrawTarget::stderr());
    bar.set_style(
        ProgressStyle::with_template("stress [{bar:30}] {msg}, {elapsed} elapsed, ETA {eta}")
            .expect("a valid template")
            .progress_chars("=> "),
    );
    let progress = |secs: f64, runs: u64| {
        bar.set_position(((secs * 10.0) as u64).min(tenths));
        bar.set_message(format!("{runs} runs"));
    };
    let opts = StressOptions { seconds: a.seconds, seed, max_delay_us: a.max_delay_us };
    let mut summary = a.engine.run(StressTask { sc: &sc, opts, progress: &progress })?;
    bar.finish_and_clear();
    summary.fk = if fk_on { "on" } else { "off" }.to_string();
    if a.json {
        println!("{}", json::to_line(&summary));
    } else {
        print!("{}", stress::text(&summary));
    }
    Ok(if summary.divergences > 0 || summary.grant_violations > 0 { ExitCode::FAILURE } else { ExitCode::SUCCESS })
}
