//! The threaded engine: an engine profile behind one mutex, a thread per session, parked
//! threads woken by the engine's wake-ups, and time an explicit input.
//!
//! ```text
//!   session threads  s1 ──step──┐   s2 ──step──┐   s3 ...        clock thread (a test, `stress`)
//!                               ▼              ▼                       │ when every session is
//!                    ┌────────── Mutex<Core> ──────────────────┐       │ parked: advance(next timer)
//!                    │ Driver<E> (drive.rs) over the engine    │◄──────┘
//!                    │ turn: Free | a session | the clock      │
//!                    │ pending: sessions woken, to resume      │
//!                    │ arrivals: steps and clock moves, in order│
//!                    └──────────────────────────────────────────┘
//!                      │ a blocked statement parks its thread on its Condvar;
//!                      │ the turn passes to each woken session in the engine's order
//! ```
//!
//! One thread at a time holds the *turn*: the session whose step just arrived, a session whose
//! wait the engine ended, or the clock. It runs its own statement (`Driver::run`), then hands the
//! turn to the next session the engine woke (`Driver::take_wakeups`), which resumes its own
//! statement on its own thread, and so on until nobody is woken; then the engine is free for the
//! next arrival. A statement that blocks parks its thread until the turn reaches it. This is the
//! order `Driver::settle` runs sessions in, so a run is the step model's run of the order in which
//! steps and clock moves reached the engine (`arrivals`, replayed by [`replay`]), plus threads.
//! InnoDB's deadlocks are found by the request that closes the cycle, at once; PostgreSQL's, and
//! lock wait timeouts, when the clock reaches them: the clock moves only when every session is
//! parked ([`Threaded::run_clock`]), so a test or `stress` controls time, as loom needs
//! (`Condvar::wait_timeout` never times out there).
//!
//! The synchronisation comes from [`crate::sync`], so loom checks every schedule of it
//! (`tests/loom.rs`).

mod harness;
mod replay;
pub mod stress;

pub use harness::{run_threads, Gate, Pause, Schedule, ThreadedRun};
pub use replay::{compare, replay, Divergence};

use crate::drive::{Driver, Event, Work};
use crate::engine::{DbError, DeadlockInfo, Engine, EngineError, LockDesc, Rows, SessionId};
use crate::lock::Locks;
use crate::sql::Statement;
use crate::sync::{Condvar, Mutex, MutexGuard};
use std::collections::VecDeque;
use std::sync::Arc;

/// What reached the engine, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Arrival {
    /// A session's step (its name).
    Step(SessionId, Arc<str>),
    /// The clock moved to this time (µs), firing the timers due by then.
    Clock(u64),
}

/// What one step did, as its thread saw it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct StepDone {
    /// It did not finish before the engine was free again after it arrived (what the step runner
    /// reports as waiting): its thread parked and someone else's step, or the clock, ended the
    /// wait. A thread that parks only while the sessions its own request woke run (a deadlock
    /// victim rolling back) has not waited.
    pub waited: bool,
    pub error: Option<DbError>,
    pub rows: Vec<Rows>,
}

/// A thread that parked: its session, step and the lock it waited for.
#[derive(Debug, Clone)]
pub struct Park {
    pub session: SessionId,
    pub step: Arc<str>,
    pub wants: Option<LockDesc>,
}

/// Failures of the threaded engine (a statement's own failure is a [`StepDone::error`]).
#[derive(Debug, Clone, thiserror::Error)]
pub enum ThreadedError {
    /// The scenario's setup, teardown or replay failed (bad input, or the step runner's failure).
    #[error(transparent)]
    Run(Arc<crate::run::RunError>),
    #[error("engine failure: {0}")]
    Engine(String),
    #[error("every session is parked and no timer is set (a wait nobody ends): {0}")]
    Stuck(String),
    #[error("a session thread panicked: {0}")]
    Panicked(String),
}

impl From<crate::run::RunError> for ThreadedError {
    fn from(e: crate::run::RunError) -> Self {
        ThreadedError::Run(Arc::new(e))
    }
}

impl From<EngineError> for ThreadedError {
    fn from(e: EngineError) -> Self {
        ThreadedError::Engine(e.to_string())
    }
}

