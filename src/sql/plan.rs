//! Statements lowered to a small plan: which table, which columns, which conditions.

use super::catalog::TableId;
use super::value::Value;
use crate::spec::Pos;
use std::cmp::Ordering;

/// The isolation levels the engines know.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Isolation {
    ReadUncommitted,
    ReadCommitted,
    RepeatableRead,
    Serializable,
}

/// The strength of a locking read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RowLock {
    /// FOR UPDATE
    Update,
    /// FOR NO KEY UPDATE (PostgreSQL)
    NoKeyUpdate,
    /// FOR SHARE / LOCK IN SHARE MODE
    Share,
    /// FOR KEY SHARE (PostgreSQL)
    KeyShare,
}

/// What a locking read does with a row another transaction holds in a conflicting mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum LockWait {
    /// Wait for it (the default).
    #[default]
    Wait,
    /// `NOWAIT`: fail at once.
    NoWait,
    /// `SKIP LOCKED`: leave the row out.
    SkipLocked,
}

/// A locking read's clause: its strength and what it does when it would wait.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct LockClause {
    pub lock: RowLock,
    pub wait: LockWait,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CmpOp {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

/// One conjunct of a WHERE clause.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Cond {
    Cmp(usize, CmpOp, Value),
    In(usize, Vec<Value>),
    /// `col NOT IN (v, ...)`, with SQL's NULL rules: NULL on either side never matches.
    NotIn(usize, Vec<Value>),
    IsNull(usize, bool),
    /// `col % divisor op value` (integers; `int4mod`/`int8mod`, int.c / int8.c: the remainder
    /// has the dividend's sign, as C's `%`). A NULL column matches nothing.
    Mod(usize, i64, CmpOp, Value),
    /// `col NOT IN (SELECT pcol FROM table)`: an uncorrelated subquery over another table. Each
    /// engine evaluates it by its own rules (the PostgreSQL profile once per statement, through
    /// [`Filter::resolve`]; the InnoDB profile by a locking lookup per row). Until then it
    /// filters nothing: [`Cond::matches`] is true.
    NotInSelect {
        col: usize,
        table: TableId,
        pcol: usize,
    },
}

impl Cond {
    pub fn col(&self) -> usize {
        match self {
            Cond::Cmp(c, ..) | Cond::In(c, _) | Cond::NotIn(c, _) | Cond::IsNull(c, _) | Cond::Mod(c, ..) => *c,
            Cond::NotInSelect { col, .. } => *col,
        }
    }

    pub fn matches(&self, row: &[Value]) -> bool {
        match self {
            Cond::Mod(c, d, op, v) => match &row[*c] {
                Value::Int(x) => Cond::Cmp(0, *op, v.clone()).matches(&[Value::Int(x.wrapping_rem(*d))]),
                _ => false,
            },
            Cond::Cmp(c, op, v) => match row[*c].sql_cmp(v) {
                None => false,
                Some(o) => match op {
                    CmpOp::Eq => o == Ordering::Equal,
                    CmpOp::Ne => o != Ordering::Equal,
                    CmpOp::Lt => o == Ordering::Less,
                    CmpOp::Le => o != Ordering::Greater,
                    CmpOp::Gt => o == Ordering::Greater,
                    CmpOp::Ge => o != Ordering::Less,
                },
            },
            Cond::In(c, vs) => vs.iter().any(|v| row[*c].sql_cmp(v) == Some(Ordering::Equal)),
            Cond::NotIn(c, vs) => not_in(&row[*c], vs),
            Cond::IsNull(c, want) => row[*c].is_null() == *want,
            Cond::NotInSelect { .. } => true,
        }
    }
}

/// `x NOT IN (list)` as a WHERE clause sees it: true only when `x` is not NULL, equals no element,
/// and no element is NULL (otherwise the result is false or NULL, and the row is not selected).
pub fn not_in(x: &Value, list: &[Value]) -> bool {
    !x.is_null() && list.iter().all(|v| x.sql_cmp(v).is_some_and(|o| o != Ordering::Equal))
}

