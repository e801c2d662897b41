//! isolationtester's cadence of issuing a permutation's steps, written once for the model's step
//! runner (virtual time) and the live runner of `fksim conform` (the wall clock): send a step,
//! give it `wait` to finish (it is `waiting` if not), give each earlier waiting step `settle` to
//! report completion, pause after a step that finished; at the end, give what still waits `drain`.

use super::{complete_waiting, has_blocker, own_event, StepEvent, Timing, Track};
use crate::engine::DeadlockInfo;
use crate::spec::PermStep;
use std::borrow::Borrow;
use std::sync::Arc;
use std::time::Duration;

/// Where a permutation's steps run, and how time passes for them.
pub(crate) trait Stage {
    type Error;
    /// Send permutation step `i` to its session.
    fn send(&mut self, i: usize, tracks: &mut [Track]) -> Result<(), Self::Error>;
    /// Let up to `span` pass, less once `done(tracks)` holds; returns whether it holds.
    fn pass(
        &mut self,
        tracks: &mut [Track],
        span: Duration,
        done: &dyn Fn(&[Track]) -> bool,
    ) -> Result<bool, Self::Error>;
    /// The line of step `i`, sent and still running: what it waits for, where that is known.
    fn waiting_line(&mut self, tracks: &mut [Track], i: usize) -> StepEvent;
    /// Deadlocks found since the last call (the model's; a server's are not seen).
    fn take_deadlocks(&mut self) -> Vec<DeadlockInfo> {
        Vec::new()
    }
    /// After a step's own wait, before its line is written (the model measures wait chains).
    fn after_wait(&mut self, _tracks: &[Track]) {}
}

/// The lines of a permutation as they are reported.
pub(crate) trait Lines {
    fn push(&mut self, e: StepEvent);
    /// Deadlocks found while time passed belong to the last line reported.
    fn attach(&mut self, deadlocks: Vec<DeadlockInfo>);
}

impl Lines for Vec<Arc<StepEvent>> {
    fn push(&mut self, e: StepEvent) {
        Vec::push(self, Arc::new(e));
    }

    fn attach(&mut self, deadlocks: Vec<DeadlockInfo>) {
        if let (false, Some(last)) = (deadlocks.is_empty(), self.last_mut()) {
            Arc::make_mut(last).deadlocks.extend(deadlocks);
        }
    }
}

impl Lines for Vec<StepEvent> {
    fn push(&mut self, e: StepEvent) {
        Vec::push(self, e);
    }

    fn attach(&mut self, deadlocks: Vec<DeadlockInfo>) {
        if let (false, Some(last)) = (deadlocks.is_empty(), self.last_mut()) {
            last.deadlocks.extend(deadlocks);
        }
    }
}

/// Is some issued step still unfinished (waiting on a lock, or queued behind one)?
pub(crate) fn unfinished(tracks: &[Track]) -> bool {
    tracks.iter().any(|t| t.launched && !t.finished)
}

/// Issue permutation step `i` (already tracked, launched) on `stage`.
pub(crate) fn issue<S: Stage, P: Borrow<PermStep>>(
    stage: &mut S,
    timing: Timing,
    perm: &[P],
    tracks: &mut [Track],
    lines: &mut impl Lines,
    i: usize,
) -> Result<(), S::Error> {
    // isolationtester waits for the session's earlier step before it sends the next one
    // (`run_permutation`: `while (iconn->active_step != NULL)`), then reports every step done
    // meanwhile. An earlier step that is done but not yet reported (it was marked `(*)`) is
    // reported first.
    let session = tracks[i].session;
    let done_earlier = (0..i).any(|j| {
        let t = &tracks[j];
        t.session == session && t.launched && t.finished && !t.reported && !has_blocker(perm, tracks, j)
    });
    if done_earlier {
        complete_waiting(perm, tracks, |e| lines.push(e), i);
        lines.attach(stage.take_deadlocks());
    }
    stage.send(i, tracks)?;
    // A step still running `wait` after it was sent counts as waiting; timers (lock wait
    // timeouts, PostgreSQL's deadlock check) may end it meanwhile.
    let finished = stage.pass(tracks, timing.wait, &|t| t[i].finished)?;
    let deadlocks = stage.take_deadlocks();
    stage.after_wait(tracks);
    let own = match own_event(perm, tracks, i) {
        Some(e) => e,
        None => stage.waiting_line(tracks, i),
    };
    lines.push(StepEvent { deadlocks, ..own });
    // Each earlier waiting step is given `settle` to report completion.
    for j in 0..i {
        if tracks[j].launched && !tracks[j].reported && !tracks[j].finished {
            stage.pass(tracks, timing.settle, &|t| t[j].finished)?;
        }
    }
    complete_waiting(perm, tracks, |e| lines.push(e), i);
    lines.attach(stage.take_deadlocks());
    if finished {
        stage.pass(tracks, timing.pause, &|_| false)?;
    }
    Ok(())
}

/// At the end of a permutation: give the steps still waiting `drain`, and report what completed.
pub(crate) fn drain<S: Stage, P: Borrow<PermStep>>(
    stage: &mut S,
    timing: Timing,
    perm: &[P],
    tracks: &mut [Track],
    lines: &mut impl Lines,
) -> Result<(), S::Error> {
    elapse(stage, timing.drain, &|t| !unfinished(t), perm, tracks, lines)
}

/// Let up to `span` pass (less once `done` holds), then report what completed meanwhile.
pub(crate) fn elapse<S: Stage, P: Borrow<PermStep>>(
    stage: &mut S,
    span: Duration,
    done: &dyn Fn(&[Track]) -> bool,
    perm: &[P],
    tracks: &mut [Track],
    lines: &mut impl Lines,
) -> Result<(), S::Error> {
    stage.pass(tracks, span, done)?;
    complete_waiting(perm, tracks, |e| lines.push(e), perm.len());
    lines.attach(stage.take_deadlocks());
    Ok(())
}
