//! `fksim conform`: run specs on live MariaDB and PostgreSQL, run the model on the same specs, and
//! show every difference side by side; optionally record the live outcomes as expected files.

mod calibrate;
mod conn;
mod cpu;
mod dialect;
mod live;
mod load;
mod schema;
mod url;

pub use crate::run::Timing;
pub use calibrate::{calibrate, Calibration, Measured};
pub use dialect::{create_schema, translate, Live};
pub use live::{LiveDb, LiveError};
pub use load::{run_live_load, LiveLoad};
pub use schema::LiveSchema;

use crate::run::{run_kind, EngineKind, PermutationReport};
use crate::scenario::Scenario;

/// The outcome lines compared: compare_spec.py's (step, outcome, error) and orphans, the
/// number of rows each query returned, and the warnings each step got (by step, in the order
/// sent: the live server's arrive with the step's result, the model's on the line they precede).
fn core(r: &PermutationReport) -> (Vec<String>, Vec<String>) {
    let mut lines: Vec<String> = r
        .events
        .iter()
        .map(|e| {
            let outcome =
                serde_json::to_value(e.outcome).ok().and_then(|v| v.as_str().map(str::to_string)).unwrap_or_default();
            match &e.error {
                Some(err) => format!("{} {outcome} {}", e.step, err.kind.name()),
                // How many rows each query of the step returned (which rows a SKIP LOCKED read
                // leaves out; the values themselves are each server's text).
                None if !e.rows.is_empty() => {
                    let counts: Vec<String> = e.rows.iter().map(|r| r.rows.len().to_string()).collect();
                    format!("{} {outcome} rows {}", e.step, counts.join(","))
                }
                None => format!("{} {outcome}", e.step),
            }
        })
        .collect();
    let mut notices: Vec<(&str, String)> =
        r.events.iter().flat_map(|e| e.notices.iter().map(|n| (&*e.step, n.to_string()))).collect();
    notices.sort_by_key(|(step, _)| *step);
    lines.extend(notices.into_iter().map(|(step, n)| format!("{step} notice {n}")));
    lines.push(format!("orphans {}", r.orphans));
    (r.steps.clone(), lines)
}

/// The access paths of each step, in report order: (step, statement number, path).
fn paths(r: &PermutationReport) -> Vec<(String, usize, &crate::engine::Access)> {
    let mut out = Vec::new();
    for e in &r.events {
        for (k, a) in e.access.iter().enumerate() {
            out.push((e.step.to_string(), k, a));
        }
    }
    out
}

/// Where the index the model scans differs from the one the live EXPLAIN reported, one line each;
/// statements either side could not decide are left out.
fn path_differences(model: &PermutationReport, live: &PermutationReport) -> Vec<String> {
    let model_paths = paths(model);
    let mut out = Vec::new();
    for (step, k, l) in paths(live) {
        let Some((_, _, m)) = model_paths.iter().find(|(s, j, _)| *s == step && *j == k) else { continue };
        if l.undecided.is_none() && m.undecided.is_none() && l.path != m.path {
            out.push(format!("{step} scans {}: engine {} | model {}", l.table, l.path, m.path));
        }
    }
    out
}

/// One spec on one engine with one FK setting: what the server did, what the model did.
pub struct Comparison {
    pub name: String,
    pub engine: EngineKind,
    pub fk_on: bool,
    pub live: Vec<PermutationReport>,
    /// The model's reports, or why the model could not run.
    pub model: Result<Vec<PermutationReport>, String>,
    /// Live runs outvoted by two repeats (timing noise), one line each.
    pub noise: Vec<String>,
    /// The foreign keys `--fk off=TABLE.COLUMN` left unenforced in an FK-on run (named in the
    /// label; such a run is not one of the recordings' two settings).
    pub fk_off: Vec<String>,
}

impl Comparison {
    /// Runs every permutation live and on the model. A live run is timing-classified (a step is
    /// `waiting` when it has not finished after `--wait-ms`), so a stall on the server (an fsync, a
    /// loaded CI machine) can make one run look different. When a live run differs from the model it
    /// is repeated twice and the outcome at least two of the three runs show is kept; the runs that
    /// were outvoted are listed in `noise` and printed with the report, never hidden.
    pub fn run(
        name: &str,
        sc: &Scenario,
        engine: EngineKind,
        fk_on: bool,
        db: &mut LiveDb,
    ) -> Result<Comparison, LiveError> {
        let model = run_kind(engine, sc, db.timing).map_err(|e| e.to_string());
        let mut live = Vec::new();
        let mut noise = Vec::new();
        for (i, perm) in sc.permutations().enumerate() {
            let first = db.run(sc, &perm)?;
            let expected = model.as_ref().ok().and_then(|m| m.get(i)).map(core);
            if expected.is_none() || expected == Some(core(&first)) {
                live.push(first);
                continue;
            }
            let runs = [first, db.run(sc, &perm)?, db.run(sc, &perm)?];
            let votes = |r: &PermutationReport| runs.iter().filter(|o| core(o) == core(r)).count();
            let keep = runs.iter().position(|r| votes(r) >= 2).unwrap_or(0);
            for (k, r) in runs.iter().enumerate() {
                if core(r) != core(&runs[keep]) {
                    noise.push(format!(
                        "permutation {}: run {} of 3 outvoted: {}",
                        r.steps.join(" "),
                        k + 1,
                        core(r).1.join(", ")
                    ));
                }
            }
            live.push(runs.into_iter().nth(keep).expect("three runs"));
        }
        db.clean(sc)?;
        Ok(Comparison { name: name.to_string(), engine, fk_on, live, model, noise, fk_off: Vec::new() })
    }

