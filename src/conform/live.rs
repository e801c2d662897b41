//! Running a scenario on a live MariaDB or PostgreSQL: one connection per session, each on its own
//! thread, steps sent with the timing of the shared recordings (`../shared/conformance/README.md`),
//! outcomes reported with isolationtester's rules, errors classified into the contract's names.

use super::conn::{Canceller, Conn, Target};
use super::dialect::{create_schema, drop_schema, orphan_queries, translate, Live};
use crate::engine::{Access, DbError, Notice, Rows};
use crate::run::cadence::{self, Stage};
use crate::run::{cancel_remaining, Outcome, PermutationReport, StepEvent, Timing, Track};
use crate::scenario::Scenario;
use crate::spec::PermStep;
use crate::sql::{peel_lock_clause, Plan, Statement};
use crossbeam_channel::{unbounded, Receiver, RecvTimeoutError, Sender};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// Why a live run could not be made.
#[derive(Debug, thiserror::Error)]
pub enum LiveError {
    #[error("cannot connect to {url}: {why}")]
    Connect { url: String, why: String },
    #[error("{what} failed on {engine}: {why}")]
    Setup { engine: &'static str, what: String, why: String },
    #[error("session thread for {0} stopped answering")]
    Stuck(String),
}

/// A job for a session thread: statements to run in order, stopping at the first error.
struct Job {
    id: usize,
    stmts: Vec<String>,
}

/// A session: its thread, its job queue and how to cancel it.
struct LiveSession {
    jobs: Option<Sender<Job>>,
    thread: Option<JoinHandle<()>>,
    cancel: Canceller,
}

/// The statements of a step, translated for the engine.
fn texts(live: Live, stmts: &[Arc<Statement>]) -> Vec<String> {
    stmts.iter().flat_map(|s| translate(live, &s.text)).collect()
}

/// What a session thread sends back when a job ends: its id, its outcome, the notices its
/// statements got.
type JobDone = (usize, Result<Vec<Rows>, DbError>, Vec<Notice>);

/// A job's outcome and notices, by job id, until its track takes them.
type Inbox = BTreeMap<usize, (Result<Vec<Rows>, DbError>, Vec<Notice>)>;

/// Job ids for things that are not permutation steps.
const SETUP_JOB: usize = usize::MAX;

/// One live server and the scratch database the runs use (created on connect, dropped by `close`).
pub struct LiveDb {
    live: Live,
    url: String,
    scratch: String,
    base: Conn,
    target: Target,
    admin: Conn,
    pub timing: Timing,
    /// The schema file the runs create (`conform --schema`), in place of the catalog's DDL.
    schema: Option<super::LiveSchema>,
}

impl LiveDb {
    /// Connect to the server at `url` and create a scratch database for the runs.
    pub fn connect(live: Live, url: &str, timing: Timing) -> Result<LiveDb, LiveError> {
        let base_target = Target::parse(live, url)?;
        let mut base = Conn::open(&base_target, url)?;
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let scratch = format!("fksim_conform_{}_{}", std::process::id(), NEXT.fetch_add(1, Ordering::Relaxed));
        let engine = live.dialect().name();
        let setup = |what: &str, e: DbError| LiveError::Setup { engine, what: what.to_string(), why: e.message };
        let drop = format!("DROP DATABASE IF EXISTS {scratch}");
        base.exec(&drop).map_err(|e| setup(&drop, e))?;
        let create = format!("CREATE DATABASE {scratch}");
        base.exec(&create).map_err(|e| setup(&create, e))?;
        let target = base_target.with_db(&scratch);
        let mut admin = Conn::open(&target, url)?;
        // Nothing the admin connection does may wait forever.
        let limit = live.dialect().admin_limit();
        admin.exec(limit).map_err(|e| setup(limit, e))?;
        Ok(LiveDb { live, url: url.to_string(), scratch, base, target, admin, timing, schema: None })
    }

    /// Drop the scratch database.
    pub fn close(mut self) -> Result<(), LiveError> {
        drop(self.admin);
        let sql = format!("DROP DATABASE IF EXISTS {}", self.scratch);
        let engine = self.live.dialect().name();
        self.base.exec(&sql).map_err(|e| LiveError::Setup { engine, what: sql, why: e.message })
    }

    pub(crate) fn name(&self) -> &'static str {
        self.live.dialect().name()
    }

    /// A new connection to the scratch database, as Django's connections are made.
    pub(crate) fn open_django(&self) -> Result<Conn, LiveError> {
        Conn::open(&self.target.as_django(), &self.url)
    }

