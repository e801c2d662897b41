//! PostgreSQL's lock modes: the four row-lock strengths and the heavyweight modes of tuple and
//! transaction locks, with their conflict tables.

use crate::lock::LockMode;
use crate::sql::RowLock;

/// A row-lock strength (`LockTupleMode`, nodes/lockoptions.h), weakest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum RowMode {
    KeyShare,
    Share,
    NoKeyUpdate,
    Update,
}

impl RowMode {
    pub fn of(lock: RowLock) -> RowMode {
        match lock {
            RowLock::KeyShare => RowMode::KeyShare,
            RowLock::Share => RowMode::Share,
            RowLock::NoKeyUpdate => RowMode::NoKeyUpdate,
            RowLock::Update => RowMode::Update,
        }
    }

    /// The heavyweight mode of the tuple lock a waiter takes (`tupleLockExtraInfo`, heapam.c).
    pub fn tuple_lock(self) -> Hw {
        match self {
            RowMode::KeyShare => Hw::AccessShare,
            RowMode::Share => Hw::RowShare,
            RowMode::NoKeyUpdate => Hw::Exclusive,
            RowMode::Update => Hw::AccessExclusive,
        }
    }

    pub fn sql(self) -> &'static str {
        match self {
            RowMode::KeyShare => "FOR KEY SHARE",
            RowMode::Share => "FOR SHARE",
            RowMode::NoKeyUpdate => "FOR NO KEY UPDATE",
            RowMode::Update => "FOR UPDATE",
        }
    }
}

/// Heavyweight lock modes (lockdefs.h), weakest first: the table lock modes of `LOCK TABLE`
/// ([`TableLock`]), used too for every statement's relation lock, for tuple locks, and for
/// transaction locks (a transaction holds Exclusive on its own id; a waiter asks Share).
pub use crate::sql::TableLock as Hw;

impl Hw {
    /// `LockConflicts` (lock.c): symmetric.
    fn conflicts(self, other: Hw) -> bool {
        use Hw::*;
        let with = |m: Hw| -> &'static [Hw] {
            match m {
                AccessShare => &[AccessExclusive],
                RowShare => &[Exclusive, AccessExclusive],
                RowExclusive => &[Share, ShareRowExclusive, Exclusive, AccessExclusive],
                ShareUpdateExclusive => &[ShareUpdateExclusive, Share, ShareRowExclusive, Exclusive, AccessExclusive],
                Share => &[RowExclusive, ShareUpdateExclusive, ShareRowExclusive, Exclusive, AccessExclusive],
                ShareRowExclusive => {
                    &[RowExclusive, ShareUpdateExclusive, Share, ShareRowExclusive, Exclusive, AccessExclusive]
                }
                Exclusive => &[
                    RowShare,
                    RowExclusive,
                    ShareUpdateExclusive,
                    Share,
                    ShareRowExclusive,
                    Exclusive,
                    AccessExclusive,
                ],
                AccessExclusive => &[
                    AccessShare,
                    RowShare,
                    RowExclusive,
                    ShareUpdateExclusive,
                    Share,
                    ShareRowExclusive,
                    Exclusive,
                    AccessExclusive,
                ],
            }
        };
        with(self).contains(&other)
    }

    pub fn name(self) -> &'static str {
        match self {
            Hw::AccessShare => "AccessShareLock",
            Hw::RowShare => "RowShareLock",
            Hw::RowExclusive => "RowExclusiveLock",
            Hw::ShareUpdateExclusive => "ShareUpdateExclusiveLock",
            Hw::Share => "ShareLock",
            Hw::ShareRowExclusive => "ShareRowExclusiveLock",
            Hw::Exclusive => "ExclusiveLock",
            Hw::AccessExclusive => "AccessExclusiveLock",
        }
    }
}

/// One PostgreSQL lock: a row lock, or a heavyweight lock (tuple or transaction).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum PgLock {
    Row(RowMode),
    Hw(Hw),
}