    /// Permutations where model and engine differ, in outcomes or in the index a statement scans.
    pub fn differences(&self) -> usize {
        match &self.model {
            Err(_) => self.live.len(),
            Ok(model) => (0..self.live.len()).filter(|&i| self.differs(model, i)).count(),
        }
    }

    fn differs(&self, model: &[PermutationReport], i: usize) -> bool {
        let l = &self.live[i];
        match model.get(i) {
            None => true,
            Some(m) => core(m) != core(l) || !path_differences(m, l).is_empty(),
        }
    }

    fn label(&self) -> String {
        let engine = self.engine.name();
        let fk = match (self.fk_on, self.fk_off.is_empty()) {
            (true, true) => "on".to_string(),
            (true, false) => format!("off={}", self.fk_off.join(",")),
            (false, _) => "off".to_string(),
        };
        format!("{} {engine} fk-{fk}", self.name)
    }

    /// The report: one line when everything agrees, side-by-side columns where it does not.
    pub fn report(&self) -> String {
        let mut out = String::new();
        let model = match &self.model {
            Ok(m) => m,
            Err(e) => {
                out.push_str(&format!("DIFFERS {}: the model could not run: {e}\n", self.label()));
                return out;
            }
        };
        for line in &self.noise {
            out.push_str(&format!("noise   {}: {line}\n", self.label()));
        }
        let n = self.differences();
        if n == 0 {
            out.push_str(&format!("agrees  {} ({} permutations)\n", self.label(), self.live.len()));
            return out;
        }
        out.push_str(&format!("DIFFERS {}: {n} of {} permutations\n", self.label(), self.live.len()));
        for (i, l) in self.live.iter().enumerate() {
            let (steps, live_lines) = core(l);
            let model_lines = model.get(i).map(|m| core(m).1).unwrap_or_default();
            if !self.differs(model, i) {
                continue;
            }
            out.push_str(&format!("  permutation {}\n", steps.join(" ")));
            for d in model.get(i).map(|m| path_differences(m, l)).unwrap_or_default() {
                out.push_str(&format!("  * access path: {d}\n"));
            }
            if live_lines == model_lines {
                continue;
            }
            out.push_str(&format!("    {:<36} | model\n", "engine"));
            for k in 0..live_lines.len().max(model_lines.len()) {
                let a = live_lines.get(k).map(String::as_str).unwrap_or("");
                let b = model_lines.get(k).map(String::as_str).unwrap_or("");
                let mark = if a == b { " " } else { "*" };
                out.push_str(&format!("  {mark} {a:<36} | {b}\n"));
            }
        }
        out
    }

    /// The live outcomes in the format of the shared expected files.
    pub fn recording(&self) -> String {
        self.live.iter().map(crate::report::json::permutation_core).collect()
    }

    /// `NAME.ENGINE.fk-FK.jsonl`
    pub fn file_name(&self) -> String {
        self.label().replacen(' ', ".", 2) + ".jsonl"
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::Notice;
    use crate::run::{Outcome, StepEvent};

    fn report(events: Vec<StepEvent>) -> PermutationReport {
        PermutationReport {
            steps: vec!["v".into(), "w".into()],
            events,
            orphans: 0,
            orphans_by_ref: Vec::new(),
            multixacts: None,
            max_wait_chain: 0,
            stranded: Vec::new(),
            setup_rows: Vec::new(),
            teardown_rows: Vec::new(),
        }
    }

    fn event(step: &str, outcome: Outcome, notices: &[&str]) -> StepEvent {
        StepEvent {
            notices: notices.iter().map(|m| Notice { severity: "WARNING".into(), message: m.to_string() }).collect(),
            ..StepEvent::new(step.into(), outcome)
        }
    }

    /// A step's warnings are compared whichever of its lines carries them (a live server's come
    /// with the step's result, the model's with the line they precede); a missing one differs.
    #[test]
    fn notices_are_compared_by_step() {
        let model = report(vec![
            event("v", Outcome::Waiting, &["skip a"]),
            event("w", Outcome::Immediate, &["skip b"]),
            event("v", Outcome::Completed, &[]),
        ]);
        let live = report(vec![
            event("v", Outcome::Waiting, &[]),
            event("w", Outcome::Immediate, &["skip b"]),
            event("v", Outcome::Completed, &["skip a"]),
        ]);
        assert_eq!(core(&model), core(&live));
        assert!(core(&live).1.contains(&"v notice WARNING:  skip a".to_string()));
        let silent = report(vec![
            event("v", Outcome::Waiting, &[]),
            event("w", Outcome::Immediate, &["skip b"]),
            event("v", Outcome::Completed, &[]),
        ]);
        assert_ne!(core(&model), core(&silent));
    }
}
