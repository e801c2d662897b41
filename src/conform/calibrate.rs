//! `fksim calibrate`: the cost model's figures measured on a live server, one client at a time.
//! Each statement kind the load runs (the app's own SQL) is timed in transactions of its own
//! ("shapes"), with the FK on and off. The server's CPU time for each shape is read from `/proc`
//! around the shape's whole loop (the connection's own thread on MariaDB, its backend process on
//! PostgreSQL), and the client's from its own thread. A statement's server time is its latency
//! less the client's CPU and the round trip; a writing COMMIT's is split into CPU and flush by
//! the shape's measured CPU time (`fit`). The server must run on this machine.
//!
//! ```text
//! latency(stmt) = client cpu + round trip + server time(stmt)
//! server time(insert) = insert + index entries x index_entry [+ fk_check with the FK]
//! server time(writing COMMIT) = commit cpu + flush
//! ```

use super::conn::Conn;
use super::cpu;
use super::dialect::{translate, Live};
use super::live::{LiveDb, LiveError};
use crate::app::client::setup_spec;
use crate::app::{Action, NewUser};
use crate::engine::EngineKind;
use crate::scenario::Scenario;
use crate::sim::costs::{Client, Network, Server, Settings, WriteShape};
use crate::sim::Costs;
use crate::spec::{parse_spec, Pos};
use crate::sql::{parse_statement, Catalog, RawStatement};
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

/// Users in the calibration's database (statements rotate over them).
const USERS: i64 = 50;

/// What `calibrate` measured and the costs fitted from it.
#[derive(Debug, Clone)]
pub struct Calibration {
    pub costs: Costs,
    pub measured: Measured,
    pub server_version: String,
    pub reps: usize,
    pub rounds: usize,
    /// The cores were kept busy while measuring ([`cpu::BusyCores`]).
    pub busy_cores: bool,
}

/// The medians over the rounds, with their quartiles, in µs: each statement's latency
/// (`fk-on.login.update`, ...), each shape's server CPU time per repetition (`fk-on.login`), the
/// client's CPU time per statement.
#[derive(Debug, Clone, Default)]
pub struct Measured {
    pub latency_us: BTreeMap<String, [f64; 3]>,
    pub server_us: BTreeMap<String, [f64; 3]>,
    pub client_us: [f64; 3],
}

/// Where the server's CPU time for this connection is read.
enum ServerCpu {
    Thread(u32, u32),
    Process(u32),
}

impl ServerCpu {
    fn ns(&self) -> u64 {
        match *self {
            ServerCpu::Thread(pid, tid) => cpu::thread_ns(pid, tid).unwrap_or(0),
            ServerCpu::Process(pid) => cpu::process_ns(pid).unwrap_or(0),
        }
    }
}

fn unavailable(engine: &'static str, why: &str) -> LiveError {
    LiveError::Setup { engine, what: "reading the server's CPU time".into(), why: why.into() }
}

/// Find the server thread (MariaDB) or process (PostgreSQL) that serves `conn`.
fn server_cpu(live: Live, conn: &mut Conn) -> Result<ServerCpu, LiveError> {
    let engine = live.dialect().name();
    match live {
        Live::Postgres => {
            let pid = conn.count("SELECT pg_backend_pid()::bigint").map_err(|e| unavailable(engine, &e.message))?;
            let p = ServerCpu::Process(pid as u32);
            if cpu::process_ns(pid as u32).is_none() {
                return Err(unavailable(
                    engine,
                    "the backend's /proc entry is not readable: is the server on this machine?",
                ));
            }
            Ok(p)
        }
        Live::MariaDb => {
            let pid = *cpu::server_pids(live)
                .first()
                .ok_or_else(|| unavailable(engine, "no mariadbd process on this machine"))?;
            // The connection's thread is the one that runs a busy statement.
            let before: BTreeMap<u32, u64> = cpu::threads(pid).into_iter().collect();
            conn.exec("DO BENCHMARK(3000000, MD5('fksim'))").map_err(|e| unavailable(engine, &e.message))?;
            let grew = cpu::threads(pid)
                .into_iter()
                .map(|(t, ns)| (ns.saturating_sub(before.get(&t).copied().unwrap_or(ns)), t))
                .max();
            match grew {
                Some((ns, tid)) if ns > 10_000_000 => Ok(ServerCpu::Thread(pid, tid)),
                _ => Err(unavailable(engine, "no server thread ran the probe statement")),
            }
        }
    }
}

