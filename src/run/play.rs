//! One permutation played a step at a time on the model, in virtual time. The state between steps
//! is plain data that can be cloned, so the explorer runs a shared prefix once for every
//! interleaving that starts with it.

use super::cadence::{self, unfinished, Stage};
use super::teardown::end_sessions_rows;
use super::{cancel_remaining, wait_chain, PermutationReport, RunError, StepEvent, Timing, Track};
use crate::drive::{Driver, Event, Work};
use crate::engine::{Engine, MultixactCount, Parts, Poll, Rows, SessionId};
use crate::scenario::Scenario;
use crate::spec::PermStep;
use crate::sql::Statement;
use std::sync::Arc;
use std::time::Duration;

/// A permutation in progress: the database and its sessions' work, the reported lines and the
/// virtual clock. Steps and lines are shared between copies, so a copy costs little more than
/// the database.
pub struct Play<'a, E: Engine> {
    sc: &'a Scenario,
    timing: Timing,
    sim: Sim<E>,
    perm: Vec<Arc<PermStep>>,
    tracks: Vec<Track>,
    events: Vec<Arc<StepEvent>>,
    /// The results the sessions' setup blocks printed (see [`run_setup`]).
    setup_rows: Vec<Rows>,
}

/// The model's side of a permutation: the driver, its virtual clock, the longest wait chain.
#[derive(Clone)]
struct Sim<E> {
    driver: Driver<E>,
    /// Virtual time, in microseconds since the permutation started.
    now: u64,
    max_chain: usize,
}

/// A copy has room for the whole permutation, so the steps still to come do not grow its lists
/// again (a derived copy would have exactly the room it uses).
impl<E: Engine + Clone> Clone for Play<'_, E> {
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
            sim: self.sim.clone(),
            perm,
            tracks,
            events,
            setup_rows: self.setup_rows.clone(),
        }
    }
}

/// A finished permutation as the explorer reads it: the lines are shared, not copied.
pub struct Ended {
    pub perm: Vec<Arc<PermStep>>,
    pub events: Vec<Arc<StepEvent>>,
    pub orphans: usize,
    /// Of them, the orphans over each logical reference (`table.column`, rows).
    pub orphans_by_ref: Vec<(String, usize)>,
    /// The MultiXacts the permutation created (PostgreSQL).
    pub multixacts: Option<MultixactCount>,
    pub max_wait_chain: usize,
    /// Steps left unfinished at the end although their session was not blocked on a lock: a
    /// defect of the model (a lost wake-up, a victim never told). Empty in a correct run.
    pub stranded: Vec<Arc<str>>,
    /// The results the session setup and teardown blocks printed.
    pub setup_rows: Vec<Rows>,
    pub teardown_rows: Vec<Rows>,
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
            orphans_by_ref: self.orphans_by_ref,
            multixacts: self.multixacts,
            max_wait_chain: self.max_wait_chain,
            stranded: self.stranded.iter().map(|s| s.to_string()).collect(),
            setup_rows: self.setup_rows,
            teardown_rows: self.teardown_rows,
        }
    }
}

/// Record what the driver reports in the permutation's tracks (a unit's tag is its step's index).
fn record(tracks: &mut [Track]) -> impl FnMut(Event) + '_ {
    move |ev| match ev {
        Event::Access(i, a) => tracks[i].access.push(a),
        Event::Rows(i, r) => tracks[i].rows.push(r),
        Event::Notice(i, n) => tracks[i].notices.push(n),
        // A step's line says what it waits for when it is reported.
        Event::Blocked(_) => {}
        Event::Finished(i, e) => {
            tracks[i].finished = true;
            tracks[i].error = e.cloned();
        }
    }
}

