//! Where the statements of the PostgreSQL profile set a tuple version's xmax: the calls into
//! [`super::multixact`] after a row lock is had (`heap_lock_tuple`, with
//! `heap_lock_updated_tuple` for a KEY SHARE lock on a non-key-updated version), an update or a
//! delete, and the counts the drivers read.

use super::exec::{root_of, tkey, version_of};
use super::modes::RowMode;
use super::multixact::{Fate, Strength};
use super::savepoints::SubXids;
use super::{PgDb, Trx};
use crate::engine::{Book, EngineError, MultixactCount, MultixactRow, Parts};
use crate::lock::TxnId;
use crate::sql::Value;
use crate::store::Key;
use litemap::LiteMap;

/// Which transactions run and which committed, as the multixact rules ask; a subtransaction's
/// xid runs and commits with its top-level transaction, unless it aborted.
struct Fates<'a> {
    trxs: &'a LiteMap<TxnId, Trx>,
    book: &'a Book,
    subs: &'a SubXids,
}

impl Fate for Fates<'_> {
    fn running(&self, x: TxnId) -> bool {
        self.trxs.contains_key(&self.subs.top(x)) && !self.subs.aborted(x)
    }
    fn committed(&self, x: TxnId) -> bool {
        let top = self.subs.top(x);
        (top == crate::engine::SETUP_TRX || self.book.commits.contains_key(&top)) && !self.subs.aborted(x)
    }
    fn top(&self, x: TxnId) -> TxnId {
        self.subs.top(x)
    }
}

fn strength(mode: RowMode) -> Strength {
    match mode {
        RowMode::KeyShare => Strength::KeyShare,
        RowMode::Share => Strength::Share,
        RowMode::NoKeyUpdate => Strength::NoKeyExclusive,
        RowMode::Update => Strength::Exclusive,
    }
}

impl<P: Parts> PgDb<P> {
    /// Version `k` is locked in `mode` (`heap_lock_tuple`). A KEY SHARE lock on a version
    /// updated without a key change first locks the later versions, skipping those the
    /// transaction is already a member of (`heap_lock_updated_tuple_rec`). The locker is the
    /// current subtransaction's xid.
    pub(super) fn note_lock(&mut self, trx: TxnId, table: usize, k: &Key, mode: RowMode) -> Result<(), EngineError> {
        let (t, root) = (table as u32, root_of(k));
        let trx = self.current_xid(trx);
        let Some(v) = self.version(table, k)? else { return Ok(()) };
        if mode == RowMode::KeyShare && v.xmax != 0 && !v.deleted {
            let mut ver = version_of(k) + 1;
            while let Some(next) = self.version(table, &tkey(root, ver))? {
                let fate = Fates { trxs: &self.trxs, book: &self.book, subs: &self.subs };
                if !self.mx.is_member((t, root, ver), trx, &fate) {
                    self.mx.lock((t, root, ver), trx, Strength::KeyShare, &fate);
                }
                if next.xmax == 0 || next.deleted {
                    break;
                }
                ver += 1;
            }
        }
        let fate = Fates { trxs: &self.trxs, book: &self.book, subs: &self.subs };
        self.mx.lock((t, root, version_of(k)), trx, strength(mode), &fate);
        self.name_row(table, root, &v.row);
        Ok(())
    }

    /// Name a row that has multixacts by its primary key, once.
    fn name_row(&mut self, table: usize, root: i64, row: &[Value]) {
        let id = (table as u32, root);
        if self.mx.per_row.contains_key(&id) && !self.mx.names.contains_key(&id) {
            let t = &self.cat.tables[table];
            let pk = t.pk().iter().map(|&c| (t.columns[c].name.as_str(), &row[c]));
            self.mx.names.insert(id, crate::sql::value::show_assignments(pk));
        }
    }

    /// Version `k` is updated into `new`, or deleted (`heap_update`, `heap_delete`).
    pub(super) fn note_update(
        &mut self,
        trx: TxnId,
        table: usize,
        k: &Key,
        new: Option<&Key>,
        mode: RowMode,
        row: &[Value],
    ) {
        let t = table as u32;
        let new = new.map(|n| (t, root_of(n), version_of(n)));
        let trx = self.current_xid(trx);
        let fate = Fates { trxs: &self.trxs, book: &self.book, subs: &self.subs };
        self.mx.update((t, root_of(k), version_of(k)), new, trx, strength(mode), &fate);
        self.name_row(table, root_of(k), row);
    }

    /// A tuple written afresh has no xmax.
    pub(super) fn note_insert(&mut self, table: usize, k: &Key) {
        self.mx.clear((table as u32, root_of(k), version_of(k)));
    }

    /// Forget the xmax of versions no transaction can still act on.
    pub(super) fn vacuum_xmax(&mut self) {
        let fate = Fates { trxs: &self.trxs, book: &self.book, subs: &self.subs };
        self.mx.vacuum(&fate);
        let named: std::collections::BTreeSet<TxnId> = self.mx.xids().collect();
        let trxs = &self.trxs;
        self.subs.retain(|x, top| trxs.contains_key(&top) || named.contains(&x));
    }

    /// The multixacts created so far, per row by its primary key.
    pub(super) fn multixact_count(&self) -> MultixactCount {
        let mut rows: Vec<MultixactRow> = self
            .mx
            .per_row
            .iter()
            .map(|(&(t, root), &(created, members))| {
                let key = self.mx.names.get(&(t, root)).cloned().unwrap_or_else(|| format!("row {root}"));
                MultixactRow { table: self.cat.tables[t as usize].name.clone(), key, created, members }
            })
            .collect();
        rows.sort_by(|a, b| b.members.cmp(&a.members).then(b.created.cmp(&a.created)));
        MultixactCount { created: self.mx.created, members: self.mx.members, rows }
    }
}
