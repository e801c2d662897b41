//! isolationtester's reporting rules over the state of each permutation step, shared by the model
//! runner and the live runner of `fksim conform`.

use super::{Outcome, StepEvent};
use crate::engine::{Access, DbError, ErrorKind, Notice, Rows};
use crate::spec::{Marker, PermStep};
use std::borrow::Borrow;

/// Where a permutation step stands.
#[derive(Debug, Clone, Default)]
pub(crate) struct Track {
    pub launched: bool,
    pub session: usize,
    pub step: usize,
    pub finished: bool,
    pub reported: bool,
    pub error: Option<DbError>,
    pub rows: Vec<Rows>,
    /// Access paths of the statements started, not yet reported.
    pub access: Vec<Access>,
    /// Notices the step's statements sent, not yet reported.
    pub notices: Vec<Notice>,
}

/// isolationtester's `step_has_blocker`: a `step(other)` marker holds the report back while
/// `other` is active (launched and not yet reported complete).
pub(crate) fn has_blocker<P: Borrow<PermStep>>(perm: &[P], tracks: &[Track], i: usize) -> bool {
    perm[i].borrow().markers.iter().any(|m| match m {
        Marker::After(other) => (0..tracks.len())
            .any(|j| j != i && *perm[j].borrow().name == **other && tracks[j].launched && !tracks[j].reported),
        Marker::Star => false,
    })
}

fn finished_event<P: Borrow<PermStep>>(perm: &[P], tracks: &mut [Track], i: usize, outcome: Outcome) -> StepEvent {
    StepEvent {
        error: tracks[i].error.clone(),
        rows: std::mem::take(&mut tracks[i].rows),
        access: std::mem::take(&mut tracks[i].access),
        notices: std::mem::take(&mut tracks[i].notices),
        ..StepEvent::new(perm[i].borrow().name.clone(), outcome)
    }
}

/// The line of a step just launched, if it can be reported finished now: finished, not marked
/// `(*)` (which always reports waiting first) and not held back by a `(other)` marker.
pub(crate) fn own_event<P: Borrow<PermStep>>(perm: &[P], tracks: &mut [Track], i: usize) -> Option<StepEvent> {
    let star = perm[i].borrow().markers.contains(&Marker::Star);
    if tracks[i].finished && !star && !has_blocker(perm, tracks, i) {
        tracks[i].reported = true;
        Some(finished_event(perm, tracks, i, Outcome::Immediate))
    } else {
        None
    }
}

/// At the end of a permutation, steps that never finished are cancelled and reported completed
/// with an error, as isolationtester cancels a step after its wait limit.
pub(crate) fn cancel_remaining<P: Borrow<PermStep>>(perm: &[P], tracks: &mut [Track], events: &mut Vec<StepEvent>) {
    for t in tracks.iter_mut().filter(|t| t.launched && !t.finished) {
        t.finished = true;
        t.error = Some(DbError { kind: ErrorKind::Other, message: "canceling statement due to user request".into() });
    }
    let before = events.len();
    complete_waiting(perm, tracks, |e| events.push(e), perm.len());
    for e in &mut events[before..] {
        if e.error.as_ref().is_some_and(|x| x.message.starts_with("canceling")) {
            e.note = Some("still waiting when the permutation ended; cancelled".into());
        }
    }
}

/// isolationtester's `try_complete_steps`: report every waiting step among the first `upto` that
/// has finished and is not held back by a marker, in issue order, until nothing changes.
pub(crate) fn complete_waiting<P: Borrow<PermStep>>(
    perm: &[P],
    tracks: &mut [Track],
    mut report: impl FnMut(StepEvent),
    upto: usize,
) {
    loop {
        let mut progress = false;
        for j in 0..upto {
            let t = &tracks[j];
            if !t.launched || t.reported || !t.finished || has_blocker(perm, tracks, j) {
                continue;
            }
            tracks[j].reported = true;
            report(finished_event(perm, tracks, j, Outcome::Completed));
            progress = true;
        }
        if !progress {
            return;
        }
    }
}
