//! Driving sessions on an engine: the one seam every driver uses (the step runner, the explorer,
//! the workload driver, the load simulator, the threaded engine's tests).
//!
//! A [`Driver`] owns an engine and, per session, the unit of work it runs (a list of statements:
//! a permutation step, a transaction's next statement) and the units queued behind it. It starts
//! statements, resumes the ones the engine wakes, and reports what each unit did through a
//! callback: the access path each statement chose, the rows it returned, and when the unit
//! finished (with the error that ended it, if any). Time is an input: the caller asks for the
//! engine's next timer and moves the clock with [`Driver::advance`], on a virtual cadence (the
//! step runner), a simulated clock (the load simulator) or a test's own.

use crate::engine::{Access, DbError, Engine, EngineError, Notice, Poll, Rows, SessionId};
use crate::sql::Statement;
use std::sync::Arc;

/// A unit of work for one session: statements run in order, the first error ending it.
#[derive(Debug, Clone)]
pub struct Work {
    /// The caller's name for it (a permutation step's index, a transaction's number).
    pub tag: usize,
    pub stmts: Arc<[Arc<Statement>]>,
    /// Names it in lock provenance (a step's name).
    pub label: Arc<str>,
}

/// What a unit of work did, as it happened.
#[derive(Debug)]
pub enum Event<'a> {
    /// A statement of unit `tag` started and chose this access path.
    Access(usize, Access),
    /// A SELECT of unit `tag` returned these rows.
    Rows(usize, Rows),
    /// A statement of unit `tag` sent this notice (a warning), before the event that follows.
    Notice(usize, Notice),
    /// A statement of unit `tag` must wait for a lock (again, if it waited before: each wait is
    /// one event).
    Blocked(usize),
    /// Unit `tag` ended: every statement ran, or the first error stopped it.
    Finished(usize, Option<&'a DbError>),
}

/// The unit a session is running.
#[derive(Debug, Clone)]
struct Active {
    work: Work,
    next_stmt: usize,
    started: bool,
}

/// An engine and the work of its sessions.
#[derive(Clone)]
pub struct Driver<E> {
    db: E,
    active: Vec<Option<Active>>,
    /// Units submitted while their session still ran an earlier one, in submission order. One
    /// list for all sessions: it is empty in most states, and an empty list copies for free.
    queued: Vec<(SessionId, Work)>,
    /// Sessions given a unit that has not started yet (so that settling does not look at every
    /// session: the load simulator has thousands).
    starting: Vec<SessionId>,
}

impl<E: Engine> Driver<E> {
    /// Drive `db`, which has `sessions` sessions.
    pub fn new(db: E, sessions: usize) -> Self {
        Driver { db, active: vec![None; sessions], queued: Vec::new(), starting: Vec::new() }
    }

    pub fn engine(&self) -> &E {
        &self.db
    }

    pub fn engine_mut(&mut self) -> &mut E {
        &mut self.db
    }

    pub fn into_engine(self) -> E {
        self.db
    }

    /// The tag of the unit a session is running, if any.
    pub fn running(&self, s: SessionId) -> Option<usize> {
        self.active[s].as_ref().map(|a| a.work.tag)
    }

    /// Give `work` to session `s`: it starts at the next [`Driver::settle`], or after the units
    /// the session already has.
    pub fn submit(&mut self, s: SessionId, work: Work) {
        if self.active[s].is_some() {
            self.queued.push((s, work));
        } else {
            self.active[s] = Some(Active { work, next_stmt: 0, started: false });
            self.starting.push(s);
        }
    }

    /// Run every session that can make progress until none can (units just submitted, and
    /// statements whose lock was granted), reporting through `out`.
    pub fn settle(&mut self, out: &mut dyn FnMut(Event)) -> Result<(), EngineError> {
        // In session order, as they were before any of them ran.
        let mut starting = std::mem::take(&mut self.starting);
        starting.sort_unstable();
        starting.dedup();
        for s in starting {
            if self.active[s].as_ref().is_some_and(|a| !a.started) {
                self.run_session(s, false, out)?;
            }
        }
        loop {
            let woken = self.take_wakeups();
            if woken.is_empty() {
                return Ok(());
            }
            for s in woken {
                // Checked again: an earlier session of the batch may have changed it.
                if self.resumable(s) {
                    self.run_session(s, true, out)?;
                }
            }
        }
    }

