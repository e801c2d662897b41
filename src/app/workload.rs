//! Workload files (`model/workloads/*.toml`): sessions, hot and cold users, an action mix; and the
//! concrete session scripts drawn from one, from a seed or from raw draws (property tests).

use super::{Action, NewUser};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::Deserialize;
use std::ops::Range;
use toml::Spanned;

/// A workload file that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum WorkloadError {
    #[error("{file}: {cause}")]
    Io { file: String, cause: std::io::Error },
    #[error("{file}:{line}: {what}")]
    Invalid { file: String, line: usize, what: String },
}

/// The isolation level every generated transaction asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum IsolationChoice {
    /// Django's default on MySQL/MariaDB (since Django 2.0) and PostgreSQL's default.
    #[default]
    ReadCommitted,
    RepeatableRead,
    /// Plain `BEGIN`: the server's default (InnoDB REPEATABLE READ, PostgreSQL READ COMMITTED).
    ServerDefault,
}

impl IsolationChoice {
    pub fn begin(self) -> &'static str {
        match self {
            IsolationChoice::ReadCommitted => "BEGIN ISOLATION LEVEL READ COMMITTED",
            IsolationChoice::RepeatableRead => "BEGIN ISOLATION LEVEL REPEATABLE READ",
            IsolationChoice::ServerDefault => "BEGIN",
        }
    }
}

/// The users: `hot` ids 1..=hot take `hot_weight` of the picks; `cold` more follow.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Users {
    pub hot: Spanned<u32>,
    #[serde(default = "default_cold")]
    pub cold: Spanned<u32>,
    /// Share of user picks that go to a hot user, 0.0..=1.0.
    #[serde(default = "default_hot_weight")]
    pub hot_weight: Spanned<f64>,
    /// Usernames get_or_create's unsaved users draw from (a small pool makes them collide).
    #[serde(default = "default_new_names")]
    pub new_usernames: u32,
}

fn default_cold() -> Spanned<u32> {
    Spanned::new(0..0, 0)
}

fn default_hot_weight() -> Spanned<f64> {
    Spanned::new(0..0, 0.8)
}

fn default_new_names() -> u32 {
    2
}

/// Relative weights of the actions.
#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Mix {
    #[serde(default)]
    pub enroll: u32,
    #[serde(default)]
    pub bookmark_add: u32,
    #[serde(default)]
    pub bookmark_delete: u32,
    #[serde(default)]
    pub login: u32,
    #[serde(default)]
    pub rename: u32,
    #[serde(default)]
    pub delete_user: u32,
    #[serde(default)]
    pub get_or_create: u32,
    #[serde(default)]
    pub get_or_create_new_user: u32,
    #[serde(default)]
    pub sweep: u32,
    /// courseware's StudentModule get_or_create, then the save of its state (a schema with
    /// `courseware_studentmodule`, `--schema`).
    #[serde(default)]
    pub studentmodule: u32,
    /// completion's `submit_completion` (a schema with `completion_blockcompletion`).
    #[serde(default)]
    pub completion: u32,
}

impl Mix {
    fn weights(&self) -> [u32; 11] {
        [
            self.enroll,
            self.bookmark_add,
            self.bookmark_delete,
            self.login,
            self.rename,
            self.delete_user,
            self.get_or_create,
            self.get_or_create_new_user,
            self.sweep,
            self.studentmodule,
            self.completion,
        ]
    }

    /// The weights' sum (in 64 bits: eleven `u32` weights may add up past `u32::MAX`).
    pub fn total(&self) -> u64 {
        self.weights().iter().map(|&w| u64::from(w)).sum()
    }
}

