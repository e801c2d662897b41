//! The report's figures, as (file name, SVG text): txn/s against clients per setting, lock-wait
//! time per table, latency percentiles, and PostgreSQL's multixact members.

use super::{EngineReport, Report, VerdictError};
use crate::sim::plot::{bars_svg, line_svg, PlotPoint};
use crate::sim::LoadResult;
use std::collections::BTreeSet;

/// One figure: its file name under `figures/`, what it shows, and its SVG.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Figure {
    pub file: String,
    pub caption: String,
    pub svg: String,
}

/// Every figure of the report.
pub fn figures(report: &Report) -> Result<Vec<Figure>, VerdictError> {
    let mut out = Vec::new();
    for e in &report.engines {
        out.push(throughput(e, report.seed)?);
        out.push(lock_waits(e)?);
        out.push(latency(e)?);
        if e.settings.iter().any(|s| s.load.iter().any(|r| r.multixacts.is_some())) {
            out.push(multixacts(e)?);
        }
    }
    Ok(out)
}

fn figure(file: String, caption: String, svg: Result<String, String>) -> Result<Figure, VerdictError> {
    let svg = svg.map_err(|why| VerdictError::Figure(file.clone(), why))?;
    Ok(Figure { file, caption, svg })
}

/// A line per setting over the clients of the sweep.
fn per_setting(e: &EngineReport, y: impl Fn(&LoadResult) -> f64) -> Vec<PlotPoint> {
    e.settings
        .iter()
        .flat_map(|s| s.load.iter().map(move |r| (s, r)))
        .map(|(s, r)| PlotPoint { line: format!("{} {}", e.engine, s.setting), x: f64::from(r.clients), y: y(r) })
        .collect()
}

fn throughput(e: &EngineReport, seed: u64) -> Result<Figure, VerdictError> {
    let title = format!("{}: simulated txn/s against clients (seed {seed})", e.engine);
    let svg = line_svg(&title, "clients", "committed transactions / s", &per_setting(e, |r| r.txn_per_s));
    figure(format!("throughput-{}.svg", e.engine), format!("{}: txn/s against clients, per FK setting", e.engine), svg)
}

/// The load run at the largest client count of each setting.
fn at_most_clients(e: &EngineReport) -> Vec<(&str, &LoadResult)> {
    e.settings.iter().filter_map(|s| s.load.iter().max_by_key(|r| r.clients).map(|r| (s.setting.as_str(), r))).collect()
}

fn lock_waits(e: &EngineReport) -> Result<Figure, VerdictError> {
    let runs = at_most_clients(e);
    let tables: BTreeSet<&String> = runs.iter().flat_map(|(_, r)| r.lock_waits.per_table.keys()).collect();
    let categories: Vec<String> = tables.iter().map(|t| t.to_string()).collect();
    let series = runs
        .iter()
        .map(|(s, r)| {
            let v = categories.iter().map(|t| r.lock_waits.per_table.get(t).map_or(0.0, |w| w.total_ms)).collect();
            (s.to_string(), v)
        })
        .collect::<Vec<_>>();
    let clients = runs.first().map_or(0, |(_, r)| r.clients);
    let title = format!("{}: lock-wait time per table, {clients} clients", e.engine);
    let svg = bars_svg(&title, "ms waited (over the run)", &categories, &series);
    figure(format!("lock-waits-{}.svg", e.engine), format!("{}: lock-wait time per table", e.engine), svg)
}

/// How many transaction kinds the latency figure shows.
const LATENCY_KINDS: usize = 4;

fn latency(e: &EngineReport) -> Result<Figure, VerdictError> {
    let runs = at_most_clients(e);
    let mut categories = Vec::new();
    let mut series: Vec<(String, Vec<f64>)> = runs.iter().map(|(s, _)| (s.to_string(), Vec::new())).collect();
    // The transaction kinds (their actions, in order) most often committed with every FK on.
    let mut kinds: Vec<(&String, u64)> =
        runs.first().map_or(vec![], |(_, r)| r.latency_ms.iter().map(|(k, l)| (k, l.count)).collect());
    kinds.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
    for (kind, _) in kinds.into_iter().take(LATENCY_KINDS) {
        for (p, name) in [(0, "p50"), (1, "p95"), (2, "p99")] {
            categories.push(format!("{kind} {name}"));
            for ((_, r), (_, v)) in runs.iter().zip(series.iter_mut()) {
                let l = r.latency_ms.get(kind);
                v.push(l.map_or(0.0, |l| [l.p50, l.p95, l.p99][p]));
            }
        }
    }
    let clients = runs.first().map_or(0, |(_, r)| r.clients);
    let title = format!("{}: latency of the {LATENCY_KINDS} commonest transaction kinds, {clients} clients", e.engine);
    let svg = bars_svg(&title, "ms", &categories, &series);
    figure(
        format!("latency-{}.svg", e.engine),
        format!("{}: latency p50, p95, p99 of the commonest transaction kinds", e.engine),
        svg,
    )
}

fn multixacts(e: &EngineReport) -> Result<Figure, VerdictError> {
    let points = per_setting(e, |r| r.multixacts.as_ref().map_or(0.0, |m| m.members as f64));
    let title = format!("{}: multixact members created, against clients", e.engine);
    let svg = line_svg(&title, "clients", "multixact members (over the run)", &points);
    figure(format!("multixacts-{}.svg", e.engine), format!("{}: multixact members against clients", e.engine), svg)
}
