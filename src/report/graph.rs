//! The waits of a permutation read back from its report, and the wait-for graph at each step that
//! waits or reports a deadlock, as Graphviz DOT (`fksim run --graph DIR`).
//!
//! A report gives each wait as it was when its step started waiting (the lock wanted, the locks
//! it queued behind) and each deadlock as the engine found it. The graph at a step is every wait
//! still open then, each with the blockers it was reported with, and a deadlock's own waits for
//! the sessions of its cycle.

use super::text::session_of;
use crate::engine::{DeadlockInfo, LockDesc, WaitInfo};
use crate::run::{Outcome, PermutationReport};
use crate::scenario::Scenario;
use std::fmt::Write;
use std::sync::Arc;

/// One wait of a permutation: a session's step waiting from one event (line of the report) to
/// another.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Wait {
    pub waiter: Arc<str>,
    pub step: Arc<str>,
    /// The index of the event that reported the wait.
    pub from: usize,
    /// The event where the step completed; None if it never did.
    pub until: Option<usize>,
    pub info: WaitInfo,
    /// A wait seen only in a deadlock's report (the step that closed the cycle and was refused at
    /// once): it starts and ends at that event.
    pub in_deadlock_only: bool,
}

impl Wait {
    /// The sessions it waits behind, each once, in the report's order.
    pub fn holders(&self) -> Vec<Arc<str>> {
        holders(&self.info)
    }

    /// Is it still waiting at event `at`?
    fn open_at(&self, at: usize) -> bool {
        self.from <= at && self.until.is_none_or(|u| u > at)
    }
}

fn holders(info: &WaitInfo) -> Vec<Arc<str>> {
    let mut out: Vec<Arc<str>> = Vec::new();
    for b in &info.behind {
        if !out.contains(&b.session) {
            out.push(b.session.clone());
        }
    }
    out
}

/// Is `waiter -> holder` an edge of the deadlock's cycle?
pub fn in_cycle(d: &DeadlockInfo, waiter: &str, holder: &str) -> bool {
    let n = d.cycle.len();
    (0..n).any(|i| &*d.cycle[i] == waiter && &*d.cycle[(i + 1) % n] == holder)
}

/// Every wait of the permutation, in the order the report shows them.
pub fn waits(sc: &Scenario, report: &PermutationReport) -> Vec<Wait> {
    let mut out: Vec<Wait> = Vec::new();
    for (i, e) in report.events.iter().enumerate() {
        if e.outcome == Outcome::Completed {
            if let Some(w) = out.iter_mut().find(|w| w.step == e.step && w.until.is_none() && !w.in_deadlock_only) {
                w.until = Some(i);
            }
        }
        if let (Outcome::Waiting, Some(info)) = (e.outcome, &e.wait) {
            let waiter: Arc<str> = session_of(sc, &e.step).into();
            out.push(Wait {
                waiter,
                step: e.step.clone(),
                from: i,
                until: None,
                info: (**info).clone(),
                in_deadlock_only: false,
            });
        }
        for d in &e.deadlocks {
            for dw in &d.waits {
                if !out.iter().any(|w| w.waiter == dw.wants.session && w.open_at(i)) {
                    let step = dw.wants.taken_by.split_once(':').map_or(&*dw.wants.taken_by, |(s, _)| s).into();
                    let waiter = dw.wants.session.clone();
                    out.push(Wait { waiter, step, from: i, until: Some(i), info: dw.clone(), in_deadlock_only: true });
                }
            }
        }
    }
    out
}

/// One edge of a wait-for graph: `waiter` waits for `holder`'s locks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WaitEdge {
    pub waiter: Arc<str>,
    pub holder: Arc<str>,
    pub wants: LockDesc,
    /// The holder's locks the waiter queues behind (held, or wanted ahead of it).
    pub behind: Vec<LockDesc>,
    /// An edge of a deadlock cycle reported at this step.
    pub in_cycle: bool,
}

/// The wait-for graph when a step was reported.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StepGraph {
    /// The index of the event (line of the report).
    pub event: usize,
    pub step: Arc<str>,
    /// Every session of the spec, the graph's nodes.
    pub sessions: Vec<Arc<str>>,
    pub edges: Vec<WaitEdge>,
    /// The deadlocks reported at this step.
    pub deadlocks: Vec<DeadlockInfo>,
}

