//! The tables the actions write, as a run's schema has them: the built-in [`super::SCHEMA`]
//! (statements exactly as before), or a schema file's (`--schema`, e.g. Django's own DDL), where
//! every INSERT names its columns and fills the NOT NULL ones the action does not give.

use crate::scenario::LoadError;
use crate::schema::{Base, SchemaError};
use crate::sql::{Catalog, ColType, SchemaOptions};
use std::collections::BTreeMap;

/// The tables that hold a user's rows, with their user column: Open edX's four (the two with the
/// FK Open edX dropped first).
pub const USER_TABLES: [(&str, &str); 4] = [
    ("student_courseenrollment", "user_id"),
    ("bookmarks_bookmark", "user_id"),
    ("courseware_studentmodule", "student_id"),
    ("completion_blockcompletion", "user_id"),
];

/// How a run's actions spell their SQL for its schema.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AppSql {
    /// The schema file and the `--fk off=` foreign keys.
    pub base: Base,
    /// Per table, its NOT NULL columns (no counter behind them) and the value an INSERT gives
    /// one the action leaves out; `None` for the built-in schema.
    fill: Option<BTreeMap<String, Vec<(String, String)>>>,
    /// The [`USER_TABLES`] the schema has (all of them but the last two in the built-in one).
    children: Vec<(String, String)>,
}

impl AppSql {
    /// For `base`, bound with `opts`: every table the actions write must be there, and every
    /// `--fk off=` must name a foreign key.
    pub fn new(base: Base, opts: SchemaOptions) -> Result<AppSql, SchemaError> {
        let Some(file) = &base.schema else {
            let builtin = crate::schema::SchemaFile {
                file: "the built-in schema".into(),
                text: super::SCHEMA.into(),
                references: Default::default(),
                bound: Default::default(),
            };
            base.unenforce(&mut builtin.catalog(opts)?)?;
            return Ok(AppSql { base, ..AppSql::default() });
        };
        let mut cat = file.catalog(opts)?;
        base.unenforce(&mut cat)?;
        for t in ["auth_user", USER_TABLES[0].0, USER_TABLES[1].0] {
            if cat.table_id(t).is_none() {
                return Err(LoadError {
                    file: file.file.clone(),
                    pos: Default::default(),
                    what: format!("the workload's actions need table `{t}`, which the schema does not create"),
                }
                .into());
            }
        }
        let children = USER_TABLES
            .iter()
            .filter(|(t, c)| cat.table_id(t).is_some_and(|id| cat.tables[id].col(c).is_some()))
            .map(|(t, c)| (t.to_string(), c.to_string()))
            .collect();
        Ok(AppSql { fill: Some(fills(&cat)), children, base })
    }

    /// The built-in schema (no schema file)?
    pub fn builtin(&self) -> bool {
        self.fill.is_none()
    }

    /// The DDL a generated spec's setup starts with: the built-in tables, or nothing (the schema
    /// file made them).
    pub fn setup_ddl(&self) -> &'static str {
        if self.builtin() {
            super::SCHEMA
        } else {
            ""
        }
    }

    /// The tables that hold a user's rows, and their user column.
    pub fn children(&self) -> Vec<(&str, &str)> {
        if self.builtin() {
            return super::CHILD_TABLES.iter().map(|t| (*t, "user_id")).collect();
        }
        self.children.iter().map(|(t, c)| (t.as_str(), c.as_str())).collect()
    }

    /// Does the schema have `table`?
    pub fn has(&self, table: &str) -> bool {
        self.children().iter().any(|(t, _)| *t == table)
    }

    /// `INSERT INTO table` of `rows`, each giving the columns `names`. The built-in schema gets
    /// `VALUES` alone when `positional` (the names are all of its columns in order), else the
    /// column list; a schema file's always the column list, with its NOT NULL columns the rows do
    /// not give filled in.
    pub fn insert(&self, table: &str, names: &[&str], rows: &[Vec<String>], positional: bool) -> String {
        let mut names: Vec<String> = names.iter().map(|n| n.to_string()).collect();
        let mut extra: Vec<String> = Vec::new();
        if let Some(fill) = &self.fill {
            for (c, v) in fill.get(table).into_iter().flatten() {
                if !names.iter().any(|n| n.eq_ignore_ascii_case(c)) {
                    names.push(c.clone());
                    extra.push(v.clone());
                }
            }
        }
        let rows: Vec<String> = rows
            .iter()
            .map(|r| format!("({})", r.iter().chain(&extra).cloned().collect::<Vec<_>>().join(", ")))
            .collect();
        if positional && self.builtin() {
            format!("INSERT INTO {table} VALUES {}", rows.join(", "))
        } else {
            format!("INSERT INTO {table} ({}) VALUES {}", names.join(", "), rows.join(", "))
        }
    }
}

/// Each table's NOT NULL columns without a counter, and a value of their type: `''`, `FALSE`,
/// `0`, or `CURRENT_TIMESTAMP` (what Django's model defaults and `auto_now` give, or blank).
fn fills(cat: &Catalog) -> BTreeMap<String, Vec<(String, String)>> {
    cat.tables
        .iter()
        .map(|t| {
            let cols = t
                .visible_columns()
                .filter(|(_, c)| c.not_null && !c.serial)
                .map(|(_, c)| {
                    let v = match c.ty {
                        ColType::Text => "''",
                        ColType::Bool => "FALSE",
                        ColType::Int | ColType::Float | ColType::Numeric => "0",
                        ColType::Timestamp => "CURRENT_TIMESTAMP",
                    };
                    (c.name.clone(), v.to_string())
                })
                .collect();
            (t.name.clone(), cols)
        })
        .collect()
}
