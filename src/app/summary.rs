//! `fksim workload`: runs of a workload file from a seed, summarised; each run can be written out
//! as a spec that `fksim run` replays.

use super::drive::{run_app, AppError, AppRun};
use super::spec::Tail;
use super::workload::Workload;
use crate::engine::MultixactCount;
use crate::run::EngineKind;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::collections::BTreeMap;
use std::fmt::Write;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};

/// What the runs of a workload showed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Summary {
    pub runs: u64,
    /// Stopped before the last run (Ctrl-C): the counts are of the runs until then.
    pub partial: bool,
    pub with_orphans: u64,
    pub orphans: u64,
    /// Runs with at least one error of each kind (the errors Django raised).
    pub with_error: BTreeMap<String, u64>,
    /// Child-table statements that waited on a lock on an auth_user row, and in how many runs.
    pub child_waits_on_users: u64,
    pub with_child_waits_on_users: u64,
    /// Steps that waited on any lock.
    pub waits: u64,
    pub longest_wait_chain: usize,
    /// The first run (by number) with orphans, and with a child wait on a user row.
    pub first_orphans: Option<u64>,
    pub first_child_wait: Option<u64>,
    /// The MultiXacts all runs created, per row (PostgreSQL; None on InnoDB).
    pub multixacts: Option<MultixactCount>,
    /// Orphans over each reference the DDL does not declare (the schema file's references
    /// file): `table.column` -> (runs with some, rows), counted over the rows at each run's end.
    pub logical_orphans: BTreeMap<String, (u64, u64)>,
}

impl Summary {
    /// Count run number `i` in.
    pub fn add(&mut self, i: u64, r: &AppRun) {
        self.runs += 1;
        let orphans = r.observed("obs1").map_or(r.report.orphans, |o| o.orphans().len());
        self.orphans += orphans as u64;
        if orphans > 0 {
            self.with_orphans += 1;
            self.first_orphans.get_or_insert(i);
        }
        for k in crate::run::error_kinds(&r.report.events) {
            *self.with_error.entry(k.to_string()).or_default() += 1;
        }
        let cw = r.child_waits_on_users().len() as u64;
        self.child_waits_on_users += cw;
        if cw > 0 {
            self.with_child_waits_on_users += 1;
            self.first_child_wait.get_or_insert(i);
        }
        self.waits += r.report.events.iter().filter(|e| e.wait.is_some()).count() as u64;
        self.longest_wait_chain = self.longest_wait_chain.max(r.report.max_wait_chain);
        if let Some(m) = &r.report.multixacts {
            self.multixacts.get_or_insert_with(MultixactCount::default).add(m);
        }
        for (name, n) in &r.report.orphans_by_ref {
            let e = self.logical_orphans.entry(name.clone()).or_default();
            e.0 += u64::from(*n > 0);
            e.1 += *n as u64;
        }
    }

    pub fn text(&self) -> String {
        let mut o = String::new();
        if self.partial {
            let _ = writeln!(o, "  PARTIAL (interrupted): the counts below are of the runs until then");
        }
        let _ = writeln!(o, "  runs:                        {}", self.runs);
        let _ = writeln!(o, "  with orphans:                {} ({} orphan rows)", self.with_orphans, self.orphans);
        for (name, (runs, rows)) in &self.logical_orphans {
            let _ = writeln!(o, "  orphans, no constraint:      {name}: {runs} runs ({rows} rows)");
        }
        for (k, v) in &self.with_error {
            let _ = writeln!(o, "  with {:<24}{v}", format!("{k}:"));
        }
        let _ = writeln!(
            o,
            "  child waits on user rows:    {} (in {} runs)",
            self.child_waits_on_users, self.with_child_waits_on_users
        );
        let _ = writeln!(o, "  lock waits (all):            {}", self.waits);
        let _ = writeln!(o, "  longest wait chain:          {}", self.longest_wait_chain);
        if let Some(m) = &self.multixacts {
            let _ = writeln!(o, "  multixacts:                  {}", m.line(5));
        }
        if let Some(i) = self.first_orphans {
            let _ = writeln!(o, "  first run with orphans:      {i}");
        }
        if let Some(i) = self.first_child_wait {
            let _ = writeln!(o, "  first run with a child wait: {i}");
        }
        o
    }
}

