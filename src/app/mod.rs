//! Application-level integrity that replaces the FK: Django's actions as ordinary SQL statements.
//!
//! With `db_constraint=False` the database no longer checks `user_id`; Django keeps the data
//! consistent itself. Each [`Action`] here is what Django sends for one application call, so a
//! spec file reaches it as ordinary SQL steps. An action stops at its first failing statement
//! (Django raises), which is why the spec writer puts an action's statements in one step; an
//! action whose next statement depends on a result (get_or_create) is sent in [`Part`]s.

pub mod client;
pub mod drive;
pub mod spec;
pub mod sql;
pub mod summary;
pub mod workload;

use sql::AppSql;
use std::fmt;

/// The application schema (the Open edX tables of `model/scenarios`), as spec setup DDL.
pub const SCHEMA: &str = "\
  CREATE TABLE auth_user (id INT PRIMARY KEY, username VARCHAR(30) UNIQUE, last_login TIMESTAMP NULL, is_active BOOLEAN);
  CREATE TABLE student_courseenrollment (id INT AUTO_INCREMENT PRIMARY KEY, user_id INT NOT NULL, course_id VARCHAR(100) NOT NULL, is_active BOOLEAN, UNIQUE (user_id, course_id), FOREIGN KEY (user_id) REFERENCES auth_user (id));
  CREATE INDEX enr_user ON student_courseenrollment (user_id);
  CREATE TABLE bookmarks_bookmark (id INT AUTO_INCREMENT PRIMARY KEY, user_id INT NOT NULL, usage_key VARCHAR(100) NOT NULL, UNIQUE (user_id, usage_key), FOREIGN KEY (user_id) REFERENCES auth_user (id));
  CREATE INDEX bm_user ON bookmarks_bookmark (user_id);
";

/// The child tables that reference `auth_user` (the FK Open edX dropped).
pub const CHILD_TABLES: [&str; 2] = ["student_courseenrollment", "bookmarks_bookmark"];

/// A user row that does not exist yet (Django's unsaved `User()` instance).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct NewUser {
    pub id: i64,
    pub username: String,
}