/// A workload file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Workload {
    pub sessions: Spanned<u32>,
    /// Transactions per session.
    pub transactions: Spanned<u32>,
    /// Actions per transaction: `[min, max]`.
    pub actions_per_txn: Spanned<[u32; 2]>,
    /// Courses and bookmark keys drawn from (few make unique violations likely).
    #[serde(default = "default_items")]
    pub items: u32,
    #[serde(default)]
    pub isolation: IsolationChoice,
    pub users: Users,
    pub mix: Spanned<Mix>,
    /// How `fksim load` runs it: clients, times, the server's cores.
    #[serde(default)]
    pub load: Option<Spanned<LoadTable>>,
    /// How the actions spell their SQL: the built-in schema unless [`Workload::set_sql`] gave
    /// one.
    #[serde(skip)]
    pub sql: std::sync::Arc<super::sql::AppSql>,
}

/// The `[load]` table: a closed system of `clients`, each looping think time, BEGIN, one
/// transaction's statements, `app_work_ms` of application work with the transaction open, COMMIT.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LoadTable {
    pub clients: Option<Spanned<u32>>,
    /// Simulated (or, live, measured) seconds.
    pub seconds: Option<Spanned<f64>>,
    pub app_work_ms: Option<Spanned<f64>>,
    pub think_ms: Option<Spanned<f64>>,
    pub server_cores: Option<Spanned<u32>>,
    /// How many times a deadlock victim's transaction is run again (0: never).
    pub retry_deadlocks: Option<Spanned<u32>>,
    /// Whether the clients' own CPU work runs on the server's cores (one machine, as when
    /// measuring on it), or elsewhere.
    pub clients_share_cores: Option<bool>,
}

/// The `[load]` settings with defaults filled in and command-line overrides applied.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct LoadSettings {
    pub clients: u32,
    pub seconds: f64,
    pub app_work_ms: f64,
    pub think_ms: f64,
    pub server_cores: u32,
    pub retry_deadlocks: u32,
    pub clients_share_cores: bool,
}

impl Default for LoadSettings {
    fn default() -> Self {
        LoadSettings {
            clients: 8,
            seconds: 10.0,
            app_work_ms: 0.0,
            think_ms: 0.0,
            server_cores: 2,
            retry_deadlocks: 0,
            clients_share_cores: true,
        }
    }
}

/// Command-line values that replace the `[load]` table's (`--clients 32`).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct LoadOverrides {
    pub clients: Option<u32>,
    pub seconds: Option<f64>,
    pub app_work_ms: Option<f64>,
    pub think_ms: Option<f64>,
    pub server_cores: Option<u32>,
    pub retry_deadlocks: Option<u32>,
}

impl LoadSettings {
    /// The most clients a run may have.
    pub const MAX_CLIENTS: u32 = 100_000;

    /// Check a settings value; `what` says what is wrong.
    pub fn check(&self) -> Result<(), String> {
        if self.clients == 0 || self.clients > Self::MAX_CLIENTS {
            return Err(format!("clients must be 1..={}", Self::MAX_CLIENTS));
        }
        if !(self.seconds > 0.0 && self.seconds <= 86_400.0) {
            return Err("seconds must be above 0 and at most 86400".into());
        }
        for (name, v) in [("app_work_ms", self.app_work_ms), ("think_ms", self.think_ms)] {
            if !(0.0..=3_600_000.0).contains(&v) {
                return Err(format!("{name} must be between 0 and 3600000"));
            }
        }
        if self.server_cores == 0 || self.server_cores > 1024 {
            return Err("server_cores must be 1..=1024".into());
        }
        if self.retry_deadlocks > 100 {
            return Err("retry_deadlocks must be 0..=100".into());
        }
        Ok(())
    }

    /// These settings with `o`'s values in place of theirs.
    pub fn with(mut self, o: &LoadOverrides) -> LoadSettings {
        self.clients = o.clients.unwrap_or(self.clients);
        self.seconds = o.seconds.unwrap_or(self.seconds);
        self.app_work_ms = o.app_work_ms.unwrap_or(self.app_work_ms);
        self.think_ms = o.think_ms.unwrap_or(self.think_ms);
        self.server_cores = o.server_cores.unwrap_or(self.server_cores);
        self.retry_deadlocks = o.retry_deadlocks.unwrap_or(self.retry_deadlocks);
        self
    }
}

