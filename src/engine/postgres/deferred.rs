//! PostgreSQL's deferred foreign keys: RI checks queued until COMMIT or SET CONSTRAINTS IMMEDIATE.
//!
//! A constraint declared `DEFERRABLE INITIALLY DEFERRED` (as Django declares every foreign key on
//! PostgreSQL) has its check triggers queued as deferred events instead of fired at the end of
//! the statement (`AfterTriggerSaveEvent`, `afterTriggerCheckState`, trigger.c). They fire at
//! COMMIT, before the commit record (`CommitTransaction` -> `AfterTriggerFireDeferred`, xact.c),
//! or when `SET CONSTRAINTS ... IMMEDIATE` makes their constraint immediate
//! (`AfterTriggerSetState` fires the events now immediate). Only the child's check
//! (`RI_FKey_check_ins` / `_upd`) and the parent's NO ACTION check (`RI_FKey_noaction_del` /
//! `_upd`) follow the constraint's timing; RESTRICT, CASCADE and SET NULL triggers are created
//! not deferrable (`createForeignKeyActionTriggers`, tablecmds.c). A deferred check finds the
//! child row as it is at commit: one deleted since is not checked (`RI_FKey_check`). So with
//! Django's DDL the FOR KEY SHARE lock on the parent is taken, and waited for, at COMMIT: the
//! COMMIT waits, and it is the COMMIT that fails with the FK violation, rolling back the whole
//! transaction. Events queued inside a subtransaction that aborts are dropped with it, and the
//! SET CONSTRAINTS state it changed goes back (`AfterTriggerEndSubXact`).
//!
//! The RI action query of a cascade is a nested statement whose own events queue the same way
//! (`AfterTriggerSaveEvent` on the query level `ri_PerformCheck` opens; `AfterTriggerEndQuery`
//! fires only the immediate ones): a deferred NO ACTION check of a cascaded DELETE's rows fails
//! at COMMIT, not at the DELETE.

use super::exec::{Cursor, Ri};
use super::PgDb;
use crate::engine::{err, DbError, ErrorKind, Parts};
use crate::lock::TxnId;

/// The SET CONSTRAINTS state of a transaction (`SetConstraintStateData`, trigger.c): the mode
/// ALL was set to, then each named constraint's (foreign key by child table and index), which
/// wins over ALL. `true` is DEFERRED.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(super) struct ConstraintModes {
    all: Option<bool>,
    each: Vec<((usize, usize), bool)>,
}

impl<P: Parts> PgDb<P> {
    /// Is this trigger event deferred in `trx` now?
    pub(super) fn deferred_now(&self, trx: TxnId, ri: &Ri) -> bool {
        let (fk_table, f) = match ri {
            Ri::Child { fk_table, fk, .. } | Ri::Parent { fk_table, fk, restrict: false, .. } => (*fk_table, *fk),
            Ri::Parent { restrict: true, .. } | Ri::Action { .. } => return false,
        };
        let fk = &self.cat.tables[fk_table].fks[f];
        if !fk.deferrable {
            return false;
        }
        let Some(t) = self.trxs.get(&trx) else { return false };
        let modes = &t.constraints;
        modes
            .each
            .iter()
            .find(|(k, _)| *k == (fk_table, f))
            .map(|(_, d)| *d)
            .or(modes.all)
            .unwrap_or(fk.initially_deferred)
    }

    /// Queue a deferred event on its transaction.
    pub(super) fn defer(&mut self, trx: TxnId, ri: Ri) {
        if let Some(t) = self.trxs.get_mut(&trx) {
            t.deferred.push(ri);
        }
    }

    /// The cursor that fires every deferred event of `trx` (at COMMIT), taking them off its queue;
    /// None when there are none.
    pub(super) fn commit_checks(&mut self, trx: TxnId) -> Option<Cursor> {
        let t = self.trxs.get_mut(&trx)?;
        (!t.deferred.is_empty()).then(|| Cursor::firing(std::mem::take(&mut t.deferred)))
    }

    /// `SET CONSTRAINTS {ALL | names} {DEFERRED | IMMEDIATE}` in `trx` (`AfterTriggerSetState`):
    /// change the modes, then return the cursor firing the queued events that are immediate now.
    /// A name that is no foreign key, or one not deferrable, is an error; a foreign key not
    /// enforced (`--fk off`) is one the server does not have.
    pub(super) fn set_constraints(
        &mut self,
        trx: TxnId,
        names: &Option<Vec<String>>,
        deferred: bool,
    ) -> Result<Cursor, DbError> {
        let mut named = Vec::new();
        for name in names.iter().flatten() {
            let found: Vec<(usize, usize, bool)> = self
                .cat
                .tables
                .iter()
                .enumerate()
                .flat_map(|(t, table)| {
                    table
                        .fks
                        .iter()
                        .enumerate()
                        .filter(|(_, fk)| fk.enforced && fk.pg_name == *name)
                        .map(move |(f, fk)| (t, f, fk.deferrable))
                })
                .collect();
            if found.is_empty() {
                return Err(err(ErrorKind::Other, format!("constraint \"{name}\" does not exist")));
            }
            if found.iter().any(|(_, _, d)| !d) {
                return Err(err(ErrorKind::Other, format!("constraint \"{name}\" is not deferrable")));
            }
            named.extend(found.into_iter().map(|(t, f, _)| (t, f)));
        }
        let Some(t) = self.trxs.get_mut(&trx) else { return Ok(Cursor::firing(Vec::new())) };
        if names.is_none() {
            t.constraints = ConstraintModes { all: Some(deferred), each: Vec::new() };
        }
        for key in named {
            t.constraints.each.retain(|(k, _)| *k != key);
            t.constraints.each.push((key, deferred));
        }
        let queued = std::mem::take(&mut self.trxs.get_mut(&trx).expect("active").deferred);
        let (still, due): (Vec<Ri>, Vec<Ri>) = queued.into_iter().partition(|ri| self.deferred_now(trx, ri));
        self.trxs.get_mut(&trx).expect("active").deferred = still;
        Ok(Cursor::firing(due))
    }
}
