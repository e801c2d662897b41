//! Sequences at run time (sequence.c, PostgreSQL 15): `nextval` and ALTER SEQUENCE, their
//! relation locks, and which of their changes are transactional.
//!
//! - `nextval` opens the sequence with RowExclusiveLock (`nextval_internal` →
//!   `init_sequence` → `lock_and_open_sequence`), owned by the top transaction's resource owner:
//!   held to the end of the transaction, even past a ROLLBACK TO. It changes the sequence's tuple
//!   in place (`MarkBufferDirty` without an xid), so a value it hands out is never given back,
//!   whatever becomes of its transaction.
//! - ALTER SEQUENCE takes ShareRowExclusiveLock (`AlterSequence`: `RangeVarGetRelidExtended`),
//!   which conflicts with nextval's RowExclusiveLock and with itself: nextval waits for an
//!   uncommitted ALTER, an ALTER for every transaction that called nextval. Every option it takes
//!   sets `need_seq_rewrite` (`init_params`), so it writes the changed tuple into a new
//!   relfilenode (`RelationSetNewRelfilenode`, `fill_seq_with_data`): the change is
//!   transactional. Other sessions see it once the ALTER commits (they wait for it anyway); a
//!   rollback drops the new relfilenode, and with it the values its own transaction's nextval
//!   calls took from it after the ALTER.

use super::modes::{Hw, PgLock};
use super::{PgDb, PgRes, Purpose, REL_TAG};
use crate::engine::{err, EngineError, ErrorKind, Parts, Step};
use crate::lock::{Locks, Request, TxnId};
use crate::sql::sequence::{init_params, next_value, SeqOption, SeqState};
use crate::sql::{Catalog, Value};
use std::sync::Arc;

/// Every sequence's committed relfilenode, and the new ones of uncommitted ALTERs.
#[derive(Debug, Clone, Default)]
pub(super) struct Sequences {
    committed: Vec<SeqState>,
    /// (sequence, altering transaction, its new relfilenode's tuple). At most one per sequence:
    /// ALTER's lock conflicts with itself.
    rewrites: Vec<(usize, TxnId, SeqState)>,
}

impl Sequences {
    /// The sequences as CREATE SEQUENCE made them.
    pub(super) fn new(cat: &Catalog) -> Sequences {
        Sequences { committed: cat.sequences.iter().map(|q| q.created).collect(), rewrites: Vec::new() }
    }

    /// The committed state of every sequence (what a permutation starts from).
    pub(super) fn committed(&self) -> Vec<SeqState> {
        self.committed.clone()
    }

    /// Start from `states` (a snapshot's), if it has them.
    pub(super) fn resume(&mut self, states: &[SeqState]) {
        if states.len() == self.committed.len() {
            self.committed = states.to_vec();
        }
    }

    /// The relfilenode `trx` reads sequence `seq` from: its own ALTER's, else the committed one.
    fn current(&mut self, trx: TxnId, seq: usize) -> &mut SeqState {
        match self.rewrites.iter().position(|&(q, t, _)| q == seq && t == trx) {
            Some(i) => &mut self.rewrites[i].2,
            None => &mut self.committed[seq],
        }
    }

    /// The transaction ended: its new relfilenodes become the sequences' (commit) or are dropped.
    pub(super) fn end(&mut self, trx: TxnId, commit: bool) {
        for (q, _, state) in self.rewrites.iter().filter(|r| r.1 == trx) {
            if commit {
                self.committed[*q] = *state;
            }
        }
        self.rewrites.retain(|r| r.1 != trx);
    }
}

impl<P: Parts> PgDb<P> {
    /// Take a lock on sequence `seq` (`LockRelationOid`, lmgr.c), waiting in its queue.
    fn lock_sequence(&mut self, s: usize, trx: TxnId, seq: usize, mode: Hw, label: &Arc<str>) -> bool {
        let res = PgRes::Sequence(seq as u32);
        let want = PgLock::Hw(mode);
        if self.locks.holds(trx, &res, want) {
            return true;
        }
        let what = if mode == Hw::RowExclusive { "nextval" } else { "ALTER SEQUENCE" };
        let tag = REL_TAG | self.rel_whys.push(super::Why::new(label, Purpose::Statement(what))) as u32;
        match self.locks.request(trx, &res, want, tag) {
            Request::Granted => true,
            Request::Waiting { .. } => {
                self.start_wait(s, res, want, tag);
                false
            }
        }
    }

    /// `SELECT nextval('seq') FROM ...`: `calls` values, one row each, after the lock. An error
    /// (the bound reached) fails the statement; the values taken before it stay taken.
    pub(super) fn next_values(
        &mut self,
        s: usize,
        trx: TxnId,
        seq: usize,
        calls: usize,
        rows_out: &mut Vec<Vec<Value>>,
        label: &Arc<str>,
    ) -> Result<Step, EngineError> {
        if !self.lock_sequence(s, trx, seq, Hw::RowExclusive, label) {
            return Ok(Step::Blocked);
        }
        let name = self.cat.sequences[seq].name.clone();
        while rows_out.len() < calls {
            let state = self.seqs.current(trx, seq);
            match next_value(&mut state.data, &state.params, &name) {
                Ok(v) => rows_out.push(vec![Value::Int(v)]),
                Err(e) => return Ok(Step::Done(Err(err(ErrorKind::Other, e)))),
            }
        }
        Ok(Step::Done(Ok(())))
    }

    /// ALTER SEQUENCE: the lock, then `init_params` on a copy of the tuple the transaction
    /// reads, written to a new relfilenode of the transaction's own.
    pub(super) fn alter_sequence(
        &mut self,
        s: usize,
        trx: TxnId,
        seq: usize,
        options: &[SeqOption],
        label: &Arc<str>,
    ) -> Result<Step, EngineError> {
        if self.trxs.get(&trx).is_some_and(|t| !t.savepoints.is_empty()) {
            // A subtransaction's abort would have to drop the relfilenode it made
            // (`AtEOSubXact_RelationCache`); not modelled.
            return Err(EngineError::Unsupported("ALTER SEQUENCE inside a savepoint is not modelled".into()));
        }
        if !self.lock_sequence(s, trx, seq, Hw::ShareRowExclusive, label) {
            return Ok(Step::Blocked);
        }
        let mut state = *self.seqs.current(trx, seq);
        if let Err(e) = init_params(&mut state, options, false) {
            return Ok(Step::Done(Err(err(ErrorKind::Other, e))));
        }
        if options.is_empty() {
            return Ok(Step::Done(Ok(())));
        }
        match self.seqs.rewrites.iter_mut().find(|r| r.0 == seq && r.1 == trx) {
            Some(r) => r.2 = state,
            None => self.seqs.rewrites.push((seq, trx, state)),
        }
        Ok(Step::Done(Ok(())))
    }
}
