//! `fksim explore`: run every interleaving of a spec's sessions (isolationtester's rule), or a
//! seeded random sample of them, through the model and summarise what can happen: orphans,
//! deadlocks, errors, waits on the parent table, with one replayable permutation per outcome.
//!
//! Every interleaving keeps its lexicographic index and partial summaries merge by index, so the
//! summary is the same whatever the thread count. The walk itself, with and without sleep-set
//! reduction, is in `dfs.rs`.

pub mod compare;
mod dfs;
mod footprint;
mod traced_locks;
mod traced_store;

pub use footprint::Footprint;
pub use traced_locks::{TracedLocks, Tracing};
pub use traced_store::{touches_conflict, Touch, Traced};

use crate::engine::{Engine, Plain};
use crate::run::{error_kinds, Ended, PermutationReport, RunError, Runner, StepEvent};
use crate::scenario::Scenario;
use crate::spec::{PermStep, Pos};
use crate::sql::Plan;
use crate::store::MemStore;
use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde::Serialize;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};

/// Which interleavings to run.
#[derive(Debug, Clone, Copy)]
pub enum Space {
    /// Every interleaving, each run.
    All,
    /// Every interleaving up to the order of commuting steps: one of each class is run.
    Reduced,
    /// `count` interleavings drawn uniformly with a ChaCha8 generator seeded with `seed`.
    Sample { count: u64, seed: u64 },
}

/// One outcome class and the first interleaving (in exploration order) that showed it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Class {
    pub outcome: String,
    pub interleavings: u64,
    /// A `permutation ...` line `fksim run --permutation` replays.
    pub example: String,
}

/// What the exploration found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Summary {
    pub engine: String,
    pub fk: String,
    /// Interleavings in the space (every order that keeps each session's step order).
    pub space: String,
    pub explored: u64,
    /// Interleavings that only reorder commuting steps were run once (counts are of those run).
    pub reduced: bool,
    /// Stopped before the end (Ctrl-C): the counts are of the interleavings run until then.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub partial: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub seed: Option<u64>,
    pub with_orphans: u64,
    pub with_deadlocks: u64,
    /// Interleavings with each error kind (deadlocks included).
    pub with_error: BTreeMap<String, u64>,
    /// Statements on a child table that waited on a lock on a row of a table it references.
    pub parent_lock_waits: u64,
    /// Interleavings with at least one such wait.
    pub with_parent_lock_waits: u64,
    pub longest_wait_chain: usize,
    pub classes: Vec<Class>,
    /// The invariant checked at the end of every interleaving: no statement is left unfinished
    /// unless its session is blocked on another transaction's lock. Interleavings that break it
    /// (a defect of the model), and the first of them.
    pub stranded: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stranded_example: Option<String>,
    /// The MultiXacts the interleavings created (PostgreSQL; None on InnoDB).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub multixacts: Option<ExploredMultixacts>,
}

/// The MultiXacts of the interleavings run: how many created some, the totals, and the one that
/// used the most members (ties: the first). Under reduction, of the interleavings run: two
/// orders of commuting steps (a commit and another session's KEY SHARE lock) can create
/// different multixacts, so the full walk (`--no-reduce`) is the one to quote.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ExploredMultixacts {
    pub with_multixacts: u64,
    pub created: u64,
    pub members: u64,
    pub most_created: u64,
    pub most_members: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub most_example: Option<String>,
}

/// The outcome class of one permutation, written into `s`: its error kinds, deadlock, orphans;
/// "clean" if none.
fn class_of(kinds: &[&str], orphans: usize, s: &mut String) {
    s.clear();
    for (i, k) in kinds.iter().enumerate() {
        if i > 0 {
            s.push('+');
        }
        s.push_str(k);
    }
    if orphans > 0 {
        if !s.is_empty() {
            s.push('+');
        }
        s.push_str("orphans");
    }
    if s.is_empty() {
        s.push_str("clean");
    }
}

/// Waits of statements on a child table for a lock on a table that child references.
pub fn parent_waits(sc: &Scenario, r: &PermutationReport) -> u64 {
    parent_waits_in(sc, r.events.iter())
}

fn parent_waits_in<'e>(sc: &Scenario, events: impl Iterator<Item = &'e StepEvent>) -> u64 {
    let mut n = 0;
    for e in events.filter(|e| e.wait.is_some()) {
        let wanted = &e.wait.as_ref().expect("filtered").wants.table;
        let Some((s, i)) = sc.spec.find_step(&e.step) else { continue };
        let child_tables = sc.sessions[s].steps[i].stmts.iter().filter_map(|st| match &st.plan {
            Plan::Insert { table, .. } | Plan::Update { table, .. } | Plan::Delete { table, .. } => Some(*table),
            _ => None,
        });
        let references = |t: usize| {
            sc.catalog.tables[t].fks.iter().any(|fk| sc.catalog.tables[fk.parent].name == **wanted && fk.parent != t)
        };
        if child_tables.into_iter().any(references) {
            n += 1;
        }
    }
    n
}

