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
    /// DOUBLE PRECISION / FLOAT / REAL (Django's FloatField). The model stores whole numbers
    /// only (a literal with a fraction is refused), which is all its statements need.
    Float,
    /// NUMERIC / DECIMAL without a scale (or scale 0). Stored exactly as a whole number: a literal
    /// with a fraction is refused, and PostgreSQL prints such a value as its digits
    /// (`numeric_out` keeps the input's scale, here 0).
    Numeric,
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
    /// InnoDB's name (`PRIMARY`, a unique key named after its first column, ...).
    pub name: String,
    /// PostgreSQL's name for the index and its constraint (see [`pg_object_name`]).
    pub pg_name: String,
    pub cols: Vec<usize>,
    pub unique: bool,
    pub clustered: bool,
    /// Created by InnoDB for a foreign key that had no index (MariaDB drops it when a later
    /// CREATE INDEX can serve the foreign key).
    pub implicit: bool,
    /// PostgreSQL's expression keys: for each of `cols`, the function of that column the key
    /// holds (None: the column itself). Empty when every key is a plain column.
    pub exprs: Vec<Option<KeyFn>>,
    /// PostgreSQL's `INCLUDE (cols)`: stored in the index, not part of its key (`indnkeyatts`).
    pub include: Vec<usize>,
}

/// A function an expression index applies to a column (PostgreSQL's `lower` / `upper`,
/// oracle_compat.c; ASCII case mapping, as the isolation suite's C-locale text needs).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyFn {
    Lower,
    Upper,
}

impl KeyFn {
    /// The function by its SQL name (lower case).
    pub fn named(name: &str) -> Option<KeyFn> {
        match name {
            "lower" => Some(KeyFn::Lower),
            "upper" => Some(KeyFn::Upper),
            _ => None,
        }
    }

    pub fn sql(self) -> &'static str {
        match self {
            KeyFn::Lower => "lower",
            KeyFn::Upper => "upper",
        }
    }

    /// The function's value for `v` (NULL and non-text values pass through).
    pub fn apply(self, v: &Value) -> Value {
        match (self, v) {
            (KeyFn::Lower, Value::Str(t)) => Value::Str(t.to_ascii_lowercase().into()),
            (KeyFn::Upper, Value::Str(t)) => Value::Str(t.to_ascii_uppercase().into()),
            (_, v) => v.clone(),
        }
    }
}

impl Index {
    /// An index of plain key columns.
    pub fn plain(name: String, pg_name: String, cols: Vec<usize>, unique: bool, clustered: bool) -> Index {
        Index { name, pg_name, cols, unique, clustered, implicit: false, exprs: Vec::new(), include: Vec::new() }
    }

    /// Is some key an expression (PostgreSQL)?
    pub fn has_exprs(&self) -> bool {
        self.exprs.iter().any(Option::is_some)
    }

    /// The key `row` has in this index: each key column, or the function of it the index keeps.
    pub fn key_of(&self, row: &[Value]) -> Vec<Value> {
        let f = |i: usize| self.exprs.get(i).copied().flatten();
        self.cols.iter().enumerate().map(|(i, &c)| f(i).map_or_else(|| row[c].clone(), |f| f.apply(&row[c]))).collect()
    }
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
    /// InnoDB's name: as declared, or `<table>_ibfk_<n>`.
    pub name: String,
    /// PostgreSQL's name: as declared, or `<table>_<columns>_fkey` (see [`pg_object_name`]).
    pub pg_name: String,
    pub cols: Vec<usize>,
    pub parent: TableId,
    pub parent_cols: Vec<usize>,
    pub on_delete: RefAction,
    pub on_update: RefAction,
    /// False under `--fk off`: declared (so orphans are counted) but not enforced by the engine.
    pub enforced: bool,
    /// The child index used for checks (InnoDB's `foreign_index`): first index led by `cols`.
    pub child_index: Option<usize>,
    /// Declared `DEFERRABLE` (PostgreSQL; Django declares every FK so there). Recorded only:
    /// the engines check every FK at the statement for now.
    pub deferrable: bool,
    /// Declared `INITIALLY DEFERRED` (implies `deferrable`).
    pub initially_deferred: bool,
    /// A reference the DDL does not declare (Django's `db_constraint=False`, read from the schema
    /// file's references, see [`crate::references`]): never enforced, never sent to a server;
    /// only its orphans are counted.
    pub logical: bool,
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
    /// The tables declared `PARTITION BY` (PostgreSQL), with their partition key column; see
    /// [`super::partition`].
    pub partition_keys: std::collections::BTreeMap<TableId, super::partition::PartitionKey>,
    /// Their partitions, in the order created.
    pub partitions: Vec<super::partition::Partition>,
    /// PostgreSQL's sequences (`CREATE SEQUENCE`), as created; see [`super::sequence`].
    pub sequences: Vec<super::sequence::Sequence>,
}