/// The graph at each step that waits on a lock or reports a deadlock.
pub fn step_graphs(sc: &Scenario, report: &PermutationReport) -> Vec<StepGraph> {
    let all = waits(sc, report);
    let sessions: Vec<Arc<str>> = sc.sessions.iter().map(|s| Arc::from(s.name.as_str())).collect();
    let mut out = Vec::new();
    for (i, e) in report.events.iter().enumerate() {
        let waits_here = e.outcome == Outcome::Waiting && e.wait.is_some();
        if !waits_here && e.deadlocks.is_empty() {
            continue;
        }
        let in_a_cycle = |s: &str| e.deadlocks.iter().any(|d| d.cycle.iter().any(|c| &**c == s));
        let mut edges = Vec::new();
        let mut add = |info: &WaitInfo| {
            for holder in holders(info) {
                let cycle = e.deadlocks.iter().any(|d| in_cycle(d, &info.wants.session, &holder));
                let behind = info.behind.iter().filter(|b| b.session == holder).cloned().collect();
                let (waiter, wants) = (info.wants.session.clone(), info.wants.clone());
                edges.push(WaitEdge { waiter, holder, wants, behind, in_cycle: cycle });
            }
        };
        for w in all.iter().filter(|w| w.open_at(i) && !w.in_deadlock_only && !in_a_cycle(&w.waiter)) {
            add(&w.info);
        }
        for d in &e.deadlocks {
            d.waits.iter().for_each(&mut add);
        }
        out.push(StepGraph {
            event: i,
            step: e.step.clone(),
            sessions: sessions.clone(),
            edges,
            deadlocks: e.deadlocks.clone(),
        });
    }
    out
}

/// A DOT string literal.
fn quoted(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// The graph as Graphviz DOT: a node per session (the waiting ones name their step, a deadlock's
/// victim is red), an edge per waiter and holder labelled with the lock wanted and the locks
/// waited behind; a deadlock cycle's edges red. `title` heads it.
pub fn to_dot(g: &StepGraph, title: &str) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "digraph {} {{", quoted(title));
    let _ = writeln!(out, "  label={}; labelloc=t;", quoted(title));
    out.push_str("  node [shape=box, fontname=\"monospace\"]; edge [fontname=\"monospace\", fontsize=10];\n");
    for s in &g.sessions {
        let mut label = s.to_string();
        let mut attrs = String::new();
        if let Some(e) = g.edges.iter().find(|e| e.waiter == *s) {
            let step = e.wants.taken_by.split_once(':').map_or(&*e.wants.taken_by, |(st, _)| st);
            label.push_str(&format!("\nwaiting: {step}"));
        }
        if g.deadlocks.iter().any(|d| d.victim == *s) {
            label.push_str("\ndeadlock victim");
            attrs.push_str(", color=red, fontcolor=red, penwidth=2");
        }
        let _ = writeln!(out, "  {} [label={}{attrs}];", quoted(s), quoted(&label));
    }
    for e in &g.edges {
        let mut label = format!("wants {}", e.wants);
        for b in &e.behind {
            label.push_str(&format!("\n{} {b}", if b.granted { "held:" } else { "waiting ahead:" }));
        }
        let colour = if e.in_cycle { ", color=red, fontcolor=red, penwidth=2" } else { "" };
        let _ = writeln!(out, "  {} -> {} [label={}{colour}];", quoted(&e.waiter), quoted(&e.holder), quoted(&label));
    }
    for (k, d) in g.deadlocks.iter().enumerate() {
        let mut ring: Vec<&str> = d.cycle.iter().map(|s| &**s).collect();
        ring.push(&d.cycle[0]);
        let note = format!("deadlock: {}; victim {}", ring.join(" -> "), d.victim);
        let _ = writeln!(out, "  deadlock{k} [shape=note, color=red, fontcolor=red, label={}];", quoted(&note));
    }
    out.push_str("}\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dot_strings_escape_quotes_backslashes_and_newlines() {
        assert_eq!(quoted("a\"b\\c\nd"), "\"a\\\"b\\\\c\\nd\"");
    }
}