    /// The connection that set the database up (nothing it runs waits long).
    pub(crate) fn admin(&mut self) -> &mut Conn {
        &mut self.admin
    }

    pub(crate) fn live(&self) -> Live {
        self.live
    }

    fn admin_exec(&mut self, sql: &str) -> Result<(), LiveError> {
        let engine = self.name();
        self.admin.exec(sql).map_err(|e| LiveError::Setup { engine, what: sql.to_string(), why: e.message })
    }

    /// Create the tables of a schema file (its own DDL) for the next runs, or (None) the
    /// catalog's again.
    pub fn set_schema(&mut self, schema: Option<super::LiveSchema>) {
        self.schema = schema;
    }

    /// Recreate the scenario's tables and run its setup statements.
    pub(crate) fn reset(&mut self, sc: &Scenario) -> Result<(), LiveError> {
        for sql in drop_schema(self.live, &sc.catalog) {
            self.admin_exec(&sql)?;
        }
        let create = match &self.schema {
            None => create_schema(self.live, &sc.catalog),
            Some(s) => s.create(self.live, &sc.catalog).map_err(|why| LiveError::Setup {
                engine: self.name(),
                what: format!("the schema file {}", s.file.file),
                why,
            })?,
        };
        for sql in create {
            self.admin_exec(&sql)?;
        }
        for st in &sc.setup {
            for sql in translate(self.live, &st.text) {
                self.admin_exec(&sql)?;
            }
        }
        Ok(())
    }

    /// Make the scenario's tables and run its setup, as each permutation starts (for a look at
    /// what the server has: [`LiveDb::count`]).
    pub fn set_up(&mut self, sc: &Scenario) -> Result<(), LiveError> {
        self.reset(sc)
    }

    /// A `SELECT COUNT(*) ...` on the admin connection.
    pub fn count(&mut self, sql: &str) -> Result<i64, LiveError> {
        let engine = self.name();
        self.admin.count(sql).map_err(|e| LiveError::Setup { engine, what: sql.to_string(), why: e.message })
    }

    /// Drop the scenario's tables.
    pub fn clean(&mut self, sc: &Scenario) -> Result<(), LiveError> {
        for sql in drop_schema(self.live, &sc.catalog) {
            self.admin_exec(&sql)?;
        }
        Ok(())
    }

    fn open_session(&self, results: Sender<JobDone>) -> Result<LiveSession, LiveError> {
        let sink: Arc<parking_lot::Mutex<Vec<Notice>>> = Arc::default();
        let mut conn = Conn::open_with_notices(&self.target, &self.url, sink.clone())?;
        let settings = self.live.dialect().session_settings();
        for s in settings {
            conn.exec(s).map_err(|e| LiveError::Setup { engine: self.name(), what: s.to_string(), why: e.message })?;
        }
        let cancel = conn.canceller();
        sink.lock().clear();
        let (tx, rx): (Sender<Job>, Receiver<Job>) = unbounded();
        let thread = std::thread::spawn(move || {
            for job in rx {
                let mut outcome = Ok(Vec::new());
                for sql in &job.stmts {
                    let query = sql.trim_start().get(..6).is_some_and(|w| w.eq_ignore_ascii_case("SELECT"));
                    let done = if query { conn.result_set(sql).map(Some) } else { conn.exec(sql).map(|_| None) };
                    match (done, &mut outcome) {
                        (Ok(Some(rows)), Ok(sets)) => sets.push(rows),
                        (Ok(_), _) => {}
                        (Err(e), _) => {
                            outcome = Err(e);
                            break;
                        }
                    }
                }
                let notices = std::mem::take(&mut *sink.lock());
                if results.send((job.id, outcome, notices)).is_err() {
                    break;
                }
            }
            // Whatever is left open is rolled back when the connection closes.
            let _ = conn.exec("ROLLBACK");
        });
        Ok(LiveSession { jobs: Some(tx), thread: Some(thread), cancel })
    }

