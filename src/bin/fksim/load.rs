//! `fksim load` on the command line: the runs a workload's `[load]` table, the flags and a sweep
//! ask for, FK on and off per engine, with progress on stderr; text, JSON Lines, an SVG figure.

use crate::cli::{fk_arg, fk_settings, FkArg};
use crate::{engines_arg, Engines, Which2};
use fksim::app::sql::AppSql;
use fksim::app::workload::{LoadOverrides, Workload};
use fksim::engine::EngineKind;
use fksim::report::json;
use fksim::sim::plot::{txn_per_s_svg, PlotPoint};
use fksim::sim::{shipped_costs, simulate, Costs, LoadResult, Ratio, Sweep};
use fksim::Error;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::path::PathBuf;

/// The flags that override a workload's `[load]` table, each by the name of its key.
#[derive(clap::Args, Clone, Copy)]
pub struct SettingsFlags {
    /// Closed-loop clients.
    #[arg(long)]
    clients: Option<u32>,
    /// Simulated seconds each run lasts.
    #[arg(long, value_parser = crate::args::positive_seconds, allow_negative_numbers = true)]
    seconds: Option<f64>,
    /// Application work inside each transaction, before its COMMIT (ms).
    #[arg(long)]
    app_work_ms: Option<f64>,
    /// Time between a client's transactions (ms).
    #[arg(long)]
    think_ms: Option<f64>,
    /// The server machine's cores (shared with the clients unless the workload says otherwise).
    #[arg(long)]
    server_cores: Option<u32>,
    /// Retry a deadlock victim's transaction up to this many times.
    #[arg(long)]
    retry_deadlocks: Option<u32>,
}

impl SettingsFlags {
    pub fn overrides(self) -> LoadOverrides {
        LoadOverrides {
            clients: self.clients,
            seconds: self.seconds,
            app_work_ms: self.app_work_ms,
            think_ms: self.think_ms,
            server_cores: self.server_cores,
            retry_deadlocks: self.retry_deadlocks,
        }
    }
}

/// The flags of `fksim load`; each `[load]` value can be overridden by the flag of its name.
#[derive(clap::Args)]
pub struct LoadArgs {
    /// The workload file (model/workloads/*.toml); its `[load]` table gives the defaults.
    workload: PathBuf,
    /// The engine whose lock rules and cost file to simulate, or both.
    #[arg(long, value_parser = engines_arg(), default_value = "both")]
    engine: Engines,
    /// `on`, `off`, `both`, and `off=TABLE.COLUMN` (repeatable: the FK-on runs leave that one
    /// foreign key unenforced; alone, it means `on` with it off).
    #[arg(long = "fk", value_parser = load_fk_arg, default_value = "both")]
    fk: Vec<LoadFk>,
    /// DDL the runs start from (`python manage.py sqlmigrate` output) in place of the built-in
    /// tables.
    #[arg(long, value_name = "FILE")]
    schema: Option<PathBuf>,
    /// The seed (printed when not given); the same seed gives the same output, byte for byte.
    #[arg(long)]
    seed: Option<u64>,
    /// JSON Lines: one per engine and FK setting, and a `ratio` line per engine with `--fk both`.
    #[arg(long)]
    json: bool,
    /// Run at each of these values of one setting: `clients=1,2,4,8,16,32,64`.
    #[arg(long, value_parser = Sweep::parse)]
    sweep: Option<Sweep>,
    #[command(flatten)]
    settings: SettingsFlags,
    /// Cost files (`fksim calibrate --write`) in place of the shipped ones, one per engine.
    #[arg(long, value_name = "FILE")]
    costs: Vec<PathBuf>,
    /// Write a figure of txn/s against the swept value (or clients), FK on and off, as SVG.
    #[arg(long, value_name = "FILE.svg")]
    plot: Option<PathBuf>,
}

type Result<T> = std::result::Result<T, Error>;

/// One `--fk` value of `fksim load`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LoadFk {
    Which(Which2),
    Off(FkArg),
}

fn load_fk_arg(s: &str) -> std::result::Result<LoadFk, String> {
    match s {
        "on" => Ok(LoadFk::Which(Which2::On)),
        "off" => Ok(LoadFk::Which(Which2::Off)),
        "both" => Ok(LoadFk::Which(Which2::Both)),
        _ => fk_arg(s).map(LoadFk::Off).map_err(|_| "expected on, off, both or off=TABLE.COLUMN[,...]".into()),
    }
}

/// The cost model for each engine: `--costs` files by their `engine`, else the shipped ones.
pub fn costs_for(files: &[PathBuf], engines: &[EngineKind]) -> Result<Vec<Costs>> {
    let mut given = Vec::new();
    for f in files {
        let c = Costs::load(f).map_err(fksim::sim::SimError::from)?;
        if EngineKind::from_name(&c.engine).is_none() {
            return Err(Error::Usage(format!("{}: engine `{}` is not innodb or postgres", f.display(), c.engine)));
        }
        given.push(c);
    }
    Ok(engines
        .iter()
        .map(|&k| given.iter().find(|c| c.engine == k.name()).cloned().unwrap_or_else(|| shipped_costs(k)))
        .collect())
}

