//! The logical references beside a schema file (`NAME.references.toml`, written from Django's
//! models by `model/schemas/django/regenerate.sh`): foreign keys Django knows that its DDL may not
//! declare (`db_constraint=False`), added to the catalog as never-enforced foreign keys so that
//! orphans are counted over them too.

use crate::scenario::LoadError;
use crate::spec::Pos;
use crate::sql::{Catalog, ForeignKey, RefAction};
use serde::Deserialize;
use std::path::{Path, PathBuf};

/// One reference: `table.column` refers to `parent_table.parent_column`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Reference {
    pub table: String,
    pub column: String,
    pub parent_table: String,
    pub parent_column: String,
    /// Django's DDL declares a constraint for it (then the schema file has it already).
    pub db_constraint: bool,
    /// Django's `on_delete` (what the application does; informative).
    pub on_delete: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    #[serde(default)]
    reference: Vec<toml::Spanned<Reference>>,
}

/// A schema file's references, read from the file beside it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct References {
    /// The references file, for messages.
    pub file: String,
    pub text: String,
    /// Each reference with its line in the file.
    pub refs: Vec<(Reference, usize)>,
}

/// The references file of a schema file: beside it, its name up to the first `.` followed by
/// `.references.toml` (`openedx.mysql.sql` and `openedx.postgres.sql` share
/// `openedx.references.toml`).
pub fn sidecar(schema: &Path) -> PathBuf {
    let name = schema.file_name().map(|n| n.to_string_lossy().to_string()).unwrap_or_default();
    let stem = name.split('.').next().unwrap_or("");
    schema.with_file_name(format!("{stem}.references.toml"))
}

fn line_of(text: &str, offset: usize) -> usize {
    text[..offset.min(text.len())].matches('\n').count() + 1
}

impl References {
    /// Read the references file beside `schema`; none (empty) if there is no such file.
    pub fn beside(schema: &Path) -> Result<References, LoadError> {
        let path = sidecar(schema);
        let file = path.display().to_string();
        let Ok(text) = std::fs::read_to_string(&path) else { return Ok(References::default()) };
        let parsed: File = toml::from_str(&text).map_err(|e| LoadError {
            file: file.clone(),
            pos: Pos { line: e.span().map_or(1, |s| line_of(&text, s.start)), col: 1 },
            what: format!("bad references file: {}", e.message()),
        })?;
        let refs =
            parsed.reference.into_iter().map(|r| (r.get_ref().clone(), line_of(&text, r.span().start))).collect();
        Ok(References { file, text, refs })
    }

    /// Add to `cat` every reference it does not declare as a foreign key already: a logical
    /// foreign key, never enforced (no engine checks it, no server is sent it), over which
    /// orphans are counted. A reference naming a table or column the schema lacks is an error
    /// at its line.
    pub fn apply(&self, cat: &mut Catalog) -> Result<(), LoadError> {
        for (r, line) in &self.refs {
            let fail = |what: String| LoadError { file: self.file.clone(), pos: Pos { line: *line, col: 1 }, what };
            let (Some(t), Some(p)) = (cat.table_id(&r.table), cat.table_id(&r.parent_table)) else {
                return Err(fail(format!(
                    "the schema has no table `{}` or `{}` for this reference",
                    r.table, r.parent_table
                )));
            };
            let (Some(c), Some(pc)) = (cat.tables[t].col(&r.column), cat.tables[p].col(&r.parent_column)) else {
                return Err(fail(format!(
                    "the schema has no column `{}.{}` or `{}.{}` for this reference",
                    r.table, r.column, r.parent_table, r.parent_column
                )));
            };
            if cat.tables[t].fks.iter().any(|fk| fk.cols == [c] && fk.parent == p) {
                continue;
            }
            let child_index =
                cat.tables[t].indexes.iter().position(|ix| !ix.has_exprs() && ix.cols.first() == Some(&c));
            let name = format!("{}_{}_logical", r.table, r.column);
            cat.tables[t].fks.push(ForeignKey {
                name: name.clone(),
                pg_name: name,
                cols: vec![c],
                parent: p,
                parent_cols: vec![pc],
                on_delete: RefAction::NoAction,
                on_update: RefAction::NoAction,
                enforced: false,
                child_index,
                deferrable: false,
                initially_deferred: false,
                logical: true,
            });
        }
        Ok(())
    }
}
