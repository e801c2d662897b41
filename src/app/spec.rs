//! Concrete session scripts plus a schedule, written out as isolation-spec text `fksim run` replays.
//!
//! Each transaction is: a `begin` step (the request loads the users it acts on, in autocommit,
//! then `BEGIN`), one step per action (all of the action's statements; get_or_create one per
//! [`Part`]), a `commit` step. After
//! the schedule come the tail steps of two extra sessions: `tick` (a plain read that lets virtual
//! time pass with no writer, so waits end), `obs1`/`obs2` (read every row) and `sweep`.

use super::sql::AppSql;
use super::workload::Concrete;
use super::{Action, Part};
use std::fmt::Write;

/// What a step of a session script is for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Role {
    /// Loads `users` (request.user / the object acted on), then BEGIN.
    Begin {
        users: Vec<i64>,
    },
    /// One part of an action.
    Action(Action, Part),
    Commit,
    /// Django's `atomic` rolling back after the action before it raised.
    Rollback,
    /// A step Django never sends: its transaction already failed, or its get_or_create already
    /// returned.
    Skipped,
}

/// One step of a session script.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Step {
    pub name: String,
    pub txn: usize,
    pub role: Role,
}

/// A no-op for skipped steps and ticks: a plain read, which takes no row lock in either engine.
pub const NOOP: &str = "SELECT 1 FROM auth_user WHERE id = 0";

impl Step {
    pub fn sql(&self, begin: &str, sql: &AppSql) -> Vec<String> {
        match &self.role {
            Role::Begin { users } if users.is_empty() => vec![begin.to_string()],
            Role::Begin { users } => {
                let ids: Vec<String> = users.iter().map(i64::to_string).collect();
                vec![format!("SELECT id FROM auth_user WHERE id IN ({})", ids.join(", ")), begin.to_string()]
            }
            Role::Action(a, part) => a.part_statements_in(*part, sql),
            Role::Commit => vec!["COMMIT".into()],
            Role::Rollback => vec!["ROLLBACK".into()],
            Role::Skipped => vec![NOOP.into()],
        }
    }
}

/// The steps of every session, which a run may rewrite when an action fails.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Layout {
    pub sessions: Vec<Vec<Step>>,
}

/// The sessions' names: s1, s2, ...
pub fn session_name(s: usize) -> String {
    format!("s{}", s + 1)
}

impl Layout {
    pub fn new(c: &Concrete) -> Layout {
        let sessions = c
            .sessions
            .iter()
            .enumerate()
            .map(|(s, txns)| {
                let mut steps = Vec::new();
                for (t, txn) in txns.iter().enumerate() {
                    let p = format!("{}t{}", session_name(s), t + 1);
                    let mut users: Vec<i64> = txn.actions.iter().filter_map(Action::loads_user).collect();
                    users.sort_unstable();
                    users.dedup();
                    steps.push(Step { name: format!("{p}b"), txn: t, role: Role::Begin { users } });
                    for (i, a) in txn.actions.iter().enumerate() {
                        for &part in a.parts() {
                            let suffix = match part {
                                Part::Whole | Part::Get => "",
                                Part::Create => "i",
                                Part::GetAgain => "r",
                            };
                            steps.push(Step {
                                name: format!("{p}{}{}{suffix}", a.kind_letter(), i + 1),
                                txn: t,
                                role: Role::Action(a.clone(), part),
                            });
                        }
                    }
                    steps.push(Step { name: format!("{p}c"), txn: t, role: Role::Commit });
                }
                steps
            })
            .collect();
        Layout { sessions }
    }

    /// Steps per session.
    pub fn counts(&self) -> Vec<usize> {
        self.sessions.iter().map(Vec::len).collect()
    }

    /// Django's reaction to step `i` of session `s` raising: the rest of its transaction is not
    /// sent, and `atomic` rolls back. Returns false if there was nothing to change.
    pub fn abort_after(&mut self, s: usize, i: usize) -> bool {
        let steps = &mut self.sessions[s];
        let txn = steps[i].txn;
        if matches!(steps[i].role, Role::Commit | Role::Rollback | Role::Skipped) {
            return false;
        }
        let mut first = true;
        for st in steps.iter_mut().skip(i + 1).take_while(|st| st.txn == txn) {
            st.role = if first { Role::Rollback } else { Role::Skipped };
            first = false;
        }
        true
    }

    /// get_or_create's reaction to step `i` of session `s` (its get found the row, or its create
    /// succeeded): the rest of the get_or_create is not sent. Returns false if nothing changed.
    pub fn skip_rest_of_action(&mut self, s: usize, i: usize) -> bool {
        let steps = &mut self.sessions[s];
        let Role::Action(a, _) = steps[i].role.clone() else { return false };
        let mut changed = false;
        for st in steps.iter_mut().skip(i + 1) {
            match &st.role {
                Role::Action(b, Part::Create | Part::GetAgain) if *b == a => {
                    st.role = Role::Skipped;
                    changed = true;
                }
                _ => break,
            }
        }
        changed
    }

