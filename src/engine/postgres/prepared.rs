//! A session's prepared statements: `PREPARE name AS ...` stores a bound statement, `EXECUTE name` runs it (prepare.c).

use super::PgDb;
use crate::engine::{err, DbError, ErrorKind, Parts, Rows, SessionId};
use crate::sql::Statement;
use std::sync::Arc;

impl<P: Parts> PgDb<P> {
    /// `PREPARE name AS ...`: `StorePreparedStatement` (prepare.c) refuses a name the session
    /// has already prepared (42P05); the statement itself is not run.
    pub(super) fn prepare_statement(
        &mut self,
        s: SessionId,
        name: &str,
        stmt: &Statement,
    ) -> Result<Option<Rows>, DbError> {
        let sess = &mut self.sessions[s];
        if sess.prepared.iter().any(|(n, _)| n == name) {
            return Err(err(ErrorKind::Other, format!("prepared statement \"{name}\" already exists")));
        }
        sess.prepared.push((name.to_string(), Arc::new(stmt.clone())));
        Ok(None)
    }

    /// `EXECUTE name`: `FetchPreparedStatement` (prepare.c) fails for a name the session has
    /// not prepared (26000).
    pub(super) fn prepared_statement(&self, s: SessionId, name: &str) -> Result<Arc<Statement>, DbError> {
        let found = self.sessions[s].prepared.iter().find(|(n, _)| n == name);
        found
            .map(|(_, st)| st.clone())
            .ok_or_else(|| err(ErrorKind::Other, format!("prepared statement \"{name}\" does not exist")))
    }
}