/// Run a session's setup block; a failure is a setup failure. Returns the result it prints:
/// isolationtester sends the block as one query (`PQexec`) and prints the last statement's
/// result if it returned rows.
pub(super) fn run_setup<E: Engine>(db: &mut E, sc: &Scenario, s: SessionId) -> Result<Option<Rows>, RunError> {
    let stmts: &[Arc<Statement>] = &sc.sessions[s].setup;
    if stmts.is_empty() {
        return Ok(None);
    }
    let label: Arc<str> = Arc::from(format!("{} setup", sc.sessions[s].name));
    let mut last = None;
    for st in stmts {
        let fail = |message: String| RunError::Setup { file: sc.spec.file.clone(), line: st.pos.line, message };
        match db.start(s, st.clone(), &label)? {
            Poll::Done(Ok(rows)) => last = rows,
            Poll::Done(Err(e)) => return Err(fail(e.message)),
            Poll::Blocked => return Err(fail("session setup blocked on a lock".into())),
        }
    }
    Ok(last)
}

/// The model as the cadence's stage: the driver in virtual time.
struct Model<'p, 'a, E> {
    sc: &'a Scenario,
    perm: &'p [Arc<PermStep>],
    sim: &'p mut Sim<E>,
}

impl<E: Engine> Stage for Model<'_, '_, E> {
    type Error = RunError;

    fn send(&mut self, i: usize, tracks: &mut [Track]) -> Result<(), RunError> {
        let (s, step) = (tracks[i].session, tracks[i].step);
        let plan = &self.sc.sessions[s].steps[step];
        self.sim.driver.submit(s, Work { tag: i, stmts: plan.stmts.clone(), label: plan.name.clone() });
        self.sim.driver.settle(&mut record(tracks))?;
        Ok(())
    }

    /// Let up to `span` pass, firing the engine's timers in order, until `done` holds.
    fn pass(
        &mut self,
        tracks: &mut [Track],
        span: Duration,
        done: &dyn Fn(&[Track]) -> bool,
    ) -> Result<bool, RunError> {
        let deadline = self.sim.now + span.as_micros() as u64;
        while !done(tracks) {
            match self.sim.driver.next_timer() {
                Some(t) if t <= deadline => {
                    self.sim.now = (self.sim.now).max(t);
                    self.sim.driver.advance(self.sim.now, &mut record(tracks))?;
                }
                _ => {
                    // No timer before the deadline: time still passes for the engine.
                    self.sim.now = deadline;
                    self.sim.driver.engine_mut().advance(self.sim.now)?;
                    return Ok(done(tracks));
                }
            }
        }
        Ok(true)
    }

    fn waiting_line(&mut self, tracks: &mut [Track], i: usize) -> StepEvent {
        let session = tracks[i].session;
        let (wait, queued_behind) = if tracks[i].finished {
            (None, None)
        } else {
            match self.sim.driver.running(session) {
                Some(j) if j != i => (None, Some(self.perm[j].name.clone())),
                _ => (self.sim.driver.engine().wait_info(session).map(Box::new), None),
            }
        };
        StepEvent {
            wait,
            queued_behind,
            access: std::mem::take(&mut tracks[i].access),
            notices: std::mem::take(&mut tracks[i].notices),
            ..StepEvent::new(self.perm[i].name.clone(), super::Outcome::Waiting)
        }
    }

    fn take_deadlocks(&mut self) -> Vec<crate::engine::DeadlockInfo> {
        self.sim.driver.engine_mut().take_deadlocks()
    }

    fn after_wait(&mut self, tracks: &[Track]) {
        if unfinished(tracks) {
            self.sim.max_chain = self.sim.max_chain.max(wait_chain(self.sim.driver.engine(), self.sc));
        }
    }
}

impl<'a, E: Engine> Play<'a, E> {
    /// The results the sessions' setup blocks printed, to be reported with the permutation.
    pub(super) fn with_setup_rows(mut self, rows: Vec<Rows>) -> Self {
        self.setup_rows = rows;
        self
    }

    /// Start a permutation on `db` (the setup state, the sessions' setup blocks run).
    pub(super) fn new(sc: &'a Scenario, db: E, timing: Timing) -> Self {
        let sim = Sim { driver: Driver::new(db, sc.sessions.len()), now: 0, max_chain: 0 };
        Play { sc, timing, sim, perm: Vec::new(), tracks: Vec::new(), events: Vec::new(), setup_rows: Vec::new() }
    }

