//! The exhaustive walk: a depth-first search over the tree of interleaving prefixes. The state
//! after a prefix is cloned at each branch, so a prefix shared by many interleavings runs once.
//! The tree is cut at a fixed depth into subtrees that worker threads take in turn; each leaf
//! keeps its lexicographic index, so the merged summary does not depend on the thread count.

use super::footprint::Footprint;
use super::traced_locks::Tracing;
use super::traced_store::Traced;
use super::{Partial, Reduced};
use crate::engine::Engine;
use crate::run::{Play, RunError, Runner};
use crate::scenario::Scenario;
use crate::spec::{count_interleavings, PermStep, Pos};
use crate::store::MemStore;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;

/// A subtree: the sessions of its prefix, and how many interleavings come before it.
struct Subtree {
    prefix: Vec<usize>,
    first_index: u64,
}

/// Every prefix of `depth` steps, in lexicographic order, with the index of its first leaf.
fn subtrees(counts: &[usize], depth: usize) -> Vec<Subtree> {
    fn walk(counts: &mut [usize], depth: usize, prefix: &mut Vec<usize>, next: &mut u64, out: &mut Vec<Subtree>) {
        if prefix.len() == depth || counts.iter().all(|&c| c == 0) {
            out.push(Subtree { prefix: prefix.clone(), first_index: *next });
            *next += u64::try_from(count_interleavings(counts)).unwrap_or(u64::MAX);
            return;
        }
        for s in 0..counts.len() {
            if counts[s] > 0 {
                counts[s] -= 1;
                prefix.push(s);
                walk(counts, depth, prefix, next, out);
                prefix.pop();
                counts[s] += 1;
            }
        }
    }
    let mut out = Vec::new();
    walk(&mut counts.to_vec(), depth, &mut Vec::new(), &mut 0, &mut out);
    out
}

/// A step's footprint on the reduced walk's engine `R`.
type Print<R> = Arc<Footprint<<R as Engine>::Res, <R as Engine>::Mode>>;

/// A subtree of the reduced walk waiting for a worker: its state, sleep set and path.
struct Pending<'p, R: Engine> {
    play: Play<'p, R>,
    sleep: Vec<(usize, Print<R>)>,
    path: Vec<usize>,
}

/// The lexicographic rank of an interleaving among all interleavings of `counts`.
fn rank(counts: &[usize], path: &[usize]) -> u64 {
    let mut left = counts.to_vec();
    let mut r: u128 = 0;
    for &s in path {
        for smaller in 0..s {
            if left[smaller] > 0 {
                left[smaller] -= 1;
                r += count_interleavings(&left);
                left[smaller] += 1;
            }
        }
        left[s] -= 1;
    }
    u64::try_from(r).unwrap_or(u64::MAX)
}

/// The shallowest depth that gives every thread several subtrees to take.
fn split_depth(counts: &[usize], threads: usize) -> usize {
    let total: usize = counts.iter().sum();
    (0..=total).find(|&d| subtrees(counts, d).len() >= threads * 16).unwrap_or(total)
}

/// Where the walk is: steps taken per session, and the next leaf's index.
struct Walk<'s> {
    sc: &'s Scenario,
    /// Each session's steps, shared by every interleaving that issues them.
    steps: &'s [Vec<Arc<PermStep>>],
    counts: Vec<usize>,
    taken: Vec<usize>,
    index: u64,
    /// The sessions chosen so far.
    path: Vec<usize>,
    /// Leaves are numbered by their lexicographic rank (the reduced walk skips some).
    ranked: bool,
    done: &'s AtomicU64,
    progress: &'s (dyn Fn(u64) + Sync),
    /// Set from outside (Ctrl-C): the walk stops at the next node, keeping what it found.
    stop: &'s AtomicBool,
}

impl<'s> Walk<'s> {
    fn new(
        sc: &'s Scenario,
        steps: &'s [Vec<Arc<PermStep>>],
        ranked: bool,
        done: &'s AtomicU64,
        progress: &'s (dyn Fn(u64) + Sync),
        stop: &'s AtomicBool,
    ) -> Self {
        let counts = sc.spec.step_counts();
        let taken = vec![0; counts.len()];
        Walk { sc, steps, counts, taken, index: 0, path: Vec::new(), ranked, done, progress, stop }
    }

    fn stopped(&self) -> bool {
        self.stop.load(Ordering::Relaxed)
    }

    /// Sessions with steps left, in order.
    fn remaining(&self) -> Vec<usize> {
        (0..self.counts.len()).filter(|&s| self.taken[s] < self.counts[s]).collect()
    }