/// An outcome class so far: how many interleavings, the first one's index and its steps.
type Seen = (u64, u64, Vec<String>);

/// The outcome classes of many runs, each with its count and its first run (by index): what
/// `explore` and `stress` report.
#[derive(Default)]
pub(crate) struct Classes {
    seen: BTreeMap<String, Seen>,
    /// The class name of the run being added (kept to reuse its buffer).
    class: String,
}

impl Classes {
    /// Count run number `index`, with these error kinds and orphans; `steps` names it.
    pub(crate) fn add(&mut self, kinds: &[&str], orphans: usize, index: u64, steps: impl FnOnce() -> Vec<String>) {
        class_of(kinds, orphans, &mut self.class);
        match self.seen.get_mut(self.class.as_str()) {
            Some(entry) => {
                entry.0 += 1;
                if index < entry.1 {
                    entry.1 = index;
                    entry.2 = steps();
                }
            }
            None => {
                self.seen.insert(self.class.clone(), (1, index, steps()));
            }
        }
    }

    fn merge(&mut self, o: Classes) {
        for (k, (n, i, p)) in o.seen {
            let e = self.seen.entry(k).or_insert((0, i, p.clone()));
            e.0 += n;
            if i < e.1 {
                e.1 = i;
                e.2 = p;
            }
        }
    }

    /// The classes in the order of their first run, each with a replayable `permutation` line.
    pub(crate) fn into_classes(self) -> Vec<Class> {
        let mut classes: Vec<(String, Seen)> = self.seen.into_iter().collect();
        classes.sort_by_key(|(_, (_, first, _))| *first);
        classes
            .into_iter()
            .map(|(outcome, (count, _, steps))| Class {
                outcome,
                interleavings: count,
                example: format!("permutation {}", steps.join(" ")),
            })
            .collect()
    }
}

/// Per-thread partial results, merged in interleaving order.
#[derive(Default)]
struct Partial {
    explored: u64,
    with_orphans: u64,
    with_deadlocks: u64,
    with_error: BTreeMap<String, u64>,
    parent_lock_waits: u64,
    with_parent_lock_waits: u64,
    longest_wait_chain: usize,
    classes: Classes,
    /// Interleavings that broke the end invariant, and the first of them (index, steps).
    stranded: u64,
    stranded_first: Option<(u64, Vec<String>)>,
    /// Whether the engine counts MultiXacts; interleavings with some; created and members in all.
    mx_counted: bool,
    mx_with: u64,
    mx_created: u64,
    mx_members: u64,
    /// The interleaving with the most members: (members, created, index, steps).
    mx_most: Option<(u64, u64, u64, Vec<String>)>,
}

impl Partial {
    fn add_multixacts(&mut self, index: u64, r: &Ended) {
        let Some(m) = &r.multixacts else { return };
        self.mx_counted = true;
        if m.created == 0 {
            return;
        }
        self.mx_with += 1;
        self.mx_created += m.created;
        self.mx_members += m.members;
        self.mx_keep((m.members, m.created, index), || r.steps());
    }

    fn mx_keep(&mut self, (members, created, index): (u64, u64, u64), steps: impl FnOnce() -> Vec<String>) {
        let better = self
            .mx_most
            .as_ref()
            .is_none_or(|&(m, c, i, _)| (members, created) > (m, c) || ((members, created) == (m, c) && index < i));
        if better {
            self.mx_most = Some((members, created, index, steps()));
        }
    }
}

impl Partial {
    fn add(&mut self, sc: &Scenario, index: u64, r: &Ended) {
        let events = || r.events.iter().map(|e| e.as_ref());
        self.explored += 1;
        self.with_orphans += u64::from(r.orphans > 0);
        let kinds = error_kinds(events());
        self.with_deadlocks += u64::from(kinds.contains(&"deadlock"));
        for &k in &kinds {
            match self.with_error.get_mut(k) {
                Some(n) => *n += 1,
                None => {
                    self.with_error.insert(k.to_string(), 1);
                }
            }
        }
        let pw = parent_waits_in(sc, events());
        self.parent_lock_waits += pw;
        self.with_parent_lock_waits += u64::from(pw > 0);
        self.longest_wait_chain = self.longest_wait_chain.max(r.max_wait_chain);
        if !r.stranded.is_empty() {
            self.stranded += 1;
            if self.stranded_first.as_ref().is_none_or(|(i, _)| index < *i) {
                self.stranded_first = Some((index, r.steps()));
            }
        }
        self.classes.add(&kinds, r.orphans, index, || r.steps());
        self.add_multixacts(index, r);
    }

