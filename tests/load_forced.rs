//! The simulator with the clients' order forced waits where `fksim run` waits: for the same
//! permutation, the same steps wait, fail with the same errors (the same deadlock victims) and
//! return the same rows, on both engines, with the FK on and off.

mod common;
use common::costs_with_timeout;
use fksim::app::client::setup_sql;
use fksim::app::workload::{IsolationChoice, LoadSettings, Workload};
use fksim::app::Action;
use fksim::engine::innodb::InnoDb;
use fksim::engine::postgres::PgDb;
use fksim::engine::{Engine, EngineKind, Plain};
use fksim::run::{run_kind, Outcome, Timing};
use fksim::scenario::Scenario;
use fksim::sim::{shipped_costs, Costs, ForcedStep, Simulation};
use fksim::spec::parse_spec;
use fksim::store::IndexedStore;

const USERS: i64 = 3;

/// What became of a step: whether it waited, its error, the rows it returned.
type Seen = (bool, Option<&'static str>, usize);

fn begin() -> String {
    IsolationChoice::ReadCommitted.begin().to_string()
}

fn enroll(user: i64, course: &str) -> String {
    Action::Enroll { row: 0, user, course: course.into() }.statements().remove(0)
}

fn login(user: i64) -> String {
    Action::Login { user }.statements().remove(0)
}

fn rename(user: i64) -> String {
    Action::Rename { user, username: format!("r{user}") }.statements().remove(0)
}

/// The steps of a forced order run by the simulator on engine `E`.
fn simulated<E: Engine<Parts = Plain<IndexedStore>>>(
    clients: usize,
    order: &[(usize, String)],
    costs: &Costs,
    fk_on: bool,
) -> Vec<ForcedStep> {
    let text =
        format!("sessions = 1\ntransactions = 1\nactions_per_txn = [1, 1]\n[users]\nhot = {USERS}\n[mix]\nlogin = 1\n");
    let w = Workload::parse("forced.toml", &text).unwrap();
    let set = LoadSettings { clients: clients as u32, seconds: 60.0, ..LoadSettings::default() };
    let steps: Vec<(usize, &str)> = order.iter().map(|(c, q)| (*c, q.as_str())).collect();
    Simulation::<E>::new(&w, set, costs, fk_on, 1).unwrap().forced(&steps).unwrap().run_forced().unwrap()
}

/// The name of each step of `order`: `c1s2` is the second statement of the first client.
fn names(order: &[(usize, String)]) -> Vec<String> {
    let mut count = std::collections::HashMap::new();
    order
        .iter()
        .map(|(c, _)| {
            let n = count.entry(*c).or_insert(0);
            *n += 1;
            format!("c{}s{n}", c + 1)
        })
        .collect()
}

/// The spec `fksim run` runs for `order`: the simulator's setup, each session set up with the
/// settings the simulator gives every client (`costs`), one statement per step, `order` as the
/// permutation.
fn spec(clients: usize, order: &[(usize, String)], costs: &Costs) -> String {
    let s = &costs.settings;
    let mut sets = Vec::new();
    if let Some(v) = s.lock_wait_timeout_s {
        sets.push(format!("SET innodb_lock_wait_timeout = {v};"));
    }
    if let Some(v) = s.deadlock_timeout_ms {
        sets.push(format!("SET deadlock_timeout = '{v}ms';"));
    }
    if let Some(v) = s.lock_timeout_ms {
        sets.push(format!("SET lock_timeout = '{v}ms';"));
    }
    let names = names(order);
    let mut out = format!("setup {{\n{}}}\n", setup_sql(USERS));
    for c in 0..clients {
        out.push_str(&format!("session c{}\nsetup {{ {} }}\n", c + 1, sets.join(" ")));
        for (k, (_, q)) in order.iter().enumerate().filter(|(_, (d, _))| *d == c) {
            out.push_str(&format!("step {} {{ {q}; }}\n", names[k]));
        }
    }
    out.push_str(&format!("permutation {}\n", names.join(" ")));
    out
}

/// What `fksim run` reports for each step of `order` on `kind`.
fn stepped(kind: EngineKind, clients: usize, order: &[(usize, String)], costs: &Costs, fk_on: bool) -> Vec<Seen> {
    let text = spec(clients, order, costs);
    let sc = Scenario::load(parse_spec("forced.spec", &text).unwrap(), kind.schema(fk_on)).unwrap();
    let report = run_kind(kind, &sc, Timing::default()).unwrap().remove(0);
    names(order)
        .iter()
        .map(|name| {
            let lines: Vec<_> = report.events.iter().filter(|e| *e.step == **name).collect();
            let waited = lines.iter().any(|e| e.outcome == Outcome::Waiting);
            let last = lines.last().unwrap_or_else(|| panic!("{name} reported\n{text}"));
            let rows = last.rows.last().map_or(0, |r| r.rows.len());
            (waited, last.error.as_ref().map(|e| e.kind.name()), rows)
        })
        .collect()
}

/// Run `order` both ways on `kind` and compare them step by step; the simulator's steps.
fn compare(kind: EngineKind, clients: usize, order: &[(usize, String)], costs: &Costs, fk_on: bool) -> Vec<Seen> {
    let sim = match kind {
        EngineKind::Innodb => simulated::<InnoDb<Plain<IndexedStore>>>(clients, order, costs, fk_on),
        EngineKind::Postgres => simulated::<PgDb<Plain<IndexedStore>>>(clients, order, costs, fk_on),
    };
    assert!(sim.iter().all(|s| s.answered), "{kind:?} fk {fk_on}: a step never answered: {sim:#?}");
    let sim: Vec<Seen> = sim.iter().map(|s| (s.waited, s.error.map(|e| e.name()), s.rows)).collect();
    let run = stepped(kind, clients, order, costs, fk_on);
    for (k, name) in names(order).iter().enumerate() {
        assert_eq!(sim[k], run[k], "{kind:?} fk {fk_on}: step {name} ({}): simulator vs fksim run", order[k].1);
    }
    sim
}

/// Which steps waited, and the errors.
fn waited(seen: &[Seen]) -> Vec<usize> {
    (0..seen.len()).filter(|&k| seen[k].0).collect()
}

fn errors(seen: &[Seen]) -> Vec<(usize, &'static str)> {
    seen.iter().enumerate().filter_map(|(k, s)| s.1.map(|e| (k, e))).collect()
}

fn both_engines_both_fks(
    clients: usize,
    order: &[(usize, String)],
    costs: impl Fn(EngineKind) -> Costs,
) -> [Vec<Seen>; 4] {
    let run = |kind, fk_on| compare(kind, clients, order, &costs(kind), fk_on);
    [
        run(EngineKind::Innodb, true),
        run(EngineKind::Innodb, false),
        run(EngineKind::Postgres, true),
        run(EngineKind::Postgres, false),
    ]
}

#[test]
fn an_enrollment_and_a_login_of_the_same_user_wait_as_in_fksim_run() {
    // The login first, then the enrollment; and the other way round.
    let first =
        [(0, begin()), (0, login(1)), (1, begin()), (1, enroll(1, "c1")), (0, "COMMIT".into()), (1, "COMMIT".into())];
    let [innodb_on, innodb_off, pg_on, pg_off] = both_engines_both_fks(2, &first, shipped_costs);
    // InnoDB's FK check waits for S on the user row the login holds X on; nothing else waits.
    assert_eq!(waited(&innodb_on), [3]);
    assert!(waited(&innodb_off).is_empty() && waited(&pg_on).is_empty() && waited(&pg_off).is_empty());
    let second =
        [(1, begin()), (1, enroll(1, "c1")), (0, begin()), (0, login(1)), (1, "COMMIT".into()), (0, "COMMIT".into())];
    let [innodb_on, ..] = both_engines_both_fks(2, &second, shipped_costs);
    assert_eq!(waited(&innodb_on), [3]);
}

#[test]
fn the_upgrade_deadlock_has_the_same_victim_as_in_fksim_run() {
    // Each client enrolls user 1 (S on the row with the FK, on InnoDB), then updates its
    // last_login (X).
    let c = |c: usize, q: String| (c, q);
    let order = [
        c(0, begin()),
        c(1, begin()),
        c(0, enroll(1, "c1")),
        c(1, enroll(1, "c2")),
        c(0, login(1)),
        c(1, login(1)),
        c(0, "COMMIT".into()),
        c(1, "COMMIT".into()),
    ];
    let [innodb_on, innodb_off, pg_on, pg_off] = both_engines_both_fks(2, &order, shipped_costs);
    assert_eq!(errors(&innodb_on).len(), 1, "one deadlock victim: {innodb_on:?}");
    assert_eq!(errors(&innodb_on)[0].1, "deadlock");
    // Without the FK, or on PostgreSQL, the second login just waits for the first.
    for seen in [&innodb_off, &pg_on, &pg_off] {
        assert!(errors(seen).is_empty(), "{seen:?}");
        assert_eq!(waited(seen), [5]);
    }
}

#[test]
fn three_clients_queue_on_a_user_row_as_in_fksim_run() {
    let order = [
        (0, begin()),
        (1, begin()),
        (2, begin()),
        (0, login(1)),
        (1, enroll(1, "c1")),
        (2, login(1)),
        (0, "COMMIT".into()),
        (1, "COMMIT".into()),
        (2, "COMMIT".into()),
    ];
    let [innodb_on, _, pg_on, _] = both_engines_both_fks(3, &order, shipped_costs);
    // InnoDB: the enrollment and the second login queue behind the first login; PostgreSQL's
    // enrollment (FOR KEY SHARE) does not.
    assert_eq!(waited(&innodb_on), [4, 5]);
    assert_eq!(waited(&pg_on), [5]);
}

#[test]
fn a_lock_wait_timeout_and_the_steps_queued_behind_it_as_in_fksim_run() {
    // Client 2 enrolls user 2, then sends one INSERT of two rows, the second for user 1, whose
    // row client 1 renamed (X on InnoDB, FOR UPDATE on PostgreSQL, against the FK's S or KEY
    // SHARE): with the FK the INSERT waits and times out after 5 s. Its SELECT and COMMIT are sent
    // meanwhile and queue behind it: 5 s outlasts the step runner's cadence for them (600 ms for
    // each step sent, 400 ms for each earlier step still waiting), so there too they wait.
    let two_rows =
        "INSERT INTO student_courseenrollment (user_id, course_id, is_active) VALUES (2, 'b', TRUE), (1, 'c', TRUE)";
    let order = [
        (0, begin()),
        (0, rename(1)),
        (1, begin()),
        (1, enroll(2, "a")),
        (1, two_rows.to_string()),
        (1, "SELECT course_id FROM student_courseenrollment WHERE user_id = 2".to_string()),
        (1, "COMMIT".to_string()),
    ];
    let [innodb_on, innodb_off, pg_on, pg_off] = both_engines_both_fks(2, &order, |k| costs_with_timeout(k, 5.0));
    // InnoDB rolls back the statement only (innodb_rollback_on_timeout=OFF): the SELECT sees the
    // setup's enrollment and the first INSERT's, not the timed-out one's.
    assert_eq!(errors(&innodb_on), [(4, "lock_timeout")]);
    assert_eq!(innodb_on[5], (true, None, 2));
    // PostgreSQL's error aborts the transaction: the SELECT fails.
    assert_eq!(errors(&pg_on), [(4, "lock_timeout"), (5, "other")]);
    // Without the FK nothing waits, and the SELECT sees all three.
    for seen in [&innodb_off, &pg_off] {
        assert!(waited(seen).is_empty() && errors(seen).is_empty(), "{seen:?}");
        assert_eq!(seen[5].2, 3);
    }
}
