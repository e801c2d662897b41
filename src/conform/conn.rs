//! One connection to a live MariaDB or PostgreSQL: opening it, running SQL, classifying errors
//! into the contract's kinds, cancelling, and (for calibration) finding the server's CPU time.

use super::dialect::Live;
use super::live::LiveError;
use super::url::{causes, redacted};
use crate::engine::{DbError, ErrorKind, Notice, Rows};
use crate::sql::Value;
use parking_lot::Mutex;
use std::sync::Arc;
use std::time::Duration;

/// A connection to one live engine.
pub(crate) enum Conn {
    My(mysql::Conn),
    Pg(Box<postgres::Client>),
}

/// How to interrupt a session's running statement from outside.
#[derive(Clone)]
pub(crate) enum Canceller {
    My(u32),
    Pg(postgres::CancelToken),
}

pub(crate) fn classify_my(e: &mysql::Error) -> DbError {
    match e {
        mysql::Error::MySqlError(m) => {
            let kind = match m.code {
                1213 => ErrorKind::Deadlock,
                1451 | 1452 | 1216 | 1217 => ErrorKind::FkViolation,
                1062 => ErrorKind::UniqueViolation,
                1205 => ErrorKind::LockTimeout,
                _ => ErrorKind::Other,
            };
            DbError { kind, message: m.message.clone() }
        }
        other => DbError { kind: ErrorKind::Other, message: other.to_string() },
    }
}

pub(crate) fn classify_pg(e: &postgres::Error) -> DbError {
    let Some(db) = e.as_db_error() else { return DbError { kind: ErrorKind::Other, message: e.to_string() } };
    let kind = match db.code().code() {
        "40P01" => ErrorKind::Deadlock,
        "23503" => ErrorKind::FkViolation,
        "23505" => ErrorKind::UniqueViolation,
        "55P03" => ErrorKind::LockTimeout,
        "40001" => ErrorKind::Serialization,
        _ => ErrorKind::Other,
    };
    DbError { kind, message: db.message().to_string() }
}

/// A server and database to connect to.
#[derive(Clone)]
pub(crate) enum Target {
    My(mysql::Opts),
    Pg(Box<postgres::Config>),
}

impl Target {
    pub(crate) fn parse(live: Live, url: &str) -> Result<Target, LiveError> {
        let fail = |why: String| LiveError::Connect { url: redacted(url), why };
        match live {
            Live::MariaDb => {
                let opts = mysql::Opts::from_url(url).map_err(|e| fail(causes(&e)))?;
                let opts = mysql::OptsBuilder::from_opts(opts)
                    .tcp_connect_timeout(Some(Duration::from_secs(5)))
                    .read_timeout(Some(Duration::from_secs(120)));
                Ok(Target::My(opts.into()))
            }
            Live::Postgres => {
                let mut cfg: postgres::Config = url.parse().map_err(|e: postgres::Error| fail(causes(&e)))?;
                cfg.connect_timeout(Duration::from_secs(5));
                Ok(Target::Pg(Box::new(cfg)))
            }
        }
    }

    /// The same target as Django's connections: on MariaDB with CLIENT_FOUND_ROWS, so that an
    /// UPDATE counts the rows it matched, not only those it changed.
    pub(crate) fn as_django(&self) -> Target {
        match self {
            Target::My(o) => Target::My(
                mysql::OptsBuilder::from_opts(o.clone())
                    .additional_capabilities(mysql::consts::CapabilityFlags::CLIENT_FOUND_ROWS)
                    .into(),
            ),
            Target::Pg(c) => Target::Pg(c.clone()),
        }
    }

    pub(crate) fn with_db(&self, db: &str) -> Target {
        match self {
            Target::My(o) => Target::My(mysql::OptsBuilder::from_opts(o.clone()).db_name(Some(db)).into()),
            Target::Pg(c) => {
                let mut c = c.clone();
                c.dbname(db);
                Target::Pg(c)
            }
        }
    }
}

impl Conn {
    pub(crate) fn open(target: &Target, url: &str) -> Result<Conn, LiveError> {
        let fail = |why: String| LiveError::Connect { url: redacted(url), why };
        match target {
            Target::My(o) => mysql::Conn::new(o.clone()).map(Conn::My).map_err(|e| fail(causes(&e))),
            Target::Pg(c) => c.connect(postgres::NoTls).map(|c| Conn::Pg(Box::new(c))).map_err(|e| fail(causes(&e))),
        }
    }

