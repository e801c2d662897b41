//! The clients' order forced: fixed statements in a fixed order, as `fksim run` issues them.
//!
//! In place of the workload's transactions, each client sends the statements the order gives it,
//! whatever they answer, and only when it is their turn: step `k + 1` of the order is sent once
//! every client has settled after step `k`, that is, once each client's last statement has reached
//! the engine and is either answered or waiting for a lock (and a client whose answer came has
//! sent the step it had in hand). That is the step runner's cadence (`crate::run`), so the waits,
//! errors and deadlock victims of a forced run are those of `fksim run` on the same permutation,
//! where they do not depend on timers: the step runner gives each step 600 ms of virtual time
//! before the next, the simulator only the statements' costs, so lock wait timeouts and
//! PostgreSQL's deadlock checks (`deadlock_timeout`) fire at other points of the order
//! (tests/load_forced.rs compares the two).

use super::{Pending, Simulation};
use crate::engine::{Engine, ErrorKind, Plain};
use crate::sim::SimError;
use crate::sql::{Plan, Statement};
use crate::store::IndexedStore;
use std::collections::VecDeque;
use std::sync::Arc;

/// One statement of a forced order, and what became of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ForcedStep {
    /// The client that sends it (0 is the first).
    pub client: usize,
    pub sql: String,
    /// It waited: the engine left it waiting for a lock, or its turn came while its client's
    /// previous statement was waiting for one (the step runner's `waiting`, either way).
    pub waited: bool,
    /// Its answer reached the client (false: still waiting, or never sent, when the run ended).
    pub answered: bool,
    pub error: Option<ErrorKind>,
    /// The rows it returned (a SELECT).
    pub rows: usize,
}

/// Where a forced order stands.
pub(super) struct Turns {
    steps: Vec<ForcedStep>,
    stmts: Vec<(Arc<Statement>, Pending)>,
    /// The next step whose turn comes.
    next: usize,
    /// The engine has started each step.
    reached: Vec<bool>,
    /// Per client: the step it sent and has no answer to yet, and the steps whose turn came
    /// while it had one.
    current: Vec<Option<usize>>,
    held: Vec<VecDeque<usize>>,
}

impl Turns {
    /// Client `c` has settled: its statement, if it has one out, reached the engine and waits for
    /// a lock, or was answered and the client has no step in hand.
    fn settled(&self, c: usize, answered_by_engine: bool) -> bool {
        match self.current[c] {
            None => self.held[c].is_empty(),
            Some(k) => self.reached[k] && (!answered_by_engine || self.held[c].is_empty()),
        }
    }

    fn finished(&self) -> bool {
        self.next == self.steps.len() && self.current.iter().all(Option::is_none)
    }
}

impl<'w, E: Engine<Parts = Plain<IndexedStore>>> Simulation<'w, E> {
    /// Force the clients' order: `steps` are (client, statement) in the order they are sent, each
    /// client's in its own order (see the module's docs). The workload's transactions, think time
    /// and application work are not used; the sessions keep the cost file's settings. Run it with
    /// [`Simulation::run_forced`].
    pub fn forced(mut self, steps: &[(usize, &str)]) -> Result<Self, SimError> {
        let n = self.clients.len();
        let mut stmts = Vec::with_capacity(steps.len());
        for &(c, sql) in steps {
            if c >= n {
                return Err(SimError::Setup(format!("forced order: client {c} of {n}: {sql}")));
            }
            let stmt = self.statement(sql)?;
            let pending = match stmt.plan {
                Plan::Begin(_) => Pending::Begin,
                Plan::Commit => Pending::Commit,
                Plan::Rollback => Pending::Rollback,
                _ => Pending::Stmt,
            };
            stmts.push((stmt, pending));
        }
        let steps = steps
            .iter()
            .map(|&(client, sql)| ForcedStep {
                client,
                sql: sql.to_string(),
                waited: false,
                answered: false,
                error: None,
                rows: 0,
            })
            .collect::<Vec<_>>();
        self.forced = Some(Box::new(Turns {
            reached: vec![false; steps.len()],
            steps,
            stmts,
            next: 0,
            current: vec![None; n],
            held: vec![VecDeque::new(); n],
        }));
        // No client starts a transaction of its own.
        self.events = super::EventQueue::default();
        Ok(self)
    }

    /// Run a forced order until every step is answered (or the run's seconds are over); what
    /// became of each step, in the order's order.
    pub fn run_forced(mut self) -> Result<Vec<ForcedStep>, SimError> {
        self.go(&mut |_| {})?;
        Ok(self.forced.map(|t| t.steps).unwrap_or_default())
    }

    /// Has a forced order been sent and answered in full?
    pub(super) fn forced_finished(&self) -> bool {
        self.forced.as_ref().is_some_and(|t| t.finished())
    }

    /// Give the next steps their turn while every client has settled.
    pub(super) fn take_turns(&mut self) -> Result<(), SimError> {
        loop {
            let Some(t) = self.forced.as_mut() else { return Ok(()) };
            let clients = &self.clients;
            if t.next == t.steps.len() || !(0..t.current.len()).all(|c| t.settled(c, clients[c].answer.is_some())) {
                return Ok(());
            }
            let k = t.next;
            t.next += 1;
            let c = t.steps[k].client;
            match t.current[c] {
                None => self.send_step(c, k)?,
                Some(_) => {
                    // Behind its client's statement: one waiting for a lock (no answer yet), or
                    // one whose answer is on its way.
                    t.steps[k].waited |= clients[c].answer.is_none();
                    t.held[c].push_back(k);
                }
            }
        }
    }

    /// The engine has run client `c`'s statement: it answered, or left it waiting.
    pub(super) fn forced_reached(&mut self, c: usize) {
        if let Some(t) = self.forced.as_mut() {
            if let Some(k) = t.current[c] {
                t.reached[k] = true;
                t.steps[k].waited |= self.clients[c].answer.is_none();
            }
        }
    }

    fn send_step(&mut self, c: usize, k: usize) -> Result<(), SimError> {
        let Some(t) = self.forced.as_mut() else { return Ok(()) };
        let (stmt, pending) = t.stmts[k].clone();
        t.current[c] = Some(k);
        let cl = &mut self.clients[c];
        if pending == Pending::Begin {
            cl.wrote = false;
        }
        cl.stmt = stmt;
        cl.pending = pending;
        self.send(c)
    }

    /// The answer to client `c`'s forced step arrived: record it; the client sends the step it
    /// has in hand, if any.
    pub(super) fn respond_forced(&mut self, c: usize) -> Result<(), SimError> {
        self.stats.statement();
        let answer = self.clients[c].answer.take().unwrap_or(Ok(0));
        let Some(t) = self.forced.as_mut() else { return Ok(()) };
        let Some(k) = t.current[c].take() else { return Ok(()) };
        let step = &mut t.steps[k];
        step.answered = true;
        match answer {
            Ok(rows) => step.rows = rows,
            Err(e) => step.error = Some(e),
        }
        let cl = &mut self.clients[c];
        match cl.pending {
            Pending::Stmt => {
                let write = matches!(cl.stmt.plan, Plan::Insert { .. } | Plan::Update { .. } | Plan::Delete { .. });
                cl.wrote |= write && answer.is_ok();
            }
            Pending::Commit | Pending::Rollback => cl.wrote = false,
            Pending::Begin => {}
        }
        match t.held[c].pop_front() {
            Some(next) => self.send_step(c, next),
            None => Ok(()),
        }
    }
}