/// The transactions measured: a name and its statements' labels and SQL, for repetition `i`.
fn shapes(i: usize) -> Vec<(&'static str, Vec<(&'static str, String)>)> {
    let user = (i as i64 % USERS) + 1;
    let one = |a: Action| a.statements().pop().unwrap_or_default();
    let key = format!("cal-{i}");
    let new_user = NewUser { id: 1_000_000 + i as i64, username: format!("cal-{i}") };
    vec![
        ("noop", vec![("noop", "SELECT 1".into())]),
        ("empty", vec![("commit-read", "COMMIT".into())]),
        (
            "read",
            vec![
                (
                    "select",
                    format!("SELECT id FROM student_courseenrollment WHERE user_id = {user} AND course_id = 'c-old'"),
                ),
                ("commit-read", "COMMIT".into()),
            ],
        ),
        ("login", vec![("update", one(Action::Login { user })), ("commit", "COMMIT".into())]),
        (
            "login2",
            vec![
                ("update", one(Action::Login { user })),
                ("update2", one(Action::Login { user: user % USERS + 1 })),
                ("commit", "COMMIT".into()),
            ],
        ),
        (
            "enroll",
            vec![
                ("insert-child", one(Action::Enroll { row: 0, user, course: key.clone() })),
                ("commit", "COMMIT".into()),
            ],
        ),
        (
            "user",
            vec![
                (
                    "insert-user",
                    format!("INSERT INTO auth_user VALUES ({}, '{}', NULL, TRUE)", new_user.id, new_user.username),
                ),
                ("commit", "COMMIT".into()),
            ],
        ),
        (
            "bookmark",
            vec![
                ("insert-bookmark", one(Action::AddBookmark { row: 0, user, key: key.clone() })),
                ("commit", "COMMIT".into()),
            ],
        ),
        ("unbookmark", vec![("delete", one(Action::DeleteBookmark { user, key })), ("commit", "COMMIT".into())]),
        ("rollback", vec![("update", one(Action::Login { user })), ("rollback", "ROLLBACK".into())]),
    ]
}

/// One round's samples: each statement's latencies (ns), each shape's server and client CPU
/// time per repetition (ns).
#[derive(Default)]
struct Samples {
    latency: BTreeMap<String, Vec<u64>>,
    server: BTreeMap<String, f64>,
    client: BTreeMap<String, f64>,
}

fn median(v: &mut [u64]) -> f64 {
    if v.is_empty() {
        return 0.0;
    }
    v.sort_unstable();
    v[v.len() / 2] as f64
}

fn quartiles(mut v: Vec<f64>) -> [f64; 3] {
    v.sort_by(f64::total_cmp);
    let at = |q: f64| v[((v.len() - 1) as f64 * q).round() as usize];
    [at(0.25), at(0.5), at(0.75)]
}