/// PostgreSQL's longest identifier: NAMEDATALEN - 1 bytes.
const PG_MAX_NAME: usize = 63;

/// The longest prefix of `s` of at most `n` bytes that ends on a character boundary.
fn clip(s: &str, n: usize) -> &str {
    let mut n = n.min(s.len());
    while !s.is_char_boundary(n) {
        n -= 1;
    }
    &s[..n]
}

/// The name PostgreSQL gives an index or constraint declared without one: `name1_name2_label`
/// (`name2` is the column names joined by `_`; `None` for a primary key, `<table>_pkey`). If it
/// is longer than 63 bytes the longer of the two names is cut, a byte at a time, until it fits;
/// the label is never cut (`makeObjectName`, src/backend/commands/indexcmds.c). While the name is
/// `taken`, a number is added to the label: `key1`, `key2`, ... (`ChooseRelationName` there, for
/// index names; `ChooseConstraintName`, src/backend/catalog/pg_constraint.c, for foreign keys).
pub fn pg_object_name(name1: &str, name2: Option<&str>, label: &str, taken: impl Fn(&str) -> bool) -> String {
    let mut pass = 0;
    loop {
        let label = if pass == 0 { label.to_string() } else { format!("{label}{pass}") };
        let overhead = label.len() + 1 + usize::from(name2.is_some());
        let avail = PG_MAX_NAME - overhead;
        let (mut n1, mut n2) = (name1.len(), name2.map_or(0, str::len));
        while n1 + n2 > avail {
            if n1 > n2 {
                n1 -= 1;
            } else {
                n2 -= 1;
            }
        }
        let name = match name2 {
            Some(b) => format!("{}_{}_{label}", clip(name1, n1), clip(b, n2)),
            None => format!("{}_{label}", clip(name1, n1)),
        };
        if !taken(&name) {
            return name;
        }
        pass += 1;
    }
}

impl Catalog {
    /// Is `name` taken in PostgreSQL's schema by a constraint (primary key, unique or foreign
    /// key) or, with `relations`, also by a table or an index?
    pub fn pg_name_taken(&self, name: &str, relations: bool) -> bool {
        (relations && (self.partitions.iter().any(|p| p.name == name) || self.sequences.iter().any(|q| q.name == name)))
            || self.tables.iter().any(|t| {
                (relations && (t.name == name || t.indexes.iter().any(|ix| ix.pg_name == name)))
                    || t.indexes.iter().any(|ix| ix.unique && ix.pg_name == name)
                    || t.fks.iter().any(|fk| fk.pg_name == name)
            })
    }

    /// The table called `name`; a partition's name gives its partitioned table.
    pub fn table_id(&self, name: &str) -> Option<TableId> {
        self.tables
            .iter()
            .position(|t| t.name.eq_ignore_ascii_case(name))
            .or_else(|| self.partition(name).map(|p| p.parent))
    }

    /// The sequence called `name`.
    pub fn sequence_id(&self, name: &str) -> Option<usize> {
        self.sequences.iter().position(|q| q.name == name)
    }