pub fn load(a: LoadArgs) -> Result<()> {
    let w = Workload::load(&a.workload)?;
    let which = a.fk.iter().rev().find_map(|f| if let LoadFk::Which(w) = f { Some(*w) } else { None });
    let offs: Vec<FkArg> =
        a.fk.iter().filter_map(|f| if let LoadFk::Off(o) = f { Some(o.clone()) } else { None }).collect();
    let fks = which.unwrap_or(Which2::On).settings();
    let (_, schema_base) = fk_settings(&offs, a.schema.as_deref())?;
    // The workload on each engine's schema, FK on and off, checked before anything runs.
    let mut on_schema = Vec::new();
    for &engine in &a.engine.0 {
        for &fk_on in &fks {
            let mut we = w.clone();
            we.set_sql(AppSql::new(schema_base.clone(), engine.schema(fk_on))?)?;
            on_schema.push(((engine, fk_on), we));
        }
    }
    let base = a.settings.overrides();
    let usage = |e: String| Error::Usage(e);
    // Every point's settings, checked before anything runs.
    let points: Vec<(Option<(String, f64)>, _)> = match &a.sweep {
        None => vec![(None, w.load_settings(&base).map_err(usage)?)],
        Some(s) => s
            .values
            .iter()
            .map(|&v| Ok((Some((s.name.clone(), v)), w.load_settings(&s.apply(base, v)).map_err(usage)?)))
            .collect::<Result<_>>()?,
    };
    let engines = a.engine.0;
    let costs = costs_for(&a.costs, &engines)?;
    let seed = a.seed.unwrap_or_else(rand::random);
    eprintln!("fksim load: {} seed {seed} (--seed {seed} reproduces this output)", a.workload.display());

    let runs = (points.len() * engines.len() * fks.len()) as u64;
    let total_ms: u64 =
        points.iter().map(|(_, s)| (s.seconds * 1000.0) as u64).sum::<u64>() * (runs / points.len() as u64);
    let bar = ProgressBar::with_draw_target(Some(total_ms), ProgressDrawTarget::stderr());
    bar.set_style(
        ProgressStyle::with_template("{msg} [{bar:30}] {pos}/{len} simulated ms, {elapsed} elapsed, ETA {eta}")
            .expect("a valid template")
            .progress_chars("=> "),
    );
    let mut done_ms = 0u64;
    let mut figure = Vec::new();
    // A Ctrl-C stops after the run in progress; the runs printed so far stand.
    crate::interrupt::graceful();
    for (point, set) in &points {
        for (k, &engine) in engines.iter().enumerate() {
            let mut pair: Vec<LoadResult> = Vec::new();
            for &fk_on in &fks {
                if crate::interrupt::interrupted() {
                    break;
                }
                bar.set_message(format!("{} fk {}", engine.name(), if fk_on { "on" } else { "off" }));
                let at = done_ms;
                let mut progress = |ns: u64| bar.set_position(at + ns / 1_000_000);
                let we = on_schema.iter().find(|(k, _)| *k == (engine, fk_on)).map_or(&w, |(_, we)| we);
                let r = simulate(engine, we, *set, &costs[k], fk_on, seed, &mut progress)?;
                done_ms += (set.seconds * 1000.0) as u64;
                bar.set_position(done_ms);
                let x = point.as_ref().map_or(f64::from(set.clients), |p| p.1);
                figure.push(PlotPoint::simulated(&r, x));
                bar.suspend(|| {
                    if a.json {
                        println!("{}", json::to_line(&r));
                    } else {
                        if let Some((n, v)) = point {
                            print!("{n} = {v}: ");
                        }
                        print!("{}", r.text());
                    }
                });
                pair.push(r);
            }
            if let [on, off] = &pair[..] {
                if let Some(ratio) = Ratio::of(on, off, point.clone()) {
                    bar.suspend(|| {
                        if a.json {
                            println!("{}", json::to_line(&ratio))
                        } else {
                            print!("{}", ratio.text())
                        }
                    });
                }
            }
        }
    }
    bar.finish_and_clear();
    if crate::interrupt::interrupted() {
        let what = format!("PARTIAL (interrupted): {} of {runs} runs done", figure.len());
        println!(
            "{}",
            if a.json {
                json::to_line(&serde_json::json!({"partial": true, "runs_done": figure.len(), "runs": runs}))
            } else {
                what
            }
        );
        return Ok(());
    }
    if let Some(path) = &a.plot {
        let x_name = a.sweep.as_ref().map_or("clients", |s| s.name.as_str());
        let title = format!("{}: simulated txn/s, FK on and off (seed {seed})", a.workload.display());
        let svg = txn_per_s_svg(&title, x_name, &figure).map_err(Error::Usage)?;
        std::fs::write(path, svg).map_err(Error::io(format!("writing {}", path.display())))?;
        eprintln!("fksim load: wrote {}", path.display());
    }
    Ok(())
}
