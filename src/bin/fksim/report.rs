//! `fksim report` on the command line: the plan from the flags, a progress bar, then report.md,
//! report.json and the figures written to `--out`.

use crate::load::costs_for;
use crate::{engines_arg, Engines};
use fksim::app::workload::Workload;
use fksim::engine::EngineKind;
use fksim::schema::{Base, SchemaFile};
use fksim::verdict::{build, figures::figures, markdown::markdown, Plan};
use fksim::Error;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::path::{Path, PathBuf};

type Result<T> = std::result::Result<T, Error>;

/// The flags of `fksim report`.
#[derive(clap::Args)]
pub struct ReportArgs {
    /// DDL (`python manage.py sqlmigrate` output) the runs start from: `FILE` for every engine,
    /// or `innodb=FILE` / `postgres=FILE` for one (repeatable; the last given counts). Without
    /// it, the built-in tables.
    #[arg(long, value_name = "[ENGINE=]FILE")]
    schema: Vec<String>,
    /// The workload file (model/workloads/*.toml): its mix, sizes and `[load]` table.
    #[arg(long, value_name = "FILE")]
    workload: PathBuf,
    /// The engines to report on.
    #[arg(long, value_parser = engines_arg(), default_value = "both")]
    engine: Engines,
    /// The directory to write report.md, report.json and figures/ to (created if missing).
    #[arg(long, value_name = "DIR", default_value = "fksim-report")]
    out: PathBuf,
    /// The seed of the workload runs and the load (printed when not given).
    #[arg(long)]
    seed: Option<u64>,
    /// Workload runs per engine and FK setting.
    #[arg(long, default_value_t = 100, value_parser = crate::args::at_least_one())]
    runs: u64,
    /// The clients of the load sweep.
    #[arg(long, value_delimiter = ',', default_value = "1,2,4,8,16")]
    clients: Vec<u32>,
    /// Simulated seconds of each load run (default: the workload's `[load]` value).
    #[arg(long, value_parser = crate::args::positive_seconds, allow_negative_numbers = true)]
    seconds: Option<f64>,
    /// Worker threads (the report is the same for any count).
    #[arg(long, value_parser = crate::args::threads())]
    threads: Option<u64>,
    /// Cost files (`fksim calibrate --write`) in place of the shipped ones, one per engine.
    #[arg(long, value_name = "FILE")]
    costs: Vec<PathBuf>,
    /// Also print report.json on stdout (in place of the verdict table).
    #[arg(long)]
    json: bool,
}

/// The schema of each engine from `--schema` values.
fn schemas(values: &[String], engines: &[EngineKind]) -> Result<Vec<Base>> {
    let mut out = Vec::new();
    for &engine in engines {
        let own = values.iter().rev().find_map(|v| v.strip_prefix(&format!("{}=", engine.name())));
        let any =
            values.iter().rev().find(|v| EngineKind::ALL.iter().all(|k| !v.starts_with(&format!("{}=", k.name()))));
        let schema = own.or(any.map(String::as_str)).map(|f| SchemaFile::read(Path::new(f))).transpose()?;
        out.push(Base { schema, fk_off: vec![] });
    }
    Ok(out)
}

/// The command line as a reader would type it again (the flags as given).
fn command_line() -> String {
    let args: Vec<String> = std::env::args().skip(1).collect();
    format!("fksim {}", args.join(" "))
}

pub fn report(a: ReportArgs) -> Result<()> {
    if a.clients.contains(&0) {
        return Err(Error::Usage("--clients: every client count must be at least 1".into()));
    }
    if a.out.exists() && !a.out.is_dir() {
        return Err(Error::Usage(format!("--out {}: exists and is not a directory", a.out.display())));
    }
    let workload = Workload::load(&a.workload)?;
    let engines = a.engine.0;
    let costs = costs_for(&a.costs, &engines)?;
    let bases = schemas(&a.schema, &engines)?;
    let seed = a.seed.unwrap_or_else(rand::random);
    eprintln!("fksim report: {} seed {seed} (--seed {seed} reproduces this report)", a.workload.display());
    let plan = Plan {
        workload,
        workload_file: a.workload.display().to_string(),
        engines: engines.into_iter().zip(bases).zip(costs).map(|((e, b), c)| (e, b, c)).collect(),
        seed,
        runs: a.runs,
        clients: a.clients,
        seconds: a.seconds,
    };
    let bar = ProgressBar::with_draw_target(Some(plan.units()), ProgressDrawTarget::stderr());
    let style = ProgressStyle::with_template("report [{bar:30}] {pos}/{len} {msg}, {elapsed} elapsed, ETA {eta}");
    bar.set_style(style.expect("a valid template").progress_chars("=> "));
    let stop = crate::interrupt::graceful();
    let progress = |what: &str| {
        bar.inc(1);
        bar.set_message(what.to_string());
    };
    let threads = a.threads.map_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()), |t| t as usize);
    let report = build(&plan, threads, &progress, stop)?;
    bar.finish_and_clear();
    let figs = figures(&report)?;
    let json = serde_json::to_string_pretty(&report).map_err(|e| Error::Usage(e.to_string()))? + "\n";
    let md = markdown(&report, &figs, &command_line());
    let dir = a.out.join("figures");
    std::fs::create_dir_all(&dir).map_err(Error::io(format!("creating {}", dir.display())))?;
    let write = |path: PathBuf, text: &str| {
        std::fs::write(&path, text).map_err(Error::io(format!("writing {}", path.display())))
    };
    write(a.out.join("report.md"), &md)?;
    write(a.out.join("report.json"), &json)?;
    for f in &figs {
        write(dir.join(&f.file), &f.svg)?;
    }
    if a.json {
        print!("{json}");
    } else {
        print!("{}", verdict_lines(&md));
    }
    let partial = if report.partial { " (PARTIAL: interrupted)" } else { "" };
    eprintln!(
        "fksim report: wrote {}, {} and {} figures in {}{partial}",
        a.out.join("report.md").display(),
        a.out.join("report.json").display(),
        figs.len(),
        dir.display()
    );
    Ok(())
}

/// The verdict table of report.md, for the terminal.
fn verdict_lines(md: &str) -> String {
    let start = md.find("## Verdicts").unwrap_or(0);
    let rest = &md[start..];
    let end = rest[1..].find("\n## ").map_or(rest.len(), |i| i + 1);
    rest[..end].to_string()
}
