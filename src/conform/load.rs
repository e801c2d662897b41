//! `fksim conform --load`: a workload's load run on a live server. N client threads, each on its
//! own connection to a scratch database, run the clients' loop the simulator runs (the same
//! [`TxnSource`] streams and [`TxnRun`] semantics, think time, application work, COMMIT, deadlock
//! retries), for the same wall-clock seconds; what they measured comes back as a [`LoadResult`]
//! of the simulator's shape, so the two print side by side.
//!
//! Lock waits come from the server: MariaDB's `Innodb_row_lock_waits` and `Innodb_row_lock_time`
//! (global counters: anything else the server runs meanwhile counts too); PostgreSQL has no such
//! counter, so the sessions waiting on a lock (`pg_stat_activity.wait_event_type = 'Lock'`) are
//! sampled every [`SAMPLE`]: a wait is a session seen waiting that was not in the last sample,
//! its time the samples it was seen in. CPU is read from `/proc` (the server's processes and
//! this one's), so it is only reported when the server runs on this machine.

use super::conn::Conn;
use super::cpu;
use super::dialect::{translate, Live};
use super::live::{LiveDb, LiveError};
use crate::app::client::{setup_spec, Next, TxnRun, TxnSource};
use crate::app::workload::{LoadSettings, Workload};
use crate::engine::{EngineKind, ErrorKind};
use crate::scenario::Scenario;
use crate::sim::{LoadResult, Stats};
use crate::spec::parse_spec;
use std::collections::BTreeSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

/// How often PostgreSQL's waiting sessions are sampled.
pub const SAMPLE: Duration = Duration::from_millis(5);

/// What a client sends once on connecting, and at each transaction's start, for the workload's
/// `BEGIN`: Django sets the isolation level of a MariaDB connection once, when it connects
/// (`isolation_level` in its options), so each transaction there starts with a plain BEGIN;
/// PostgreSQL takes the level in its BEGIN.
pub(crate) fn begin_statements(live: Live, begin: &str) -> (Vec<String>, Vec<String>) {
    let mut each = translate(live, begin);
    let once: Vec<String> = each
        .iter()
        .filter_map(|s| s.strip_prefix("SET TRANSACTION ").map(|rest| format!("SET SESSION TRANSACTION {rest}")))
        .collect();
    each.retain(|s| !s.starts_with("SET TRANSACTION "));
    (once, each)
}

/// One live load run's request.
#[derive(Debug, Clone, Copy)]
pub struct LiveLoad<'w> {
    pub workload: &'w Workload,
    pub settings: LoadSettings,
    pub engine: EngineKind,
    pub fk_on: bool,
    pub seed: u64,
}

fn setup(db: &LiveDb, what: &str, why: String) -> LiveError {
    LiveError::Setup { engine: db.name(), what: what.to_string(), why }
}