fn default_items() -> u32 {
    3
}

/// One action's raw random numbers; [`Workload::action`] turns them into an action. Zero is the
/// simplest choice everywhere, so shrinking moves towards it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Draw {
    pub kind: u32,
    pub user: u32,
    pub item: u32,
}

/// A transaction of a session script.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Txn {
    pub actions: Vec<Action>,
}

/// Concrete session scripts: what each session does, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Concrete {
    /// Users 1..=users exist at the start, each with one enrollment and one bookmark.
    pub users: i64,
    pub isolation: IsolationChoice,
    pub sessions: Vec<Vec<Txn>>,
    /// How the actions spell their SQL.
    pub sql: std::sync::Arc<super::sql::AppSql>,
}

/// The most users (`users.hot + users.cold`) a workload may have: every one exists at the start
/// of every run, an `auth_user` row with an enrollment and a bookmark, written into the setup's
/// SQL and loaded again for each run; 100000 users are already some 30 MB of setup text a run.
pub const MAX_USERS: u32 = 100_000;
/// The most transactions a session may run: each is a BEGIN, its actions and a COMMIT, all of
/// them steps the schedules interleave and the scripts hold in memory.
pub const MAX_TRANSACTIONS: u32 = 10_000;
/// The most actions a transaction may have (`actions_per_txn`'s max).
pub const MAX_ACTIONS_PER_TXN: u32 = 1_000;
/// The most actions a session's script may hold (`transactions` times `actions_per_txn`'s max):
/// with 8 sessions some 800000 steps, each with its SQL text.
pub const MAX_ACTIONS_PER_SESSION: u64 = 100_000;

/// First id of rows the workload inserts, and of users get_or_create saves.
pub const FIRST_ROW: i64 = 1000;
pub const FIRST_NEW_USER: i64 = 500;

impl Workload {
    /// Parse a workload file's text; errors name `file:line`.
    pub fn parse(file: &str, text: &str) -> Result<Workload, WorkloadError> {
        let line_of = |span: Range<usize>| text[..span.start.min(text.len())].matches('\n').count() + 1;
        let invalid = |span: Range<usize>, what: String| WorkloadError::Invalid {
            file: file.to_string(),
            line: line_of(span),
            what,
        };
        let w: Workload = toml::from_str(text)
            .map_err(|e| invalid(e.span().unwrap_or(0..0), e.message().replace('\n', " ").trim().to_string()))?;
        if *w.sessions.get_ref() == 0 || *w.sessions.get_ref() > 8 {
            return Err(invalid(w.sessions.span(), "sessions must be 1..=8".into()));
        }
        if *w.transactions.get_ref() == 0 {
            return Err(invalid(w.transactions.span(), "transactions must be at least 1".into()));
        }
        let [lo, hi] = *w.actions_per_txn.get_ref();
        if lo == 0 || lo > hi {
            return Err(invalid(
                w.actions_per_txn.span(),
                "actions_per_txn must be [min, max] with 1 <= min <= max".into(),
            ));
        }
        if *w.users.hot.get_ref() == 0 {
            return Err(invalid(w.users.hot.span(), "users.hot must be at least 1".into()));
        }
        w.check_sizes().map_err(|(span, what)| invalid(span, what))?;
        let hw = *w.users.hot_weight.get_ref();
        if !(0.0..=1.0).contains(&hw) {
            return Err(invalid(w.users.hot_weight.span(), "users.hot_weight must be between 0 and 1".into()));
        }
        if w.mix.get_ref().total() == 0 {
            return Err(invalid(w.mix.span(), "the mix needs at least one action with a weight above 0".into()));
        }
        if w.mix.get_ref().total() > u64::from(u32::MAX) {
            return Err(invalid(w.mix.span(), format!("the mix's weights must add up to at most {}", u32::MAX)));
        }
        if let Some(load) = &w.load {
            // Each value is checked alone, so the error names its own line.
            let t = load.get_ref();
            let base = LoadSettings::default();
            let one = |span: Range<usize>, s: LoadSettings| s.check().map_err(|what| invalid(span, what));
            if let Some(v) = &t.clients {
                one(v.span(), LoadSettings { clients: *v.get_ref(), ..base })?;
            }
            if let Some(v) = &t.seconds {
                one(v.span(), LoadSettings { seconds: *v.get_ref(), ..base })?;
            }
            if let Some(v) = &t.app_work_ms {
                one(v.span(), LoadSettings { app_work_ms: *v.get_ref(), ..base })?;
            }
            if let Some(v) = &t.think_ms {
                one(v.span(), LoadSettings { think_ms: *v.get_ref(), ..base })?;
            }
            if let Some(v) = &t.server_cores {
                one(v.span(), LoadSettings { server_cores: *v.get_ref(), ..base })?;
            }
            if let Some(v) = &t.retry_deadlocks {
                one(v.span(), LoadSettings { retry_deadlocks: *v.get_ref(), ..base })?;
            }
        }
        Ok(w)
    }