/// A WHERE clause: a conjunction (empty = every row).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Filter {
    pub conds: Vec<Cond>,
    /// `pg_advisory_lock(k) IS NOT NULL` and the like: calls made for each row the scan returns
    /// (PostgreSQL), always true.
    pub advisory: Vec<Advisory>,
}

/// What an advisory lock function does (lockfuncs.c).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AdvisoryOp {
    /// `pg_advisory[_xact]_lock[_shared](key)`: wait for the lock, then hold it.
    Lock,
    /// `pg_try_advisory[_xact]_lock[_shared](key)`: take the lock if it is free now, else return
    /// false without waiting (`LockAcquire(..., dontWait = true)`).
    TryLock,
    /// `pg_advisory_unlock[_shared](key)`: give back one hold of a session lock (true if held).
    Unlock,
    /// `pg_advisory_unlock_all()`: give back every session lock.
    UnlockAll,
}

/// A call of a PostgreSQL advisory lock function.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Advisory {
    /// The function's name, lower case (the result column's name).
    pub name: String,
    pub op: AdvisoryOp,
    /// The key: one bigint, or two ints as `(k1 << 32) | k2`.
    pub key: i64,
    /// Held to the end of the transaction (`_xact_`), not the session.
    pub xact: bool,
    /// ShareLock (`_shared`), not ExclusiveLock.
    pub shared: bool,
}

impl Filter {
    pub fn matches(&self, row: &[Value]) -> bool {
        self.conds.iter().all(|c| c.matches(row))
    }

    /// The `NOT IN (SELECT ...)` conjuncts, as (column, subquery table, subquery column).
    pub fn subqueries(&self) -> impl Iterator<Item = (usize, TableId, usize)> + '_ {
        self.conds.iter().filter_map(|c| match c {
            Cond::NotInSelect { col, table, pcol } => Some((*col, *table, *pcol)),
            _ => None,
        })
    }

    pub fn has_subquery(&self) -> bool {
        self.subqueries().next().is_some()
    }

    /// The filter with every subquery replaced by its result: `values(table, pcol)` gives the
    /// values the subquery returns, and the conjunct becomes a `NOT IN` list.
    pub fn resolve<E>(&self, mut values: impl FnMut(TableId, usize) -> Result<Vec<Value>, E>) -> Result<Filter, E> {
        let mut conds = Vec::with_capacity(self.conds.len());
        for c in &self.conds {
            conds.push(match c {
                Cond::NotInSelect { col, table, pcol } => Cond::NotIn(*col, values(*table, *pcol)?),
                other => other.clone(),
            });
        }
        Ok(Filter { conds, advisory: self.advisory.clone() })
    }

    /// The value a column is pinned to by an `=` conjunct, if any.
    pub fn eq_value(&self, col: usize) -> Option<&Value> {
        self.conds.iter().find_map(|c| match c {
            Cond::Cmp(cc, CmpOp::Eq, v) if *cc == col && !v.is_null() => Some(v),
            _ => None,
        })
    }
}

/// One ORDER BY key: a column, its direction, and where NULLs go (PostgreSQL's default: NULLS
/// LAST for ASC, NULLS FIRST for DESC, `transformSortClause` in parse_clause.c).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SortKey {
    pub col: usize,
    pub desc: bool,
    pub nulls_first: bool,
}

/// Compare two rows by `keys` (values of one column compare as [`Value::sql_cmp`]).
pub fn sort_cmp(keys: &[SortKey], a: &[Value], b: &[Value]) -> Ordering {
    for k in keys {
        let (x, y) = (&a[k.col], &b[k.col]);
        let o = match (x.is_null(), y.is_null()) {
            (true, true) => Ordering::Equal,
            (true, false) => return if k.nulls_first { Ordering::Less } else { Ordering::Greater },
            (false, true) => return if k.nulls_first { Ordering::Greater } else { Ordering::Less },
            (false, false) => x.sql_cmp(y).unwrap_or_else(|| x.cmp(y)),
        };
        let o = if k.desc { o.reverse() } else { o };
        if o != Ordering::Equal {
            return o;
        }
    }
    Ordering::Equal
}

