//! The two-session races a report explores for each written child table: the user's deletion
//! (Django's cascade) and a login against a write of a child row of the same user.

use super::VerdictError;
use crate::app::sql::AppSql;
use crate::app::workload::{Concrete, IsolationChoice, Txn};
use crate::app::Action;
use crate::engine::EngineKind;
use crate::explore::{explore_kind, Space, Summary};
use crate::spec::parse_spec;
use serde::Serialize;
use std::sync::Arc;

/// One explored race and what every interleaving of it did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Explored {
    /// `delete-vs-enroll`, ...
    pub name: String,
    /// The child table written.
    pub table: String,
    /// What the two sessions do, in words.
    pub what: String,
    pub summary: Summary,
    /// The spec explored, which `fksim explore` and `fksim run --permutation` replay.
    pub spec: String,
}

/// The child-row write of `table` for user 1 that a race pits against the other session, and
/// its short name.
fn write_of(table: &str) -> Option<(&'static str, Action)> {
    let (course, key) = ("course-v1:edX+R+2026".to_string(), "block-v1:edX+R+2026+type@problem+block@p1".to_string());
    Some(match table {
        "student_courseenrollment" => ("enroll", Action::Enroll { row: 0, user: 1, course }),
        "bookmarks_bookmark" => ("bookmark", Action::AddBookmark { row: 0, user: 1, key }),
        "courseware_studentmodule" => ("studentmodule", Action::GetOrCreateModule { user: 1, course, key }),
        "completion_blockcompletion" => ("completion", Action::SubmitCompletion { user: 1, course, key }),
        _ => return None,
    })
}

/// The races for `table`: (name, what, the other session's action).
fn races(table: &str) -> Vec<(String, String, Action, Action)> {
    let Some((short, write)) = write_of(table) else { return vec![] };
    vec![
        (
            format!("delete-vs-{short}"),
            format!("user.delete() (Django's cascade) against a new {table} row of the same user"),
            Action::DeleteUserCascade { user: 1 },
            write.clone(),
        ),
        (
            format!("login-vs-{short}"),
            format!("a login's UPDATE of auth_user.last_login against a new {table} row of the same user"),
            Action::Login { user: 1 },
            write,
        ),
    ]
}

/// The spec of two sessions, each one transaction of one action, on `sql`'s schema.
fn race_spec(sql: &Arc<AppSql>, isolation: IsolationChoice, a: Action, b: Action, comment: &str) -> String {
    let mut c = Concrete {
        users: 2,
        isolation,
        sessions: vec![vec![Txn { actions: vec![a] }], vec![Txn { actions: vec![b] }]],
        sql: sql.clone(),
    };
    c.number();
    crate::app::spec::explore_text(&c, comment)
}

/// Explore every race of every table in `tables` on `engine`, FK enforced or not (`fk_on`),
/// on `sql` (its base carries the schema and the setting's `--fk off=`).
pub fn explore_races(
    engine: EngineKind,
    sql: &Arc<AppSql>,
    fk_on: bool,
    isolation: IsolationChoice,
    tables: &[&str],
) -> Result<Vec<Explored>, VerdictError> {
    let mut out = Vec::new();
    for table in tables {
        for (name, what, a, b) in races(table) {
            let comment = format!("fksim report: {name}: {what}");
            let spec = race_spec(sql, isolation, a, b, &comment);
            let file = format!("{name}.spec");
            let sc = sql.base.scenario(parse_spec(&file, &spec)?, engine.schema(fk_on))?;
            let summary = explore_kind(engine, &sc, Space::Reduced, 1, &|_| {})?;
            out.push(Explored { name, table: table.to_string(), what, summary, spec });
        }
    }
    Ok(out)
}