    /// The step names of a schedule: `schedule[k]` picks, among the sessions with steps left,
    /// the one at position `schedule[k] % left` (so any vector is a valid schedule and 0 runs the
    /// sessions one after the other).
    pub fn order(&self, schedule: &[usize]) -> Vec<(usize, usize)> {
        let counts = self.counts();
        let mut next = vec![0; counts.len()];
        let mut out = Vec::new();
        let total: usize = counts.iter().sum();
        for k in 0..total {
            let live: Vec<usize> = (0..counts.len()).filter(|&s| next[s] < counts[s]).collect();
            let s = live[schedule.get(k).copied().unwrap_or(0) % live.len()];
            out.push((s, next[s]));
            next[s] += 1;
        }
        out
    }
}

impl Action {
    fn kind_letter(&self) -> &'static str {
        match self.kind() {
            "enroll" => "e",
            "bookmark_add" => "ba",
            "bookmark_delete" => "bd",
            "login" => "l",
            "rename" => "r",
            "delete_user" => "du",
            "get_or_create" => "g",
            "get_or_create_new_user" => "gn",
            "studentmodule" => "sm",
            "studentmodule_save" => "ss",
            "completion" => "cp",
            "completion_update" => "cu",
            _ => "sw",
        }
    }
}

/// What runs after the schedule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tail {
    /// Tick steps before each observation.
    pub ticks: usize,
    /// Run the sweeper after the first observation, then ticks and `obs2`.
    pub sweep: bool,
}

impl Default for Tail {
    fn default() -> Self {
        Tail { ticks: 25, sweep: false }
    }
}

const OBSERVE: &str =
    "SELECT id FROM auth_user; SELECT id, user_id FROM student_courseenrollment; SELECT id, user_id FROM bookmarks_bookmark;";

/// The spec text of a concrete workload run in `order` (from [`Layout::order`]), then `tail`.
pub fn spec_text(c: &Concrete, layout: &Layout, order: &[(usize, usize)], tail: Tail, comment: &str) -> String {
    let mut out = sessions_text(c, layout, comment);
    let sql = &c.sql;
    let _ =
        writeln!(out, "\nsession obs\nstep tick {{ {NOOP}; }}\nstep obs1 {{ {OBSERVE} }}\nstep obs2 {{ {OBSERVE} }}");
    if tail.sweep {
        let sweep = Action::Sweep.statements_in(sql).join("; ");
        let _ = writeln!(out, "\nsession sweeper\nstep sweep {{ {sweep}; }}");
    }
    let mut perm: Vec<&str> = order.iter().map(|&(s, i)| layout.sessions[s][i].name.as_str()).collect();
    perm.extend(std::iter::repeat_n("tick", tail.ticks));
    perm.push("obs1");
    if tail.sweep {
        perm.push("sweep");
        perm.extend(std::iter::repeat_n("tick", tail.ticks));
        perm.push("obs2");
    }
    let _ = writeln!(out, "\npermutation {}", perm.join(" "));
    out
}

/// The spec text of `c`'s sessions alone, and no permutation line: what `fksim explore` runs
/// (every interleaving). Every step is sent as Django sends it when the get of a get_or_create
/// finds nothing and its create succeeds: the create is sent, the second get (sent only after an
/// `IntegrityError`) is left out, since the explorer cannot choose a session's next step by the
/// result of the last. So a get_or_create is exact where no other session creates its row;
/// where the create fails, Django's second get, a plain read, would take no lock either.
pub fn explore_text(c: &Concrete, comment: &str) -> String {
    let mut layout = Layout::new(c);
    for steps in &mut layout.sessions {
        steps.retain(|st| !matches!(st.role, Role::Action(_, Part::GetAgain)));
    }
    sessions_text(c, &layout, comment)
}