/// A value in an INSERT row or on the right of `SET col =`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Expr {
    Lit(Value),
    /// CURRENT_TIMESTAMP / NOW()
    Now,
    /// DEFAULT (or a column left out of the INSERT list)
    Default,
    /// `col + n` (or `col - n`)
    ColPlus(usize, i64),
    /// `lower(col)` (false) or `upper(col)` (true) of a text column (PostgreSQL's `lower`/`upper`,
    /// oracle_compat.c; ASCII case mapping, as the suite's C-locale text needs).
    Case(usize, bool),
    /// An upsert's proposed row: PostgreSQL's `EXCLUDED.col`, MariaDB's `VALUES(col)`.
    Excluded(usize),
    /// `a || b`: text concatenation (`textcat`, varlena.c), NULL when either side is NULL.
    Concat(Box<Expr>, Box<Expr>),
}

impl Expr {
    /// The value of an UPDATE's `SET` expression on the row `old` (None: it is not computed from
    /// the row, or a `+ n` meets a value that is not an integer).
    pub fn of_row(&self, old: &[Value]) -> Option<Value> {
        Some(match self {
            Expr::Lit(v) => v.clone(),
            Expr::ColPlus(src, n) => match &old[*src] {
                Value::Int(i) => Value::Int(i + n),
                v if *n == 0 => v.clone(),
                _ => return None,
            },
            Expr::Case(src, upper) => match &old[*src] {
                Value::Str(t) if *upper => Value::Str(t.to_ascii_uppercase().into()),
                Value::Str(t) => Value::Str(t.to_ascii_lowercase().into()),
                v => v.clone(),
            },
            Expr::Concat(a, b) => match (a.of_row(old)?, b.of_row(old)?) {
                (Value::Null, _) | (_, Value::Null) => Value::Null,
                (x, y) => Value::Str(format!("{x}{y}").into()),
            },
            Expr::Now | Expr::Default | Expr::Excluded(_) => return None,
        })
    }
}