/// Who may call the engine now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Turn {
    Free,
    Session(SessionId),
    Clock,
}

/// Where a session's thread is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Place {
    /// Between steps, or running one (busy: the clock waits for it).
    Busy,
    /// Parked on its statement's lock wait.
    Parked,
    /// Asleep until this time (µs): the application's own work between steps, in virtual time.
    Asleep(u64),
    /// Waiting until this many steps have arrived ([`Threaded::wait_arrived`]); the arrival that
    /// makes it so marks it busy again, before the clock can look.
    Gated(usize),
    /// Gone: it issued its last step.
    Left,
}

#[derive(Debug)]
struct Slot {
    place: Place,
    /// The step it runs, while it runs one.
    step: Option<Arc<str>>,
    /// The turn its step arrived in.
    arrived_in: u64,
    rows: Vec<Rows>,
    done: Option<StepDone>,
}

struct Core<E> {
    driver: Driver<E>,
    turn: Turn,
    /// How many times the turn was taken from free (by an arrival or the clock).
    turns: u64,
    /// Sessions the engine woke that have not resumed yet, in its order.
    pending: VecDeque<SessionId>,
    slots: Vec<Slot>,
    arrivals: Vec<Arrival>,
    steps_arrived: usize,
    parks: Vec<Park>,
    deadlocks: Vec<DeadlockInfo>,
    now: u64,
    check_grants: bool,
    /// The first grant that broke the lock table's invariant, if checked.
    violation: Option<String>,
    /// A failure every thread reports.
    failure: Option<ThreadedError>,
    /// The mutant drops one wake-up (`--cfg fksim_mutant_lost_wakeup`: the loom suite must fail).
    #[cfg(fksim_mutant_lost_wakeup)]
    dropped_one: bool,
}

/// An engine shared by one thread per session.
pub struct Threaded<E> {
    core: Mutex<Core<E>>,
    /// One per session: its thread parks here until the turn reaches it.
    resume: Vec<Condvar>,
    /// Arrivals wait here while a turn is taken.
    free: Condvar,
    /// The clock waits here for every session to park or leave; gates for arrivals.
    quiet: Condvar,
}

impl<E: Engine> Core<E> {
    /// Run session `s`'s unit on the driver (start or resume), recording what it did.
    fn run(&mut self, s: SessionId) {
        let Core { driver, slots, turns, .. } = self;
        let mut record = |ev: Event| match ev {
            Event::Rows(t, r) => slots[t].rows.push(r),
            Event::Finished(t, e) => {
                let slot = &mut slots[t];
                let waited = slot.arrived_in != *turns;
                slot.done = Some(StepDone { waited, error: e.cloned(), rows: std::mem::take(&mut slot.rows) });
            }
            Event::Access(..) | Event::Notice(..) | Event::Blocked(_) => {}
        };
        let r = driver.run(s, &mut record);
        self.after_engine_call(r);
    }

    /// After every call into the engine: keep its deadlocks, check the grants, note a failure.
    fn after_engine_call(&mut self, r: Result<(), EngineError>) {
        if let Err(e) = r {
            self.failure.get_or_insert(e.into());
        }
        let db = self.driver.engine_mut();
        self.deadlocks.extend(db.take_deadlocks());
        if self.check_grants && self.violation.is_none() {
            self.violation = db.parts_mut().1.granted_conflict();
        }
    }

    /// The failure every thread reports, if one happened.
    fn failed(&self) -> Result<(), ThreadedError> {
        self.failure.clone().map_or(Ok(()), Err)
    }

    /// Every session is parked or gone, and nobody holds the turn.
    fn quiet(&self) -> bool {
        self.turn == Turn::Free && self.slots.iter().all(|s| s.place != Place::Busy)
    }
}

