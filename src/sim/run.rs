//! One load run: the clients' loops, the machine's cores and log, and the engine, on the virtual
//! clock. Each statement goes: the client's CPU, half a round trip, a core of the server (where
//! the engine runs it, or it waits in the engine's lock queue and takes a core again when
//! granted), a commit's log flush, half a round trip back. The clients run the workload's
//! transactions, or a fixed order of statements ([`Simulation::forced`], in `run/forced.rs`).

use super::costs::Costs;
use super::events::{EventQueue, Nanos};
use super::server::{Class, Cores, GroupLog};
use super::stats::{LoadResult, Stats};
use super::SimError;
use crate::app::client::{setup_spec_in, LoadTxn, Next, TxnRun, TxnSource};
use crate::app::workload::{LoadSettings, Workload};
use crate::drive::{Driver, Event, Work};
use crate::engine::{Engine, ErrorKind, Plain};
use crate::run::Runner;
use crate::spec::{parse_spec, Pos};
use crate::sql::{parse_statement, Catalog, Plan, RawStatement, SchemaOptions, Statement};
use crate::store::IndexedStore;
use std::collections::HashMap;
use std::sync::Arc;

mod forced;
pub use forced::ForcedStep;

/// Statements parsed once and kept, up to this many.
const CACHE: usize = 4096;

/// The engine forgets what no transaction can reach ([`Engine::vacuum`]) after this many commits,
/// or, once its tables are large, after one commit per [`VACUUM_VISITS_PER_COMMIT`] records the
/// last vacuum visited: a vacuum's cost grows with the tables, and so the time between them, so
/// that a long run costs the same per commit all along.
pub const VACUUM_EVERY: u64 = 256;
pub const VACUUM_VISITS_PER_COMMIT: u64 = 128;

/// What a client is doing with its current statement.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Pending {
    Begin,
    Stmt,
    Commit,
    Rollback,
}

/// What a client does when its sleep ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum AfterSleep {
    /// Think time is over: begin the next transaction.
    Begin,
    /// The application's work is done: COMMIT.
    Commit,
}

#[derive(Debug, Clone, Copy)]
enum Job {
    /// The client's CPU for a statement it sends.
    Send(usize),
    /// The server starts a statement: the engine runs it now.
    Execute(usize),
    /// The server finishes a statement the engine answered after a wait (or a commit's work
    /// before its flush, where locks are held through the flush).
    Finish(usize),
}

#[derive(Debug)]
enum Ev {
    Wake(usize),
    Arrive(usize),
    /// A job ended after running `Nanos`; for an `Execute`, whether the engine answered (a
    /// statement that waits for a lock gives its core back at once).
    JobDone(Job, Nanos, bool),
    Respond(usize),
    FlushDone,
    Timer,
}

struct Client {
    source: TxnSource,
    label: Arc<str>,
    txn: LoadTxn,
    run: TxnRun,
    kind: Arc<str>,
    retries: u32,
    began: Nanos,
    pending: Pending,
    stmt: Arc<Statement>,
    answer: Option<Result<usize, ErrorKind>>,
    rows: usize,
    wrote: bool,
    raised: Option<ErrorKind>,
    wait: Option<(Nanos, Arc<str>, String)>,
    after_sleep: AfterSleep,
    /// The commit's engine call waits for the flush (locks held through it).
    commit_after_flush: bool,
    /// The commit has been flushed: its engine call came after the flush and had to wait (the
    /// deferred RI checks of a PostgreSQL COMMIT), so it replies once it is done.
    flushed: bool,
}