    /// The access path MariaDB reports for `st` (`EXPLAIN`, on the admin connection: it takes no
    /// row locks for UPDATE and DELETE; a locking SELECT is explained without its locking clause,
    /// since `EXPLAIN SELECT ... FOR UPDATE` reads a `const` row with its lock). None for a
    /// statement that scans nothing, or if EXPLAIN failed.
    fn explain(&mut self, sc: &Scenario, st: &Statement) -> Option<Access> {
        use mysql::prelude::Queryable;
        let table = st.plan.table()?;
        match &st.plan {
            Plan::Update { .. } | Plan::Delete { .. } | Plan::Select { lock: Some(_), .. } => {}
            _ => return None,
        }
        let text = translate(self.live, &st.text).into_iter().next()?;
        let text = peel_lock_clause(&text).map(|(t, _)| t).unwrap_or(text);
        let Conn::My(conn) = &mut self.admin else { return None };
        let rows: Vec<mysql::Row> = conn.query(format!("EXPLAIN {text}")).ok()?;
        let name = &sc.catalog.tables[table].name;
        let text_of = |r: &mysql::Row, col: &str| r.get_opt::<Option<String>, _>(col).and_then(Result::ok).flatten();
        let row = rows.iter().find(|r| text_of(r, "table").is_some_and(|t| t.eq_ignore_ascii_case(name)));
        let Some(row) = row else {
            let extra = rows.first().and_then(|r| text_of(r, "Extra")).unwrap_or_default();
            return Some(Access { table: name.as_str().into(), path: "unknown".into(), undecided: Some(extra) });
        };
        let (kind, key) = (text_of(row, "type").unwrap_or_default(), text_of(row, "key"));
        // `ALL`, and UPDATE's `index PRIMARY`, walk the whole clustered index.
        let path = match (kind.as_str(), key.as_deref()) {
            ("ALL", _) | ("index", None | Some("PRIMARY")) => "full scan".to_string(),
            ("index", Some(k)) => format!("full scan of {k}"),
            (_, Some(k)) => k.to_string(),
            (_, None) => "unknown".into(),
        };
        Some(Access { table: name.as_str().into(), path, undecided: None })
    }

    fn cancel(&mut self, c: &Canceller) {
        match c {
            Canceller::My(id) => {
                let _ = self.admin.exec(&format!("KILL QUERY {id}"));
            }
            Canceller::Pg(token) => {
                let _ = token.cancel_query(postgres::NoTls);
            }
        }
    }

    /// Run one permutation on the live server.
    pub fn run(&mut self, sc: &Scenario, perm: &[PermStep]) -> Result<PermutationReport, LiveError> {
        self.reset(sc)?;
        let (res_tx, res_rx) = unbounded();
        let mut sessions = Vec::new();
        for _ in &sc.sessions {
            sessions.push(self.open_session(res_tx.clone())?);
        }
        // Session setups, one at a time (a failing statement there is reported, not fatal).
        for (s, plan) in sc.sessions.iter().enumerate() {
            let stmts = texts(self.live, &plan.setup);
            if stmts.is_empty() {
                continue;
            }
            send(&sessions[s], Job { id: SETUP_JOB, stmts })?;
            match res_rx.recv_timeout(Duration::from_secs(15)) {
                Ok((SETUP_JOB, ..)) => {}
                _ => return Err(LiveError::Stuck(plan.name.clone())),
            }
        }
        let mut tracks: Vec<Track> = Vec::with_capacity(perm.len());
        for p in perm {
            let (session, step) = sc.spec.find_step(&p.name).unwrap_or((0, 0));
            tracks.push(Track { session, step, ..Track::default() });
        }
        let mut events: Vec<StepEvent> = Vec::new();
        let timing = self.timing;
        let mut stage = LiveStage { db: self, sc, perm, sessions: &sessions, rx: &res_rx, inbox: BTreeMap::new() };
        for i in 0..perm.len() {
            tracks[i].launched = true;
            cadence::issue(&mut stage, timing, perm, &mut tracks, &mut events, i)?;
        }
        // Give the steps still waiting a last chance (then they are cancelled).
        cadence::drain(&mut stage, timing, perm, &mut tracks, &mut events)?;
        let mut inbox = std::mem::take(&mut stage.inbox);
        let stuck: Vec<usize> = (0..tracks.len()).filter(|&i| tracks[i].launched && !tracks[i].finished).collect();
        if !stuck.is_empty() {
            let cancels: Vec<Canceller> = sessions.iter().map(|s| s.cancel.clone()).collect();
            for c in &cancels {
                self.cancel(c);
            }
            let deadline = Instant::now() + Duration::from_secs(5);
            while stuck.iter().any(|&i| !tracks[i].finished) && Instant::now() < deadline {
                drain(&res_rx, &mut inbox, &mut tracks, Duration::from_millis(50));
            }
            // The cancelled steps are reported as the model reports its own cancellations.
            for &i in &stuck {
                tracks[i].finished = false;
            }
            cancel_remaining(perm, &mut tracks, &mut events);
        }
        // Roll back and close every session, then count orphans.
        for s in &mut sessions {
            s.jobs = None;
        }
        for s in &mut sessions {
            if let Some(t) = s.thread.take() {
                join_with_timeout(t, Duration::from_secs(10));
            }
        }
        let mut orphans = 0;
        for q in orphan_queries(self.live, &sc.catalog) {
            let engine = self.name();
            orphans +=
                self.admin.count(&q).map_err(|e| LiveError::Setup { engine, what: q.clone(), why: e.message })?;
        }
        Ok(PermutationReport {
            steps: perm.iter().map(|p| p.name.to_string()).collect(),
            events,
            orphans: orphans as usize,
            // The live count covers them (every declared and logical foreign key's query); not
            // broken down per reference.
            orphans_by_ref: Vec::new(),
            multixacts: None,
            max_wait_chain: 0,
            stranded: Vec::new(),
            setup_rows: Vec::new(),
            teardown_rows: Vec::new(),
        })
    }
}

