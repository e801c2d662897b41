//! `fksim conform --load` on the command line: a workload's load run on each live server, FK on
//! and off, beside the simulator's run of the same settings and seed: txn/s, lock waits, CPU and
//! the FK ratio, measured against simulated.

use crate::load::{costs_for, SettingsFlags};
use fksim::app::workload::Workload;
use fksim::conform::{run_live_load, LiveDb, LiveLoad, Timing};
use fksim::engine::{EngineKind, Server};
use fksim::report::json;
use fksim::sim::{simulate, LoadResult};
use fksim::Error;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::fmt::Write;
use std::path::PathBuf;

type Result<T> = std::result::Result<T, Error>;

/// What `conform --load` was asked for.
pub struct ConformLoad {
    pub workload: PathBuf,
    pub engines: Vec<EngineKind>,
    pub fks: Vec<bool>,
    pub settings: SettingsFlags,
    pub seed: Option<u64>,
    pub json: bool,
    pub costs: Vec<PathBuf>,
    pub mysql_url: String,
    pub postgres_url: String,
}

/// One engine and FK setting, live and simulated.
#[derive(serde::Serialize)]
struct Pair<'a> {
    engine: &'static str,
    server: &'static str,
    fk: &'static str,
    live: &'a LoadResult,
    sim: &'a LoadResult,
}

pub fn conform_load(a: ConformLoad) -> Result<()> {
    let w = Workload::load(&a.workload)?;
    let set = w.load_settings(&a.settings.overrides()).map_err(Error::Usage)?;
    let costs = costs_for(&a.costs, &a.engines)?;
    let seed = a.seed.unwrap_or_else(rand::random);
    eprintln!(
        "fksim conform --load: {} seed {seed} (--seed {seed} gives the same clients' streams)",
        a.workload.display()
    );
    let bar = ProgressBar::with_draw_target(
        Some((set.seconds * 1000.0) as u64 * (a.engines.len() * a.fks.len()) as u64),
        ProgressDrawTarget::stderr(),
    );
    bar.set_style(
        ProgressStyle::with_template("{msg} [{bar:30}] {pos}/{len} ms live, {elapsed} elapsed, ETA {eta}")
            .expect("a valid template")
            .progress_chars("=> "),
    );
    for (k, &engine) in a.engines.iter().enumerate() {
        let url = match engine.server() {
            Server::MariaDb => &a.mysql_url,
            Server::Postgres => &a.postgres_url,
        };
        let mut db = LiveDb::connect(engine.server(), url, Timing::default())?;
        let server = engine.server().dialect().name();
        let mut ratios = Vec::new();
        for (f, &fk_on) in a.fks.iter().enumerate() {
            let fk = if fk_on { "on" } else { "off" };
            bar.set_message(format!("{server} fk {fk}"));
            let at = ((k * a.fks.len() + f) as f64 * set.seconds * 1000.0) as u64;
            let req = LiveLoad { workload: &w, settings: set, engine, fk_on, seed };
            let live = run_live_load(&mut db, req, &mut |s| bar.set_position(at + (s * 1000.0) as u64))?;
            let sim = simulate(engine, &w, set, &costs[k], fk_on, seed, &mut |_| {})?;
            bar.suspend(|| {
                if a.json {
                    println!("{}", json::to_line(&Pair { engine: engine.name(), server, fk, live: &live, sim: &sim }));
                } else {
                    print!("{}", side_by_side(server, &live, &sim));
                }
            });
            ratios.push((live.txn_per_s, sim.txn_per_s));
        }
        if let [(live_on, sim_on), (live_off, sim_off)] = ratios[..] {
            if live_off > 0.0 && sim_off > 0.0 {
                let (l, s) = (live_on / live_off, sim_on / sim_off);
                bar.suspend(|| {
                    if a.json {
                        let r = serde_json::json!({"engine": engine.name(), "server": server, "ratio_live": round3(l), "ratio_sim": round3(s), "difference": round3(s - l)});
                        println!("{}", json::to_line(&r));
                    } else {
                        println!("{server}: FK on / FK off txn/s: live {l:.3}, simulated {s:.3} (difference {:+.3})", s - l);
                    }
                });
            }
        }
        db.close()?;
    }
    bar.finish_and_clear();
    Ok(())
}

fn round3(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}

/// The two runs' figures in two columns.
fn side_by_side(server: &str, live: &LoadResult, sim: &LoadResult) -> String {
    let mut o = String::new();
    let _ = writeln!(
        o,
        "{server} ({}) fk {}: {} clients, {} s{:>14}{:>14}",
        live.engine, live.fk, live.clients, live.seconds, "live", "simulated"
    );
    let row = |o: &mut String, name: &str, l: String, s: String| {
        let _ = writeln!(o, "  {name:<40}{l:>14}{s:>14}");
    };
    row(&mut o, "txn/s", format!("{:.1}", live.txn_per_s), format!("{:.1}", sim.txn_per_s));
    row(&mut o, "aborted", live.aborted.to_string(), sim.aborted.to_string());
    row(&mut o, "lock waits", live.lock_waits.count.to_string(), sim.lock_waits.count.to_string());
    row(
        &mut o,
        "lock wait time (ms)",
        format!("{:.1}", live.lock_waits.total_ms),
        format!("{:.1}", sim.lock_waits.total_ms),
    );
    for (kind, l) in &live.latency_ms {
        let s = sim.latency_ms.get(kind);
        let p = |f: fn(&fksim::sim::stats::Latency) -> f64| s.map_or("-".into(), |s| format!("{:.3}", f(s)));
        row(&mut o, &format!("latency {kind} p50 (ms)"), format!("{:.3}", l.p50), p(|x| x.p50));
        row(&mut o, &format!("latency {kind} p99 (ms)"), format!("{:.3}", l.p99), p(|x| x.p99));
    }
    let pct = |x: f64| format!("{:.1}%", x * 100.0);
    row(&mut o, &format!("cpu, server (of {} cores)", live.cpu.cores), pct(live.cpu.server), pct(sim.cpu.server));
    row(&mut o, "cpu, clients", pct(live.cpu.clients), pct(sim.cpu.clients));
    o
}