    /// The sizes that would exhaust memory (the `MAX_` constants), each at its own line.
    fn check_sizes(&self) -> Result<(), (Range<usize>, String)> {
        let transactions = *self.transactions.get_ref();
        if transactions > MAX_TRANSACTIONS {
            return Err((self.transactions.span(), format!("transactions must be at most {MAX_TRANSACTIONS}")));
        }
        let hi = self.actions_per_txn.get_ref()[1];
        if hi > MAX_ACTIONS_PER_TXN {
            let what = format!("actions_per_txn's max must be at most {MAX_ACTIONS_PER_TXN}");
            return Err((self.actions_per_txn.span(), what));
        }
        if u64::from(transactions) * u64::from(hi) > MAX_ACTIONS_PER_SESSION {
            let what = format!(
                "transactions times actions_per_txn's max must be at most {MAX_ACTIONS_PER_SESSION} actions a session"
            );
            return Err((self.transactions.span(), what));
        }
        let (hot, cold) = (&self.users.hot, &self.users.cold);
        if u64::from(*hot.get_ref()) + u64::from(*cold.get_ref()) > u64::from(MAX_USERS) {
            // The line of `cold` when the file has one.
            let span = if cold.span().is_empty() { hot.span() } else { cold.span() };
            return Err((span, format!("users.hot + users.cold must be at most {MAX_USERS}")));
        }
        Ok(())
    }