fn send(s: &LiveSession, job: Job) -> Result<(), LiveError> {
    s.jobs.as_ref().and_then(|tx| tx.send(job).ok()).ok_or_else(|| LiveError::Stuck("a session".into()))
}

/// The live server as the cadence's stage: sessions on their threads, the wall clock.
struct LiveStage<'r> {
    db: &'r mut LiveDb,
    sc: &'r Scenario,
    perm: &'r [PermStep],
    sessions: &'r [LiveSession],
    rx: &'r Receiver<JobDone>,
    inbox: Inbox,
}

impl Stage for LiveStage<'_> {
    type Error = LiveError;

    fn send(&mut self, i: usize, tracks: &mut [Track]) -> Result<(), LiveError> {
        let (s, step) = (tracks[i].session, tracks[i].step);
        // The plan is asked for just before the step is sent, unless the step will queue behind
        // an earlier one of its session (it would run later, on other rows).
        let busy = (0..i).any(|j| tracks[j].session == s && !tracks[j].finished);
        let stmts = &self.sc.sessions[s].steps[step].stmts;
        if self.db.live.dialect().explains() && !busy {
            for st in stmts.iter() {
                if let Some(a) = self.db.explain(self.sc, st) {
                    tracks[i].access.push(a);
                }
            }
        }
        send(&self.sessions[s], Job { id: i, stmts: texts(self.db.live, stmts) })
    }

    fn pass(
        &mut self,
        tracks: &mut [Track],
        span: Duration,
        done: &dyn Fn(&[Track]) -> bool,
    ) -> Result<bool, LiveError> {
        let deadline = Instant::now() + span;
        while !done(tracks) {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                break;
            }
            drain(self.rx, &mut self.inbox, tracks, left.min(Duration::from_millis(50)));
        }
        Ok(done(tracks))
    }

    fn waiting_line(&mut self, tracks: &mut [Track], i: usize) -> StepEvent {
        StepEvent { access: std::mem::take(&mut tracks[i].access), ..waiting_line(self.perm, i) }
    }
}

fn waiting_line(perm: &[PermStep], i: usize) -> StepEvent {
    StepEvent::new(perm[i].name.clone(), Outcome::Waiting)
}

/// Record results that arrive within `timeout`.
fn drain(rx: &Receiver<JobDone>, inbox: &mut Inbox, tracks: &mut [Track], timeout: Duration) {
    match rx.recv_timeout(timeout) {
        Ok((id, r, notices)) => {
            inbox.insert(id, (r, notices));
        }
        Err(RecvTimeoutError::Timeout | RecvTimeoutError::Disconnected) => {}
    }
    while let Ok((id, r, notices)) = rx.try_recv() {
        inbox.insert(id, (r, notices));
    }
    for (id, (r, notices)) in std::mem::take(inbox) {
        if let Some(t) = tracks.get_mut(id) {
            t.finished = true;
            t.notices = notices;
            match r {
                Ok(rows) => t.rows = rows,
                Err(e) => t.error = Some(e),
            }
        }
    }
}

fn join_with_timeout(t: JoinHandle<()>, timeout: Duration) {
    let deadline = Instant::now() + timeout;
    while !t.is_finished() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(10));
    }
    if t.is_finished() {
        let _ = t.join();
    }
}
