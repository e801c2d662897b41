//! What one step touched: store keys and ranges, lock resources with their modes, and the global
//! counters (commits, lasting snapshots, serials). Two steps of different sessions whose
//! footprints do not conflict commute: the explorer runs only one of their two orders.

use super::Db;
use crate::engine::innodb::{modes::InnoLock, Res};
use crate::engine::postgres::{modes::PgLock, PgRes};
use crate::lock::LockMode;
use crate::store::{touches_conflict, Touch, Traced};

/// The lock resources and modes a step requested, checked, was granted or released.
#[derive(Debug, Clone)]
enum LockTrace {
    Inno(Vec<(Res, InnoLock)>),
    Pg(Vec<(PgRes, PgLock)>),
}

/// Everything one step touched.
#[derive(Debug, Clone)]
pub struct Footprint {
    store: Vec<Touch>,
    locks: LockTrace,
    /// The step took a snapshot that outlives it (reads every transaction's commit state).
    reads_commits: bool,
    /// The step committed or rolled back a transaction.
    writes_commits: bool,
    /// The step drew a serial value.
    draws_serial: bool,
}

/// Counters read before and after a step.
pub(super) struct Globals((u64, u64, Vec<i64>));

fn locks_conflict<R: Eq, M: LockMode>(a: &[(R, M)], b: &[(R, M)]) -> bool {
    a.iter().any(|(ra, ma)| b.iter().any(|(rb, mb)| ra == rb && (ma.must_wait_for(*mb) || mb.must_wait_for(*ma))))
}

impl Footprint {
    /// Start tracing a step on `db`; returns the counters to compare with afterwards.
    pub(super) fn start(db: &mut Db<Traced>) -> Globals {
        match db {
            Db::Inno(d) => {
                let (store, locks) = d.parts_mut();
                store.start_trace();
                locks.start_trace();
                Globals(d.globals())
            }
            Db::Pg(d) => {
                let (store, locks) = d.parts_mut();
                store.start_trace();
                locks.start_trace();
                Globals(d.globals())
            }
        }
    }

    /// Stop tracing and collect what the step touched.
    pub(super) fn take(db: &mut Db<Traced>, before: Globals) -> Footprint {
        let (after, store, locks) = match db {
            Db::Inno(d) => {
                let g = d.globals();
                let (store, locks) = d.parts_mut();
                (g, store.take_trace(), LockTrace::Inno(locks.take_trace()))
            }
            Db::Pg(d) => {
                let g = d.globals();
                let (store, locks) = d.parts_mut();
                (g, store.take_trace(), LockTrace::Pg(locks.take_trace()))
            }
        };
        let (c0, v0, s0) = before.0;
        Footprint {
            store,
            locks,
            reads_commits: after.1 != v0,
            writes_commits: after.0 != c0,
            draws_serial: after.2 != s0,
        }
    }

    /// Do the two steps commute? Conservative: any shared key one of them writes, any shared lock
    /// resource with conflicting modes, a commit against a snapshot taken, or two serial draws
    /// make them dependent.
    pub fn independent(&self, other: &Footprint) -> bool {
        let globals = (self.writes_commits && (other.reads_commits || other.writes_commits))
            || (other.writes_commits && self.reads_commits)
            || (self.draws_serial && other.draws_serial);
        let locks = match (&self.locks, &other.locks) {
            (LockTrace::Inno(a), LockTrace::Inno(b)) => locks_conflict(a, b),
            (LockTrace::Pg(a), LockTrace::Pg(b)) => locks_conflict(a, b),
            _ => true,
        };
        !globals && !locks && !touches_conflict(&self.store, &other.store)
    }
}