/// The comment, setup, teardown and sessions of a spec of `c` laid out as `layout`.
fn sessions_text(c: &Concrete, layout: &Layout, comment: &str) -> String {
    let mut out = String::new();
    for line in comment.lines() {
        let _ = writeln!(out, "# {line}");
    }
    out.push_str("setup\n{\n");
    let sql = &c.sql;
    out.push_str(sql.setup_ddl());
    let rows = |f: &dyn Fn(i64) -> Vec<String>| (1..=c.users).map(f).collect::<Vec<_>>();
    let users = rows(&|u| vec![u.to_string(), format!("'u{u}'"), "NULL".into(), "TRUE".into()]);
    let enr = rows(&|u| vec![u.to_string(), u.to_string(), "'c-old'".into(), "TRUE".into()]);
    let bm = rows(&|u| vec![u.to_string(), u.to_string(), "'b-old'".into()]);
    let _ =
        writeln!(out, "  {};", sql.insert("auth_user", &["id", "username", "last_login", "is_active"], &users, true));
    let enr_cols = ["id", "user_id", "course_id", "is_active"];
    let _ = writeln!(out, "  {};", sql.insert("student_courseenrollment", &enr_cols, &enr, true));
    let _ = writeln!(out, "  {};", sql.insert("bookmarks_bookmark", &["id", "user_id", "usage_key"], &bm, true));
    out.push_str("}\n");
    // The schema file's tables outlive the spec; the built-in ones are the spec's own.
    if sql.builtin() {
        out.push_str("teardown\n{\n  DROP TABLE student_courseenrollment;\n  DROP TABLE bookmarks_bookmark;\n  DROP TABLE auth_user;\n}\n");
    }
    let begin = c.isolation.begin();
    for (s, steps) in layout.sessions.iter().enumerate() {
        let _ = writeln!(out, "\nsession {}", session_name(s));
        for st in steps {
            let _ = writeln!(out, "step {} {{ {}; }}", st.name, st.sql(begin, sql).join("; "));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::app::workload::{IsolationChoice, Txn};

    fn two() -> Concrete {
        let mut c = Concrete {
            sql: Default::default(),
            users: 2,
            isolation: IsolationChoice::ReadCommitted,
            sessions: vec![
                vec![Txn {
                    actions: vec![Action::Login { user: 1 }, Action::Enroll { row: 0, user: 1, course: "c1".into() }],
                }],
                vec![Txn { actions: vec![Action::DeleteUserCascade { user: 1 }] }],
            ],
        };
        c.number();
        c
    }

    #[test]
    fn layout_names_and_orders_steps() {
        let l = Layout::new(&two());
        let names: Vec<&str> = l.sessions[0].iter().map(|s| s.name.as_str()).collect();
        assert_eq!(names, ["s1t1b", "s1t1l1", "s1t1e2", "s1t1c"]);
        assert_eq!(l.order(&[]), [(0, 0), (0, 1), (0, 2), (0, 3), (1, 0), (1, 1), (1, 2)]);
        assert_eq!(l.order(&[1, 1])[..2], [(1, 0), (1, 1)]);
    }

    #[test]
    fn abort_rolls_back_and_skips_the_rest_of_the_transaction() {
        let mut l = Layout::new(&two());
        assert!(l.abort_after(0, 1));
        assert_eq!(l.sessions[0][2].role, Role::Rollback);
        assert_eq!(l.sessions[0][3].role, Role::Skipped);
        assert!(!l.abort_after(0, 3));
    }

    #[test]
    fn get_or_create_is_sent_in_parts() {
        let mut c = two();
        c.sessions[0][0].actions.push(Action::GetOrCreateEnrollment {
            row: 0,
            user: 1,
            new_user: None,
            course: "c2".into(),
        });
        c.number();
        let mut l = Layout::new(&c);
        let names: Vec<&str> = l.sessions[0].iter().map(|s| s.name.as_str()).collect();
        assert_eq!(names, ["s1t1b", "s1t1l1", "s1t1e2", "s1t1g3", "s1t1g3i", "s1t1g3r", "s1t1c"]);
        assert!(
            l.sessions[0][3].sql("BEGIN", &AppSql::default())[0].starts_with("SELECT id FROM student_courseenrollment")
        );
        assert!(
            l.sessions[0][4].sql("BEGIN", &AppSql::default())[1].starts_with("INSERT INTO student_courseenrollment")
        );
        // The get found the row: neither the create nor the second get is sent.
        assert!(!l.skip_rest_of_action(0, 2));
        assert!(l.skip_rest_of_action(0, 3));
        assert_eq!(l.sessions[0][4].role, Role::Skipped);
        assert_eq!(l.sessions[0][5].role, Role::Skipped);
        assert_eq!(l.sessions[0][6].role, Role::Commit);
    }

    #[test]
    fn spec_text_parses_and_loads() {
        let c = two();
        let l = Layout::new(&c);
        let text = spec_text(&c, &l, &l.order(&[0, 1]), Tail::default(), "two sessions");
        let spec = crate::spec::parse_spec("gen.spec", &text).unwrap();
        let opts = crate::sql::SchemaOptions {
            fk_enforced: false,
            implicit_fk_index: true,
            dialect: crate::sql::SqlDialect::MySql,
        };
        let sc = crate::scenario::Scenario::load(spec, opts).unwrap();
        assert_eq!(sc.sessions.len(), 3);
        assert!(text.contains("step s2t1du1 { DELETE FROM student_courseenrollment WHERE user_id IN (1);"));
    }
}