/// A load run of engine `E`.
pub struct Simulation<'w, E: Engine> {
    w: &'w Workload,
    set: LoadSettings,
    costs: &'w Costs,
    fk_on: bool,
    seed: u64,
    driver: Driver<E>,
    cat: Arc<Catalog>,
    parse_cat: Catalog,
    opts: SchemaOptions,
    cache: HashMap<String, Arc<Statement>>,
    begin: Arc<Statement>,
    commit: Arc<Statement>,
    rollback: Arc<Statement>,
    clients: Vec<Client>,
    events: EventQueue<Ev>,
    cores: Cores<Job>,
    log: GroupLog<usize>,
    stats: Stats,
    now: Nanos,
    end: Nanos,
    engine_now: u64,
    timer_at: Option<u64>,
    /// The client whose statement the engine is starting (its answer needs no extra core time).
    executing: Option<usize>,
    /// Vacuum after this many commits (0: never); commits since the last.
    vacuum_every: u64,
    since_vacuum: u64,
    /// Commits until the next vacuum, from what the last one visited.
    vacuum_spacing: u64,
    /// The clients' order, when it is forced ([`Simulation::forced`]).
    forced: Option<Box<forced::Turns>>,
}

fn us(x: f64) -> Nanos {
    (x * 1000.0).round() as Nanos
}

impl<'w, E: Engine<Parts = Plain<IndexedStore>>> Simulation<'w, E> {
    /// A run of `w` with `set`, costs `costs`, the FK on or off, from `seed`.
    pub fn new(w: &'w Workload, set: LoadSettings, costs: &'w Costs, fk_on: bool, seed: u64) -> Result<Self, SimError> {
        let opts = E::schema(fk_on);
        let text = setup_spec_in(&w.sql, w.user_count());
        let spec = parse_spec("load-setup.spec", &text).map_err(SimError::setup)?;
        let sc = w.sql.base.scenario(spec, opts).map_err(SimError::setup)?;
        let names: Vec<String> = (1..=set.clients).map(|c| format!("c{c}")).collect();
        let db: E = Runner::<E>::new(&sc, IndexedStore::default())?.database(IndexedStore::default(), names)?;
        let cat = sc.catalog.clone();
        let parse_cat = (*cat).clone();
        let mut sim = Simulation {
            w,
            set,
            costs,
            fk_on,
            seed,
            driver: Driver::new(db, set.clients as usize),
            cat,
            parse_cat,
            opts,
            cache: HashMap::new(),
            begin: Arc::new(Self::bind(&mut (*sc.catalog).clone(), opts, w.isolation.begin())?),
            commit: Arc::new(Self::bind(&mut (*sc.catalog).clone(), opts, "COMMIT")?),
            rollback: Arc::new(Self::bind(&mut (*sc.catalog).clone(), opts, "ROLLBACK")?),
            clients: Vec::with_capacity(set.clients as usize),
            events: EventQueue::default(),
            cores: Cores::new(set.server_cores),
            log: GroupLog::new(us(costs.server.flush_us)),
            stats: Stats::default(),
            now: 0,
            end: (set.seconds * 1e9).round() as Nanos,
            engine_now: 0,
            timer_at: None,
            executing: None,
            vacuum_every: VACUUM_EVERY,
            since_vacuum: 0,
            vacuum_spacing: 0,
            forced: None,
        };
        sim.configure_sessions()?;
        for c in 0..set.clients {
            let source = TxnSource::new(w, seed, c, set.clients);
            let begin = sim.begin.clone();
            sim.clients.push(Client {
                source,
                label: Arc::from(format!("c{}", c + 1)),
                txn: LoadTxn { actions: Vec::new(), sql: w.sql.clone() },
                run: TxnRun::new(&LoadTxn { actions: Vec::new(), sql: w.sql.clone() }),
                kind: Arc::from(""),
                retries: 0,
                began: 0,
                pending: Pending::Begin,
                stmt: begin,
                answer: None,
                rows: 0,
                wrote: false,
                raised: None,
                wait: None,
                after_sleep: AfterSleep::Begin,
                commit_after_flush: false,
                flushed: false,
            });
        }
        // Clients start spread over one loop's sleeps, so that they do not move in step.
        let spread = set.think_ms + set.app_work_ms + 1.0;
        for c in 0..sim.clients.len() {
            let at = us(sim.clients[c].source.unit() * spread * 1000.0);
            sim.events.push(at, Ev::Wake(c));
        }
        Ok(sim)
    }

