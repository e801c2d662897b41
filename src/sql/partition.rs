//! PostgreSQL's declarative partitioning, modelled as the partitioned table with its partitions as named bounds.
//!
//! A partitioned table is one table of the catalog; each partition is a name and a bound on the
//! partition key (`FOR VALUES IN (...)` or `FROM (a) TO (b)`). A row belongs to the first
//! partition whose bound it satisfies, as `ExecFindPartition` (src/backend/executor/execPartition.c)
//! routes it with `get_partition_for_tuple` (partbounds.c); none is an error. Naming a partition
//! in a statement reads the partitioned table with the bound as one more WHERE conjunct, which is
//! what a scan of the partition returns. The partitioned table's unique indexes must contain the
//! partition key (`DefineIndex`, indexcmds.c: "unique constraint on partitioned table must include
//! all partitioning columns"), so a key is unique across partitions exactly when it is unique in
//! each partition, and one index over the whole table checks the same thing.

use super::catalog::{pg_object_name, Catalog, TableId};
use super::plan::{CmpOp, Cond};
use super::value::Value;

/// How a partitioned table is partitioned: on one column, by list or range.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PartitionKey {
    pub col: usize,
    /// `RANGE` (true) or `LIST`.
    pub range: bool,
}

/// One partition of a partitioned table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Partition {
    pub name: String,
    pub parent: TableId,
    /// The bound, as conjuncts on the parent's columns.
    pub bound: Vec<Cond>,
    /// The bound as SQL (`FOR VALUES IN (1)`), for the live schema.
    pub sql: String,
    /// The table of its own that `ALTER TABLE parent ATTACH PARTITION` made this partition (its
    /// rows become the partitioned table's when the ATTACH runs; see [`super::lower`]'s attach);
    /// None for a `CREATE TABLE ... PARTITION OF`.
    pub attached_from: Option<TableId>,
}

/// The partition bound of `FOR VALUES IN (vs)` on column `col`.
pub fn list_bound(col: usize, vs: Vec<Value>) -> Vec<Cond> {
    vec![Cond::In(col, vs)]
}

/// The partition bound of `FOR VALUES FROM (lo) TO (hi)` on column `col` (lower bound
/// inclusive, upper exclusive; `None` for MINVALUE / MAXVALUE).
pub fn range_bound(col: usize, lo: Option<Value>, hi: Option<Value>) -> Vec<Cond> {
    let mut out = vec![Cond::IsNull(col, false)];
    out.extend(lo.map(|v| Cond::Cmp(col, CmpOp::Ge, v)));
    out.extend(hi.map(|v| Cond::Cmp(col, CmpOp::Lt, v)));
    out
}

impl Catalog {
    /// Is `table` partitioned (declared `PARTITION BY`)?
    pub fn is_partitioned(&self, table: TableId) -> bool {
        self.partition_keys.contains_key(&table)
    }

    /// The partition called `name`, if there is one.
    pub fn partition(&self, name: &str) -> Option<&Partition> {
        self.partitions.iter().find(|p| p.name.eq_ignore_ascii_case(name))
    }

    /// The relation called `name`: a table, or a partition (a relation of its own to the lock
    /// manager, as PostgreSQL locks each partition by its OID).
    pub fn relation(&self, name: &str) -> Option<super::plan::Relation> {
        use super::plan::Relation;
        if let Some(t) = self.tables.iter().position(|t| t.name.eq_ignore_ascii_case(name)) {
            return Some(Relation::Table(t));
        }
        let index = self.partitions.iter().position(|p| p.name.eq_ignore_ascii_case(name))?;
        Some(Relation::Partition { parent: self.partitions[index].parent, index })
    }

    /// The partition of a partitioned `table` that `row` is routed to; `None` if no bound takes
    /// it (`ExecFindPartition`: "no partition of relation ... found for row").
    pub fn partition_of_row(&self, table: TableId, row: &[Value]) -> Option<&Partition> {
        self.partitions.iter().find(|p| p.parent == table && p.bound.iter().all(|c| c.matches(row)))
    }

