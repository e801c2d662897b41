//! InnoDB's lock modes and their compatibility rules (table IS/IX/S/X; record S/X with gap flags).

use crate::lock::LockMode;
use std::fmt;

/// A table lock mode (`lock_mode` in lock0types.h; AUTO-INC is not modelled).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum TableMode {
    IS,
    IX,
    S,
    X,
}

impl TableMode {
    pub fn name(self) -> &'static str {
        match self {
            TableMode::IS => "IS",
            TableMode::IX => "IX",
            TableMode::S => "S",
            TableMode::X => "X",
        }
    }
}

/// S or X on a record or gap.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Strength {
    S,
    X,
}

impl Strength {
    pub fn name(self) -> &'static str {
        match self {
            Strength::S => "S",
            Strength::X => "X",
        }
    }
}

/// What part of the index a record lock covers (InnoDB's `LOCK_ORDINARY`, `LOCK_REC_NOT_GAP`,
/// `LOCK_GAP`, `LOCK_INSERT_INTENTION` flags).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Span {
    /// Next-key: the record and the gap before it.
    NextKey,
    /// The record only.
    Record,
    /// The gap before the record only.
    Gap,
    /// An insert-intention gap lock.
    InsertIntention,
}

/// One InnoDB lock mode, table or record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum InnoLock {
    Table(TableMode),
    Rec(Strength, Span),
}

/// `lock_mode_compatible` (lock0priv.h): the IS/IX/S/X matrix.
fn table_compatible(a: TableMode, b: TableMode) -> bool {
    use TableMode::*;
    matches!((a, b), (IS, IS) | (IS, IX) | (IS, S) | (IX, IS) | (IX, IX) | (S, IS) | (S, S))
}

/// `lock_mode_stronger_or_eq` (lock0priv.h).
fn table_stronger_or_eq(a: TableMode, b: TableMode) -> bool {
    use TableMode::*;
    a == b || a == X || (a == S && b == IS) || (a == IX && b == IS)
}

impl LockMode for InnoLock {
    /// `lock_rec_has_to_wait` (lock0lock.cc), for a lock not on the supremum: the engine turns every
    /// lock on the supremum into a gap lock first, which gives the same answers.
    fn must_wait_for(self, other: Self) -> bool {
        use Span::*;
        match (self, other) {
            (InnoLock::Table(a), InnoLock::Table(b)) => !table_compatible(a, b),
            (InnoLock::Rec(sa, ka), InnoLock::Rec(sb, kb)) => {
                if sa == Strength::S && sb == Strength::S {
                    return false;
                }
                // "Gap type locks without LOCK_INSERT_INTENTION flag do not need to wait for anything."
                if ka == Gap {
                    return false;
                }
                // "Record lock (LOCK_ORDINARY or LOCK_REC_NOT_GAP) does not need to wait for a gap type lock."
                if ka != InsertIntention && kb == Gap {
                    return false;
                }
                // "Lock on gap does not need to wait for a LOCK_REC_NOT_GAP type lock."
                if ka == InsertIntention && kb == Record {
                    return false;
                }
                // "No lock request needs to wait for an insert intention lock to be removed."
                kb != InsertIntention
            }
            _ => false,
        }
    }

    /// `lock_rec_has_expl` / `lock_table_has` (lock0lock.cc): a stronger-or-equal granted lock
    /// whose span includes the requested one. Insert-intention requests are never covered.
    fn covers(self, req: Self) -> bool {
        use Span::*;
        match (self, req) {
            (InnoLock::Table(a), InnoLock::Table(b)) => table_stronger_or_eq(a, b),
            (InnoLock::Rec(sa, ka), InnoLock::Rec(sb, kb)) => {
                let strong = sa == Strength::X || sb == Strength::S;
                let span = match (ka, kb) {
                    (_, InsertIntention) | (InsertIntention, _) => false,
                    (NextKey, _) => true,
                    (a, b) => a == b,
                };
                strong && span
            }
            _ => false,
        }
    }
}

impl fmt::Display for InnoLock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            InnoLock::Table(m) => write!(f, "{m:?} table lock"),
            InnoLock::Rec(s, k) => {
                let kind = match k {
                    Span::NextKey => "next-key lock",
                    Span::Record => "record lock",
                    Span::Gap => "gap lock",
                    Span::InsertIntention => "insert-intention lock",
                };
                write!(f, "{s:?} {kind}")
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use InnoLock::Rec;
    use Span::*;
    use Strength::*;

    #[test]
    fn s_record_locks_share_and_x_waits() {
        assert!(!Rec(S, Record).must_wait_for(Rec(S, Record)));
        assert!(Rec(X, Record).must_wait_for(Rec(S, Record)));
        assert!(Rec(S, NextKey).must_wait_for(Rec(X, Record)));
    }

    #[test]
    fn gap_rules_are_asymmetric() {
        assert!(!Rec(X, Gap).must_wait_for(Rec(X, NextKey)));
        assert!(Rec(X, InsertIntention).must_wait_for(Rec(S, Gap)));
        assert!(Rec(X, InsertIntention).must_wait_for(Rec(X, NextKey)));
        assert!(!Rec(X, InsertIntention).must_wait_for(Rec(X, Record)));
        assert!(!Rec(X, NextKey).must_wait_for(Rec(X, InsertIntention)));
        assert!(!Rec(X, Record).must_wait_for(Rec(X, Gap)));
    }

    #[test]
    fn coverage() {
        assert!(Rec(X, NextKey).covers(Rec(S, Record)));
        assert!(Rec(X, Record).covers(Rec(S, Record)));
        assert!(!Rec(S, Record).covers(Rec(X, Record)));
        assert!(!Rec(X, Record).covers(Rec(X, NextKey)));
        assert!(!Rec(X, Gap).covers(Rec(X, Record)));
        assert!(!Rec(X, NextKey).covers(Rec(X, InsertIntention)));
        assert!(InnoLock::Table(TableMode::IX).covers(InnoLock::Table(TableMode::IS)));
        assert!(!InnoLock::Table(TableMode::IS).covers(InnoLock::Table(TableMode::IX)));
    }
}