/// Run `req` on `db`'s server; `progress` is told the seconds elapsed, now and then.
pub fn run_live_load(db: &mut LiveDb, req: LiveLoad, progress: &mut dyn FnMut(f64)) -> Result<LoadResult, LiveError> {
    let w = req.workload;
    let set = req.settings;
    let spec =
        parse_spec("load-setup.spec", &setup_spec(w.user_count())).map_err(|e| setup(db, "setup", e.to_string()))?;
    let sc = Scenario::load(spec, req.engine.schema(req.fk_on)).map_err(|e| setup(db, "setup", e.to_string()))?;
    db.reset(&sc)?;
    let live = db.live();
    let (once, begin) = begin_statements(live, w.isolation.begin());
    let mut conns = Vec::with_capacity(set.clients as usize);
    for _ in 0..set.clients {
        let mut c = db.open_django()?;
        for sql in &once {
            c.exec(sql).map_err(|e| setup(db, sql, e.message))?;
        }
        conns.push(c);
    }
    let stop = Arc::new(AtomicBool::new(false));
    let start = Arc::new(Barrier::new(set.clients as usize + 1));
    let span = Duration::from_secs_f64(set.seconds);
    let mut threads = Vec::new();
    for (c, conn) in conns.into_iter().enumerate() {
        let client = Client {
            conn,
            source: TxnSource::new(w, req.seed, c as u32, set.clients),
            set,
            begin: begin.clone(),
            live,
            stop: stop.clone(),
        };
        let (w, start) = (w.clone(), start.clone());
        threads.push(std::thread::spawn(move || {
            start.wait();
            client.run(&w, Instant::now() + span)
        }));
    }
    let server = cpu::server_pids(live);
    let mut waits = Waits::new(db)?;
    let (cpu_server0, cpu_own0) = (cpu::server_ns(&server), cpu::own_process_ns());
    start.wait();
    let t0 = Instant::now();
    while t0.elapsed() < span {
        waits.sample(db)?;
        progress(t0.elapsed().as_secs_f64());
        std::thread::sleep(SAMPLE.min(span.saturating_sub(t0.elapsed())));
    }
    let used = [cpu::server_ns(&server).saturating_sub(cpu_server0), cpu::own_process_ns().saturating_sub(cpu_own0)];
    stop.store(true, Ordering::Relaxed);
    let mut stats = Stats::default();
    for t in threads {
        let s = t.join().map_err(|_| LiveError::Stuck("a load client".into()))?;
        stats.merge(s?);
    }
    waits.finish(db, &mut stats)?;
    for sql in super::dialect::drop_schema(live, &sc.catalog) {
        db.admin().exec(&sql).map_err(|e| LiveError::Setup {
            engine: live.dialect().name(),
            what: sql,
            why: e.message,
        })?;
    }
    Ok(stats.result(req.engine.name(), req.fk_on, req.seed, set, used))
}

/// One client thread.
struct Client {
    conn: Conn,
    source: TxnSource,
    set: LoadSettings,
    begin: Vec<String>,
    live: Live,
    stop: Arc<AtomicBool>,
}

fn sleep_ms(ms: f64) {
    if ms > 0.0 {
        std::thread::sleep(Duration::from_secs_f64(ms / 1000.0));
    }
}

impl Client {
    /// The clients' loop until `end`: what finished before `end` is counted.
    fn run(mut self, w: &Workload, end: Instant) -> Result<Stats, LiveError> {
        let mut stats = Stats::default();
        // The simulator's clients start spread over one loop's sleeps; so do these.
        sleep_ms(self.source.unit() * (self.set.think_ms + self.set.app_work_ms + 1.0));
        while !self.stop.load(Ordering::Relaxed) && Instant::now() < end {
            let txn = self.source.next_txn(w);
            let kind: Arc<str> = Arc::from(txn.kind());
            let mut retries = 0;
            loop {
                let began = Instant::now();
                let outcome = self.transaction(&txn, &mut stats)?;
                if Instant::now() >= end {
                    break;
                }
                match outcome {
                    Ok(()) => {
                        stats.committed(&kind, began.elapsed().as_nanos() as u64);
                        break;
                    }
                    Err(k) => {
                        let again = k == ErrorKind::Deadlock && retries < self.set.retry_deadlocks;
                        stats.aborted(k.name(), again);
                        if !again {
                            break;
                        }
                        retries += 1;
                    }
                }
            }
            sleep_ms(self.set.think_ms);
        }
        let _ = self.conn.exec("ROLLBACK");
        Ok(stats)
    }

