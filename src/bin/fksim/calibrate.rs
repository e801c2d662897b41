//! `fksim calibrate` on the command line: fit one engine's cost file on its live server and
//! print it, or write it where `--write` says.

use fksim::conform::{calibrate, LiveDb, Timing};
use fksim::engine::{EngineKind, Server};
use fksim::Error;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::path::PathBuf;

/// The flags of `fksim calibrate`.
#[derive(clap::Args)]
pub struct CalibrateArgs {
    /// The engine whose server to measure (MariaDB for innodb, PostgreSQL for postgres).
    #[arg(long, value_parser = crate::engine_arg())]
    engine: EngineKind,
    /// Write the cost file here (e.g. model/costs/mariadb.toml) instead of printing it.
    #[arg(long, value_name = "FILE")]
    write: Option<PathBuf>,
    /// Repetitions of each statement in a round.
    #[arg(long, default_value_t = 300, value_parser = clap::value_parser!(u32).range(10..=100_000))]
    reps: u32,
    /// Rounds (each FK on and off); the medians are over the rounds.
    #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u32).range(1..=1000))]
    rounds: u32,
    /// Let the cores go idle between statements (by default a thread per core spins at idle
    /// priority, so that wake-ups cost what they do on a loaded machine).
    #[arg(long)]
    idle_cores: bool,
    /// MariaDB's server, user and database (`mysql://USER[:PASSWORD]@HOST:PORT/DB`; a password is
    /// never printed).
    #[arg(long, default_value = "mysql://root@127.0.0.1:3306/test")]
    mysql_url: String,
    /// PostgreSQL's server, user and database (`postgresql://USER[:PASSWORD]@HOST:PORT/DB`; a
    /// password is never printed).
    #[arg(long, default_value = "postgresql://postgres@127.0.0.1:5432/test")]
    postgres_url: String,
}

pub fn run(a: CalibrateArgs) -> Result<(), Error> {
    let url = match a.engine.server() {
        Server::MariaDb => &a.mysql_url,
        Server::Postgres => &a.postgres_url,
    };
    let mut db = LiveDb::connect(a.engine.server(), url, Timing::default())?;
    let bar = ProgressBar::with_draw_target(Some(u64::from(a.rounds)), ProgressDrawTarget::stderr());
    bar.set_style(
        ProgressStyle::with_template("calibrating {msg} [{bar:30}] {pos}/{len} rounds, {elapsed} elapsed, ETA {eta}")
            .expect("a valid template")
            .progress_chars("=> "),
    );
    bar.set_message(a.engine.name());
    let cal = calibrate(&mut db, a.engine, a.reps as usize, a.rounds as usize, !a.idle_cores, &mut |r| {
        bar.set_position(r as u64)
    });
    bar.finish_and_clear();
    db.close()?;
    let cal = cal?;
    let mut command = format!("fksim calibrate --engine {} --reps {} --rounds {}", a.engine.name(), a.reps, a.rounds);
    if a.idle_cores {
        command.push_str(" --idle-cores");
    }
    if let Some(path) = &a.write {
        command.push_str(&format!(" --write {}", path.display()));
    }
    let text = cal.file(&command);
    match &a.write {
        Some(path) => {
            std::fs::write(path, &text).map_err(Error::io(format!("writing {}", path.display())))?;
            eprintln!("fksim calibrate: wrote {}", path.display());
        }
        None => print!("{text}"),
    }
    Ok(())
}
