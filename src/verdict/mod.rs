//! `fksim report`: from a schema and a workload to a verdict per foreign key and engine, with
//! the evidence the other commands give, gathered in one run.
//!
//! ```text
//!   schema + workload ─► settings: fk on, off=T.C for each declared FK the workload writes, fk off
//!        for each engine and setting:
//!          workload runs (app driver, seeded)      ─► FK-check waits, orphans, errors
//!          races explored (every interleaving)     ─► parent lock waits, deadlocks, orphan windows
//!          load sweep (simulator, clients = ...)   ─► txn/s, latency, lock-wait time, multixacts
//!        each setting against fk on               ─► verdict, property checks, safeguards
//!   ─► report.json, report.md, figures/*.svg
//! ```
//!
//! Nothing here is new engine behaviour: every figure is one the step runner, the explorer, the
//! workload driver or the simulator computes, through the same engine rules.

pub mod explored;
pub mod figures;
pub mod markdown;
pub mod setting;
mod verdicts;

pub use explored::Explored;
pub use setting::{ChildFk, Setting};
pub use verdicts::{Check, Safeguard, Verdict};

use crate::app::sql::AppSql;
use crate::app::summary::{workload_runs, Summary};
use crate::app::workload::{LoadOverrides, Workload};
use crate::engine::EngineKind;
use crate::schema::Base;
use crate::sim::{simulate, Costs, LoadResult};
use serde::Serialize;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;