/// What an INSERT does with a row whose unique key is taken.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OnConflict {
    /// PostgreSQL's `ON CONFLICT [target] DO NOTHING`: the arbiters are the unique indexes the
    /// target names (`infer_arbiter_indexes`, plancat.c), or every unique index without one (empty).
    Nothing { arbiters: Vec<usize> },
    /// PostgreSQL's `ON CONFLICT target DO UPDATE SET ... [WHERE cond]`: `filter` is over the
    /// existing row (None: every conflicting row is updated).
    Update { arbiters: Vec<usize>, set: Vec<(usize, Expr)>, filter: Option<Filter> },
    /// MariaDB's `INSERT ... ON DUPLICATE KEY UPDATE`: on a duplicate in any unique index, the
    /// existing row is updated instead.
    DuplicateKey { set: Vec<(usize, Expr)> },
    /// MariaDB's `INSERT IGNORE`: a row that fails a duplicate or foreign-key check is skipped.
    Ignore,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Projection {
    Star,
    Cols(Vec<usize>),
    CountStar,
    One,
    /// A SELECT list naming PostgreSQL's system columns (`xmin`, `xmax`, `ctid`, ...): bound, so
    /// that a spec using one loads, but refused when it runs (the model's transaction ids and
    /// tuple positions are not a server's, so no output of them could be compared).
    SystemColumns(Vec<String>),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Plan {
    Insert {
        table: TableId,
        rows: Vec<Vec<Expr>>,
        /// ON CONFLICT (PostgreSQL), ON DUPLICATE KEY UPDATE / IGNORE (MariaDB).
        on_conflict: Option<OnConflict>,
    },
    Update {
        table: TableId,
        set: Vec<(usize, Expr)>,
        filter: Filter,
    },
    Delete {
        table: TableId,
        filter: Filter,
    },
    Select {
        table: TableId,
        proj: Projection,
        filter: Filter,
        lock: Option<RowLock>,
        /// NOWAIT / SKIP LOCKED (a locking read only).
        wait: LockWait,
        /// ORDER BY, in order of significance (empty: the scan's order).
        order: Vec<SortKey>,
        /// LIMIT n: the statement stops after n rows are returned.
        limit: Option<usize>,
    },
    Begin(Option<Isolation>),
    Commit,
    Rollback,
    /// `SAVEPOINT name` (names compared as the servers fold them: case-insensitively unless quoted).
    Savepoint(String),
    /// `RELEASE [SAVEPOINT] name`
    ReleaseSavepoint(String),
    /// `ROLLBACK TO [SAVEPOINT] name`
    RollbackToSavepoint(String),
    /// SET [SESSION] TRANSACTION ISOLATION LEVEL ...: `next_only` for the next transaction only.
    SetIsolation {
        level: Isolation,
        next_only: bool,
    },
    /// `SET CONSTRAINTS {ALL | name, ...} {IMMEDIATE | DEFERRED}` (PostgreSQL): `names` None for ALL.
    SetConstraints {
        names: Option<Vec<String>>,
        deferred: bool,
    },
    /// SET name = value (timeouts; others accepted and ignored).
    SetVar {
        name: String,
        value: String,
    },
    /// DDL after setup (DROP TABLE in a teardown): accepted, not run by the model.
    Ddl,
    /// `ALTER TABLE parent ATTACH PARTITION table FOR VALUES ...` (PostgreSQL): `table`, a table
    /// of its own, becomes `Catalog::partitions[partition]` of `parent` when it runs; `cols[i]`
    /// is the column of `table` that column `i` of `parent` takes its value from (by name).
    AttachPartition {
        parent: TableId,
        table: TableId,
        partition: usize,
        cols: Vec<usize>,
    },
    /// `SELECT pg_advisory_lock(k), ...` without FROM (PostgreSQL): one row of the calls' results.
    Advisory(Vec<Advisory>),
    /// `SELECT 1` or other literals without FROM: one row, its columns named as PostgreSQL names
    /// them (an alias, else `?column?`: `FigureColname`, parse_target.c).
    Values {
        names: Vec<String>,
        row: Vec<Value>,
    },
    /// `LOCK [TABLE] name [, ...] [IN mode MODE] [NOWAIT]` (PostgreSQL): the relations named, a
    /// partition by itself.
    LockTable {
        rels: Vec<Relation>,
        mode: TableLock,
        nowait: bool,
    },
    /// `VACUUM [(options)] [rel, ...]` or `ANALYZE [(options)] [rel, ...]` (PostgreSQL).
    Maintenance(Maintenance),
    /// `PREPARE name AS statement` (PostgreSQL, without parameters): the statement, bound when
    /// the spec loads, becomes a named plan of the session that runs it (`PrepareQuery`, prepare.c).
    Prepare {
        name: String,
        stmt: Box<Statement>,
    },
    /// `EXECUTE name` (PostgreSQL, without parameters): runs the session's prepared statement
    /// (`ExecuteQuery`, prepare.c).
    Execute(String),
    /// `SELECT nextval('name') [FROM generate_series(a, b)]` (PostgreSQL): `calls` calls of
    /// nextval on sequence `seq` (an index of `Catalog::sequences`), a row of column `column` each.
    NextVal {
        seq: usize,
        calls: usize,
        column: String,
    },
    /// `ALTER SEQUENCE name options` (PostgreSQL).
    AlterSequence {
        seq: usize,
        options: Vec<super::sequence::SeqOption>,
    },
}

/// A relation a statement names: a table of the catalog, or one partition of a partitioned table
/// (`index` in [`crate::sql::Catalog::partitions`]), which PostgreSQL locks as a relation of its
/// own.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Relation {
    Table(TableId),
    Partition { parent: TableId, index: usize },
}