/// One round on one FK setting: each shape `reps` times back to back, each statement timed, the
/// server's and the client's CPU time read around the shape's whole loop (reading it around
/// each statement would let the server go idle in between and charge it the wake-up from idle).
fn round(db: &mut LiveDb, engine: EngineKind, fk_on: bool, reps: usize) -> Result<Samples, LiveError> {
    let spec = parse_spec("calibrate.spec", &setup_spec(USERS)).map_err(|e| setup(db, e.to_string()))?;
    let sc = Scenario::load(spec, engine.schema(fk_on)).map_err(|e| setup(db, e.to_string()))?;
    let live = db.live();
    let (once, begin) =
        super::load::begin_statements(live, crate::app::workload::IsolationChoice::ReadCommitted.begin());
    db.reset(&sc)?;
    let mut conn = db.open_django()?;
    for sql in &once {
        conn.exec(sql).map_err(|e| setup(db, e.message))?;
    }
    let server = server_cpu(live, &mut conn)?;
    let mut out = Samples::default();
    for name in shapes(0).iter().map(|s| s.0) {
        // Every statement of the loop, translated and labelled before the clock starts, so that
        // the client's CPU time is the driver's alone.
        let mut plan: Vec<(usize, String)> = Vec::new();
        let mut labels: Vec<String> = Vec::new();
        for i in 0..reps {
            let (_, mut stmts) = shapes(i).into_iter().find(|s| s.0 == name).expect("a shape");
            if name != "noop" {
                stmts.splice(0..0, begin.iter().map(|b| ("begin", b.clone())));
            }
            for (label, sql) in stmts {
                let key = format!("{name}.{label}");
                let k = labels.iter().position(|l| *l == key).unwrap_or_else(|| {
                    labels.push(key);
                    labels.len() - 1
                });
                plan.extend(translate(live, &sql).into_iter().map(|s| (k, s)));
            }
        }
        let mut times: Vec<Vec<u64>> = vec![Vec::with_capacity(reps); labels.len()];
        let (server0, client0) = (server.ns(), cpu::own_thread_ns());
        for (k, sql) in &plan {
            let t = Instant::now();
            conn.rows(sql).map_err(|e| LiveError::Setup {
                engine: live.dialect().name(),
                what: sql.clone(),
                why: e.message,
            })?;
            times[*k].push(t.elapsed().as_nanos() as u64);
        }
        let (server_ns, client_ns) =
            (server.ns().saturating_sub(server0), cpu::own_thread_ns().saturating_sub(client0));
        out.server.insert(name.to_string(), server_ns as f64 / reps as f64);
        out.client.insert(name.to_string(), client_ns as f64 / reps as f64);
        for (label, t) in labels.into_iter().zip(times) {
            out.latency.insert(label, t);
        }
    }
    Ok(out)
}

fn setup(db: &LiveDb, why: String) -> LiveError {
    LiveError::Setup { engine: db.name(), what: "the calibration's schema".into(), why }
}

/// How much longer than asked a 2 ms sleep lasts (median of 200), in µs.
fn sleep_overhead_us() -> f64 {
    let mut v: Vec<u64> = (0..200)
        .map(|_| {
            let t = Instant::now();
            std::thread::sleep(Duration::from_millis(2));
            t.elapsed().as_nanos().saturating_sub(2_000_000) as u64
        })
        .collect();
    median(&mut v) / 1000.0
}

/// The index entries and FK checks of `sql`'s write on `engine`'s schema with the FK on.
fn shape_of(engine: EngineKind, sql: &str) -> WriteShape {
    let spec = parse_spec("calibrate.spec", &setup_spec(1)).expect("the load's setup parses");
    let opts = engine.schema(true);
    let sc = Scenario::load(spec, opts).expect("the load's setup binds");
    let mut cat: Catalog = (*sc.catalog).clone();
    let raw = RawStatement { text: sql.to_string(), pos: Pos { line: 1, col: 1 } };
    let st = parse_statement(&raw, &mut cat, opts).expect("the calibration's statements bind");
    WriteShape::of(&st.plan, &sc.catalog, engine.rows_in_primary_key())
}