/// Something that stopped a report.
#[derive(Debug, thiserror::Error)]
pub enum VerdictError {
    #[error(transparent)]
    Schema(#[from] crate::schema::SchemaError),
    #[error(transparent)]
    Spec(#[from] crate::spec::SpecError),
    #[error(transparent)]
    Run(#[from] crate::run::RunError),
    #[error(transparent)]
    App(#[from] crate::app::drive::AppError),
    #[error(transparent)]
    Sim(#[from] crate::sim::SimError),
    #[error("{0}")]
    Settings(String),
    #[error("drawing {0}: {1}")]
    Figure(String, String),
}

impl VerdictError {
    /// A schema or setting the user gave that cannot be used (exit 2), rather than a failure.
    pub fn is_bad_input(&self) -> bool {
        matches!(self, VerdictError::Schema(_) | VerdictError::Settings(_))
            || matches!(self, VerdictError::Run(e) if e.is_bad_input())
    }
}

/// What to report on.
#[derive(Debug, Clone)]
pub struct Plan {
    pub workload: Workload,
    /// The workload file as given, for the report and its replay commands.
    pub workload_file: String,
    /// Each engine with its schema (no `--fk off=`: the settings add them) and cost file.
    pub engines: Vec<(EngineKind, Base, Costs)>,
    pub seed: u64,
    /// Workload runs per engine and setting.
    pub runs: u64,
    /// The clients of the load sweep.
    pub clients: Vec<u32>,
    /// Simulated seconds of each load run (None: the workload's `[load]` value).
    pub seconds: Option<f64>,
}

impl Plan {
    /// Units of work (for a progress bar): per engine and setting, the workload runs, the races
    /// and each load point.
    pub fn units(&self) -> u64 {
        let settings: u64 =
            self.engines.iter().map(|(e, base, _)| self.settings_of(*e, base).map_or(0, |s| s.len() as u64)).sum();
        settings * (2 + self.clients.len() as u64)
    }

    /// The simulated seconds of each load run.
    pub fn load_seconds(&self) -> Result<f64, VerdictError> {
        let o = LoadOverrides { seconds: self.seconds, ..Default::default() };
        Ok(self.workload.load_settings(&o).map_err(VerdictError::Settings)?.seconds)
    }

    fn settings_of(&self, engine: EngineKind, base: &Base) -> Result<Vec<Setting>, VerdictError> {
        Ok(setting::settings(&self.child_fks(engine, base)?))
    }

    fn child_fks(&self, engine: EngineKind, base: &Base) -> Result<Vec<ChildFk>, VerdictError> {
        let catalog = base.catalog(engine.schema(true))?;
        let catalog = if base.schema.is_some() { catalog } else { builtin_catalog(engine)? };
        Ok(setting::child_fks(&catalog, &setting::written_tables(&self.workload)))
    }
}

fn builtin_catalog(engine: EngineKind) -> Result<crate::sql::Catalog, VerdictError> {
    let file = crate::schema::SchemaFile {
        file: "the built-in schema".into(),
        text: crate::app::SCHEMA.into(),
        references: Default::default(),
        bound: Default::default(),
    };
    Ok(file.catalog(engine.schema(true))?)
}

/// What the workload's runs showed in one setting.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct WorkloadRuns {
    pub runs: u64,
    pub with_orphans: u64,
    pub orphans: u64,
    /// Over the references the DDL does not declare: `table.column` -> (runs, rows).
    pub orphans_no_constraint: BTreeMap<String, (u64, u64)>,
    /// Runs with each error kind.
    pub with_error: BTreeMap<String, u64>,
    /// Waits for an FK check's lock on an `auth_user` row, by the child table checked.
    pub fk_check_waits: BTreeMap<String, u64>,
    pub child_waits_on_users: u64,
    pub waits: u64,
    pub longest_wait_chain: usize,
    /// The first run with orphans, and the command that writes it as a spec.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub first_orphans: Option<String>,
    /// MultiXacts created and their members (PostgreSQL).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub multixacts: Option<(u64, u64)>,
}

/// One engine in one setting.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SettingReport {
    pub setting: String,
    /// The `--fk` argument of the other commands that gives it.
    pub fk_arg: String,
    pub workload: WorkloadRuns,
    pub races: Vec<Explored>,
    /// One load run per client count.
    pub load: Vec<LoadResult>,
    /// The load at the largest client count with the orphan sweeper in the mix (weight 1), for
    /// its cost (settings that drop an FK).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub load_with_sweeper: Option<LoadResult>,
}

/// One engine's report.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EngineReport {
    pub engine: &'static str,
    pub schema: String,
    pub child_fks: Vec<ChildFk>,
    pub settings: Vec<SettingReport>,
    pub verdicts: Vec<Verdict>,
    pub checks: Vec<Check>,
}

/// The whole report.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Report {
    pub workload: String,
    pub seed: u64,
    pub runs: u64,
    pub clients: Vec<u32>,
    pub seconds: f64,
    /// Stopped early (Ctrl-C): what is here is what was done by then.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub partial: bool,
    pub engines: Vec<EngineReport>,
}

/// Build the report on `threads` workers (one per engine and setting at a time; the report is
/// the same for any count); `progress(what)` is called after each unit ([`Plan::units`]). Once
/// `stop` is set the report ends after the units in progress, marked partial.
pub fn build(
    plan: &Plan,
    threads: usize,
    progress: &(dyn Fn(&str) + Sync),
    stop: &AtomicBool,
) -> Result<Report, VerdictError> {
    if plan.clients.is_empty()
        || plan.clients.contains(&0)
        || plan.runs == 0
        || plan.seconds.is_some_and(|s| s.is_nan() || s <= 0.0)
    {
        return Err(VerdictError::Settings("a report needs runs, clients and seconds above 0".into()));
    }
    let mut units = Vec::new();
    let mut fks = Vec::new();
    for (k, (engine, base, _)) in plan.engines.iter().enumerate() {
        let child_fks = plan.child_fks(*engine, base)?;
        units.extend(setting::settings(&child_fks).into_iter().map(|s| (k, s)));
        fks.push(child_fks);
    }
    // Each unit's result, in unit order: None until run (or when stopped before it).
    type Slot = std::sync::Mutex<Option<Result<Option<SettingReport>, VerdictError>>>;
    let results: Vec<Slot> = units.iter().map(|_| Default::default()).collect();
    let next = AtomicUsize::new(0);
    std::thread::scope(|scope| {
        for _ in 0..threads.clamp(1, units.len().max(1)) {
            scope.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some((k, s)) = units.get(i) else { break };
                let (engine, base, costs) = &plan.engines[*k];
                let r = setting_report(plan, *engine, base, costs, s, &fks[*k], progress, stop);
                let failed = r.is_err();
                *results[i].lock().unwrap_or_else(|p| p.into_inner()) = Some(r);
                if failed {
                    stop.store(true, Ordering::Relaxed);
                }
            });
        }
    });
    let mut report = Report {
        workload: plan.workload_file.clone(),
        seed: plan.seed,
        runs: plan.runs,
        clients: plan.clients.clone(),
        seconds: plan.load_seconds()?,
        partial: false,
        engines: Vec::new(),
    };
    let mut results = results.into_iter().map(|m| m.into_inner().unwrap_or_else(|p| p.into_inner()));
    for (k, (engine, base, _)) in plan.engines.iter().enumerate() {
        let mut settings = Vec::new();
        for _ in 0..setting::settings(&fks[k]).len() {
            match results.next().flatten().transpose()? {
                Some(Some(r)) => settings.push(r),
                _ => report.partial = true,
            }
        }
        let schema = base.schema.as_ref().map_or_else(|| "the built-in schema".to_string(), |s| s.file.clone());
        let (verdicts, checks) = verdicts::judge(&plan.workload, &fks[k], &settings);
        report.engines.push(EngineReport {
            engine: engine.name(),
            schema,
            child_fks: fks[k].clone(),
            settings,
            verdicts,
            checks,
        });
    }
    Ok(report)
}