impl LockMode for PgLock {
    /// Row locks: the table of README.tuplock (heapam): KEY SHARE conflicts only with UPDATE;
    /// SHARE with NO KEY UPDATE and UPDATE; NO KEY UPDATE with all but KEY SHARE; UPDATE with all.
    fn must_wait_for(self, other: Self) -> bool {
        use RowMode::*;
        match (self, other) {
            (PgLock::Row(a), PgLock::Row(b)) => match (a, b) {
                (KeyShare, x) | (x, KeyShare) => x == Update,
                (Share, x) | (x, Share) => x >= NoKeyUpdate,
                _ => true,
            },
            (PgLock::Hw(a), PgLock::Hw(b)) => a.conflicts(b),
            _ => false,
        }
    }

    /// A held row lock covers any weaker strength (heap_lock_tuple: "already holds an equal or
    /// stronger lock"); a heavyweight mode covers itself.
    fn covers(self, req: Self) -> bool {
        match (self, req) {
            (PgLock::Row(a), PgLock::Row(b)) => a >= b,
            (PgLock::Hw(a), PgLock::Hw(b)) => a == b,
            _ => false,
        }
    }

    /// A row lock is judged against the row's holders only: a request that conflicts with no
    /// holder is had at once, even while others wait (`heap_lock_tuple`); the waiters queue on the
    /// heavyweight tuple lock instead (`heap_acquire_tuplock`), which is FIFO.
    fn waits_behind_waiters(self) -> bool {
        matches!(self, PgLock::Hw(_))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use RowMode::*;

    #[test]
    fn row_lock_table() {
        let c = |a, b| PgLock::Row(a).must_wait_for(PgLock::Row(b));
        assert!(!c(KeyShare, NoKeyUpdate) && !c(NoKeyUpdate, KeyShare));
        assert!(c(KeyShare, Update) && c(Update, KeyShare));
        assert!(!c(Share, Share) && c(Share, NoKeyUpdate));
        assert!(c(NoKeyUpdate, NoKeyUpdate) && c(Update, Update));
    }

    #[test]
    fn heavyweight_table_matches_the_row_table_through_tuple_locks() {
        for a in [KeyShare, Share, NoKeyUpdate, Update] {
            for b in [KeyShare, Share, NoKeyUpdate, Update] {
                let rows = PgLock::Row(a).must_wait_for(PgLock::Row(b));
                let hw = PgLock::Hw(a.tuple_lock()).must_wait_for(PgLock::Hw(b.tuple_lock()));
                assert_eq!(rows, hw, "{a:?} vs {b:?}");
            }
        }
        assert!(PgLock::Hw(Hw::Share).must_wait_for(PgLock::Hw(Hw::Exclusive)));
        assert!(!PgLock::Hw(Hw::Share).must_wait_for(PgLock::Hw(Hw::Share)));
    }

    #[test]
    fn table_lock_conflicts_are_symmetric_and_as_documented() {
        use Hw::*;
        let all = [
            AccessShare,
            RowShare,
            RowExclusive,
            ShareUpdateExclusive,
            Share,
            ShareRowExclusive,
            Exclusive,
            AccessExclusive,
        ];
        for a in all {
            for b in all {
                assert_eq!(a.conflicts(b), b.conflicts(a), "{a:?} vs {b:?}");
            }
        }
        // The docs' "Table-level Locks": how many of the 8 modes each conflicts with.
        let counts: Vec<usize> = all.iter().map(|a| all.iter().filter(|b| a.conflicts(**b)).count()).collect();
        assert_eq!(counts, [1, 2, 4, 5, 5, 6, 7, 8]);
        assert!(!RowExclusive.conflicts(RowExclusive) && ShareUpdateExclusive.conflicts(ShareUpdateExclusive));
        assert!(!Share.conflicts(Share) && Share.conflicts(RowExclusive));
    }
}