    /// A connection whose server notices (PostgreSQL's WARNING and NOTICE messages, handed to
    /// libpq's notice processor) are appended to `sink` as they arrive. MariaDB has none to give
    /// (its warnings wait for SHOW WARNINGS).
    pub(crate) fn open_with_notices(
        target: &Target,
        url: &str,
        sink: Arc<Mutex<Vec<Notice>>>,
    ) -> Result<Conn, LiveError> {
        let Target::Pg(c) = target else { return Conn::open(target, url) };
        let mut c = c.clone();
        c.notice_callback(move |n| {
            sink.lock().push(Notice { severity: n.severity().to_string(), message: n.message().to_string() })
        });
        Conn::open(&Target::Pg(c), url)
    }

    pub(crate) fn exec(&mut self, sql: &str) -> Result<(), DbError> {
        use mysql::prelude::Queryable;
        match self {
            Conn::My(c) => c.query_drop(sql).map_err(|e| classify_my(&e)),
            Conn::Pg(c) => c.batch_execute(sql).map_err(|e| classify_pg(&e)),
        }
    }

    /// Run one statement and say how many rows it returned (a query) or changed (a write; on
    /// MariaDB the rows it matched, as Django's connections count them).
    pub(crate) fn rows(&mut self, sql: &str) -> Result<usize, DbError> {
        use mysql::prelude::Queryable;
        match self {
            Conn::My(c) => {
                let mut result = c.query_iter(sql).map_err(|e| classify_my(&e))?;
                let mut returned = 0usize;
                let mut has_columns = false;
                while let Some(set) = result.iter() {
                    has_columns |= !set.columns().as_ref().is_empty();
                    for row in set {
                        row.map_err(|e| classify_my(&e))?;
                        returned += 1;
                    }
                }
                Ok(if has_columns { returned } else { result.affected_rows() as usize })
            }
            Conn::Pg(c) => {
                let mut n = 0usize;
                for m in c.simple_query(sql).map_err(|e| classify_pg(&e))? {
                    if let postgres::SimpleQueryMessage::CommandComplete(k) = m {
                        n = k as usize;
                    }
                }
                Ok(n)
            }
        }
    }

    /// Run a query and return its result set, every value as text (NULL as NULL): what conform
    /// compares with the model is how many rows each query returned.
    pub(crate) fn result_set(&mut self, sql: &str) -> Result<Rows, DbError> {
        use mysql::prelude::Queryable;
        let text = |v: Option<String>| v.map_or(Value::Null, |t| Value::Str(t.as_str().into()));
        let mut out = Rows { columns: Vec::new(), rows: Vec::new() };
        match self {
            Conn::My(c) => {
                let mut result = c.query_iter(sql).map_err(|e| classify_my(&e))?;
                while let Some(set) = result.iter() {
                    out.columns = set.columns().as_ref().iter().map(|c| c.name_str().to_string()).collect();
                    for row in set {
                        let row = row.map_err(|e| classify_my(&e))?;
                        let values = (0..row.len())
                            .map(|i| match row.as_ref(i) {
                                None | Some(mysql::Value::NULL) => Value::Null,
                                Some(v) => text(Some(v.as_sql(true).trim_matches('\'').to_string())),
                            })
                            .collect();
                        out.rows.push(values);
                    }
                }
            }
            Conn::Pg(c) => {
                for m in c.simple_query(sql).map_err(|e| classify_pg(&e))? {
                    if let postgres::SimpleQueryMessage::Row(r) = m {
                        out.columns = r.columns().iter().map(|c| c.name().to_string()).collect();
                        out.rows.push((0..r.len()).map(|i| text(r.get(i).map(str::to_string))).collect());
                    }
                }
            }
        }
        Ok(out)
    }

    pub(crate) fn count(&mut self, sql: &str) -> Result<i64, DbError> {
        use mysql::prelude::Queryable;
        match self {
            Conn::My(c) => c.query_first::<i64, _>(sql).map(|v| v.unwrap_or(0)).map_err(|e| classify_my(&e)),
            Conn::Pg(c) => c.query_one(sql, &[]).map(|r| r.get::<_, i64>(0)).map_err(|e| classify_pg(&e)),
        }
    }

    /// The first column of the first row, as text.
    pub(crate) fn text(&mut self, sql: &str) -> Result<String, DbError> {
        use mysql::prelude::Queryable;
        match self {
            Conn::My(c) => c.query_first::<String, _>(sql).map(|v| v.unwrap_or_default()).map_err(|e| classify_my(&e)),
            Conn::Pg(c) => {
                for m in c.simple_query(sql).map_err(|e| classify_pg(&e))? {
                    if let postgres::SimpleQueryMessage::Row(r) = m {
                        return Ok(r.get(0).unwrap_or_default().to_string());
                    }
                }
                Ok(String::new())
            }
        }
    }

    pub(crate) fn canceller(&self) -> Canceller {
        match self {
            Conn::My(c) => Canceller::My(c.connection_id()),
            Conn::Pg(c) => Canceller::Pg(c.cancel_token()),
        }
    }
}