    /// Read and parse a workload file.
    pub fn load(path: &std::path::Path) -> Result<Workload, WorkloadError> {
        let file = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|cause| WorkloadError::Io { file: file.clone(), cause })?;
        Workload::parse(&file, &text)
    }

    /// The `[load]` settings, defaults filled in, `o` applied; a bad override is an error naming
    /// the flag.
    pub fn load_settings(&self, o: &LoadOverrides) -> Result<LoadSettings, String> {
        let mut s = LoadSettings::default();
        if let Some(t) = &self.load {
            let t = t.get_ref();
            let val = |v: &Option<Spanned<u32>>, d: u32| v.as_ref().map_or(d, |v| *v.get_ref());
            let valf = |v: &Option<Spanned<f64>>, d: f64| v.as_ref().map_or(d, |v| *v.get_ref());
            s = LoadSettings {
                clients: val(&t.clients, s.clients),
                seconds: valf(&t.seconds, s.seconds),
                app_work_ms: valf(&t.app_work_ms, s.app_work_ms),
                think_ms: valf(&t.think_ms, s.think_ms),
                server_cores: val(&t.server_cores, s.server_cores),
                retry_deadlocks: val(&t.retry_deadlocks, s.retry_deadlocks),
                clients_share_cores: t.clients_share_cores.unwrap_or(s.clients_share_cores),
            };
        }
        let s = s.with(o);
        s.check()?;
        Ok(s)
    }

    pub fn user_count(&self) -> i64 {
        i64::from(*self.users.hot.get_ref()) + i64::from(*self.users.cold.get_ref())
    }

    fn pick_user(&self, raw: u32) -> i64 {
        let hot = i64::from(*self.users.hot.get_ref());
        let cold = i64::from(*self.users.cold.get_ref());
        let permille = (self.users.hot_weight.get_ref() * 1000.0).round() as u32;
        let rest = i64::from(raw / 1000);
        if raw % 1000 < permille || cold == 0 {
            1 + rest % hot
        } else {
            1 + hot + rest % cold
        }
    }

    /// The action of one draw. Row ids are placeholders until [`Concrete::number`].
    pub fn action(&self, d: Draw) -> Action {
        let weights = self.mix.get_ref().weights();
        let mut k = u64::from(d.kind) % self.mix.get_ref().total();
        let mut kind = 0;
        while k >= u64::from(weights[kind]) {
            k -= u64::from(weights[kind]);
            kind += 1;
        }
        let user = self.pick_user(d.user);
        let item = d.item % self.items.max(1);
        let course = format!("c{item}");
        let key = format!("b{item}");
        match kind {
            0 => Action::Enroll { row: 0, user, course },
            1 => Action::AddBookmark { row: 0, user, key },
            2 => Action::DeleteBookmark { user, key },
            3 => Action::Login { user },
            4 => Action::Rename { user, username: format!("r{user}x{item}") },
            5 => Action::DeleteUserCascade { user },
            6 => Action::GetOrCreateEnrollment { row: 0, user, new_user: None, course },
            7 => Action::GetOrCreateEnrollment {
                row: 0,
                user: 0,
                new_user: Some(NewUser { id: 0, username: format!("n{}", item % self.users.new_usernames.max(1)) }),
                course,
            },
            8 => Action::Sweep,
            9 => Action::GetOrCreateModule { user, course, key },
            _ => Action::SubmitCompletion { user, course, key },
        }
    }

    /// The actions of one draw: its action, then the save that follows a get_or_create of a
    /// StudentModule or a BlockCompletion.
    pub fn actions(&self, d: Draw) -> Vec<Action> {
        let a = self.action(d);
        let then = match &a {
            Action::GetOrCreateModule { user, course, key } => {
                Some(Action::SaveModule { user: *user, course: course.clone(), key: key.clone() })
            }
            Action::SubmitCompletion { user, course, key } => {
                Some(Action::UpdateCompletion { user: *user, course: course.clone(), key: key.clone() })
            }
            _ => None,
        };
        std::iter::once(a).chain(then).collect()
    }

    /// Run on `sql`'s schema; a mix that writes a table the schema lacks is an error.
    pub fn set_sql(&mut self, sql: super::sql::AppSql) -> Result<(), crate::schema::SchemaError> {
        let m = self.mix.get_ref();
        for (weight, table) in
            [(m.studentmodule, "courseware_studentmodule"), (m.completion, "completion_blockcompletion")]
        {
            if weight > 0 && !sql.has(table) {
                return Err(crate::scenario::LoadError {
                    file: sql.base.schema.as_ref().map_or("the built-in schema".into(), |s| s.file.clone()),
                    pos: Default::default(),
                    what: format!("the mix writes `{table}`, which the schema does not create (use --schema)"),
                }
                .into());
            }
        }
        self.sql = std::sync::Arc::new(sql);
        Ok(())
    }

    /// Session scripts from raw draws: `draws[session][txn][action]`.
    pub fn concrete(&self, draws: &[Vec<Vec<Draw>>]) -> Concrete {
        let sessions = draws
            .iter()
            .map(|s| s.iter().map(|t| Txn { actions: t.iter().flat_map(|d| self.actions(*d)).collect() }).collect())
            .collect();
        let mut c = Concrete { users: self.user_count(), isolation: self.isolation, sessions, sql: self.sql.clone() };
        c.number();
        c
    }

    /// Session scripts drawn from a seed (ChaCha8).
    pub fn generate(&self, seed: u64) -> Concrete {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let [lo, hi] = *self.actions_per_txn.get_ref();
        let draws: Vec<Vec<Vec<Draw>>> = (0..*self.sessions.get_ref())
            .map(|_| {
                (0..*self.transactions.get_ref())
                    .map(|_| {
                        (0..rng.gen_range(lo..=hi))
                            .map(|_| Draw { kind: rng.gen(), user: rng.gen(), item: rng.gen() })
                            .collect()
                    })
                    .collect()
            })
            .collect();
        self.concrete(&draws)
    }
}