    /// Vacuum the engine after every `commits` commits instead (0: never). What the run measures
    /// does not depend on it (tests/load.rs).
    pub fn vacuum_every(mut self, commits: u64) -> Self {
        self.vacuum_every = commits;
        self
    }

    fn bind(cat: &mut Catalog, opts: SchemaOptions, sql: &str) -> Result<Statement, SimError> {
        let raw = RawStatement { text: sql.to_string(), pos: Pos { line: 1, col: 1 } };
        parse_statement(&raw, cat, opts).map_err(|e| SimError::Statement(format!("{sql}: {}", e.what)))
    }

    /// The server's settings the cost file carries (its lock timeouts), in every session.
    fn configure_sessions(&mut self) -> Result<(), SimError> {
        let s = &self.costs.settings;
        let mut sets = Vec::new();
        if let Some(v) = s.lock_wait_timeout_s {
            sets.push(format!("SET innodb_lock_wait_timeout = {v}"));
        }
        if let Some(v) = s.deadlock_timeout_ms {
            sets.push(format!("SET deadlock_timeout = '{v}ms'"));
        }
        if let Some(v) = s.lock_timeout_ms {
            sets.push(format!("SET lock_timeout = '{v}ms'"));
        }
        let stmts: Vec<Arc<Statement>> = sets.iter().map(|q| self.statement(q)).collect::<Result<_, _>>()?;
        if stmts.is_empty() {
            return Ok(());
        }
        let label: Arc<str> = Arc::from("settings");
        for c in 0..self.set.clients as usize {
            self.driver.submit(c, Work { tag: c, stmts: stmts.clone().into(), label: label.clone() });
        }
        let mut failed = None;
        self.driver.settle(&mut |ev| {
            if let Event::Finished(_, Some(e)) = ev {
                failed = Some(e.message.clone());
            }
        })?;
        match failed {
            Some(m) => Err(SimError::Statement(format!("a server setting: {m}"))),
            None => Ok(()),
        }
    }

    /// The bound statement of `sql` (parsed once while the cache holds it).
    fn statement(&mut self, sql: &str) -> Result<Arc<Statement>, SimError> {
        if let Some(s) = self.cache.get(sql) {
            return Ok(s.clone());
        }
        if self.cache.len() >= CACHE {
            self.cache.clear();
        }
        let s = Arc::new(Self::bind(&mut self.parse_cat, self.opts, sql)?);
        self.cache.insert(sql.to_string(), s.clone());
        Ok(s)
    }

    /// Run to the end and return what was measured; `progress` is told the simulated time
    /// reached, now and then.
    pub fn run(mut self, progress: &mut dyn FnMut(Nanos)) -> Result<LoadResult, SimError> {
        self.go(progress)?;
        let mut r = self.stats.result(E::KIND.name(), self.fk_on, self.seed, self.set, self.cores.used);
        r.multixacts = self.driver.engine().multixacts();
        r.orphans_no_constraint = self.driver.engine().logical_orphans()?.into_iter().collect();
        Ok(r)
    }

    /// Handle the events in time order to the end (or, with the order forced, until it is done).
    fn go(&mut self, progress: &mut dyn FnMut(Nanos)) -> Result<(), SimError> {
        let forced = self.forced.is_some();
        let mut n: u64 = 0;
        if forced {
            self.take_turns()?;
        }
        while let Some((at, ev)) = self.events.pop() {
            if at > self.end {
                break;
            }
            self.now = at;
            self.handle(ev)?;
            if forced {
                self.take_turns()?;
                if self.forced_finished() {
                    break;
                }
            }
            n += 1;
            if n.is_multiple_of(65_536) {
                progress(self.now);
            }
        }
        progress(self.end);
        Ok(())
    }