    /// Does changing `old` into `new` move the row of `table` to another partition (a
    /// cross-partition UPDATE, `ExecCrossPartitionUpdate`)? Never for a table not partitioned.
    pub fn moves_partition(&self, table: TableId, old: &[Value], new: &[Value]) -> bool {
        self.is_partitioned(table)
            && self.partition_of_row(table, old).map(|p| &p.name) != self.partition_of_row(table, new).map(|p| &p.name)
    }

    /// The name of the relation that holds `row` of `table`: its partition's for a partitioned
    /// table (error messages name the leaf partition, as `ExecInsert` and the RI triggers run on
    /// it), the table's own otherwise.
    pub fn relation_of_row(&self, table: TableId, row: &[Value]) -> &str {
        match self.partition_of_row(table, row) {
            Some(p) if self.is_partitioned(table) => &p.name,
            _ => &self.tables[table].name,
        }
    }

    /// A partition of `table` that shares a value with `bound`, which a new partition may not
    /// (`check_new_partition_bound`, partbounds.c: "partition ... would overlap partition ...").
    /// Two bounds overlap when one holds a point of the other: a listed value, or a range's
    /// lower bound (two ranges without one, from MINVALUE, always overlap).
    pub fn overlapping(&self, table: TableId, bound: &[Cond]) -> Option<&Partition> {
        let width = self.tables[table].columns.len();
        let points = |b: &[Cond]| -> (Vec<Vec<Value>>, bool) {
            let mut out = Vec::new();
            let mut from_min = true;
            for c in b {
                match c {
                    Cond::In(col, vs) => {
                        from_min = false;
                        for v in vs {
                            let mut row = vec![Value::Null; width];
                            row[*col] = v.clone();
                            out.push(row);
                        }
                    }
                    Cond::Cmp(col, CmpOp::Ge, v) => {
                        from_min = false;
                        let mut row = vec![Value::Null; width];
                        row[*col] = v.clone();
                        out.push(row);
                    }
                    _ => {}
                }
            }
            (out, from_min)
        };
        let holds = |b: &[Cond], row: &Vec<Value>| b.iter().all(|c| c.matches(row));
        let (mine, mine_from_min) = points(bound);
        self.partitions.iter().filter(|p| p.parent == table).find(|p| {
            let (theirs, theirs_from_min) = points(&p.bound);
            (mine_from_min && theirs_from_min)
                || mine.iter().any(|r| holds(&p.bound, r))
                || theirs.iter().any(|r| holds(bound, r))
        })
    }

    /// The partitions of `table`, in the order they were created.
    pub fn partitions_of(&self, table: TableId) -> impl Iterator<Item = (usize, &Partition)> + '_ {
        self.partitions.iter().filter(move |p| p.parent == table).enumerate()
    }

    /// The relation and constraint an RI action on the referenced side names when foreign key
    /// `f` of `child` blocks the change of the parent row with key `vals` (its `parent_cols`).
    /// A foreign key to a partitioned table is cloned for each partition of it, as a constraint
    /// of the referencing table named `ChooseConstraintName(child, columns, "fkey")` because the
    /// original's name is taken (`addFkRecurseReferenced`, tablecmds.c): `child_a_fkey1`, `..2`,
    /// in the order of the partitions. The trigger that fails is the clone's, on the partition.
    pub fn referenced_relation(&self, child: TableId, f: usize, vals: &[Value]) -> (String, String) {
        let fk = &self.tables[child].fks[f];
        if !self.is_partitioned(fk.parent) {
            return (self.tables[fk.parent].name.clone(), fk.pg_name.clone());
        }
        let mut row = vec![Value::Null; self.tables[fk.parent].columns.len()];
        for (&c, v) in fk.parent_cols.iter().zip(vals) {
            row[c] = v.clone();
        }
        let cols: Vec<&str> = fk.cols.iter().map(|&c| self.tables[child].columns[c].name.as_str()).collect();
        let mut clones: Vec<String> = Vec::new();
        for (_, p) in self.partitions_of(fk.parent) {
            let taken = |n: &str| self.pg_name_taken(n, true) || clones.iter().any(|c| c == n);
            let name = pg_object_name(&self.tables[child].name, Some(&cols.join("_")), "fkey", taken);
            if p.bound.iter().all(|c| c.matches(&row)) {
                return (p.name.clone(), name);
            }
            clones.push(name);
        }
        (self.tables[fk.parent].name.clone(), fk.pg_name.clone())
    }
}