/// The runs of `w` drawn from `seed`, in order. Run `i` uses `Workload::generate` with the next
/// number of a ChaCha8 stream seeded with `seed`, then a schedule from the same stream.
pub fn workload_runs(
    w: &Workload,
    engine: EngineKind,
    fk_on: bool,
    seed: u64,
    runs: u64,
) -> impl Iterator<Item = Result<AppRun, AppError>> + '_ {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    (0..runs).map(move |i| {
        let c = w.generate(rng.gen());
        let steps: usize = super::spec::Layout::new(&c).counts().iter().sum();
        let schedule: Vec<usize> = (0..steps).map(|_| rng.gen_range(0..c.sessions.len().max(1))).collect();
        let fk = if fk_on { "on" } else { "off" };
        let comment = format!("fksim workload run {i}, seed {seed}, engine {}, fk {fk}", engine.name());
        run_app(&c, &schedule, engine, fk_on, Tail::default(), &comment)
    })
}

/// Where `--write DIR` puts run `i`.
pub fn run_path(dir: &Path, i: u64) -> std::path::PathBuf {
    dir.join(format!("run-{i}.spec"))
}

/// Run `runs` random scripts and schedules of `w`, drawn from `seed` (see [`workload_runs`]).
/// When `write` is given, run `i`'s spec goes to `write/run-i.spec`, headed by the `fksim run`
/// command that replays it (see [`AppRun::written`]).
pub fn run_workload(
    w: &Workload,
    engine: EngineKind,
    fk_on: bool,
    seed: u64,
    runs: u64,
    write: Option<&Path>,
) -> Result<Summary, AppError> {
    run_workload_until(w, engine, fk_on, seed, runs, write, &mut |_| {}, &AtomicBool::new(false))
}

/// [`run_workload`], calling `progress(runs done)` after each run, that stops before the next run
/// once `stop` is set (by a Ctrl-C handler, say), its summary marked partial.
#[allow(clippy::too_many_arguments)]
pub fn run_workload_until(
    w: &Workload,
    engine: EngineKind,
    fk_on: bool,
    seed: u64,
    runs: u64,
    write: Option<&Path>,
    progress: &mut dyn FnMut(u64),
    stop: &AtomicBool,
) -> Result<Summary, AppError> {
    let mut sum = Summary::default();
    for (i, r) in (0..).zip(workload_runs(w, engine, fk_on, seed, runs)) {
        if stop.load(Ordering::Relaxed) {
            sum.partial = true;
            break;
        }
        let r = r?;
        if let Some(dir) = write {
            let path = run_path(dir, i);
            std::fs::create_dir_all(dir)
                .and_then(|_| std::fs::write(&path, r.written(&path)))
                .map_err(|e| AppError::Write(path.display().to_string(), e.to_string()))?;
        }
        sum.add(i, &r);
        progress(i + 1);
    }
    Ok(sum)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_summary() {
        let text = "sessions = 2\ntransactions = 1\nactions_per_txn = [1, 2]\n[users]\nhot = 1\n[mix]\nenroll = 1\nlogin = 1\ndelete_user = 1\n";
        let w = Workload::parse("w.toml", text).unwrap();
        let a = run_workload(&w, EngineKind::Innodb, false, 3, 20, None).unwrap();
        assert_eq!(a, run_workload(&w, EngineKind::Innodb, false, 3, 20, None).unwrap());
        assert_eq!(a.runs, 20);
        // With the FK, an InnoDB child insert and a login of one user queue on each other.
        let on = run_workload(&w, EngineKind::Innodb, true, 3, 20, None).unwrap();
        assert_eq!(a.child_waits_on_users, 0);
        assert!(on.child_waits_on_users > 0, "{}", on.text());
    }
}