    fn merge(&mut self, o: Partial) {
        self.explored += o.explored;
        self.with_orphans += o.with_orphans;
        self.with_deadlocks += o.with_deadlocks;
        for (k, v) in o.with_error {
            *self.with_error.entry(k).or_default() += v;
        }
        self.parent_lock_waits += o.parent_lock_waits;
        self.with_parent_lock_waits += o.with_parent_lock_waits;
        self.longest_wait_chain = self.longest_wait_chain.max(o.longest_wait_chain);
        self.stranded += o.stranded;
        if let Some((i, p)) = o.stranded_first {
            if self.stranded_first.as_ref().is_none_or(|(j, _)| i < *j) {
                self.stranded_first = Some((i, p));
            }
        }
        self.classes.merge(o.classes);
        self.mx_counted |= o.mx_counted;
        self.mx_with += o.mx_with;
        self.mx_created += o.mx_created;
        self.mx_members += o.mx_members;
        if let Some((m, c, i, steps)) = o.mx_most {
            self.mx_keep((m, c, i), || steps);
        }
    }
}

/// The session index sequence of interleaving number `i` of the chosen space.
fn sample(counts: &[usize], seed: u64, i: u64) -> Vec<usize> {
    // Each draw has its own generator, so a draw does not depend on which thread made it.
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    rng.set_stream(i);
    let mut seq: Vec<usize> = counts.iter().enumerate().flat_map(|(s, &n)| std::iter::repeat_n(s, n)).collect();
    seq.shuffle(&mut rng);
    seq
}

/// [`explore`] on the engine `kind` names.
pub fn explore_kind(
    kind: crate::engine::EngineKind,
    sc: &Scenario,
    space: Space,
    threads: usize,
    progress: &(dyn Fn(u64) + Sync),
) -> Result<Summary, RunError> {
    explore_kind_until(kind, sc, space, threads, progress, &AtomicBool::new(false))
}

/// [`explore_kind`] that stops early, with the summary so far marked partial, once `stop` is set
/// (by a Ctrl-C handler, say).
pub fn explore_kind_until(
    kind: crate::engine::EngineKind,
    sc: &Scenario,
    space: Space,
    threads: usize,
    progress: &(dyn Fn(u64) + Sync),
    stop: &AtomicBool,
) -> Result<Summary, RunError> {
    struct Task<'a>(&'a Scenario, Space, usize, &'a (dyn Fn(u64) + Sync), &'a AtomicBool);
    impl crate::engine::EngineTask for Task<'_> {
        type Output = Result<Summary, RunError>;
        fn run<E: Engine<Parts = Plain<MemStore>> + Clone + 'static>(self) -> Self::Output
        where
            E::With<Tracing>: Clone,
        {
            explore_until::<E>(self.0, self.1, self.2, self.3, self.4)
        }
    }
    kind.run(Task(sc, space, threads, progress, stop))
}

/// Engine `E` over traced parts: what the reduced walk runs.
pub(crate) type Reduced<E> = <E as Engine>::With<Tracing>;

/// Explore `space` on engine `E` (in memory; the full walk and samples run it, the reduced walk
/// runs it over traced parts) with `threads` workers; `progress(done)` is called now and then.
pub fn explore<E: Engine<Parts = Plain<MemStore>> + Clone>(
    sc: &Scenario,
    space: Space,
    threads: usize,
    progress: &(dyn Fn(u64) + Sync),
) -> Result<Summary, RunError>
where
    Reduced<E>: Clone,
{
    explore_until::<E>(sc, space, threads, progress, &AtomicBool::new(false))
}