    /// Take session `s`'s next step; returns it.
    fn descend(&mut self, s: usize) -> Arc<PermStep> {
        let step = self.steps[s][self.taken[s]].clone();
        self.taken[s] += 1;
        self.path.push(s);
        step
    }

    /// Undo the last `descend`.
    fn ascend(&mut self) {
        if let Some(s) = self.path.pop() {
            self.taken[s] -= 1;
        }
    }

    fn leaf<E: Engine>(&mut self, play: &mut Play<'_, E>, part: &mut Partial) -> Result<(), RunError> {
        let ended = play.conclude()?;
        let index = if self.ranked { rank(&self.counts, &self.path) } else { self.index };
        part.add(self.sc, index, &ended);
        self.index += 1;
        let n = self.done.fetch_add(1, Ordering::Relaxed) + 1;
        if n.is_multiple_of(8192) {
            (self.progress)(n);
        }
        Ok(())
    }

    /// The walk with sleep sets (Godefroid): after exploring step `a` from a state, a sibling `b`
    /// that commutes with `a` carries `a` in its sleep set, so `b` then `a` is not explored again.
    /// A step goes to sleep only if it ran clean (no wait, no error, nothing blocked before or
    /// after it): waits, timers and errors are always explored in every order.
    ///
    /// With `cut`, the walk stops at that depth and hands each subtree (a copy of its state, its
    /// sleep set) to `cut`'s list, for the worker threads. As in [`Walk::visit`], the last child
    /// of a node continues in the node's own state.
    fn visit_reduced<'p, R: Engine<Parts = Tracing> + Clone>(
        &mut self,
        play: &mut Play<'p, R>,
        sleep: Vec<(usize, Print<R>)>,
        part: &mut Partial,
        cut: &mut Option<(usize, Vec<Pending<'p, R>>)>,
    ) -> Result<(), RunError> {
        let remaining = self.remaining();
        if remaining.is_empty() {
            return self.leaf(play, part);
        }
        if let Some((depth, pending)) = cut {
            if self.path.len() == *depth {
                pending.push(Pending { play: play.clone(), sleep, path: self.path.clone() });
                return Ok(());
            }
        }
        let choices: Vec<usize> = remaining.into_iter().filter(|s| !sleep.iter().any(|(z, _)| z == s)).collect();
        let calm = !play.blocked();
        let mut done: Vec<(usize, Print<R>)> = Vec::new();
        for (k, &s) in choices.iter().enumerate() {
            if self.stopped() {
                break;
            }
            let mut copy = (k + 1 < choices.len()).then(|| play.clone());
            let child = copy.as_mut().unwrap_or(&mut *play);
            let lines = child.reported();
            let fp = Arc::new(child.step_traced(self.descend(s))?);
            let clean = calm && !child.blocked() && !child.troubled_since(lines);
            let child_sleep = if clean {
                sleep.iter().chain(&done).filter(|(_, z)| z.independent(&fp)).cloned().collect()
            } else {
                Vec::new()
            };
            let r = self.visit_reduced(child, child_sleep, part, cut);
            self.ascend();
            r?;
            if clean {
                done.push((s, fp));
            }
        }
        Ok(())
    }

    /// The full walk. The last child of a node continues in the node's own state; the others
    /// start from a copy.
    fn visit<F: Engine + Clone>(&mut self, play: &mut Play<'_, F>, part: &mut Partial) -> Result<(), RunError> {
        // The sessions with steps left, without collecting them: this runs at every node.
        let open = |w: &Self, s: usize| w.taken[s] < w.counts[s];
        let Some(last) = (0..self.counts.len()).rev().find(|&s| open(self, s)) else {
            return self.leaf(play, part);
        };
        for s in 0..=last {
            if !open(self, s) || self.stopped() {
                continue;
            }
            let mut copy = (s != last).then(|| play.clone());
            let child = copy.as_mut().unwrap_or(&mut *play);
            child.step(self.descend(s))?;
            let r = self.visit(child, part);
            self.ascend();
            r?;
        }
        Ok(())
    }
}

fn session_steps(sc: &Scenario) -> Vec<Vec<Arc<PermStep>>> {
    sc.spec
        .sessions
        .iter()
        .map(|s| {
            s.steps
                .iter()
                .map(|st| Arc::new(PermStep { name: st.name.as_str().into(), markers: vec![], pos: Pos::default() }))
                .collect()
        })
        .collect()
}

