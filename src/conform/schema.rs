//! `conform --schema FILE`: the schema file's own DDL created on the live server (Django's
//! `sqlmigrate` output, sent as Django sends it), the constraints `--fk off` leaves unenforced
//! dropped after it, then the spec's own tables.

use super::dialect::{create_tables, Live};
use crate::schema::SchemaFile;
use crate::spec::{Pos, SqlBlock};
use crate::sql::{split_block, Catalog};

/// A schema file as a live run uses it: the file, and how many of the catalog's tables (the
/// first ones: a spec is bound on the file's catalog) it creates.
#[derive(Debug, Clone)]
pub struct LiveSchema {
    pub file: SchemaFile,
    pub tables: usize,
}

impl LiveSchema {
    /// The statements that make the scenario's tables on `live`: the file's statements verbatim
    /// (its `BEGIN;` / `COMMIT;` too), then, for each of the file's foreign keys the catalog does
    /// not enforce (`--fk off`, `--fk off=TABLE.COLUMN`), its constraint dropped (the index on
    /// the column stays, as with Django's `db_constraint=False`), then the spec's own tables.
    pub fn create(&self, live: Live, cat: &Catalog) -> Result<Vec<String>, String> {
        let block = SqlBlock { sql: self.file.text.to_string(), pos: Pos { line: 1, col: 1 } };
        let raw = split_block(&block).map_err(|e| format!("{}:{}: {}", self.file.file, e.pos, e.what))?;
        let mut out: Vec<String> = raw.into_iter().map(|r| r.text).collect();
        for t in &cat.tables[..self.tables.min(cat.tables.len())] {
            for fk in t.fks.iter().filter(|f| !f.enforced && !f.logical) {
                out.push(live.dialect().drop_fk(&t.name, live.dialect().fk_name(fk)));
            }
        }
        out.extend(create_tables(live, cat, self.tables));
        Ok(out)
    }
}