impl Relation {
    /// The catalog table it is (a partition: its partitioned table).
    pub fn table(self) -> TableId {
        match self {
            Relation::Table(t) | Relation::Partition { parent: t, .. } => t,
        }
    }
}

/// `VACUUM` or `ANALYZE` with the options that decide its locks (`ExecVacuum`, vacuum.c): the
/// others (VERBOSE, FREEZE, INDEX_CLEANUP, ...) are read and change nothing the model keeps.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Maintenance {
    /// VACUUM (VACOPT_VACUUM); false for ANALYZE alone.
    pub vacuum: bool,
    /// ANALYZE, alone or as VACUUM's option (VACOPT_ANALYZE).
    pub analyze: bool,
    /// VACUUM FULL (VACOPT_FULL): ACCESS EXCLUSIVE instead of SHARE UPDATE EXCLUSIVE.
    pub full: bool,
    /// SKIP_LOCKED (VACOPT_SKIP_LOCKED): relation locks are taken only if they are free.
    pub skip_locked: bool,
    /// The relations named, each with its name as the statement spells it (unquoted names folded
    /// to lower case), which the warnings quote; empty: every table of the database.
    pub rels: Vec<(Relation, String)>,
}

/// PostgreSQL's table lock modes (lockdefs.h), weakest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum TableLock {
    AccessShare,
    RowShare,
    RowExclusive,
    ShareUpdateExclusive,
    Share,
    ShareRowExclusive,
    Exclusive,
    /// The default of `LOCK TABLE` without a mode.
    AccessExclusive,
}

/// What a DROP TABLE removes (the engines leave DDL after setup to the runner).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DropTables {
    /// The tables it names, in order; a table named IF EXISTS that was never created is left out.
    pub tables: Vec<TableId>,
    pub if_exists: bool,
}

/// A bound statement with the text and position it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Statement {
    pub plan: Plan,
    pub text: String,
    pub pos: Pos,
    /// For DROP TABLE (a `Plan::Ddl`): what it drops.
    pub drop: Option<DropTables>,
}

impl Plan {
    /// The tables the statement reads or writes by name (its own and its subqueries').
    pub fn tables(&self) -> Vec<TableId> {
        match self {
            Plan::Insert { table, .. } => vec![*table],
            Plan::LockTable { rels, .. } => rels.iter().map(|r| r.table()).collect(),
            Plan::Update { table, filter, .. }
            | Plan::Delete { table, filter }
            | Plan::Select { table, filter, .. } => {
                std::iter::once(*table).chain(filter.subqueries().map(|(_, t, _)| t)).collect()
            }
            _ => Vec::new(),
        }
    }
}

impl Plan {
    /// The WHERE clause of a statement that has one.
    pub fn filter(&self) -> Option<&Filter> {
        match self {
            Plan::Update { filter, .. } | Plan::Delete { filter, .. } | Plan::Select { filter, .. } => Some(filter),
            _ => None,
        }
    }

    /// The table a data statement works on.
    pub fn table(&self) -> Option<TableId> {
        match self {
            Plan::Insert { table, .. } | Plan::Update { table, .. } | Plan::Delete { table, .. } => Some(*table),
            Plan::Select { table, .. } => Some(*table),
            _ => None,
        }
    }
}

impl Statement {
    /// Does the statement end or start a transaction (so it never waits on row locks)?
    pub fn is_transaction_control(&self) -> bool {
        matches!(
            self.plan,
            Plan::Begin(_)
                | Plan::Commit
                | Plan::Rollback
                | Plan::Savepoint(_)
                | Plan::ReleaseSavepoint(_)
                | Plan::RollbackToSavepoint(_)
                | Plan::SetIsolation { .. }
                | Plan::SetVar { .. }
        )
    }
}
