//! JSON Lines output: the `fksim run --json` contract, written with `", "` and `": "` separators
//! so lines read like the recorded real-engine files.

use crate::engine::{Access, DeadlockInfo, LockDesc, MultixactCount, Notice};
use crate::run::{Outcome, PermutationReport, StepEvent};
use serde::Serialize;
use std::io;

/// serde_json's compact output with a space after `,` and `:` (Python's json.dumps style).
struct Spaced;

impl serde_json::ser::Formatter for Spaced {
    fn begin_array_value<W: ?Sized + io::Write>(&mut self, w: &mut W, first: bool) -> io::Result<()> {
        if first {
            Ok(())
        } else {
            w.write_all(b", ")
        }
    }
    fn begin_object_key<W: ?Sized + io::Write>(&mut self, w: &mut W, first: bool) -> io::Result<()> {
        if first {
            Ok(())
        } else {
            w.write_all(b", ")
        }
    }
    fn begin_object_value<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
        w.write_all(b": ")
    }
}

/// Serialise one value as a line.
pub fn to_line<T: Serialize>(value: &T) -> String {
    let mut out = Vec::new();
    let mut ser = serde_json::Serializer::with_formatter(&mut out, Spaced);
    value.serialize(&mut ser).expect("in-memory JSON cannot fail");
    String::from_utf8(out).expect("serde_json writes UTF-8")
}

#[derive(Serialize)]
struct PermLine<'a> {
    permutation: &'a [String],
}

#[derive(Serialize)]
struct StepLine<'a> {
    step: &'a str,
    outcome: Outcome,
    error: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    message: Option<&'a str>,
    /// Sessions whose locks this step waits behind.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    waits_for: Vec<&'a str>,
    /// The lock a waiting step wants.
    #[serde(skip_serializing_if = "Option::is_none")]
    lock: Option<&'a LockDesc>,
    /// The conflicting locks it waits behind.
    #[serde(skip_serializing_if = "Option::is_none")]
    blockers: Option<&'a [LockDesc]>,
    #[serde(skip_serializing_if = "Option::is_none")]
    queued_behind: Option<&'a str>,
    #[serde(skip_serializing_if = "<[DeadlockInfo]>::is_empty")]
    deadlocks: &'a [DeadlockInfo],
    #[serde(skip_serializing_if = "Vec::is_empty")]
    rows: Vec<Vec<Vec<String>>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    note: Option<&'a str>,
    /// The index each statement scans (InnoDB's access path).
    #[serde(skip_serializing_if = "<[Access]>::is_empty")]
    access: &'a [Access],
    /// The warnings the step's statements sent before this line.
    #[serde(skip_serializing_if = "<[Notice]>::is_empty")]
    notices: &'a [Notice],
}

/// The MultiXacts a permutation created (PostgreSQL), on its own line before the orphans.
#[derive(Serialize)]
struct MultixactLine<'a> {
    multixacts: &'a MultixactCount,
}

#[derive(Serialize)]
struct OrphanLine {
    orphans: usize,
}

/// Of the orphans, those over each reference the DDL does not declare, before the orphans line.
#[derive(Serialize)]
struct LogicalOrphanLine<'a> {
    orphans_by_reference: std::collections::BTreeMap<&'a str, usize>,
}

fn step_line(e: &StepEvent) -> String {
    let mut waits_for: Vec<&str> = Vec::new();
    if let Some(w) = &e.wait {
        for b in &w.behind {
            if !waits_for.contains(&&*b.session) {
                waits_for.push(&b.session);
            }
        }
    }
    to_line(&StepLine {
        step: &e.step,
        outcome: e.outcome,
        error: e.error.as_ref().map(|x| x.kind.name()),
        message: e.error.as_ref().map(|x| x.message.as_str()),
        waits_for,
        lock: e.wait.as_ref().map(|w| &w.wants),
        blockers: e.wait.as_ref().map(|w| w.behind.as_slice()),
        queued_behind: e.queued_behind.as_deref(),
        deadlocks: &e.deadlocks,
        rows: e
            .rows
            .iter()
            .map(|r| r.rows.iter().map(|row| row.iter().map(|v| v.to_string()).collect()).collect())
            .collect(),
        note: e.note.as_deref(),
        access: &e.access,
        notices: &e.notices,
    })
}

/// The JSON lines of one permutation.
pub fn permutation(report: &PermutationReport) -> String {
    let mut out = to_line(&PermLine { permutation: &report.steps });
    out.push('\n');
    for e in &report.events {
        out.push_str(&step_line(e));
        out.push('\n');
    }
    if let Some(m) = &report.multixacts {
        out.push_str(&to_line(&MultixactLine { multixacts: m }));
        out.push('\n');
    }
    if !report.orphans_by_ref.is_empty() {
        let orphans_by_reference = report.orphans_by_ref.iter().map(|(r, n)| (r.as_str(), *n)).collect();
        out.push_str(&to_line(&LogicalOrphanLine { orphans_by_reference }));
        out.push('\n');
    }
    out.push_str(&to_line(&OrphanLine { orphans: report.orphans }));
    out.push('\n');
    out
}

/// Every line of `lines` (JSON objects, one a line) with `"key": "value"` put first, as
/// `fksim run --json --fk both` marks each line `"fk": "on"` or `"fk": "off"`.
pub fn tagged(lines: &str, key: &str, value: &str) -> String {
    let tag = format!("{}: {}", to_line(&key), to_line(&value));
    let mut out = String::with_capacity(lines.len() + lines.len() / 8);
    for line in lines.lines() {
        match line.strip_prefix('{') {
            Some("}") => out.push_str(&format!("{{{tag}}}")),
            Some(rest) => out.push_str(&format!("{{{tag}, {rest}")),
            None => out.push_str(line),
        }
        out.push('\n');
    }
    out
}

#[derive(Serialize)]
struct CoreLine<'a> {
    step: &'a str,
    outcome: Outcome,
    error: Option<&'static str>,
    /// An extra key, only where the server sent warnings (VACUUM's skipped relations).
    #[serde(skip_serializing_if = "<[Notice]>::is_empty")]
    notices: &'a [Notice],
}

/// The JSON lines of one permutation with the contract's keys only (the recorded files' format).
pub fn permutation_core(report: &PermutationReport) -> String {
    let mut out = to_line(&PermLine { permutation: &report.steps });
    out.push('\n');
    for e in &report.events {
        out.push_str(&to_line(&CoreLine {
            step: &e.step,
            outcome: e.outcome,
            error: e.error.as_ref().map(|x| x.kind.name()),
            notices: &e.notices,
        }));
        out.push('\n');
    }
    out.push_str(&to_line(&OrphanLine { orphans: report.orphans }));
    out.push('\n');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_tag_goes_first_on_every_object_line_and_keeps_the_rest() {
        let lines = "{\"step\": \"s1\", \"error\": null}\n{}\n";
        let out = tagged(lines, "fk", "on");
        assert_eq!(out, "{\"fk\": \"on\", \"step\": \"s1\", \"error\": null}\n{\"fk\": \"on\"}\n");
        for (a, b) in lines.lines().zip(out.lines()) {
            let mut a: serde_json::Value = serde_json::from_str(a).unwrap();
            a["fk"] = "on".into();
            assert_eq!(a, serde_json::from_str::<serde_json::Value>(b).unwrap());
        }
    }
}
