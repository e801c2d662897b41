//! The runner's sessions: each runs one step at a time, statement by statement, and queues steps
//! issued while an earlier one still waits.

use super::teardown::Teardown;
use super::{RunError, Track};
use crate::engine::{Engine, Poll, SessionId};
use crate::scenario::Scenario;
use crate::sql::Statement;
use std::sync::Arc;

/// A step being run: which permutation step, and the next statement to start.
#[derive(Debug, Clone)]
struct Active {
    started: bool,
    perm_index: usize,
    step: usize,
    next_stmt: usize,
}

#[derive(Clone)]
pub(super) struct Sessions<'a> {
    sc: &'a Scenario,
    active: Vec<Option<Active>>,
    /// Steps issued while their session still ran an earlier one: (session, permutation step,
    /// step), in issue order. One list for all sessions: it is empty in most states, and an empty
    /// list copies for free.
    queued: Vec<(SessionId, usize, usize)>,
}

impl<'a> Sessions<'a> {
    pub fn new(sc: &'a Scenario) -> Self {
        let n = sc.sessions.len();
        Sessions { sc, active: vec![None; n], queued: Vec::new() }
    }

    /// The permutation step a session is running, if any.
    pub fn active_of(&self, s: SessionId) -> Option<usize> {
        self.active[s].as_ref().map(|a| a.perm_index)
    }

    /// Run a session's setup block; a failure is a setup failure.
    fn run_block<E: Engine>(
        &self,
        db: &mut E,
        s: SessionId,
        stmts: &[Arc<Statement>],
        what: &str,
    ) -> Result<(), RunError> {
        if stmts.is_empty() {
            return Ok(());
        }
        let label: Arc<str> = Arc::from(format!("{} {what}", self.sc.sessions[s].name));
        for st in stmts {
            match db.start(s, st.clone(), &label)? {
                Poll::Done(Ok(_)) => {}
                Poll::Done(Err(e)) => {
                    return Err(RunError::Setup {
                        file: self.sc.spec.file.clone(),
                        line: st.pos.line,
                        message: e.message,
                    })
                }
                Poll::Blocked => {
                    return Err(RunError::Setup {
                        file: self.sc.spec.file.clone(),
                        line: st.pos.line,
                        message: format!("session {what} blocked on a lock"),
                    })
                }
            }
        }
        Ok(())
    }

    pub fn run_setup<E: Engine>(&self, db: &mut E, s: SessionId) -> Result<(), RunError> {
        self.run_block(db, s, &self.sc.sessions[s].setup, "setup")
    }

    /// The session's teardown block, unless a step of it is still stuck on a lock.
    pub fn run_teardown<E: Engine>(&self, db: &mut E, td: &mut Teardown, s: SessionId) -> Result<(), RunError> {
        if self.active[s].is_some() {
            return Ok(());
        }
        let name = &self.sc.sessions[s].name;
        td.run(db, s, &self.sc.sessions[s].teardown, || format!("{name} teardown"), false)
    }

    /// Issue permutation step `i` (step `step` of session `s`): run it now, or queue it behind the
    /// session's step that still waits.
    pub fn issue(&mut self, i: usize, s: SessionId, step: usize) {
        if self.active[s].is_some() {
            self.queued.push((s, i, step));
        } else {
            self.active[s] = Some(Active { started: false, perm_index: i, step, next_stmt: 0 });
        }
    }

    /// Run every session that can make progress until none can (a step just issued, or one whose
    /// lock was granted), recording finished steps in `tracks`.
    pub fn settle<E: Engine>(&mut self, db: &mut E, tracks: &mut [Track]) -> Result<(), RunError> {
        let fresh: Vec<SessionId> =
            (0..self.active.len()).filter(|&s| self.active[s].as_ref().is_some_and(|a| !a.started)).collect();
        for s in fresh {
            self.advance(db, s, tracks, true)?;
        }
        loop {
            let woken = db.take_wakeups();
            if woken.is_empty() {
                return Ok(());
            }
            for s in woken {
                if self.active[s].as_ref().is_some_and(|a| a.started) {
                    self.advance(db, s, tracks, false)?;
                }
            }
        }
    }

    /// Drive session `s`'s active step: start (or resume) statements until one blocks or the step
    /// ends; then start the next queued step of the session.
    fn advance<E: Engine>(
        &mut self,
        db: &mut E,
        s: SessionId,
        tracks: &mut [Track],
        fresh: bool,
    ) -> Result<(), RunError> {
        let mut resume = !fresh;
        while let Some(a) = self.active[s].clone() {
            let track = &mut tracks[a.perm_index];
            let plan = &self.sc.sessions[s].steps[a.step];
            let mut next = a.next_stmt;
            let mut blocked = false;
            while next < plan.stmts.len() {
                let poll = if resume {
                    resume = false;
                    db.poll(s)?
                } else {
                    let poll = db.start(s, plan.stmts[next].clone(), &plan.name)?;
                    track.access.extend(db.take_access(s));
                    poll
                };
                match poll {
                    Poll::Blocked => {
                        blocked = true;
                        break;
                    }
                    Poll::Done(Ok(rows)) => {
                        track.rows.extend(rows);
                        next += 1;
                    }
                    Poll::Done(Err(e)) => {
                        // A failed statement ends the step: the rest of its SQL is not sent.
                        track.error = Some(e);
                        next = plan.stmts.len();
                    }
                }
            }
            if blocked {
                self.active[s] = Some(Active { started: true, next_stmt: next, ..a });
                return Ok(());
            }
            track.finished = true;
            let next = self.queued.iter().position(|q| q.0 == s).map(|k| self.queued.remove(k));
            self.active[s] = next.map(|(_, i, step)| Active { started: false, perm_index: i, step, next_stmt: 0 });
        }
        Ok(())
    }
}
