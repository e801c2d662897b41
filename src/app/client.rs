//! One client's transactions under load: drawn from a workload, and what Django sends next in
//! each given what the last statement answered. The load simulator and the live load share it.
//!
//! A transaction is `BEGIN`, the statements of its actions, then `COMMIT` (the caller spends the
//! application's work between the last statement and the COMMIT). An action that raises (an
//! error Django does not catch) ends the transaction with `ROLLBACK`, as `transaction.atomic`
//! does; get_or_create goes on as [`super::Action::GetOrCreateEnrollment`] describes.

use super::sql::AppSql;
use super::workload::{Draw, Workload};
use super::{Action, Part};
use crate::engine::ErrorKind;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::sync::Arc;

/// The setup of a load run: the schema, users 1..=`users` (`u1`, ...), each with one enrollment
/// and one bookmark whose ids come from AUTO_INCREMENT (so the rows the clients insert follow
/// them on either engine).
pub fn setup_sql(users: i64) -> String {
    setup_sql_in(&AppSql::default(), users)
}

/// [`setup_sql`] for a run's schema (no DDL for a schema file's: it made the tables).
pub fn setup_sql_in(sql: &AppSql, users: i64) -> String {
    let mut out = String::from(sql.setup_ddl());
    let rows = |f: &dyn Fn(i64) -> Vec<String>| (1..=users).map(f).collect::<Vec<_>>();
    let user_cols = ["id", "username", "last_login", "is_active"];
    let u = rows(&|u| vec![u.to_string(), format!("'u{u}'"), "NULL".into(), "TRUE".into()]);
    out.push_str(&format!("  {};\n", sql.insert("auth_user", &user_cols, &u, true)));
    let e = rows(&|u| vec![u.to_string(), "'c-old'".into(), "TRUE".into()]);
    let enr_cols = ["user_id", "course_id", "is_active"];
    out.push_str(&format!("  {};\n", sql.insert("student_courseenrollment", &enr_cols, &e, false)));
    let b = rows(&|u| vec![u.to_string(), "'b-old'".into()]);
    out.push_str(&format!("  {};\n", sql.insert("bookmarks_bookmark", &["user_id", "usage_key"], &b, false)));
    out
}

/// The setup of a load run as a spec's text (one idle session), for [`crate::scenario::Scenario`].
pub fn setup_spec(users: i64) -> String {
    setup_spec_in(&AppSql::default(), users)
}

/// [`setup_spec`] for a run's schema.
pub fn setup_spec_in(sql: &AppSql, users: i64) -> String {
    format!("setup {{\n{}}}\nsession c\nstep s {{ SELECT 1 FROM auth_user WHERE id = 0; }}\n", setup_sql_in(sql, users))
}

/// One transaction a client runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoadTxn {
    pub actions: Vec<Action>,
    /// How the actions spell their SQL.
    pub sql: Arc<AppSql>,
}

impl LoadTxn {
    /// The kind latencies are reported by: the actions' kinds, joined with `+`.
    pub fn kind(&self) -> String {
        let kinds: Vec<&str> = self.actions.iter().map(Action::kind).collect();
        kinds.join("+")
    }
}

/// The transactions of one client, drawn from a workload with the client's own random stream.
#[derive(Debug, Clone)]
pub struct TxnSource {
    rng: ChaCha8Rng,
    client: u32,
    clients: u32,
    /// How many users this client has saved (get_or_create of a new user).
    saved: i64,
    lo: u32,
    hi: u32,
}

impl TxnSource {
    /// Client `client` of `clients`; its stream is stream `client` of `seed`.
    pub fn new(w: &Workload, seed: u64, client: u32, clients: u32) -> TxnSource {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        rng.set_stream(u64::from(client));
        let [lo, hi] = *w.actions_per_txn.get_ref();
        TxnSource { rng, client, clients, saved: 0, lo, hi }
    }

    /// A uniform draw in `0..1` from this client's stream (think times, start offsets).
    pub fn unit(&mut self) -> f64 {
        self.rng.gen::<f64>()
    }

