//! What a long run forgets ([`super::Engine::vacuum`]): row versions no open transaction can
//! reach, and the commit order of transactions every open one sees (their rows are frozen).
//!
//! The horizon is the commit sequence number at which the oldest open transaction began. A
//! version superseded by a commit at or before it was never current while any open transaction
//! ran, so none of them has read it, and no later one will; a transaction that committed at or
//! before it is seen by every open and later transaction, so its versions can say "committed
//! before anyone now running" (the setup transaction) instead of naming it.

use super::{Book, SETUP_TRX};
use crate::lock::TxnId;
use crate::store::{Record, Version};

/// The oldest open transaction's start, or now if none is open.
pub(crate) struct Horizon<'a> {
    book: &'a Book,
    seq: u64,
}

impl<'a> Horizon<'a> {
    /// The horizon of `book`, given when each open transaction began.
    pub fn new(book: &'a Book, began: impl Iterator<Item = u64>) -> Self {
        Horizon { book, seq: began.min().unwrap_or(book.commit_seq).min(book.commit_seq) }
    }

    pub fn seq(&self) -> u64 {
        self.seq
    }

    /// Did `x` commit at or before the horizon (or is it the setup)?
    pub fn frozen(&self, x: TxnId) -> bool {
        x == SETUP_TRX || self.book.commits.get(&x).is_some_and(|&c| c <= self.seq)
    }

    /// An InnoDB record's history trimmed below its newest frozen version (the oldest any open
    /// transaction can reach), and that version frozen; None if nothing changes.
    pub fn trim_history(&self, rec: &Record) -> Option<Record> {
        let cut = rec.versions.iter().position(|v| self.frozen(v.trx))?;
        if cut + 1 == rec.versions.len() && rec.versions[cut].trx == SETUP_TRX {
            return None;
        }
        let mut kept: Vec<Version> = rec.versions[..=cut].to_vec();
        kept[cut].trx = SETUP_TRX;
        Some(Record { versions: kept.into() })
    }

    /// A PostgreSQL heap tuple: `Some(None)` if it is dead to every open and later transaction
    /// (its deleter or updater committed at or before the horizon), `Some(Some(frozen))` if its
    /// inserter did, None if nothing changes.
    pub fn prune_tuple(&self, rec: &Record) -> Option<Option<Record>> {
        let v = rec.current();
        if v.xmax != 0 && self.frozen(v.xmax) {
            return Some(None);
        }
        self.freeze_tuple(rec).map(Some)
    }

    /// A heap tuple whose inserter committed at or before the horizon, frozen; None if not.
    pub fn freeze_tuple(&self, rec: &Record) -> Option<Record> {
        let v = rec.current();
        (v.trx != SETUP_TRX && self.frozen(v.trx)).then(|| rec.current_only(|v| v.trx = SETUP_TRX))
    }
}

/// Forget the commit order of transactions at or before `horizon` (their rows are frozen now).
pub(crate) fn forget_commits(book: &mut Book, horizon: u64) {
    book.commits.retain(|_, c| *c > horizon);
}