impl Concrete {
    /// Give every inserted row and every saved new user its own id, in script order.
    pub fn number(&mut self) {
        let (mut row, mut uid) = (FIRST_ROW, FIRST_NEW_USER);
        for a in self.sessions.iter_mut().flatten().flat_map(|t| t.actions.iter_mut()) {
            match a {
                Action::Enroll { row: r, .. } | Action::AddBookmark { row: r, .. } => {
                    *r = row;
                    row += 1;
                }
                Action::GetOrCreateEnrollment { row: r, user, new_user, .. } => {
                    *r = row;
                    row += 1;
                    if let Some(n) = new_user {
                        n.id = uid;
                        *user = uid;
                        uid += 1;
                    }
                }
                _ => {}
            }
        }
    }

    /// Every action with its (session, transaction, action) position.
    pub fn actions(&self) -> impl Iterator<Item = ((usize, usize, usize), &Action)> {
        self.sessions.iter().enumerate().flat_map(|(s, txns)| {
            txns.iter()
                .enumerate()
                .flat_map(move |(t, txn)| txn.actions.iter().enumerate().map(move |(a, x)| ((s, t, a), x)))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = "sessions = 2\ntransactions = 1\nactions_per_txn = [1, 2]\n[users]\nhot = 1\ncold = 2\n[mix]\nenroll = 1\nlogin = 1\n";

    #[test]
    fn parses_and_generates_deterministically() {
        let w = Workload::parse("w.toml", GOOD).unwrap();
        let a = w.generate(7);
        assert_eq!(a, w.generate(7));
        assert_eq!(a.sessions.len(), 2);
        assert!(a.sessions.iter().all(|s| s.len() == 1 && (1..=2).contains(&s[0].actions.len())));
    }

    #[test]
    fn bad_values_name_their_line() {
        let bad = GOOD.replace("sessions = 2", "sessions = 0");
        let e = Workload::parse("w.toml", &bad).unwrap_err().to_string();
        assert_eq!(e, "w.toml:1: sessions must be 1..=8");
        let bad = GOOD.replace("hot = 1", "hot = 1\nwarm = 3");
        let e = Workload::parse("w.toml", &bad).unwrap_err().to_string();
        assert!(e.starts_with("w.toml:6: unknown field `warm`"), "{e}");
        let bad = GOOD.replace("actions_per_txn = [1, 2]", "actions_per_txn = [3, 2]");
        assert!(Workload::parse("w.toml", &bad).unwrap_err().to_string().starts_with("w.toml:3: "));
    }

    #[test]
    fn sizes_that_would_exhaust_memory_are_refused_at_their_line() {
        let err = |text: &str| Workload::parse("w.toml", text).unwrap_err().to_string();
        // Each alone within its limit, together too many actions a session: at `transactions`.
        let text = GOOD.replace("transactions = 1", "transactions = 1000").replace("[1, 2]", "[1, 1000]");
        assert_eq!(
            err(&text),
            "w.toml:2: transactions times actions_per_txn's max must be at most 100000 actions a session"
        );
        assert!(Workload::parse("w.toml", &text.replace("[1, 1000]", "[1, 100]")).is_ok());
        // Without a `cold` line, too many hot users are named at `hot`.
        assert_eq!(
            err(&GOOD.replace("hot = 1\ncold = 2", "hot = 200000")),
            "w.toml:5: users.hot + users.cold must be at most 100000"
        );
        assert!(Workload::parse("w.toml", &GOOD.replace("hot = 1\ncold = 2", "hot = 100000")).is_ok());
    }

    /// Found by the fuzz target `workload_parse`: weights whose sum passes `u32::MAX` overflowed
    /// (a panic with overflow checks; without them a wrong total, a mix whose other actions never
    /// came, or a refusal for a mix of no weight).
    #[test]
    fn mix_weights_adding_up_past_u32_are_refused_at_the_mix() {
        let mix = |weights: &str| GOOD.replace("login = 1", weights);
        let e = Workload::parse("w.toml", &mix("login = 4294967295\nrename = 1")).unwrap_err().to_string();
        assert_eq!(e, "w.toml:7: the mix's weights must add up to at most 4294967295");
        let e = Workload::parse("w.toml", &mix("login = 4294967295\nrename = 2")).unwrap_err().to_string();
        assert!(e.starts_with("w.toml:7: the mix's weights"), "{e}");
        // Up to the limit the picks follow the weights: the last draw is a rename.
        let w = Workload::parse("w.toml", &mix("login = 4294967293\nrename = 1")).unwrap();
        assert_eq!(w.mix.get_ref().total(), u64::from(u32::MAX));
        assert!(matches!(w.action(Draw { kind: u32::MAX - 1, user: 0, item: 0 }), Action::Rename { .. }));
    }

    #[test]
    fn the_load_table_has_defaults_overrides_and_checked_values() {
        let w = Workload::parse("w.toml", GOOD).unwrap();
        assert_eq!(w.load_settings(&LoadOverrides::default()).unwrap(), LoadSettings::default());
        let text = format!("{GOOD}[load]\nclients = 3\napp_work_ms = 2.5\n");
        let w = Workload::parse("w.toml", &text).unwrap();
        let s = w.load_settings(&LoadOverrides { clients: Some(32), ..Default::default() }).unwrap();
        assert_eq!((s.clients, s.app_work_ms, s.seconds), (32, 2.5, 10.0));
        let bad = format!("{GOOD}[load]\nclients = 3\nseconds = -1\n");
        let e = Workload::parse("w.toml", &bad).unwrap_err().to_string();
        assert_eq!(e, "w.toml:12: seconds must be above 0 and at most 86400");
        let bad = format!("{GOOD}[load]\nclient = 3\n");
        assert!(Workload::parse("w.toml", &bad)
            .unwrap_err()
            .to_string()
            .starts_with("w.toml:11: unknown field `client`"));
        let e = w.load_settings(&LoadOverrides { server_cores: Some(0), ..Default::default() }).unwrap_err();
        assert_eq!(e, "server_cores must be 1..=1024");
    }

    #[test]
    fn draws_pick_hot_users_by_weight_and_kinds_by_mix() {
        let w = Workload::parse("w.toml", GOOD).unwrap();
        assert_eq!(w.action(Draw::default()), Action::Enroll { row: 0, user: 1, course: "c0".into() });
        assert_eq!(w.action(Draw { kind: 1, user: 999, item: 0 }), Action::Login { user: 2 });
        assert_eq!(w.action(Draw { kind: 1, user: 1999, item: 0 }), Action::Login { user: 3 });
    }

    #[test]
    fn numbering_gives_distinct_ids() {
        let w = Workload::parse("w.toml", &GOOD.replace("login = 1", "get_or_create_new_user = 1")).unwrap();
        let d = Draw { kind: 1, user: 0, item: 0 };
        let c = w.concrete(&[vec![vec![d, d]]]);
        let ids: Vec<i64> = c.actions().filter_map(|(_, a)| a.child_write().map(|w| w.2)).collect();
        assert_eq!(ids, [FIRST_NEW_USER, FIRST_NEW_USER + 1]);
    }
}