/// [`explore`] that stops once `stop` is set, the summary marked partial.
pub fn explore_until<E: Engine<Parts = Plain<MemStore>> + Clone>(
    sc: &Scenario,
    space: Space,
    threads: usize,
    progress: &(dyn Fn(u64) + Sync),
    stop: &AtomicBool,
) -> Result<Summary, RunError>
where
    Reduced<E>: Clone,
{
    let counts = sc.spec.step_counts();
    let total = crate::spec::count_interleavings(&counts);
    let (n, seed) = match space {
        Space::All | Space::Reduced => (u64::try_from(total).unwrap_or(u64::MAX), None),
        Space::Sample { count, seed } => (count, Some(seed)),
    };
    let threads = threads.max(1);
    let to_perm = |il: &[usize]| -> Vec<PermStep> {
        sc.spec
            .interleaving_names(il)
            .into_iter()
            .map(|name| PermStep { name: name.into(), markers: vec![], pos: Pos::default() })
            .collect()
    };
    let results: Vec<Result<Partial, RunError>> = match seed {
        None => dfs::explore_all::<E>(sc, threads, matches!(space, Space::Reduced), progress, stop)?
            .into_iter()
            .map(Ok)
            .collect(),
        Some(seed) => crossbeam_utils::thread::scope(|scope| {
            let handles: Vec<_> = (0..threads)
                .map(|t| {
                    let (counts, to_perm) = (&counts, &to_perm);
                    scope.spawn(move |_| -> Result<Partial, RunError> {
                        let mut part = Partial::default();
                        let own = sc.detached();
                        let runner = Runner::<E>::new(&own, MemStore::default())?;
                        for i in (t as u64..n).step_by(threads) {
                            if stop.load(Ordering::Relaxed) {
                                break;
                            }
                            let mut play = runner.play(MemStore::default())?;
                            for p in to_perm(&sample(counts, seed, i)) {
                                play.step(std::sync::Arc::new(p))?;
                            }
                            part.add(sc, i, &play.end()?.0);
                            if t == 0 && part.explored % 2048 == 0 {
                                progress(part.explored * threads as u64);
                            }
                        }
                        Ok(part)
                    })
                })
                .collect();
            handles.into_iter().map(|h| h.join().expect("explorer thread panicked")).collect()
        })
        .expect("explorer threads"),
    };
    let mut all = Partial::default();
    for r in results {
        all.merge(r?);
    }
    Ok(Summary {
        engine: E::KIND.name().to_string(),
        fk: String::new(),
        space: total.to_string(),
        explored: all.explored,
        reduced: matches!(space, Space::Reduced),
        partial: stop.load(Ordering::Relaxed),
        seed,
        with_orphans: all.with_orphans,
        with_deadlocks: all.with_deadlocks,
        with_error: all.with_error,
        parent_lock_waits: all.parent_lock_waits,
        with_parent_lock_waits: all.with_parent_lock_waits,
        longest_wait_chain: all.longest_wait_chain,
        classes: all.classes.into_classes(),
        stranded: all.stranded,
        stranded_example: all.stranded_first.map(|(_, steps)| format!("permutation {}", steps.join(" "))),
        multixacts: all.mx_counted.then(|| ExploredMultixacts {
            with_multixacts: all.mx_with,
            created: all.mx_created,
            members: all.mx_members,
            most_created: all.mx_most.as_ref().map_or(0, |m| m.1),
            most_members: all.mx_most.as_ref().map_or(0, |m| m.0),
            most_example: all.mx_most.map(|m| format!("permutation {}", m.3.join(" "))),
        }),
    })
}

/// The readable summary.
pub fn text(s: &Summary) -> String {
    let mut out = String::new();
    if s.partial {
        out.push_str("PARTIAL (interrupted): the counts below are of the interleavings run until then\n");
    }
    out.push_str(&format!("engine {} fk {}: {} of {} interleavings explored", s.engine, s.fk, s.explored, s.space));
    if let Some(seed) = s.seed {
        out.push_str(&format!(" (random sample, seed {seed})"));
    }
    if s.reduced {
        out.push_str(" (reduced: orders of commuting steps run once; counts are of interleavings run)");
    }
    out.push('\n');
    out.push_str(&format!("  with orphans:          {}\n", s.with_orphans));
    out.push_str(&format!("  with deadlocks:        {}\n", s.with_deadlocks));
    for (k, v) in s.with_error.iter().filter(|(k, _)| k.as_str() != "deadlock") {
        out.push_str(&format!("  with {k:<18} {v}\n", k = format!("{k}:")));
    }
    out.push_str(&format!(
        "  parent lock waits:     {} (in {} interleavings)\n",
        s.parent_lock_waits, s.with_parent_lock_waits
    ));
    out.push_str(&format!("  longest wait chain:    {}\n", s.longest_wait_chain));
    if let Some(m) = &s.multixacts {
        match &m.most_example {
            None => out.push_str("  multixacts:            none\n"),
            Some(ex) => out.push_str(&format!(
                "  multixacts:            in {} interleavings, {} created, {} members; most in one: {} created, {} \
                 members, {ex}\n",
                m.with_multixacts, m.created, m.members, m.most_created, m.most_members
            )),
        }
    }
    match &s.stranded_example {
        None => out.push_str("  end invariant:         holds (no statement left unfinished unless blocked)\n"),
        Some(ex) => out.push_str(&format!(
            "  end invariant:         BROKEN in {} interleavings: a statement was left unfinished although its \
             session was not blocked (a model defect); first: {ex}\n",
            s.stranded
        )),
    }
    out.push_str("  outcomes (first example of each, replay with fksim run SPEC --permutation \"...\"):\n");
    for c in &s.classes {
        out.push_str(&format!("    {:<28} {:>8}  {}\n", c.outcome, c.interleavings, c.example));
    }
    out
}