    fn handle(&mut self, ev: Ev) -> Result<(), SimError> {
        match ev {
            Ev::Wake(c) => match self.clients[c].after_sleep {
                AfterSleep::Begin => self.begin_txn(c, false),
                AfterSleep::Commit => {
                    self.clients[c].pending = Pending::Commit;
                    self.clients[c].stmt = self.commit.clone();
                    self.send(c)
                }
            },
            Ev::Arrive(c) => self.job(Job::Execute(c)),
            Ev::JobDone(job, ran, answered) => {
                let class = if matches!(job, Job::Send(_)) { Class::Client } else { Class::Server };
                if let Some(next) = self.cores.release(class, ran) {
                    self.start_job(next)?;
                }
                match job {
                    Job::Send(c) => {
                        let half = us(self.costs.network.round_trip_us / 2.0);
                        self.events.push(self.now + half, Ev::Arrive(c));
                    }
                    // It waits for a lock; the engine answers when it is granted (a Finish job).
                    Job::Execute(_) if !answered => {}
                    Job::Execute(c) | Job::Finish(c) => self.after_server(c),
                }
                Ok(())
            }
            Ev::Respond(c) => self.respond(c),
            Ev::FlushDone => {
                let (covered, next) = self.log.done(self.now);
                if let Some(at) = next {
                    self.events.push(at, Ev::FlushDone);
                }
                for c in covered {
                    if std::mem::take(&mut self.clients[c].commit_after_flush) {
                        self.clients[c].flushed = true;
                        self.execute(c)?;
                        if self.clients[c].answer.is_none() {
                            // The COMMIT waits (deferred RI checks): it replies when done.
                            continue;
                        }
                    }
                    self.reply(c);
                }
                Ok(())
            }
            Ev::Timer => {
                let due = self.timer_at.is_some_and(|t| t * 1000 <= self.now);
                if due {
                    self.timer_at = None;
                }
                self.engine_call(None, due, |_, _| Ok(()))
            }
        }
    }

    /// A job wants a core.
    fn job(&mut self, j: Job) -> Result<(), SimError> {
        match self.cores.submit(j) {
            Some(j) => self.start_job(j),
            None => Ok(()),
        }
    }

    /// A job got a core: run it, and schedule its end.
    fn start_job(&mut self, j: Job) -> Result<(), SimError> {
        let mut answered = true;
        let ran = match j {
            Job::Send(_) => us(self.costs.client.cpu_us),
            Job::Execute(c) => {
                let cl = &self.clients[c];
                let hold_through_flush =
                    cl.pending == Pending::Commit && cl.wrote && !E::RELEASES_LOCKS_BEFORE_LOG_FLUSH;
                if hold_through_flush {
                    self.clients[c].commit_after_flush = true;
                } else {
                    self.execute(c)?;
                }
                answered = self.clients[c].answer.is_some() || self.clients[c].commit_after_flush;
                if answered {
                    us(self.cost_of(c))
                } else {
                    0
                }
            }
            Job::Finish(c) => us(self.costs.server.wake_us + self.cost_of(c)),
        };
        self.events.push(self.now + ran, Ev::JobDone(j, ran, answered));
        Ok(())
    }

    fn cost_of(&self, c: usize) -> f64 {
        self.costs.statement_us(&self.clients[c].stmt, &self.cat, E::ROWS_IN_PRIMARY_KEY)
    }

    /// The engine runs client `c`'s statement now.
    fn execute(&mut self, c: usize) -> Result<(), SimError> {
        let cl = &mut self.clients[c];
        cl.answer = None;
        cl.rows = 0;
        let work = Work { tag: c, stmts: Arc::from(vec![cl.stmt.clone()]), label: cl.label.clone() };
        self.engine_call(Some(c), false, move |d, out| {
            d.submit(c, work);
            d.settle(out)
        })?;
        self.forced_reached(c);
        Ok(())
    }