    /// The sessions the engine released since the last call whose unit has started, in the
    /// order released: the ones [`Driver::run`] resumes next. [`Driver::settle`] is `run` on each
    /// session just submitted, then on these until none are left; a driver that runs each
    /// session on its own thread (`threaded`) makes the same calls in the same order.
    pub fn take_wakeups(&mut self) -> Vec<SessionId> {
        let mut woken = self.db.take_wakeups();
        woken.retain(|&s| self.resumable(s));
        woken
    }

    /// Is session `s` running a unit that has started (so a wake-up resumes it)?
    pub fn resumable(&self, s: SessionId) -> bool {
        self.active[s].as_ref().is_some_and(|a| a.started)
    }

    /// Run session `s`'s unit, from its first statement if it was just submitted, or resuming
    /// the statement that waited if [`Driver::take_wakeups`] named it, until a statement blocks
    /// or the unit ends.
    pub fn run(&mut self, s: SessionId, out: &mut dyn FnMut(Event)) -> Result<(), EngineError> {
        let resume = match &self.active[s] {
            None => return Ok(()),
            Some(a) => a.started,
        };
        if !resume {
            self.starting.retain(|&x| x != s);
        }
        self.run_session(s, resume, out)
    }

    /// When the engine's next timer fires (a lock wait timeout, a deadlock check), if one is set.
    pub fn next_timer(&self) -> Option<u64> {
        self.db.next_timer()
    }

    /// Move the engine's clock to `now` (µs), firing its timers, then run what they released.
    pub fn advance(&mut self, now: u64, out: &mut dyn FnMut(Event)) -> Result<(), EngineError> {
        self.db.advance(now)?;
        self.settle(out)
    }

    /// Move the engine's clock to `now` (µs) when no timer is due by then ([`Engine::set_now`]).
    pub fn set_now(&mut self, now: u64) -> Result<(), EngineError> {
        self.db.set_now(now)
    }

    /// Run session `s`'s unit from where it is (`resume`: poll the statement that waited) until
    /// a statement blocks or the unit ends; then start the session's next queued unit.
    fn run_session(&mut self, s: SessionId, resume: bool, out: &mut dyn FnMut(Event)) -> Result<(), EngineError> {
        let mut resume = resume;
        while let Some(mut a) = self.active[s].take() {
            a.started = true;
            let mut failed: Option<DbError> = None;
            while a.next_stmt < a.work.stmts.len() {
                let poll = if std::mem::take(&mut resume) {
                    self.db.poll(s)?
                } else {
                    let poll = self.db.start(s, a.work.stmts[a.next_stmt].clone(), &a.work.label)?;
                    if let Some(access) = self.db.take_access(s) {
                        out(Event::Access(a.work.tag, access));
                    }
                    poll
                };
                for n in self.db.take_notices(s) {
                    out(Event::Notice(a.work.tag, n));
                }
                match poll {
                    Poll::Blocked => {
                        out(Event::Blocked(a.work.tag));
                        self.active[s] = Some(a);
                        return Ok(());
                    }
                    Poll::Done(Ok(rows)) => {
                        if let Some(rows) = rows {
                            out(Event::Rows(a.work.tag, rows));
                        }
                        a.next_stmt += 1;
                    }
                    Poll::Done(Err(e)) => {
                        // A failed statement ends the unit: the rest of it is not sent.
                        failed = Some(e);
                        break;
                    }
                }
            }
            out(Event::Finished(a.work.tag, failed.as_ref()));
            let next = self.queued.iter().position(|q| q.0 == s).map(|k| self.queued.remove(k));
            self.active[s] = next.map(|(_, work)| Active { work, next_stmt: 0, started: false });
        }
        Ok(())
    }
}
