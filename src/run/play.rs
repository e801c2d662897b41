//! One permutation played a step at a time. The state between steps is plain data that can be
//! cloned, so the explorer runs a shared prefix once for every interleaving that starts with it.

use super::session::Sessions;
use super::teardown::{Dialect, Teardown};
use super::{
    attach_deadlocks, cancel_remaining, complete_waiting, own_event, wait_chain, waiting_event, Clock, Db,
    PermutationReport, RunError, StepEvent, Timing, Track,
};
use crate::engine::Engine;
use crate::scenario::Scenario;
use crate::spec::PermStep;
use crate::store::{Store, Traced};
use std::sync::Arc;

/// A permutation in progress: the database, the sessions, the reported lines and the virtual
/// clock. Steps and lines are shared between copies, so a copy costs little more than the database.
pub struct Play<'a, S: Store> {
    sc: &'a Scenario,
    timing: Timing,
    db: Db<S>,
    sessions: Sessions<'a>,
    perm: Vec<Arc<PermStep>>,
    tracks: Vec<Track>,
    events: Vec<Arc<StepEvent>>,
    clock: Clock,
    max_chain: usize,
}

/// A copy has room for the whole permutation, so the steps still to come do not grow its lists
/// again (a derived copy would have exactly the room it uses).
impl<S: Store + Clone> Clone for Play<'_, S> {
    fn clone(&self) -> Self {
        let steps: usize = self.sc.spec.sessions.iter().map(|s| s.steps.len()).sum();
        let roomy = |len: usize| len.max(steps);
        let mut perm = Vec::with_capacity(roomy(self.perm.len()));
        perm.extend(self.perm.iter().cloned());
        let mut tracks = Vec::with_capacity(roomy(self.tracks.len()));
        tracks.extend(self.tracks.iter().cloned());
        // A step reports at most two lines: waiting, then completed.
        let mut events = Vec::with_capacity(roomy(self.events.len()).max(2 * steps));
        events.extend(self.events.iter().cloned());
        Play {
            sc: self.sc,
            timing: self.timing,
            db: self.db.clone(),
            sessions: self.sessions.clone(),
            perm,
            tracks,
            events,
            clock: self.clock.clone(),
            max_chain: self.max_chain,
        }
    }
}

/// A finished permutation as the explorer reads it: the lines are shared, not copied.
pub struct Ended {
    pub perm: Vec<Arc<PermStep>>,
    pub events: Vec<Arc<StepEvent>>,
    pub orphans: usize,
    pub max_wait_chain: usize,
    /// Steps left unfinished at the end although their session was not blocked on a lock: a
    /// defect of the model (a lost wake-up, a victim never told). Empty in a correct run.
    pub stranded: Vec<Arc<str>>,
}

impl Ended {
    pub fn steps(&self) -> Vec<String> {
        self.perm.iter().map(|p| p.name.to_string()).collect()
    }

    pub fn into_report(self) -> PermutationReport {
        PermutationReport {
            steps: self.steps(),
            events: self.events.into_iter().map(Arc::unwrap_or_clone).collect(),
            orphans: self.orphans,
            max_wait_chain: self.max_wait_chain,
            stranded: self.stranded.iter().map(|s| s.to_string()).collect(),
        }
    }
}

/// Is some issued step still unfinished?
fn unfinished(tracks: &[Track]) -> bool {
    tracks.iter().any(|t| t.launched && !t.finished)
}

impl<'a, S: Store> Play<'a, S> {
    /// Start a permutation on `db` (the setup state): run every session's setup block.
    pub(super) fn new(sc: &'a Scenario, mut db: Db<S>, timing: Timing) -> Result<Self, RunError> {
        let sessions = Sessions::new(sc);
        for s in 0..sc.sessions.len() {
            sessions.run_setup(&mut db, s)?;
        }
        Ok(Play {
            sc,
            timing,
            db,
            sessions,
            perm: Vec::new(),
            tracks: Vec::new(),
            events: Vec::new(),
            clock: Clock { now: 0 },
            max_chain: 0,
        })
    }

    /// Is some issued step still unfinished (waiting on a lock, or queued behind one)?
    pub fn blocked(&self) -> bool {
        unfinished(&self.tracks)
    }

    /// Report the steps that completed, among the first `upto`.
    fn complete(&mut self, upto: usize) {
        let events = &mut self.events;
        complete_waiting(&self.perm, &mut self.tracks, |e| events.push(Arc::new(e)), upto);
    }