impl<E: Engine> Threaded<E> {
    /// Share `db`, which has `sessions` sessions, one thread each. With `check_grants`, the lock
    /// table's invariant ([`crate::lock::Locks::granted_conflict`]) is checked after every call.
    pub fn new(db: E, sessions: usize, check_grants: bool) -> Self {
        let slot = || Slot { place: Place::Busy, step: None, arrived_in: 0, rows: Vec::new(), done: None };
        Threaded {
            core: Mutex::new(Core {
                driver: Driver::new(db, sessions),
                turn: Turn::Free,
                turns: 0,
                pending: VecDeque::new(),
                slots: (0..sessions).map(|_| slot()).collect(),
                arrivals: Vec::new(),
                steps_arrived: 0,
                parks: Vec::new(),
                deadlocks: Vec::new(),
                now: 0,
                check_grants,
                violation: None,
                failure: None,
                #[cfg(fksim_mutant_lost_wakeup)]
                dropped_one: false,
            }),
            resume: (0..sessions).map(|_| Condvar::new()).collect(),
            free: Condvar::new(),
            quiet: Condvar::new(),
        }
    }

    /// Run one step (`stmts`, named `step`) in session `s`, on the caller's thread: it waits for
    /// the engine to be free, runs, parks while its statement waits, and returns what it did.
    pub fn step(&self, s: SessionId, step: Arc<str>, stmts: Arc<[Arc<Statement>]>) -> Result<StepDone, ThreadedError> {
        let mut g = self.core.lock();
        while g.turn != Turn::Free && g.failure.is_none() {
            self.free.wait(&mut g);
        }
        g.failed()?;
        g.turn = Turn::Session(s);
        g.turns += 1;
        g.arrivals.push(Arrival::Step(s, step.clone()));
        g.steps_arrived += 1;
        let arrived = g.steps_arrived;
        for slot in g.slots.iter_mut().filter(|slot| matches!(slot.place, Place::Gated(n) if n <= arrived)) {
            slot.place = Place::Busy;
        }
        self.quiet.notify_all();
        let turns = g.turns;
        let slot = &mut g.slots[s];
        slot.step = Some(step.clone());
        slot.arrived_in = turns;
        g.driver.submit(s, Work { tag: s, stmts, label: step.clone() });
        g.run(s);
        loop {
            self.pass_turn(&mut g, Some(s));
            g.failed()?;
            if let Some(done) = g.slots[s].done.take() {
                g.slots[s].step = None;
                return Ok(done);
            }
            // Blocked: park until the turn is handed to it (nobody else gives the turn to `s`).
            let wants = g.driver.engine().wait_target(s);
            g.parks.push(Park { session: s, step: step.clone(), wants });
            g.slots[s].place = Place::Parked;
            self.quiet.notify_all();
            while g.turn != Turn::Session(s) && g.failure.is_none() {
                self.resume[s].wait(&mut g);
            }
            g.failed()?;
            g.slots[s].place = Place::Busy;
            g.run(s);
        }
    }

    /// Hand the turn, which `me` holds (None: the clock), to the next session the engine woke:
    /// resume it here if it is `me`, else wake its thread. With nobody woken, the engine is free.
    fn pass_turn(&self, g: &mut MutexGuard<'_, Core<E>>, me: Option<SessionId>) {
        loop {
            if g.failure.is_some() {
                self.fail_all(g);
                return;
            }
            if g.pending.is_empty() {
                let woken = g.driver.take_wakeups();
                g.pending.extend(woken);
            }
            let Some(w) = g.pending.pop_front() else {
                g.turn = Turn::Free;
                self.free.notify_all();
                self.quiet.notify_all();
                return;
            };
            if !g.driver.resumable(w) {
                continue;
            }
            if Some(w) == me {
                g.run(w);
                continue;
            }
            g.turn = Turn::Session(w);
            #[cfg(fksim_mutant_lost_wakeup)]
            if !g.dropped_one {
                g.dropped_one = true;
                return;
            }
            self.resume[w].notify_one();
            return;
        }
    }

    /// Record a failure and wake every thread to report it.
    fn fail_all(&self, g: &mut MutexGuard<'_, Core<E>>) {
        g.turn = Turn::Free;
        for cv in &self.resume {
            cv.notify_all();
        }
        self.free.notify_all();
        self.quiet.notify_all();
    }

    /// Stop every thread with `e` (a session thread failed).
    pub fn fail(&self, e: ThreadedError) {
        let mut g = self.core.lock();
        g.failure.get_or_insert(e);
        self.fail_all(&mut g);
    }