    /// One try of `txn`: BEGIN, its statements as Django sends them, the application's work,
    /// COMMIT; or ROLLBACK after the error that ended it.
    fn transaction(
        &mut self,
        txn: &crate::app::client::LoadTxn,
        stats: &mut Stats,
    ) -> Result<Result<(), ErrorKind>, LiveError> {
        for sql in self.begin.clone() {
            self.send(&sql, stats).map_err(|k| LiveError::Stuck(format!("BEGIN failed: {}", k.name())))?;
        }
        let mut run = TxnRun::new(txn);
        let mut next = run.start();
        loop {
            next = match next {
                Next::Send(sql) => {
                    let mut answer = Ok(0);
                    for s in translate(self.live, &sql) {
                        answer = self.send(&s, stats);
                        if answer.is_err() {
                            break;
                        }
                    }
                    run.answer(answer)
                }
                Next::Commit => {
                    sleep_ms(self.set.app_work_ms);
                    return Ok(self.send("COMMIT", stats).map(|_| ()));
                }
                Next::Rollback(kind) => {
                    let _ = self.send("ROLLBACK", stats);
                    return Ok(Err(kind));
                }
            }
        }
    }

    fn send(&mut self, sql: &str, stats: &mut Stats) -> Result<usize, ErrorKind> {
        stats.statement();
        self.conn.rows(sql).map_err(|e| e.kind)
    }
}

/// The lock waits of a run, as the server tells them.
enum Waits {
    /// MariaDB's counters at the start: waits, and their time in ms.
    Counters(u64, u64),
    /// PostgreSQL's sampled waiting sessions: those in the last sample, waits seen, samples seen.
    Sampled { last: BTreeSet<i32>, count: u64, samples: u64 },
}

const MY_WAITS: &str =
    "SELECT VARIABLE_VALUE FROM information_schema.GLOBAL_STATUS WHERE VARIABLE_NAME = 'INNODB_ROW_LOCK_WAITS'";
const MY_WAIT_MS: &str =
    "SELECT VARIABLE_VALUE FROM information_schema.GLOBAL_STATUS WHERE VARIABLE_NAME = 'INNODB_ROW_LOCK_TIME'";
const PG_WAITING: &str =
    "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'";

impl Waits {
    fn new(db: &mut LiveDb) -> Result<Waits, LiveError> {
        Ok(match db.live() {
            Live::MariaDb => Waits::Counters(counter(db, MY_WAITS)?, counter(db, MY_WAIT_MS)?),
            Live::Postgres => Waits::Sampled { last: BTreeSet::new(), count: 0, samples: 0 },
        })
    }

    fn sample(&mut self, db: &mut LiveDb) -> Result<(), LiveError> {
        let Waits::Sampled { last, count, samples } = self else { return Ok(()) };
        let Conn::Pg(c) = db.admin() else { return Ok(()) };
        let rows = c.query(PG_WAITING, &[]).map_err(|e| LiveError::Setup {
            engine: "PostgreSQL",
            what: PG_WAITING.into(),
            why: e.to_string(),
        })?;
        let now: BTreeSet<i32> = rows.iter().map(|r| r.get::<_, i32>(0)).collect();
        *count += now.difference(last).count() as u64;
        *samples += now.len() as u64;
        *last = now;
        Ok(())
    }

    /// Put the run's waits into `stats`, under the table `(server counters)`.
    fn finish(&self, db: &mut LiveDb, stats: &mut Stats) -> Result<(), LiveError> {
        let (n, ms) = match self {
            Waits::Counters(n0, ms0) => {
                (counter(db, MY_WAITS)?.saturating_sub(*n0), counter(db, MY_WAIT_MS)?.saturating_sub(*ms0) as f64)
            }
            Waits::Sampled { count, samples, .. } => (*count, *samples as f64 * SAMPLE.as_secs_f64() * 1000.0),
        };
        stats.waits_counted(n, (ms * 1e6) as u64);
        Ok(())
    }
}

fn counter(db: &mut LiveDb, sql: &str) -> Result<u64, LiveError> {
    let engine = db.name();
    let v = db.admin().count(&format!("SELECT CAST(({sql}) AS SIGNED)")).map_err(|e| LiveError::Setup {
        engine,
        what: sql.to_string(),
        why: e.message,
    })?;
    Ok(v.max(0) as u64)
}