    /// Call the engine at the current time (after firing the timers due), then act on what it
    /// reports: answers, waits, wake-ups.
    fn engine_call(
        &mut self,
        executing: Option<usize>,
        timer_due: bool,
        f: impl FnOnce(&mut Driver<E>, &mut dyn FnMut(Event)) -> Result<(), crate::engine::EngineError>,
    ) -> Result<(), SimError> {
        let mut got: Vec<(usize, Got)> = Vec::new();
        let mut collect = |ev: Event| match ev {
            Event::Rows(c, r) => got.push((c, Got::Rows(r.rows.len()))),
            Event::Blocked(c) => got.push((c, Got::Blocked)),
            Event::Finished(c, e) => got.push((c, Got::Finished(e.map(|e| e.kind)))),
            Event::Access(..) | Event::Notice(..) => {}
        };
        let now_us = self.now / 1000;
        // Timers fire only when one is due; otherwise the clock just moves.
        let due = timer_due || self.timer_at.is_some_and(|t| t <= now_us);
        if due {
            self.engine_now = self.engine_now.max(now_us);
            self.driver.advance(self.engine_now, &mut collect)?;
        } else if now_us > self.engine_now {
            self.engine_now = now_us;
            self.driver.set_now(now_us)?;
        }
        f(&mut self.driver, &mut collect)?;
        self.driver.engine_mut().take_deadlocks();
        self.executing = executing;
        // A wait began or a timer fired: the next timer may have moved earlier.
        let timers_moved = due || got.iter().any(|(_, g)| matches!(g, Got::Blocked));
        for (k, (c, g)) in got.iter().enumerate() {
            match g {
                Got::Rows(n) => self.clients[*c].rows = *n,
                Got::Blocked => {
                    self.end_wait(*c);
                    // Only the last wait of a statement in this call is still going on.
                    let later = got[k + 1..].iter().any(|(d, _)| d == c);
                    if !later {
                        if let Some(w) = self.driver.engine().wait_target(*c) {
                            self.clients[*c].wait = Some((self.now, w.table.clone(), w.key.clone()));
                        }
                    }
                }
                Got::Finished(e) => {
                    self.end_wait(*c);
                    let cl = &mut self.clients[*c];
                    cl.answer = Some(match e {
                        None => Ok(cl.rows),
                        Some(k) => Err(*k),
                    });
                    if Some(*c) != self.executing {
                        // Granted (or chosen as a victim, or timed out) while it waited: it
                        // needs a core again to finish.
                        self.job(Job::Finish(*c))?;
                    }
                }
            }
        }
        self.executing = None;
        if !timers_moved {
            return Ok(());
        }
        if let Some(t) = self.driver.next_timer() {
            if self.timer_at.is_none_or(|at| t < at) {
                self.timer_at = Some(t);
                self.events.push((t * 1000).max(self.now), Ev::Timer);
            }
        }
        Ok(())
    }

    fn end_wait(&mut self, c: usize) {
        if let Some((since, table, key)) = self.clients[c].wait.take() {
            self.stats.waited(&table, key, self.now - since);
        }
    }

    /// The server is done with client `c`'s statement: a commit that wrote is flushed first.
    fn after_server(&mut self, c: usize) {
        let cl = &mut self.clients[c];
        let flushed = std::mem::take(&mut cl.flushed);
        if cl.pending == Pending::Commit && cl.wrote && !flushed && cl.answer.as_ref().is_none_or(|a| a.is_ok()) {
            if let Some(at) = self.log.request(c, self.now) {
                self.events.push(at, Ev::FlushDone);
            }
        } else {
            self.reply(c);
        }
    }

    fn reply(&mut self, c: usize) {
        let half = us(self.costs.network.round_trip_us / 2.0);
        self.events.push(self.now + half, Ev::Respond(c));
    }

    /// Client `c` sends its current statement.
    fn send(&mut self, c: usize) -> Result<(), SimError> {
        if self.set.clients_share_cores {
            self.job(Job::Send(c))
        } else {
            let at = self.now + us(self.costs.client.cpu_us + self.costs.network.round_trip_us / 2.0);
            self.events.push(at, Ev::Arrive(c));
            Ok(())
        }
    }