/// Measure `engine`'s server behind `db`: `rounds` rounds of `reps` repetitions of each
/// shape, FK on and off; `progress` is told the rounds done.
pub fn calibrate(
    db: &mut LiveDb,
    engine: EngineKind,
    reps: usize,
    rounds: usize,
    busy_cores: bool,
    progress: &mut dyn FnMut(usize),
) -> Result<Calibration, LiveError> {
    let live = db.live();
    let engine_name = live.dialect().name();
    let version = match live {
        Live::MariaDb => "SELECT VERSION()",
        Live::Postgres => "SHOW server_version",
    };
    let server_version = {
        let mut c = db.open_django()?;
        let v = c.text(version).map_err(|e| LiveError::Setup {
            engine: engine_name,
            what: version.into(),
            why: e.message,
        })?;
        format!("{engine_name} {v}")
    };
    let _busy = busy_cores.then(cpu::BusyCores::start);
    let mut latency: BTreeMap<String, Vec<f64>> = BTreeMap::new();
    let mut server: BTreeMap<String, Vec<f64>> = BTreeMap::new();
    let mut client = Vec::new();
    for r in 0..rounds {
        for fk_on in [true, false] {
            let fk = if fk_on { "fk-on" } else { "fk-off" };
            let mut out = round(db, engine, fk_on, reps)?;
            let statements: usize = out.latency.values().map(Vec::len).sum();
            client.push(out.client.values().sum::<f64>() * reps as f64 / statements.max(1) as f64 / 1000.0);
            for (k, v) in out.latency.iter_mut() {
                latency.entry(format!("{fk}.{k}")).or_default().push(median(v) / 1000.0);
            }
            for (k, v) in out.server {
                server.entry(format!("{fk}.{k}")).or_default().push(v / 1000.0);
            }
        }
        progress(r + 1);
    }
    let q = |m: BTreeMap<String, Vec<f64>>| m.into_iter().map(|(k, v)| (k, quartiles(v))).collect();
    let measured = Measured { latency_us: q(latency), server_us: q(server), client_us: quartiles(client) };
    let costs = fit(engine, &measured, sleep_overhead_us(), settings(db)?);
    Ok(Calibration { costs, measured, server_version, reps, rounds, busy_cores })
}

/// The server's lock timeouts, as the cost file's `[settings]` carries them.
fn settings(db: &mut LiveDb) -> Result<Settings, LiveError> {
    let engine = db.name();
    let live = db.live();
    let mut num = |sql: &str| -> Result<f64, LiveError> {
        let t = db.admin().text(sql).map_err(|e| LiveError::Setup { engine, what: sql.into(), why: e.message })?;
        Ok(t.trim_end_matches("ms").trim_end_matches('s').parse::<f64>().unwrap_or(0.0))
    };
    Ok(match live {
        Live::MariaDb => {
            Settings { lock_wait_timeout_s: Some(num("SELECT @@innodb_lock_wait_timeout")?), ..Settings::default() }
        }
        Live::Postgres => Settings {
            deadlock_timeout_ms: Some(num("SELECT setting FROM pg_settings WHERE name = 'deadlock_timeout'")?),
            lock_timeout_ms: Some(num("SELECT setting FROM pg_settings WHERE name = 'lock_timeout'")?),
            ..Settings::default()
        },
    })
}

