//! The schema: tables, columns, indexes (clustered first) and foreign keys, built from the setup DDL.

use super::value::Value;
use std::sync::Arc;

pub type TableId = usize;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColType {
    Int,
    Text,
    Bool,
    Timestamp,
}

/// How MariaDB stores a column (utf8mb4: 4 bytes a character), for the optimizer's key lengths and
/// record sizes (`Field::key_length`, `dict_index_calc_min_rec_len`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Width {
    /// The most bytes the value takes (INT 4, VARCHAR(n) 4n, TIMESTAMP 4, BOOLEAN 1).
    pub bytes: u32,
    /// Stored with a length (VARCHAR, TEXT, and CHAR in a multi-byte character set).
    pub variable: bool,
    /// The declared length in characters of a text column (VARCHAR(n)), for the live DDL.
    pub chars: Option<u32>,
}

impl Width {
    pub const fn fixed(bytes: u32) -> Width {
        Width { bytes, variable: false, chars: None }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Column {
    pub name: String,
    pub ty: ColType,
    pub width: Width,
    pub not_null: bool,
    /// SERIAL / AUTO_INCREMENT: filled from a counter when not given.
    pub serial: bool,
    /// InnoDB's hidden DB_ROW_ID of a table without a primary key; never shown.
    pub hidden: bool,
}

/// An index. `cols` are its key columns; secondary index entries also carry the clustered key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Index {
    pub name: String,
    pub cols: Vec<usize>,
    pub unique: bool,
    pub clustered: bool,
    /// Created by InnoDB for a foreign key that had no index (MariaDB drops it when a later
    /// CREATE INDEX can serve the foreign key).
    pub implicit: bool,
}

/// A foreign key's referential action (`ON DELETE` / `ON UPDATE`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RefAction {
    /// The default: the change fails while a child still references the old key (PostgreSQL
    /// checks at the end of the statement, after looking for another parent row with that key).
    NoAction,
    /// Like NO ACTION, without the look for another parent row (PostgreSQL); the same as NO
    /// ACTION in InnoDB.
    Restrict,
    /// Delete the child rows, or give them the parent's new key.
    Cascade,
    /// Set the child rows' referencing columns to NULL.
    SetNull,
}

impl RefAction {
    /// The SQL words, for a DDL clause (`None` for NO ACTION, the default).
    pub fn sql(self) -> Option<&'static str> {
        match self {
            RefAction::NoAction => None,
            RefAction::Restrict => Some("RESTRICT"),
            RefAction::Cascade => Some("CASCADE"),
            RefAction::SetNull => Some("SET NULL"),
        }
    }

    /// Does the action change child rows (CASCADE, SET NULL) rather than refuse the change?
    pub fn changes_children(self) -> bool {
        matches!(self, RefAction::Cascade | RefAction::SetNull)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ForeignKey {
    pub name: String,
    pub cols: Vec<usize>,
    pub parent: TableId,
    pub parent_cols: Vec<usize>,
    pub on_delete: RefAction,
    pub on_update: RefAction,
    /// False under `--fk off`: declared (so orphans are counted) but not enforced by the engine.
    pub enforced: bool,
    /// The child index used for checks (InnoDB's `foreign_index`): first index led by `cols`.
    pub child_index: Option<usize>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Table {
    pub name: String,
    pub columns: Vec<Column>,
    /// `indexes[0]` is the clustered index (the primary key, or the hidden row id).
    pub indexes: Vec<Index>,
    pub fks: Vec<ForeignKey>,
}

impl Table {
    pub fn col(&self, name: &str) -> Option<usize> {
        self.columns.iter().position(|c| !c.hidden && c.name.eq_ignore_ascii_case(name))
    }

    pub fn pk(&self) -> &[usize] {
        &self.indexes[0].cols
    }

    /// The clustered key of a row.
    pub fn pk_of(&self, row: &[Value]) -> Arc<[Value]> {
        self.pk().iter().map(|&c| row[c].clone()).collect()
    }

    /// The entry of `row` in index `ix`: its key columns, then the clustered key.
    pub fn entry_of(&self, ix: usize, row: &[Value]) -> Arc<[Value]> {
        let index = &self.indexes[ix];
        let key = index.cols.iter().map(|&c| row[c].clone());
        if index.clustered {
            key.collect()
        } else {
            key.chain(self.pk().iter().map(|&c| row[c].clone())).collect()
        }
    }

    pub fn visible_columns(&self) -> impl Iterator<Item = (usize, &Column)> {
        self.columns.iter().enumerate().filter(|(_, c)| !c.hidden)
    }
}

/// Every table, by id; dropped tables keep their slot so ids stay stable.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Catalog {
    pub tables: Vec<Table>,
}

impl Catalog {
    pub fn table_id(&self, name: &str) -> Option<TableId> {
        self.tables.iter().position(|t| t.name.eq_ignore_ascii_case(name))
    }

    /// Foreign keys that reference `parent`, as (child table, fk index).
    pub fn referencing(&self, parent: TableId) -> impl Iterator<Item = (TableId, usize)> + '_ {
        self.tables.iter().enumerate().flat_map(move |(t, table)| {
            table.fks.iter().enumerate().filter(move |(_, fk)| fk.parent == parent).map(move |(i, _)| (t, i))
        })
    }
}