/// One application call, as the SQL Django sends for it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Action {
    /// `CourseEnrollment.objects.create(user=u, course_id=c)`. `row` is the row's id; 0 leaves
    /// it to the AUTO_INCREMENT column (as Django does).
    Enroll { row: i64, user: i64, course: String },
    /// `Bookmark.objects.create(user=u, usage_key=k)`.
    AddBookmark { row: i64, user: i64, key: String },
    /// `Bookmark.objects.filter(user=u, usage_key=k).delete()` (a fast delete: no dependants).
    DeleteBookmark { user: i64, key: String },
    /// `update_last_login` on login: `UPDATE auth_user SET last_login = ...`.
    Login { user: i64 },
    /// Changing a username (a unique column: PostgreSQL takes FOR UPDATE, not FOR NO KEY UPDATE).
    Rename { user: i64, username: String },
    /// `user.delete()` with `on_delete=CASCADE` and `db_constraint=False`.
    ///
    /// Django's deletion `Collector` (django/db/models/deletion.py) emulates the cascade in
    /// Python. `Collector.collect` finds the related objects; for a relation whose model has no
    /// signals and no further cascades, `Collector.can_fast_delete` holds and the related rows are
    /// removed with one `DELETE ... WHERE user_id IN (...)` per child table, without being
    /// fetched. `Collector.delete` then runs, inside `transaction.atomic`, the fast deletes first
    /// (children) and the parent's `DELETE ... WHERE id IN (...)` last. `db_constraint=False`
    /// changes none of this: it only drops the FOREIGN KEY clause from the DDL.
    DeleteUserCascade { user: i64 },
    /// `CourseEnrollment.objects.get_or_create(user=user, course_id=c)` where `user` may be an
    /// unsaved `User()`.
    ///
    /// Django refuses to save a row that points at an unsaved object: `Model.save` calls
    /// `Model._prepare_related_fields_for_save` (django/db/models/base.py), which raises
    /// `ValueError("save() prohibited to prevent data loss due to unsaved related object")`. So
    /// the application saves the user first (`INSERT INTO auth_user`). `QuerySet.get_or_create`
    /// (django/db/models/query.py) then tries `get` (the SELECT), and on `DoesNotExist` creates the
    /// row inside `transaction.atomic` (a savepoint); an `IntegrityError` there (a unique
    /// violation: another request created it) is caught and answered by `get` again, which
    /// re-raises the `IntegrityError` if it finds nothing. So: [`Part::Get`]; if it found the
    /// row, nothing more; else [`Part::Create`]; on an `IntegrityError`, [`Part::GetAgain`]. Any
    /// other failure raises, and the statements after it are never sent.
    ///
    /// The create's `atomic` is nested in the request's transaction, so Django sends it as a
    /// savepoint (`Atomic.__enter__` -> `connection.savepoint()`, django/db/transaction.py):
    /// `SAVEPOINT; INSERT; RELEASE SAVEPOINT`, and on an `IntegrityError` `Atomic.__exit__`
    /// sends `ROLLBACK TO SAVEPOINT` then `RELEASE SAVEPOINT` before the `get` again. So the
    /// transaction survives the error on both engines: on PostgreSQL the error aborted only the
    /// subtransaction, and the `get` again finds the other request's row at READ COMMITTED (not
    /// at REPEATABLE READ). On InnoDB the rollback to the savepoint keeps the INSERT's row locks
    /// (the `get` registered InnoDB in the transaction first; see the engine's savepoints).
    GetOrCreateEnrollment { row: i64, user: i64, new_user: Option<NewUser>, course: String },
    /// The background orphan sweeper: removes child rows whose user no longer exists.
    Sweep,
    /// `StudentModule.objects.get_or_create(student=u, module_state_key=k, course_id=c)`, as
    /// courseware's `FieldDataCache.set_many` runs it before saving a block's state: the get,
    /// then the create, as [`Action::GetOrCreateEnrollment`]. Only with a schema that has
    /// `courseware_studentmodule`.
    GetOrCreateModule { user: i64, course: String, key: String },
    /// The `StudentModule.save()` of the new state that follows (an UPDATE; Django's names the
    /// row by its id, the model's by its unique key, the same row).
    SaveModule { user: i64, course: String, key: String },
    /// completion's `BlockCompletion.objects.submit_completion`: `get_or_create(user=u,
    /// context_key=c, block_key=k, defaults={completion, block_type})`.
    SubmitCompletion { user: i64, course: String, key: String },
    /// The save of the new completion value that follows when the row existed (sent always
    /// here: the model cannot see whether the create ran).
    UpdateCompletion { user: i64, course: String, key: String },
}

/// The savepoint of get_or_create's create (Django names it `s<thread id>_x<n>`).
pub const GET_OR_CREATE_SAVEPOINT: &str = "s1_x1";

/// A part of an action that the driver sends as a step of its own, because what Django sends
/// next depends on its result.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Part {
    /// All of the action's statements (every action but get_or_create).
    Whole,
    /// get_or_create's `get` (after saving an unsaved user first): the SELECT.
    Get,
    /// get_or_create's `create`: the INSERT, sent when `get` found nothing.
    Create,
    /// get_or_create's `get` after the create raised an `IntegrityError`.
    GetAgain,
}

/// get_or_create of a child row of `user` in `table` found by `filter`: the get, then the create
/// (its row id left to the table's serial column).
fn get_or_create_child(sql: &AppSql, (table, filter): (&str, &str), user: i64, cols: &str, vals: &str) -> Vec<String> {
    vec![format!("SELECT id FROM {table} WHERE {filter}"), child_insert(sql, table, 0, user, cols, vals)]
}