    /// The database.
    pub fn engine_mut(&mut self) -> &mut E {
        self.sim.driver.engine_mut()
    }

    /// Is some issued step still unfinished (waiting on a lock, or queued behind one)?
    pub fn blocked(&self) -> bool {
        unfinished(&self.tracks)
    }

    /// Issue the next step, as isolationtester does (see [`cadence::issue`]).
    pub fn step(&mut self, p: Arc<PermStep>) -> Result<(), RunError> {
        let (session, step) = self.sc.spec.find_step(&p.name).ok_or_else(|| RunError::Permutation {
            file: self.sc.spec.file.clone(),
            line: p.pos.line,
            what: format!("unknown step `{}`", p.name),
        })?;
        let i = self.perm.len();
        self.perm.push(p);
        self.tracks.push(Track { session, step, launched: true, ..Track::default() });
        let mut stage = Model { sc: self.sc, perm: &self.perm, sim: &mut self.sim };
        cadence::issue(&mut stage, self.timing, &self.perm, &mut self.tracks, &mut self.events, i)
    }

    /// Let virtual time run to `now` (µs since the permutation started), firing the timers due
    /// by then, and report the steps they ended: a clock move a driver recorded between steps
    /// (the threaded engine's).
    pub fn advance_to(&mut self, now: u64) -> Result<(), RunError> {
        let span = Duration::from_micros(now.saturating_sub(self.sim.now));
        let mut stage = Model { sc: self.sc, perm: &self.perm, sim: &mut self.sim };
        cadence::elapse(&mut stage, span, &|_| false, &self.perm, &mut self.tracks, &mut self.events)
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
    pub fn end(mut self) -> Result<(Ended, <E::Parts as Parts>::Store), RunError> {
        let ended = self.conclude()?;
        Ok((ended, self.sim.driver.into_engine().into_store()))
    }

    /// [`Play::end`] in place, for a caller that keeps the state (the explorer's walk, which
    /// drops it later): the lines move out, the database is left finished.
    pub fn conclude(&mut self) -> Result<Ended, RunError> {
        let mut stage = Model { sc: self.sc, perm: &self.perm, sim: &mut self.sim };
        cadence::drain(&mut stage, self.timing, &self.perm, &mut self.tracks, &mut self.events)?;
        let stranded = self.stranded();
        // The steps still blocked can never finish: cancel them, as isolationtester does after its
        // wait limit, then run the session teardowns and roll back what is left open.
        let mut cancelled = Vec::new();
        cancel_remaining(&self.perm, &mut self.tracks, &mut cancelled);
        for e in cancelled.iter_mut().filter(|e| stranded.contains(&e.step)) {
            e.note = Some("MODEL DEFECT: left unfinished although its session was not blocked on a lock".into());
        }
        self.events.extend(cancelled.into_iter().map(Arc::new));
        // A session whose step is still stuck on a lock runs no teardown.
        let stuck: Vec<bool> = (0..self.sc.sessions.len()).map(|s| self.sim.driver.running(s).is_some()).collect();
        let (orphans, teardown_rows, orphans_by_ref) =
            end_sessions_rows(self.sim.driver.engine_mut(), self.sc, &stuck)?;
        let multixacts = self.sim.driver.engine_mut().multixacts();
        Ok(Ended {
            perm: std::mem::take(&mut self.perm),
            events: std::mem::take(&mut self.events),
            orphans,
            orphans_by_ref,
            multixacts,
            max_wait_chain: self.sim.max_chain,
            stranded,
            setup_rows: std::mem::take(&mut self.setup_rows),
            teardown_rows,
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
            let running = self.sim.driver.running(t.session) == Some(i);
            if running && self.sim.driver.engine().waits_behind(t.session).is_empty() {
                out.push(self.perm[i].name.clone());
            }
        }
        out
    }

    /// End the permutation and report it; returns the store for the next run.
    pub fn finish(self) -> Result<(PermutationReport, <E::Parts as Parts>::Store), RunError> {
        let (ended, store) = self.end()?;
        Ok((ended.into_report(), store))
    }
}
