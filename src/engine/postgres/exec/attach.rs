//! `ALTER TABLE parent ATTACH PARTITION table FOR VALUES ...`: its table locks, its checks of the table's rows, and the rows becoming the partitioned table's.
//!
//! What PostgreSQL 15 does, in order:
//! - the partitioned table is opened with ShareUpdateExclusiveLock (`AlterTableGetLockLevel`,
//!   tablecmds.c: `AT_AttachPartition` ... `cmd_lockmode = ShareUpdateExclusiveLock`, taken by
//!   `AlterTableLookupRelation` before anything runs), the table being attached with
//!   AccessExclusiveLock (`ATExecAttachPartition`: `table_openrv(cmd->name,
//!   AccessExclusiveLock)`);
//! - each foreign key of the partitioned table is cloned onto the new partition
//!   (`CloneForeignKeyConstraints` -> `CloneFkReferencing`), which locks the referenced table in
//!   ShareRowExclusiveLock, "to prevent concurrent deletions", and all its partitions when it is
//!   partitioned (`find_all_inheritors(..., ShareRowExclusiveLock, NULL)`). The model's
//!   partitions share their partitioned table's relation lock, so that lock is the one;
//! - in phase 3 (`ATRewriteTables`), the table's rows are scanned with the latest snapshot for
//!   the partition constraint (`QueuePartitionConstraintValidation`, `ATRewriteTable`:
//!   "partition constraint of relation ... is violated by some row"), then each cloned foreign
//!   key is validated (`validateForeignKeyConstraint` -> `RI_Initial_Check`, ri_triggers.c: one
//!   `LEFT JOIN` of the rows with the referenced table under `GetLatestSnapshot()`, a plain read
//!   that locks no row). The clone keeps the parent constraint's name, which the partition does
//!   not have yet (`addFkRecurseReferencing`), so a violation names the partition and the
//!   parent's constraint;
//! - the catalog change is the transaction's: others see the partition (its rows through the
//!   partitioned table) when it commits, and not at all if it aborts.
//!
//! The model keeps a partitioned table's rows in one heap, so the rows move: each visible tuple
//! of the table is deleted by the ATTACH's transaction and inserted into the partitioned table
//! as a new tuple (columns mapped by name), which MVCC shows to others from the commit on, as
//! the catalog change is. One difference: a REPEATABLE READ snapshot taken before the commit
//! does not see the moved rows, where PostgreSQL's would see them through the new partition.

use super::{Lk, Step};
use crate::engine::postgres::modes::{Hw, RowMode};
use crate::engine::postgres::{PgDb, Purpose};
use crate::engine::{err, EngineError, ErrorKind, Parts};
use crate::lock::TxnId;
use crate::sql::{Filter, Value};
use std::sync::Arc;

impl<P: Parts> PgDb<P> {
    /// Run `ALTER TABLE parent ATTACH PARTITION table` (`Plan::AttachPartition`) as far as it
    /// goes: a lock wait returns Blocked, and the statement starts over once woken (the locks it
    /// holds are not asked again).
    pub(in crate::engine::postgres) fn attach_partition(
        &mut self,
        s: usize,
        trx: TxnId,
        (parent, table, partition, cols): (usize, usize, usize, &[usize]),
        label: &Arc<str>,
    ) -> Result<Step, EngineError> {
        let what = "ALTER TABLE ... ATTACH PARTITION";
        let cat = self.cat.clone();
        let mut locks = vec![(parent, Hw::ShareUpdateExclusive), (table, Hw::AccessExclusive)];
        // Only a declared FK is cloned; one stripped by `--fk off` is the application's.
        let fks: Vec<_> = cat.tables[parent].fks.iter().filter(|fk| fk.enforced).collect();
        locks.extend(fks.iter().map(|fk| (fk.parent, Hw::ShareRowExclusive)));
        for (t, mode) in locks {
            match self.lock_relation(s, trx, t, mode, false, (label, Purpose::Statement(what)))? {
                Lk::Ok => {}
                Lk::Blocked => return Ok(Step::Blocked),
                Lk::Failed(e) => return Ok(Step::Done(Err(e))),
                Lk::Skipped => unreachable!("a relation lock is never skipped"),
            }
        }
        let p = &cat.partitions[partition];
        let latest = self.book.commit_seq;
        let rows: Vec<_> = self
            .scan_visible(table, trx, latest, &Filter::default())?
            .into_iter()
            .map(|(k, r)| {
                let row: Vec<Value> = cols.iter().map(|&c| r[c].clone()).collect();
                (k, row)
            })
            .collect();
        if rows.iter().any(|(_, row)| !p.bound.iter().all(|c| c.matches(row))) {
            let message = format!("partition constraint of relation \"{}\" is violated by some row", p.name);
            return Ok(Step::Done(Err(err(ErrorKind::Other, message))));
        }
        for fk in &fks {
            for (_, row) in &rows {
                let vals: Vec<Value> = fk.cols.iter().map(|&c| row[c].clone()).collect();
                // MATCH SIMPLE: a key with a NULL references nothing.
                if vals.iter().any(Value::is_null) {
                    continue;
                }
                let key = Self::key_filter(&fk.parent_cols, &vals);
                if self.scan_visible(fk.parent, trx, latest, &key)?.is_empty() {
                    let message = format!(
                        "insert or update on table \"{}\" violates foreign key constraint \"{}\"",
                        p.name, fk.pg_name
                    );
                    return Ok(Step::Done(Err(err(ErrorKind::FkViolation, message))));
                }
            }
        }
        for (k, row) in rows {
            let Some(mut v) = self.version(table, &k)? else { continue };
            self.note_update(trx, table, &k, None, RowMode::Update, &v.row);
            v.xmax = trx;
            v.deleted = true;
            self.write(trx, table, k, v)?;
            self.insert_tuple(trx, parent, row)?;
        }
        Ok(Step::Done(Ok(())))
    }
}