    /// Issue the next step, as isolationtester does: send it, give it `wait` to finish (it is
    /// `waiting` if not), give each earlier waiting step `settle`, report what completed.
    pub fn step(&mut self, p: Arc<PermStep>) -> Result<(), RunError> {
        let (session, step) = self.sc.spec.find_step(&p.name).ok_or_else(|| RunError::Permutation {
            file: self.sc.spec.file.clone(),
            line: p.pos.line,
            what: format!("unknown step `{}`", p.name),
        })?;
        let i = self.perm.len();
        self.perm.push(p);
        self.tracks.push(Track { session, step, launched: true, ..Track::default() });
        let (db, sessions, tracks, clock, timing) =
            (&mut self.db, &mut self.sessions, &mut self.tracks, &mut self.clock, self.timing);
        sessions.issue(i, session, step);
        sessions.settle(db, tracks)?;
        // A step still running `wait` after it was sent counts as waiting; timers (lock wait
        // timeouts, PostgreSQL's deadlock check) may end it meanwhile.
        let finished = clock.run_until(db, sessions, tracks, timing.wait, |t| t[i].finished)?;
        let deadlocks = db.take_deadlocks();
        if unfinished(tracks) {
            self.max_chain = self.max_chain.max(wait_chain(db, self.sc));
        }
        let own = match own_event(&self.perm, tracks, i) {
            Some(e) => e,
            None => StepEvent {
                access: std::mem::take(&mut tracks[i].access),
                ..waiting_event(db, sessions, &self.perm, tracks, i)
            },
        };
        self.events.push(Arc::new(StepEvent { deadlocks, ..own }));
        // Each earlier waiting step is given `settle` to report completion.
        for j in 0..i {
            if tracks[j].launched && !tracks[j].reported && !tracks[j].finished {
                clock.run_until(db, sessions, tracks, timing.settle, |t| t[j].finished)?;
            }
        }
        self.complete(i);
        attach_deadlocks(&mut self.db, &mut self.events);
        if finished {
            self.clock.run_until(&mut self.db, &mut self.sessions, &mut self.tracks, self.timing.pause, |_| false)?;
        }
        Ok(())
    }

    /// The number of lines reported so far.
    pub fn reported(&self) -> usize {
        self.events.len()
    }

    /// Did any line reported since line `from` carry an error or a deadlock?
    pub fn troubled_since(&self, from: usize) -> bool {
        self.events[from..].iter().any(|e| e.error.is_some() || !e.deadlocks.is_empty())
    }

    /// End the permutation: give waiting steps `drain`, cancel what still waits, run the session
    /// teardowns, roll back what is open and count orphans.
    pub fn end(mut self) -> Result<(Ended, S), RunError> {
        let ended = self.conclude()?;
        Ok((ended, self.db.into_store()))
    }

    /// [`Play::end`] in place, for a caller that keeps the state (the explorer's walk, which
    /// drops it later): the lines move out, the database is left finished.
    pub fn conclude(&mut self) -> Result<Ended, RunError> {
        let (db, sessions, tracks, clock, timing) =
            (&mut self.db, &mut self.sessions, &mut self.tracks, &mut self.clock, self.timing);
        clock.run_until(db, sessions, tracks, timing.drain, |t| !unfinished(t))?;
        self.complete(self.perm.len());
        attach_deadlocks(&mut self.db, &mut self.events);
        let stranded = self.stranded();
        // The steps still blocked can never finish: cancel them, as isolationtester does after its
        // wait limit, then run the session teardowns and roll back what is left open.
        let mut cancelled = Vec::new();
        cancel_remaining(&self.perm, &mut self.tracks, &mut cancelled);
        for e in cancelled.iter_mut().filter(|e| stranded.contains(&e.step)) {
            e.note = Some("MODEL DEFECT: left unfinished although its session was not blocked on a lock".into());
        }
        self.events.extend(cancelled.into_iter().map(Arc::new));
        let dialect = match self.db {
            Db::Inno(_) => Dialect::MariaDb,
            Db::Pg(_) => Dialect::Postgres,
        };
        let mut td = Teardown::new(dialect, &self.sc.spec.file);
        for s in 0..self.sc.sessions.len() {
            self.sessions.run_teardown(&mut self.db, &mut td, s)?;
        }
        // Orphans are counted after the permutation, before the spec's teardown (which usually
        // drops the tables); that runs once every transaction is rolled back.
        let orphans = self.db.finish()?;
        if !self.sc.teardown.is_empty() {
            td.run(&mut self.db, 0, &self.sc.teardown, || "teardown".to_string(), true)?;
        }
        Ok(Ended {
            perm: std::mem::take(&mut self.perm),
            events: std::mem::take(&mut self.events),
            orphans,
            max_wait_chain: self.max_chain,
            stranded,
        })
    }

    /// The end-of-permutation invariant: a step still unfinished is running in a session that
    /// waits behind another transaction's lock, or is queued behind such a step of its own
    /// session. Returns the steps that break it.
    fn stranded(&self) -> Vec<Arc<str>> {
        let mut out = Vec::new();
        for (i, t) in self.tracks.iter().enumerate() {
            if !t.launched || t.finished {
                continue;
            }
            let running = self.sessions.active_of(t.session) == Some(i);
            if running && self.db.waits_behind(t.session).is_empty() {
                out.push(self.perm[i].name.clone());
            }
        }
        out
    }

    /// End the permutation and report it; returns the store for the next run.
    pub fn finish(self) -> Result<(PermutationReport, S), RunError> {
        let (ended, store) = self.end()?;
        Ok((ended.into_report(), store))
    }
}

impl Play<'_, Traced> {
    /// Issue the next step and return what it touched.
    pub fn step_traced(&mut self, p: Arc<PermStep>) -> Result<super::Footprint, RunError> {
        let before = super::Footprint::start(&mut self.db);
        let r = self.step(p);
        let fp = super::Footprint::take(&mut self.db, before);
        r.map(|_| fp)
    }
}