    /// The next transaction. Inserted child rows take their ids from AUTO_INCREMENT (row 0), and
    /// every saved user an id no other client uses, above the workload's users.
    pub fn next_txn(&mut self, w: &Workload) -> LoadTxn {
        let n = self.rng.gen_range(self.lo..=self.hi);
        let mut actions = Vec::with_capacity(n as usize);
        for _ in 0..n {
            let d = Draw { kind: self.rng.gen(), user: self.rng.gen(), item: self.rng.gen() };
            for mut a in w.actions(d) {
                if let Action::GetOrCreateEnrollment { user, new_user: Some(nu), .. } = &mut a {
                    let id = w.user_count() + 1 + self.saved * i64::from(self.clients) + i64::from(self.client);
                    self.saved += 1;
                    nu.id = id;
                    *user = id;
                }
                actions.push(a);
            }
        }
        LoadTxn { actions, sql: w.sql.clone() }
    }
}

/// What a client sends next.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Next {
    /// A statement of an action.
    Send(String),
    /// Every action returned: the application's work, then COMMIT.
    Commit,
    /// An action raised this error: ROLLBACK (Django's `atomic`).
    Rollback(ErrorKind),
}

/// How a statement answered: its row count, or its error.
pub type Answer<'a> = Result<usize, ErrorKind>;

/// Where a client is in one transaction.
#[derive(Debug, Clone)]
pub struct TxnRun {
    actions: Vec<Action>,
    sql: Arc<AppSql>,
    action: usize,
    part: usize,
    /// The statements of the current part, and how many have been sent.
    stmts: Vec<String>,
    sent: usize,
    /// The error get_or_create caught from its create, re-raised if its get again finds nothing.
    caught: Option<ErrorKind>,
}

impl TxnRun {
    pub fn new(txn: &LoadTxn) -> TxnRun {
        TxnRun {
            actions: txn.actions.clone(),
            sql: txn.sql.clone(),
            action: 0,
            part: 0,
            stmts: Vec::new(),
            sent: 0,
            caught: None,
        }
    }

    /// The first thing to send after BEGIN.
    pub fn start(&mut self) -> Next {
        self.enter_part()
    }

    /// What to send after the last statement answered `a`.
    pub fn answer(&mut self, a: Answer) -> Next {
        let part = self.actions[self.action].parts()[self.part];
        let last_of_part = self.sent == self.stmts.len();
        match (part, a) {
            // get_or_create catches an IntegrityError from its create, rolls back to its
            // savepoint and gets again (see `Action::GetOrCreateEnrollment`).
            (Part::Create, Err(k)) if is_integrity_error(k) => {
                self.caught = Some(k);
                self.part += 1;
                self.enter_part()
            }
            (_, Err(k)) => Next::Rollback(k),
            (_, Ok(_)) if !last_of_part => self.send_next(),
            // The get found the row, or the create succeeded: get_or_create returns.
            (Part::Get, Ok(rows)) if rows > 0 => self.next_action(),
            (Part::Create, Ok(_)) => self.next_action(),
            // The get again found nothing: get_or_create re-raises the IntegrityError.
            (Part::GetAgain, Ok(0)) => Next::Rollback(self.caught.unwrap_or(ErrorKind::UniqueViolation)),
            (Part::Get, Ok(_)) => {
                self.part += 1;
                self.enter_part()
            }
            (Part::Whole | Part::GetAgain, Ok(_)) => self.next_action(),
        }
    }

    fn next_action(&mut self) -> Next {
        self.action += 1;
        self.part = 0;
        self.caught = None;
        self.enter_part()
    }

    fn enter_part(&mut self) -> Next {
        let Some(a) = self.actions.get(self.action) else { return Next::Commit };
        self.stmts = a.part_statements_in(a.parts()[self.part], &self.sql);
        self.sent = 0;
        if self.stmts.is_empty() {
            return self.next_action();
        }
        self.send_next()
    }

    fn send_next(&mut self) -> Next {
        self.sent += 1;
        Next::Send(self.stmts[self.sent - 1].clone())
    }
}

