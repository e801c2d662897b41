//! InnoDB's referential actions (ON DELETE / ON UPDATE CASCADE and SET NULL), done inside the
//! parent's row operation by the parent check (`row_ins_check_foreign_constraint` with
//! `check_ref = FALSE` -> `row_ins_foreign_check_on_constraint`, row0ins.cc).
//!
//! The parent check scans the child's foreign-key index for the old key. At each live match it
//! holds an S record lock on the index entry (the scan's own lock), then the action takes IX on
//! the child table and an X record lock on the child's clustered record, skips the row if it is
//! delete-marked by then, and runs the child row change as an update node of its own
//! (`row_update_cascade_for_mysql`): a delete for ON DELETE CASCADE, an update of the foreign-key
//! columns (to NULL, or to the parent's new key) otherwise, with the child's own secondary
//! indexes, insert intentions and parent checks (a cascade further down) as any row change has.
//! The scan then goes on from that entry to the next, and ends with the S gap lock on the first
//! non-matching record (REPEATABLE READ), as the plain check does.
//!
//! Not modelled: the limit of 15 cascade levels and the refusal of a cascaded update that would
//! update a table already being updated higher up the chain (`row_ins_cascade_n_ancestors`,
//! `row_ins_cascade_ancestor_updates_table`).

use super::exec::{FkScan, Flow, RowWork, Step};
use super::locking::{Got, Implicit, Purpose, RecPos};
use super::modes::{InnoLock, Span, Strength, TableMode};
use super::{InnoDb, Why};
use crate::engine::{EngineError, Parts};
use crate::lock::TxnId;
use crate::sql::{Expr, RefAction, Value};
use crate::store::{Key, Store};
use std::sync::Arc;

/// Where a referential action is: the last child index entry it dealt with, and the child row
/// change in progress (retried from its own cursor after a wait).
#[derive(Debug, Clone, Default)]
pub(crate) struct Action {
    after: Option<Key>,
    child: Option<RowWork>,
}

impl<P: Parts> InnoDb<P> {
    /// Carry out foreign key `fk` of `fk_table`'s CASCADE or SET NULL for every child row that
    /// references `vals`, the parent row's old key in `w`.
    pub(super) fn parent_action(
        &mut self,
        trx: TxnId,
        fk_table: usize,
        fk: usize,
        vals: &Key,
        w: &mut RowWork,
        label: &Arc<str>,
    ) -> Result<Option<Step>, EngineError> {
        let f = self.cat.tables[fk_table].fks[fk].clone();
        let Some(cix) = f.child_index else { return Ok(None) };
        let action = if w.delete { f.on_delete } else { f.on_update };
        let tree = (fk_table as u32, cix as u32);
        let ncols = self.cat.tables[fk_table].indexes[cix].cols.len();
        // The child rows' new values: NULL, or the parent's new key (ON UPDATE CASCADE).
        let set: Vec<(usize, Expr)> = match action {
            RefAction::SetNull => f.cols.iter().map(|&c| (c, Expr::Lit(Value::Null))).collect(),
            _ => f.cols.iter().zip(&f.parent_cols).map(|(&c, &pc)| (c, Expr::Lit(w.new[pc].clone()))).collect(),
        };
        let mut state = w.action.take().unwrap_or_default();
        let outcome = loop {
            if let Some(child) = state.child.as_mut() {
                match self.run_ops(trx, fk_table, child, label)? {
                    Flow::Next => state.child = None,
                    Flow::Stop(step) => break Some(step),
                }
            }
            let why = Why::new(label, Purpose::ParentCheck { fk_table, fk, key: vals.clone() });
            let key = match self.fk_scan(trx, tree, vals, why, state.after.clone())? {
                FkScan::Absent => break None,
                FkScan::Stop(step) => break Some(step),
                FkScan::Present(key) => key,
            };
            // "Set an X-lock on the row to delete or update in the child table."
            self.lock_table(trx, fk_table, TableMode::IX, label);
            let pk: Key = if cix == 0 { key.clone() } else { key[ncols..].into() };
            let purpose = Purpose::Action { fk_table, fk, key: vals.clone(), delete: w.delete };
            match self.lock_rec(
                trx,
                (fk_table as u32, 0),
                &RecPos::Rec(pk.clone()),
                InnoLock::Rec(Strength::X, Span::Record),
                Implicit::Convert,
                Why::new(label, purpose),
            )? {
                Got::Granted => {}
                Got::Blocked => break Some(Step::Blocked),
                Got::Deadlock(e) => break Some(Step::Done(Err(e))),
            }
            state.after = Some(key);
            let Some(rec) = self.store.get((fk_table as u32, 0), &pk)? else { continue };
            if rec.deleted() {
                // A row already being deleted in this chain (a circular reference).
                continue;
            }
            let row = rec.current().row.clone();
            let mut child = if action == RefAction::Cascade && w.delete {
                self.delete_work(fk_table, row)
            } else {
                match self.update_work(fk_table, row, &set) {
                    Ok(work) => work,
                    Err(e) => break Some(Step::Done(Err(e))),
                }
            };
            child.skip_fk = Some((fk_table, fk));
            state.child = Some(child);
        };
        if matches!(outcome, Some(Step::Blocked)) {
            w.action = Some(state);
        }
        Ok(outcome)
    }
}