    fn sleep(&mut self, c: usize, ms: f64, after: AfterSleep) -> Result<(), SimError> {
        self.clients[c].after_sleep = after;
        if ms <= 0.0 {
            return self.handle(Ev::Wake(c));
        }
        let at = self.now + us(ms * 1000.0 + self.costs.client.sleep_overhead_us);
        self.events.push(at, Ev::Wake(c));
        Ok(())
    }

    /// Client `c` begins its next transaction (or, `again`, the one a deadlock ended).
    fn begin_txn(&mut self, c: usize, again: bool) -> Result<(), SimError> {
        let cl = &mut self.clients[c];
        if !again {
            cl.txn = cl.source.next_txn(self.w);
            cl.kind = Arc::from(cl.txn.kind());
            cl.retries = 0;
            cl.began = self.now;
        }
        cl.run = TxnRun::new(&cl.txn);
        cl.wrote = false;
        cl.raised = None;
        cl.pending = Pending::Begin;
        cl.stmt = self.begin.clone();
        self.send(c)
    }

    /// The answer to client `c`'s statement arrived.
    fn respond(&mut self, c: usize) -> Result<(), SimError> {
        if self.forced.is_some() {
            return self.respond_forced(c);
        }
        self.stats.statement();
        let answer = self.clients[c].answer.take().unwrap_or(Ok(0));
        let next = match self.clients[c].pending {
            Pending::Begin => match answer {
                Ok(_) => self.clients[c].run.start(),
                Err(k) => Next::Rollback(k),
            },
            Pending::Stmt => {
                let write = matches!(
                    self.clients[c].stmt.plan,
                    Plan::Insert { .. } | Plan::Update { .. } | Plan::Delete { .. }
                );
                self.clients[c].wrote |= write && answer.is_ok();
                self.clients[c].run.answer(answer)
            }
            Pending::Commit => {
                match answer {
                    Ok(_) => {
                        let cl = &self.clients[c];
                        self.stats.committed(&cl.kind, self.now - cl.began);
                        self.since_vacuum += 1;
                        if self.vacuum_every > 0 && self.since_vacuum >= self.vacuum_every.max(self.vacuum_spacing) {
                            self.since_vacuum = 0;
                            let visited = self.driver.engine_mut().vacuum()? as u64;
                            self.vacuum_spacing = visited / VACUUM_VISITS_PER_COMMIT;
                        }
                    }
                    Err(k) => self.stats.aborted(k.name(), false),
                }
                return self.sleep(c, self.set.think_ms, AfterSleep::Begin);
            }
            Pending::Rollback => {
                let raised = self.clients[c].raised.unwrap_or(ErrorKind::Other);
                let again = raised == ErrorKind::Deadlock && self.clients[c].retries < self.set.retry_deadlocks;
                self.stats.aborted(raised.name(), again);
                if again {
                    self.clients[c].retries += 1;
                    return self.begin_txn(c, true);
                }
                return self.sleep(c, self.set.think_ms, AfterSleep::Begin);
            }
        };
        match next {
            Next::Send(sql) => {
                let stmt = self.statement(&sql)?;
                let cl = &mut self.clients[c];
                cl.pending = Pending::Stmt;
                cl.stmt = stmt;
                self.send(c)?;
            }
            Next::Commit => self.sleep(c, self.set.app_work_ms, AfterSleep::Commit)?,
            Next::Rollback(k) => {
                let cl = &mut self.clients[c];
                cl.raised = Some(k);
                cl.pending = Pending::Rollback;
                cl.stmt = self.rollback.clone();
                self.send(c)?;
            }
        }
        Ok(())
    }
}

/// What the engine reported for a client.
#[derive(Debug, Clone, Copy)]
enum Got {
    Rows(usize),
    Blocked,
    Finished(Option<ErrorKind>),
}