    /// Session `s` has issued its last step.
    pub fn leave(&self, s: SessionId) {
        let mut g = self.core.lock();
        g.slots[s].place = Place::Left;
        self.quiet.notify_all();
    }

    /// Block session `s` until `n` steps have reached the engine (a gate an application's own
    /// ordering puts between sessions, such as "both transactions have begun"). Meanwhile the
    /// clock counts it as waiting.
    pub fn wait_arrived(&self, s: SessionId, n: usize) -> Result<(), ThreadedError> {
        let mut g = self.core.lock();
        if g.steps_arrived < n {
            g.slots[s].place = Place::Gated(n);
            self.quiet.notify_all();
            while g.slots[s].place == Place::Gated(n) && g.failure.is_none() {
                self.quiet.wait(&mut g);
            }
        }
        g.failed()
    }

    /// Session `s` sleeps `us` of virtual time (its application's work between two steps): the
    /// clock counts it as waiting for time to pass, and wakes it when the time comes.
    pub fn sleep(&self, s: SessionId, us: u64) -> Result<(), ThreadedError> {
        let mut g = self.core.lock();
        let until = g.now + us;
        g.slots[s].place = Place::Asleep(until);
        self.quiet.notify_all();
        while matches!(g.slots[s].place, Place::Asleep(_)) && g.failure.is_none() {
            self.resume[s].wait(&mut g);
        }
        g.failed()
    }

    /// The clock: whenever every session is parked or asleep (none can move until time passes),
    /// move the time to the first of the engine's next timer and the sleepers' wake-ups, fire
    /// the timers due and wake the sleepers due; return once every session has left.
    pub fn run_clock(&self) -> Result<(), ThreadedError> {
        let mut g = self.core.lock();
        loop {
            g.failed()?;
            if g.slots.iter().all(|s| s.place == Place::Left) {
                return Ok(());
            }
            if !g.quiet() {
                self.quiet.wait(&mut g);
                continue;
            }
            let wake = g.slots.iter().filter_map(|s| if let Place::Asleep(t) = s.place { Some(t) } else { None }).min();
            let timer = g.driver.next_timer();
            let Some(t) = timer.into_iter().chain(wake).min() else {
                let parked: Vec<String> =
                    g.slots.iter().filter_map(|s| s.step.as_deref().map(str::to_string)).collect();
                g.failure = Some(ThreadedError::Stuck(parked.join(", ")));
                self.fail_all(&mut g);
                return Err(g.failure.clone().expect("just set"));
            };
            g.turn = Turn::Clock;
            g.turns += 1;
            g.now = g.now.max(t);
            let now = g.now;
            g.arrivals.push(Arrival::Clock(now));
            let r = g.driver.engine_mut().advance(now);
            g.after_engine_call(r);
            for s in 0..g.slots.len() {
                if matches!(g.slots[s].place, Place::Asleep(t) if t <= now) {
                    g.slots[s].place = Place::Busy;
                    self.resume[s].notify_one();
                }
            }
            self.pass_turn(&mut g, None);
        }
    }

    /// Forget history no open transaction needs ([`Engine::vacuum`]), as a long run must now and
    /// then: between two calls the engine is in a state any statement may start from.
    pub fn vacuum(&self) -> Result<(), ThreadedError> {
        let mut g = self.core.lock();
        let r = g.driver.engine_mut().vacuum().map(|_| ());
        g.after_engine_call(r);
        g.failed()
    }

    /// Run `f` on the engine (with no session thread left running: teardown, orphans).
    pub fn with_engine<R>(&self, f: impl FnOnce(&mut E) -> R) -> R {
        f(self.core.lock().driver.engine_mut())
    }

    /// What reached the engine, the parks, the deadlocks found and the first broken grant.
    pub fn record(&self) -> (Vec<Arrival>, Vec<Park>, Vec<DeadlockInfo>, Option<String>) {
        let g = self.core.lock();
        (g.arrivals.clone(), g.parks.clone(), g.deadlocks.clone(), g.violation.clone())
    }
}