/// The cost model from the medians (the equations in the module's doc). A statement's server
/// time is its latency less the client's CPU time and the round trip, which a no-op statement
/// gives (its latency less both processes' CPU time); no statement but a writing COMMIT waits for
/// I/O here (the rows are cached), so that time is CPU. A writing COMMIT's server time is split
/// by the shape's measured CPU time: what the shape's other statements do not account for is the
/// commit's CPU, the rest its flush. Only transactions that insert or delete are used for it: an
/// UPDATE that leaves the row as it was (`last_login` set within the same second) writes no redo
/// on InnoDB, and its COMMIT flushes nothing.
fn fit(engine: EngineKind, m: &Measured, sleep_overhead_us: f64, settings: Settings) -> Costs {
    let pick =
        |map: &BTreeMap<String, [f64; 3]>, fk: &str, k: &str| map.get(&format!("{fk}.{k}")).map_or(0.0, |x| x[1]);
    let both = |map: &BTreeMap<String, [f64; 3]>, k: &str| (pick(map, "fk-on", k) + pick(map, "fk-off", k)) / 2.0;
    let client = m.client_us[1];
    let noop_cpu = both(&m.server_us, "noop");
    let round_trip = (both(&m.latency_us, "noop.noop") - noop_cpu - client).max(0.0);
    // A statement's server time, from its latency.
    let time = |fk: &str, k: &str| (pick(&m.latency_us, fk, k) - client - round_trip).max(0.0);
    let avg = |k: &str| (time("fk-on", k) + time("fk-off", k)) / 2.0;
    let begins = ["empty", "read", "login", "login2", "enroll", "user", "bookmark", "unbookmark", "rollback"];
    let begin = begins.iter().map(|s| avg(&format!("{s}.begin"))).sum::<f64>() / begins.len() as f64;
    let shape = |sql: &str| shape_of(engine, sql);
    let enroll = shape(&Action::Enroll { row: 0, user: 1, course: "c".into() }.statements()[0]);
    let user = shape("INSERT INTO auth_user VALUES (9, 'u9', NULL, TRUE)");
    let delete = shape(&Action::DeleteBookmark { user: 1, key: "k".into() }.statements()[0]);
    let (e_child, e_user) = (f64::from(enroll.index_entries), f64::from(user.index_entries));
    let (child_off, user_ins) = (time("fk-off", "enroll.insert-child"), avg("user.insert-user"));
    let index_entry = if e_child > e_user { ((child_off - user_ins) / (e_child - e_user)).max(0.0) } else { 0.0 };
    // The writing commits: (shape, its one statement).
    let writes = [
        ("enroll", "insert-child"),
        ("user", "insert-user"),
        ("bookmark", "insert-bookmark"),
        ("unbookmark", "delete"),
    ];
    let mut commit_cpu = Vec::new();
    let mut flush = Vec::new();
    for fk in ["fk-on", "fk-off"] {
        for (shape, stmt) in writes {
            let commit = time(fk, &format!("{shape}.commit"));
            let cpu = (pick(&m.server_us, fk, shape)
                - time(fk, &format!("{shape}.begin"))
                - time(fk, &format!("{shape}.{stmt}")))
            .clamp(0.0, commit);
            commit_cpu.push(cpu);
            flush.push(commit - cpu);
        }
    }
    let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len() as f64;
    Costs {
        engine: engine.name().to_string(),
        network: Network { round_trip_us: r1(round_trip) },
        client: Client { cpu_us: r1(client), sleep_overhead_us: r1(sleep_overhead_us) },
        server: Server {
            begin_us: r1(begin),
            select_us: r1(avg("read.select")),
            insert_us: r1((user_ins - e_user * index_entry).max(0.0)),
            update_us: r1(avg("login.update")),
            delete_us: r1((avg("unbookmark.delete") - f64::from(delete.index_entries) * index_entry).max(0.0)),
            index_entry_us: r1(index_entry),
            fk_check_us: r1((time("fk-on", "enroll.insert-child") - child_off).max(0.0)),
            commit_us: r1(mean(&commit_cpu)),
            flush_us: r1(mean(&flush)),
            rollback_us: r1(avg("rollback.rollback")),
            // A wake-up is not measured one client at a time: resuming a statement is taken to
            // cost what a no-op statement does.
            wake_us: r1(noop_cpu),
            other_us: r1(noop_cpu),
        },
        settings,
    }
}

fn r1(x: f64) -> f64 {
    (x * 10.0).round() / 10.0
}

impl Calibration {
    /// The cost file: a header naming the command, the server and every median measured, then
    /// the costs.
    pub fn file(&self, command: &str) -> String {
        let q = |x: &[f64; 3]| format!("{:.1} [{:.1}, {:.1}]", x[1], x[0], x[2]);
        let mut o = format!(
            "# Fitted by `{command}`\n# on {} ({} rounds of {} repetitions, one client; medians over the rounds,\n\
             # [quartiles] of the rounds' medians), in µs, {}. Client CPU per statement: {}.\n\
             # Server CPU per repetition of each shape:\n",
            self.server_version,
            self.rounds,
            self.reps,
            if self.busy_cores {
                "the cores kept busy at idle priority as under load"
            } else {
                "the cores left to go idle between statements"
            },
            q(&self.measured.client_us)
        );
        for (k, v) in &self.measured.server_us {
            o.push_str(&format!("#   {k:<34} {}\n", q(v)));
        }
        o.push_str("# Latency of each statement:\n");
        for (k, v) in &self.measured.latency_us {
            o.push_str(&format!("#   {k:<34} {}\n", q(v)));
        }
        o.push_str("# wake_us is not measured with one client: it is taken as other_us.\n");
        o.push_str(&toml::to_string(&self.costs).expect("costs serialise"));
        o
    }
}