/// Django's `IntegrityError`: a unique or foreign key violation (see `app::drive`).
fn is_integrity_error(k: ErrorKind) -> bool {
    matches!(k, ErrorKind::UniqueViolation | ErrorKind::FkViolation)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::app::NewUser;

    fn goc(new_user: bool) -> LoadTxn {
        let nu = new_user.then(|| NewUser { id: 9, username: "n0".into() });
        LoadTxn {
            sql: Default::default(),
            actions: vec![
                Action::GetOrCreateEnrollment { row: 0, user: 9, new_user: nu, course: "c1".into() },
                Action::Login { user: 1 },
            ],
        }
    }

    fn sent(n: &Next) -> &str {
        match n {
            Next::Send(s) => s.split(' ').next().unwrap_or(""),
            _ => "",
        }
    }

    #[test]
    fn get_or_create_that_finds_the_row_sends_no_insert() {
        let mut r = TxnRun::new(&goc(false));
        assert_eq!(sent(&r.start()), "SELECT");
        let n = r.answer(Ok(1));
        assert!(matches!(&n, Next::Send(s) if s.starts_with("UPDATE auth_user")), "{n:?}");
        assert_eq!(r.answer(Ok(1)), Next::Commit);
    }

    #[test]
    fn get_or_create_catches_a_duplicate_in_its_savepoint() {
        let mut r = TxnRun::new(&goc(true));
        assert_eq!(sent(&r.start()), "INSERT");
        assert_eq!(sent(&r.answer(Ok(1))), "SELECT");
        assert_eq!(sent(&r.answer(Ok(0))), "SAVEPOINT");
        assert_eq!(sent(&r.answer(Ok(0))), "INSERT");
        assert_eq!(sent(&r.answer(Err(ErrorKind::UniqueViolation))), "ROLLBACK");
        assert_eq!(sent(&r.answer(Ok(0))), "RELEASE");
        assert_eq!(sent(&r.answer(Ok(0))), "SELECT");
        assert_eq!(sent(&r.answer(Ok(1))), "UPDATE");
        // The get again finding nothing re-raises.
        let mut r = TxnRun::new(&goc(false));
        r.start();
        r.answer(Ok(0));
        r.answer(Ok(0));
        r.answer(Err(ErrorKind::UniqueViolation));
        r.answer(Ok(0));
        r.answer(Ok(0));
        assert_eq!(r.answer(Ok(0)), Next::Rollback(ErrorKind::UniqueViolation));
        // A create that succeeds releases its savepoint, and get_or_create returns.
        let mut r = TxnRun::new(&goc(false));
        r.start();
        r.answer(Ok(0));
        r.answer(Ok(0));
        assert_eq!(sent(&r.answer(Ok(1))), "RELEASE");
        assert_eq!(sent(&r.answer(Ok(0))), "UPDATE");
    }

    #[test]
    fn any_other_error_rolls_back() {
        let mut r = TxnRun::new(&goc(false));
        r.start();
        assert_eq!(r.answer(Err(ErrorKind::Deadlock)), Next::Rollback(ErrorKind::Deadlock));
        // A lock wait timeout is no IntegrityError: get_or_create's create does not catch it,
        // although InnoDB rolled back only the statement.
        let mut r = TxnRun::new(&goc(false));
        r.start();
        r.answer(Ok(0));
        r.answer(Ok(0));
        assert_eq!(r.answer(Err(ErrorKind::LockTimeout)), Next::Rollback(ErrorKind::LockTimeout));
        let login = LoadTxn { actions: vec![Action::Login { user: 1 }], sql: Default::default() };
        let mut r = TxnRun::new(&login);
        r.start();
        assert_eq!(r.answer(Err(ErrorKind::LockTimeout)), Next::Rollback(ErrorKind::LockTimeout));
    }

    #[test]
    fn sources_are_per_client_streams_and_new_users_never_collide() {
        let text = "sessions = 1\ntransactions = 1\nactions_per_txn = [1, 3]\n[users]\nhot = 2\n[mix]\nget_or_create_new_user = 1\nlogin = 1\n";
        let w = Workload::parse("w.toml", text).unwrap();
        let draw = |c: u32| {
            let mut s = TxnSource::new(&w, 5, c, 3);
            (0..20).map(|_| s.next_txn(&w)).collect::<Vec<_>>()
        };
        assert_eq!(draw(1), draw(1));
        assert_ne!(draw(0), draw(1));
        let mut ids: Vec<i64> = (0..3)
            .flat_map(draw)
            .flat_map(|t| t.actions)
            .filter_map(|a| match a {
                Action::GetOrCreateEnrollment { new_user: Some(n), .. } => Some(n.id),
                _ => None,
            })
            .collect();
        let n = ids.len();
        ids.sort_unstable();
        ids.dedup();
        assert_eq!(ids.len(), n);
        assert!(ids.iter().all(|&i| i > 2));
    }
}