    /// Foreign keys that reference `parent`, as (child table, fk index).
    pub fn referencing(&self, parent: TableId) -> impl Iterator<Item = (TableId, usize)> + '_ {
        self.tables.iter().enumerate().flat_map(move |(t, table)| {
            table.fks.iter().enumerate().filter(move |(_, fk)| fk.parent == parent).map(move |(i, _)| (t, i))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::Pos;
    use crate::sql::{parse_statement, RawStatement, SchemaOptions};

    fn catalog(ddl: &[&str]) -> Catalog {
        let opts =
            SchemaOptions { fk_enforced: true, implicit_fk_index: false, dialect: crate::sql::SqlDialect::Generic };
        let mut cat = Catalog::default();
        for d in ddl {
            parse_statement(&RawStatement { text: d.to_string(), pos: Pos { line: 1, col: 1 } }, &mut cat, opts)
                .unwrap();
        }
        cat
    }

    /// (index names, foreign key names) of a table, as PostgreSQL names them.
    fn pg_names(cat: &Catalog, table: &str) -> (Vec<String>, Vec<String>) {
        let t = &cat.tables[cat.table_id(table).unwrap()];
        (t.indexes.iter().map(|ix| ix.pg_name.clone()).collect(), t.fks.iter().map(|f| f.pg_name.clone()).collect())
    }

    // The expected names are what PostgreSQL 15 showed (`\d`) for the same DDL.
    #[test]
    fn postgres_names_constraints_after_table_and_columns() {
        let cat = catalog(&[
            "CREATE TABLE p (a INT, b INT, PRIMARY KEY (a, b), UNIQUE (b))",
            "CREATE TABLE c (x INT, y INT, z INT REFERENCES p (b), w INT REFERENCES p (b), \
             FOREIGN KEY (x, y) REFERENCES p (a, b), FOREIGN KEY (z) REFERENCES p (b), \
             CONSTRAINT myfk FOREIGN KEY (y) REFERENCES p (b), UNIQUE (x), UNIQUE (x, y), CONSTRAINT myuniq UNIQUE (y, x))",
        ]);
        assert_eq!(pg_names(&cat, "p").0, ["p_pkey", "p_b_key"]);
        let (ix, fks) = pg_names(&cat, "c");
        // The hidden row id (no primary key) has no PostgreSQL name.
        assert_eq!(ix, ["", "c_x_key", "c_x_y_key", "myuniq"]);
        assert_eq!(fks, ["c_z_fkey", "c_w_fkey", "c_x_y_fkey", "c_z_fkey1", "myfk"]);
        // InnoDB's names are unchanged.
        let c = &cat.tables[cat.table_id("c").unwrap()];
        assert_eq!(c.fks[0].name, "c_ibfk_1");
        assert_eq!(c.indexes[1].name, "x");
    }

    #[test]
    fn postgres_cuts_long_names_to_63_bytes() {
        let table = "a_very_long_table_name_that_goes_on_and_on_forever_yes";
        let cat = catalog(&[
            "CREATE TABLE p (b INT PRIMARY KEY)",
            &format!(
                "CREATE TABLE {table} (a_very_long_column_name_as_well_really_long INT UNIQUE, bb INT REFERENCES p (b), PRIMARY KEY (bb))"
            ),
        ]);
        let (ix, fks) = pg_names(&cat, table);
        assert_eq!(
            ix,
            [
                "a_very_long_table_name_that_goes_on_and_on_forever_yes_pkey",
                "a_very_long_table_name_that_g_a_very_long_column_name_as_we_key"
            ]
        );
        assert_eq!(fks, ["a_very_long_table_name_that_goes_on_and_on_forever_yes_bb_fkey"]);
        assert!(ix.iter().chain(&fks).all(|n| n.len() <= 63));
    }

    #[test]
    fn a_taken_name_gets_a_number() {
        let taken = |n: &str| n == "t_a_key" || n == "t_a_key1";
        assert_eq!(pg_object_name("t", Some("a"), "key", taken), "t_a_key2");
        assert_eq!(pg_object_name("t", None, "pkey", |_| false), "t_pkey");
    }
}