/// A child row's id as sent: given (a workload run numbers its rows so that its spec replays
/// them), or, for row 0, left to the table's AUTO_INCREMENT / SERIAL column as Django leaves it
/// (the load simulator's rows).
fn child_insert(sql: &AppSql, table: &str, row: i64, user: i64, cols: &str, rest: &str) -> String {
    if !sql.builtin() {
        let user_col = sql.children().iter().find(|(t, _)| *t == table).map_or("user_id", |(_, c)| c).to_string();
        let mut names: Vec<&str> = if row == 0 { vec![] } else { vec!["id"] };
        names.push(&user_col);
        names.extend(cols.split(", "));
        let mut row_vals: Vec<String> = if row == 0 { vec![] } else { vec![row.to_string()] };
        row_vals.extend([user.to_string(), rest.to_string()]);
        return sql.insert(table, &names, &[row_vals], false);
    }
    if row == 0 {
        format!("INSERT INTO {table} (user_id, {cols}) VALUES ({user}, {rest})")
    } else {
        format!("INSERT INTO {table} VALUES ({row}, {user}, {rest})")
    }
}

/// The SQL for one literal string (the generator only makes plain identifiers, but quote anyway).
fn lit(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

/// `CourseEnrollment.objects.create(user=u, course_id=c)`'s INSERT.
fn enroll_insert(sql: &AppSql, row: i64, user: i64, course: &str) -> String {
    child_insert(sql, CHILD_TABLES[0], row, user, "course_id, is_active", &format!("{}, TRUE", lit(course)))
}

impl Action {
    /// The statements Django sends, in order, for the built-in schema.
    pub fn statements(&self) -> Vec<String> {
        self.statements_in(&AppSql::default())
    }

    /// The statements Django sends, in order, for a run's schema.
    pub fn statements_in(&self, sql: &AppSql) -> Vec<String> {
        let module_where = |user: &i64, course: &str, key: &str| {
            format!("student_id = {user} AND module_id = {} AND course_id = {}", lit(key), lit(course))
        };
        let completion_where = |user: &i64, course: &str, key: &str| {
            format!("course_key = {} AND block_key = {} AND user_id = {user}", lit(course), lit(key))
        };
        match self {
            Action::Enroll { row, user, course } => vec![enroll_insert(sql, *row, *user, course)],
            Action::AddBookmark { row, user, key } => {
                vec![child_insert(sql, CHILD_TABLES[1], *row, *user, "usage_key", &lit(key))]
            }
            Action::DeleteBookmark { user, key } => {
                vec![format!("DELETE FROM bookmarks_bookmark WHERE user_id = {user} AND usage_key = {}", lit(key))]
            }
            Action::Login { user } => {
                vec![format!("UPDATE auth_user SET last_login = CURRENT_TIMESTAMP WHERE id = {user}")]
            }
            Action::Rename { user, username } => {
                vec![format!("UPDATE auth_user SET username = {} WHERE id = {user}", lit(username))]
            }
            Action::DeleteUserCascade { user } => {
                let mut v: Vec<String> =
                    sql.children().iter().map(|(t, c)| format!("DELETE FROM {t} WHERE {c} IN ({user})")).collect();
                v.push(format!("DELETE FROM auth_user WHERE id IN ({user})"));
                v
            }
            Action::GetOrCreateEnrollment { row, user, new_user, course } => {
                let mut v = Vec::new();
                if let Some(n) = new_user {
                    v.push(sql.insert(
                        "auth_user",
                        &["id", "username", "last_login", "is_active"],
                        &[vec![n.id.to_string(), lit(&n.username), "NULL".into(), "TRUE".into()]],
                        true,
                    ));
                }
                v.push(format!(
                    "SELECT id FROM student_courseenrollment WHERE user_id = {user} AND course_id = {}",
                    lit(course)
                ));
                v.push(enroll_insert(sql, *row, *user, course));
                v
            }
            Action::Sweep => sql
                .children()
                .iter()
                .map(|(t, c)| format!("DELETE FROM {t} WHERE {c} NOT IN (SELECT id FROM auth_user)"))
                .collect(),
            Action::GetOrCreateModule { user, course, key } => get_or_create_child(
                sql,
                ("courseware_studentmodule", &module_where(user, course, key)),
                *user,
                "module_id, course_id, module_type",
                &format!("{}, {}, 'problem'", lit(key), lit(course)),
            ),
            Action::SaveModule { user, course, key } => vec![format!(
                "UPDATE courseware_studentmodule SET state = '[1]', modified = CURRENT_TIMESTAMP WHERE {}",
                module_where(user, course, key)
            )],
            Action::SubmitCompletion { user, course, key } => get_or_create_child(
                sql,
                ("completion_blockcompletion", &completion_where(user, course, key)),
                *user,
                "course_key, block_key, block_type, completion",
                &format!("{}, {}, 'problem', 1", lit(course), lit(key)),
            ),
            Action::UpdateCompletion { user, course, key } => vec![format!(
                "UPDATE completion_blockcompletion SET completion = 1, modified = CURRENT_TIMESTAMP WHERE {}",
                completion_where(user, course, key)
            )],
        }
    }

    /// The parts the driver sends, each as its own step, in order.
    pub fn parts(&self) -> &'static [Part] {
        match self {
            Action::GetOrCreateEnrollment { .. }
            | Action::GetOrCreateModule { .. }
            | Action::SubmitCompletion { .. } => &[Part::Get, Part::Create, Part::GetAgain],
            _ => &[Part::Whole],
        }
    }

    /// The statements of one part ([`Action::statements`] is the get and the create of a
    /// get_or_create that found nothing).
    pub fn part_statements(&self, part: Part) -> Vec<String> {
        self.part_statements_in(part, &AppSql::default())
    }

    /// [`Action::part_statements`] for a run's schema.
    pub fn part_statements_in(&self, part: Part, sql: &AppSql) -> Vec<String> {
        let mut all = self.statements_in(sql);
        let sp = GET_OR_CREATE_SAVEPOINT;
        match part {
            Part::Whole => all,
            Part::Create => {
                let insert = all.split_off(all.len() - 1);
                std::iter::once(format!("SAVEPOINT {sp}"))
                    .chain(insert)
                    .chain([format!("RELEASE SAVEPOINT {sp}")])
                    .collect()
            }
            Part::Get => {
                all.pop();
                all
            }
            Part::GetAgain => [format!("ROLLBACK TO SAVEPOINT {sp}"), format!("RELEASE SAVEPOINT {sp}")]
                .into_iter()
                .chain(all.into_iter().filter(|q| q.starts_with("SELECT")))
                .collect(),
        }
    }

    /// The existing user the action needs (the request's `request.user` or the object it loads).
    pub fn loads_user(&self) -> Option<i64> {
        match self {
            Action::Enroll { user, .. }
            | Action::AddBookmark { user, .. }
            | Action::DeleteBookmark { user, .. }
            | Action::Login { user }
            | Action::Rename { user, .. }
            | Action::DeleteUserCascade { user }
            | Action::GetOrCreateModule { user, .. }
            | Action::SaveModule { user, .. }
            | Action::SubmitCompletion { user, .. }
            | Action::UpdateCompletion { user, .. } => Some(*user),
            Action::GetOrCreateEnrollment { user, new_user: None, .. } => Some(*user),
            Action::GetOrCreateEnrollment { new_user: Some(_), .. } | Action::Sweep => None,
        }
    }

    /// The child row the action inserts: (table, row id, user id).
    pub fn child_write(&self) -> Option<(&'static str, i64, i64)> {
        match self {
            Action::Enroll { row, user, .. } | Action::GetOrCreateEnrollment { row, user, .. } => {
                Some((CHILD_TABLES[0], *row, *user))
            }
            Action::AddBookmark { row, user, .. } => Some((CHILD_TABLES[1], *row, *user)),
            _ => None,
        }
    }

    /// The child table of `auth_user` the action writes ([`sql::USER_TABLES`]), if any.
    pub fn child_table(&self) -> Option<&'static str> {
        let t = &sql::USER_TABLES;
        match self {
            Action::Enroll { .. } | Action::GetOrCreateEnrollment { .. } => Some(t[0].0),
            Action::AddBookmark { .. } | Action::DeleteBookmark { .. } => Some(t[1].0),
            Action::GetOrCreateModule { .. } | Action::SaveModule { .. } => Some(t[2].0),
            Action::SubmitCompletion { .. } | Action::UpdateCompletion { .. } => Some(t[3].0),
            _ => None,
        }
    }

    /// A short name for step names and summaries.
    pub fn kind(&self) -> &'static str {
        match self {
            Action::Enroll { .. } => "enroll",
            Action::AddBookmark { .. } => "bookmark_add",
            Action::DeleteBookmark { .. } => "bookmark_delete",
            Action::Login { .. } => "login",
            Action::Rename { .. } => "rename",
            Action::DeleteUserCascade { .. } => "delete_user",
            Action::GetOrCreateEnrollment { new_user: None, .. } => "get_or_create",
            Action::GetOrCreateEnrollment { new_user: Some(_), .. } => "get_or_create_new_user",
            Action::Sweep => "sweep",
            Action::GetOrCreateModule { .. } => "studentmodule",
            Action::SaveModule { .. } => "studentmodule_save",
            Action::SubmitCompletion { .. } => "completion",
            Action::UpdateCompletion { .. } => "completion_update",
        }
    }
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.statements().join("; "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cascade_deletes_children_first_then_the_user() {
        let s = Action::DeleteUserCascade { user: 4 }.statements();
        assert_eq!(
            s,
            [
                "DELETE FROM student_courseenrollment WHERE user_id IN (4)",
                "DELETE FROM bookmarks_bookmark WHERE user_id IN (4)",
                "DELETE FROM auth_user WHERE id IN (4)",
            ]
        );
    }

    #[test]
    fn get_or_create_saves_an_unsaved_user_first() {
        let a = Action::GetOrCreateEnrollment {
            row: 9,
            user: 100,
            new_user: Some(NewUser { id: 100, username: "n1".into() }),
            course: "c1".into(),
        };
        let s = a.statements();
        assert!(s[0].starts_with("INSERT INTO auth_user VALUES (100, 'n1'"));
        assert!(s[1].starts_with("SELECT id FROM student_courseenrollment WHERE user_id = 100"));
        assert!(s[2].starts_with("INSERT INTO student_courseenrollment VALUES (9, 100"));
        assert_eq!(a.loads_user(), None);
        // Sent in parts: the user and the get, the create, the get again.
        assert_eq!(a.part_statements(Part::Get), s[..2]);
        // The create and the get again as Django's nested atomic sends them.
        let sp = |w: &str| format!("{w} {GET_OR_CREATE_SAVEPOINT}");
        assert_eq!(a.part_statements(Part::Create), [sp("SAVEPOINT"), s[2].clone(), sp("RELEASE SAVEPOINT")]);
        assert_eq!(
            a.part_statements(Part::GetAgain),
            [sp("ROLLBACK TO SAVEPOINT"), sp("RELEASE SAVEPOINT"), s[1].clone()]
        );
        let login = Action::Login { user: 1 };
        assert_eq!(login.parts(), [Part::Whole]);
        assert_eq!(login.part_statements(Part::Whole), login.statements());
    }

    #[test]
    fn row_zero_leaves_the_id_to_auto_increment_as_django_does() {
        let a = Action::Enroll { row: 0, user: 2, course: "c1".into() };
        assert_eq!(
            a.statements(),
            ["INSERT INTO student_courseenrollment (user_id, course_id, is_active) VALUES (2, 'c1', TRUE)"]
        );
        let b = Action::AddBookmark { row: 7, user: 2, key: "b1".into() };
        assert_eq!(b.statements(), ["INSERT INTO bookmarks_bookmark VALUES (7, 2, 'b1')"]);
    }

    #[test]
    fn literals_are_quoted() {
        assert_eq!(lit("o'k"), "'o''k'");
    }
}