/// One setting on one engine; None if stopped before its end.
#[allow(clippy::too_many_arguments)]
fn setting_report(
    plan: &Plan,
    engine: EngineKind,
    base: &Base,
    costs: &Costs,
    s: &Setting,
    child_fks: &[ChildFk],
    progress: &(dyn Fn(&str) + Sync),
    stop: &AtomicBool,
) -> Result<Option<SettingReport>, VerdictError> {
    let label = format!("{} {}", engine.name(), s.name());
    let stopped = || stop.load(Ordering::Relaxed);
    let sql = Arc::new(AppSql::new(s.base(base), engine.schema(s.fk_on()))?);
    let mut w = plan.workload.clone();
    w.set_sql((*sql).clone())?;

    let workload = workload_figures(plan, engine, base, s, &w)?;
    progress(&format!("{label}: workload runs"));
    if stopped() {
        return Ok(None);
    }
    let tables: Vec<&str> = child_fks.iter().map(|f| f.table.as_str()).collect();
    let isolation = plan.workload.isolation;
    let races = explored::explore_races(engine, &sql, s.fk_on(), isolation, &tables)?;
    progress(&format!("{label}: races explored"));
    let mut load = Vec::new();
    for &clients in &plan.clients {
        if stopped() {
            return Ok(None);
        }
        load.push(load_point(plan, engine, costs, s, &w, clients)?);
        progress(&format!("{label}: load, {clients} clients"));
    }
    let load_with_sweeper = match s {
        Setting::AllOn => None,
        _ => {
            let mut ws = w.clone();
            let mix = ws.mix.get_mut();
            mix.sweep = mix.sweep.max(1);
            let most = plan.clients.iter().copied().max().unwrap_or(1);
            Some(load_point(plan, engine, costs, s, &ws, most)?)
        }
    };
    Ok(Some(SettingReport { setting: s.name(), fk_arg: s.fk_arg(), workload, races, load, load_with_sweeper }))
}

fn load_point(
    plan: &Plan,
    engine: EngineKind,
    costs: &Costs,
    s: &Setting,
    w: &Workload,
    clients: u32,
) -> Result<LoadResult, VerdictError> {
    let o = LoadOverrides { clients: Some(clients), seconds: plan.seconds, ..Default::default() };
    let set = w.load_settings(&o).map_err(VerdictError::Settings)?;
    Ok(simulate(engine, w, set, costs, s.fk_on(), plan.seed, &mut |_| {})?)
}

/// The workload's runs in setting `s`, as `fksim workload` makes them from the same seed.
fn workload_figures(
    plan: &Plan,
    engine: EngineKind,
    base: &Base,
    s: &Setting,
    w: &Workload,
) -> Result<WorkloadRuns, VerdictError> {
    let mut sum = Summary::default();
    let mut fk_check_waits: BTreeMap<String, u64> = BTreeMap::new();
    for (i, r) in (0..).zip(workload_runs(w, engine, s.fk_on(), plan.seed, plan.runs)) {
        let r = r?;
        sum.add(i, &r);
        for (t, n) in r.fk_check_waits_by_table() {
            *fk_check_waits.entry(t.to_string()).or_default() += n;
        }
    }
    let schema = base.schema.as_ref().map(|f| format!(" --schema {}", f.file)).unwrap_or_default();
    let first_orphans = sum.first_orphans.map(|i| {
        format!(
            "fksim workload {}{schema} --engine {} --fk {} --seed {} --runs {} --write DIR (then DIR/run-{i}.spec)",
            plan.workload_file,
            engine.name(),
            s.fk_arg(),
            plan.seed,
            i + 1
        )
    });
    Ok(WorkloadRuns {
        runs: sum.runs,
        with_orphans: sum.with_orphans,
        orphans: sum.orphans,
        orphans_no_constraint: sum.logical_orphans,
        with_error: sum.with_error,
        fk_check_waits,
        child_waits_on_users: sum.child_waits_on_users,
        waits: sum.waits,
        longest_wait_chain: sum.longest_wait_chain,
        first_orphans,
        multixacts: sum.multixacts.map(|m| (m.created, m.members)),
    })
}