/// Run every interleaving of the scenario's sessions (with `reduce`, one of each class of
/// interleavings that differ only in the order of commuting steps); one partial summary per thread.
pub(super) fn explore_all<E: Engine<Parts = crate::engine::Plain<MemStore>> + Clone>(
    sc: &Scenario,
    threads: usize,
    reduce: bool,
    progress: &(dyn Fn(u64) + Sync),
    stop: &AtomicBool,
) -> Result<Vec<Partial>, RunError>
where
    Reduced<E>: Clone,
{
    if reduce {
        return explore_reduced::<Reduced<E>>(sc, threads, progress, stop);
    }
    let counts = sc.spec.step_counts();
    let trees = subtrees(&counts, split_depth(&counts, threads));
    let next = AtomicUsize::new(0);
    let done = AtomicU64::new(0);
    let results: Vec<Result<Partial, RunError>> = crossbeam_utils::thread::scope(|scope| {
        let handles: Vec<_> = (0..threads)
            .map(|_| {
                let (trees, next, done) = (&trees, &next, &done);
                scope.spawn(move |_| -> Result<Partial, RunError> {
                    let mut part = Partial::default();
                    let own = sc.detached();
                    let sc = &own;
                    let steps = &session_steps(sc);
                    let runner = Runner::<E>::new(sc, MemStore::default())?;
                    while let Some(tree) = trees.get(next.fetch_add(1, Ordering::Relaxed)) {
                        if stop.load(Ordering::Relaxed) {
                            break;
                        }
                        let mut walk = Walk::new(sc, steps, false, done, progress, stop);
                        walk.index = tree.first_index;
                        let mut play = runner.play(MemStore::default())?;
                        for &s in &tree.prefix {
                            play.step(walk.descend(s))?;
                        }
                        walk.visit(&mut play, &mut part)?;
                    }
                    Ok(part)
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().expect("explorer thread panicked")).collect()
    })
    .expect("explorer threads");
    results.into_iter().collect()
}

/// The reduced walk: its top levels run on this thread (sleep sets depend on the order siblings
/// are explored in), and the subtrees below the cut go to the workers with their sleep sets.
fn explore_reduced<R: Engine<Parts = Tracing> + Clone>(
    sc: &Scenario,
    threads: usize,
    progress: &(dyn Fn(u64) + Sync),
    stop: &AtomicBool,
) -> Result<Vec<Partial>, RunError> {
    let counts = sc.spec.step_counts();
    let steps = session_steps(sc);
    let done = AtomicU64::new(0);
    let runner = Runner::<R>::new(sc, Traced::default())?;
    let walk = |path: Vec<usize>| {
        let mut walk = Walk::new(sc, &steps, true, &done, progress, stop);
        for s in path {
            walk.descend(s);
        }
        walk
    };
    let mut top = Partial::default();
    let mut cut = Some((split_depth(&counts, threads).min(6), Vec::new()));
    walk(Vec::new()).visit_reduced(&mut runner.play(Traced::default())?, Vec::new(), &mut top, &mut cut)?;
    let pending = std::sync::Mutex::new(cut.map(|(_, p)| p).unwrap_or_default());
    let results: Vec<Result<Partial, RunError>> = crossbeam_utils::thread::scope(|scope| {
        let handles: Vec<_> = (0..threads)
            .map(|_| {
                let (pending, walk) = (&pending, &walk);
                scope.spawn(move |_| -> Result<Partial, RunError> {
                    let mut part = Partial::default();
                    loop {
                        let item = pending.lock().unwrap_or_else(|e| e.into_inner()).pop();
                        let Some(mut item) = item.filter(|_| !stop.load(Ordering::Relaxed)) else { break };
                        walk(item.path).visit_reduced(&mut item.play, item.sleep, &mut part, &mut None)?;
                    }
                    Ok(part)
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().expect("explorer thread panicked")).collect()
    })
    .expect("explorer threads");
    let mut parts = vec![top];
    for r in results {
        parts.push(r?);
    }
    Ok(parts)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rank_is_the_position_in_all_interleavings() {
        let counts = [2, 1, 2];
        for (i, il) in crate::spec::all_interleavings(&counts).enumerate() {
            assert_eq!(rank(&counts, &il), i as u64);
        }
    }

    #[test]
    fn subtrees_cover_the_space_in_order() {
        let counts = [2, 1, 2];
        for depth in 0..=5 {
            let trees = subtrees(&counts, depth);
            let mut expected = 0;
            for t in &trees {
                assert_eq!(t.first_index, expected);
                let mut rest = counts.to_vec();
                for &s in &t.prefix {
                    rest[s] -= 1;
                }
                expected += count_interleavings(&rest) as u64;
            }
            assert_eq!(expected, 30);
        }
        let firsts: Vec<Vec<usize>> = subtrees(&counts, 5).into_iter().map(|t| t.prefix).collect();
        let all: Vec<Vec<usize>> = crate::spec::all_interleavings(&counts).collect();
        assert_eq!(firsts, all, "leaf order is all_interleavings' order");
    }
}
