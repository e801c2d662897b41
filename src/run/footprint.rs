//! What one step touched: store keys and ranges, lock resources with their modes, and the global
//! counters (commits, lasting snapshots, serials). Two steps of different sessions whose
//! footprints do not conflict commute: the explorer runs only one of their two orders.

use super::Db;
use crate::engine::innodb::{modes::InnoLock, Res};
use crate::engine::postgres::{modes::PgLock, PgRes};
use crate::lock::LockMode;
use crate::store::{touches_conflict, Touch, Traced, TreeId};

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
    /// The step drew new heap tuple roots (PostgreSQL INSERT): see [`Footprint::independent`].
    draws_root: bool,
    /// The step closed a read view (InnoDB).
    ends_view: bool,
    /// The step committed delete-marks, purged only if no read view was open (InnoDB).
    checks_views: bool,
}

/// Counters read before and after a step: commits, lasting snapshots, serials, and PostgreSQL's
/// next heap tuple root.
pub(super) struct Globals((u64, u64, Vec<i64>), i64, (u64, u64));

fn locks_conflict<R: Eq, M: LockMode>(a: &[(R, M)], b: &[(R, M)]) -> bool {
    a.iter().any(|(ra, ma)| b.iter().any(|(rb, mb)| ra == rb && (ma.must_wait_for(*mb) || mb.must_wait_for(*ma))))
}

/// Do both traces write into some one tree?
fn writes_a_common_tree(a: &[Touch], b: &[Touch]) -> bool {
    let written = |t: &[Touch]| -> Vec<TreeId> {
        t.iter()
            .filter_map(|x| match x {
                Touch::Write { tree, .. } => Some(*tree),
                _ => None,
            })
            .collect()
    };
    let wb = written(b);
    written(a).iter().any(|t| wb.contains(t))
}

impl Footprint {
    /// Start tracing a step on `db`; returns the counters to compare with afterwards.
    pub(super) fn start(db: &mut Db<Traced>) -> Globals {
        match db {
            Db::Inno(d) => {
                let (store, locks) = d.parts_mut();
                // InnoDB reads no predicates: its writes need not log their rows.
                store.start_trace(false);
                locks.start_trace();
                Globals(d.globals(), 0, d.view_events())
            }
            Db::Pg(d) => {
                let (store, locks) = d.parts_mut();
                store.start_trace(true);
                locks.start_trace();
                Globals(d.globals(), d.next_root(), (0, 0))
            }
        }
    }

    /// Stop tracing and collect what the step touched.
    pub(super) fn take(db: &mut Db<Traced>, before: Globals) -> Footprint {
        let (after, root, views, store, locks) = match db {
            Db::Inno(d) => {
                let (g, views) = (d.globals(), d.view_events());
                let (store, locks) = d.parts_mut();
                (g, 0, views, store.take_trace(), LockTrace::Inno(locks.take_trace()))
            }
            Db::Pg(d) => {
                let (g, root) = (d.globals(), d.next_root());
                let (store, locks) = d.parts_mut();
                (g, root, (0, 0), store.take_trace(), LockTrace::Pg(locks.take_trace()))
            }
        };
        let Globals((c0, v0, s0), root0, (e0, p0)) = before;
        Footprint {
            store,
            locks,
            reads_commits: after.1 != v0,
            writes_commits: after.0 != c0,
            draws_serial: after.2 != s0,
            draws_root: root != root0,
            ends_view: views.0 != e0,
            checks_views: views.1 != p0,
        }
    }

    /// Do the two steps commute? Conservative: a write or commit of a record the other read
    /// (a key, a range, a predicate some version of the record matches) or wrote, any shared lock
    /// resource with conflicting modes, a commit against a snapshot taken, an InnoDB purge against
    /// a read view closed, two serial draws, or two root draws into one table make them dependent.
    ///
    /// Commits: each commit takes the next commit sequence number, so two commits run in either
    /// order give their transactions each other's numbers. PostgreSQL only compares a number with
    /// a snapshot (`commit <= snapshot`) or asks whether there is one; a snapshot is the sequence
    /// at the step that took it, never between two adjacent commits, so every snapshot, older or
    /// newer, gets the same answers in both orders, and what each commit made visible is in its
    /// footprint ([`Store::touched`](crate::store::Store::touched)): two PostgreSQL commits commute
    /// unless something else of theirs conflicts. InnoDB compares commit numbers with read views
    /// the same way, so two InnoDB commits commute too, with one more dependence: a commit with
    /// delete-marked records purges them only if no transaction has an open read view, so it
    /// depends on every step that closes a view (a commit, a rollback, the end of a READ COMMITTED
    /// statement); opening a view already conflicts with commits as a snapshot taken.
    ///
    /// Roots: PostgreSQL's heap tuples take their roots from one counter, so two inserting steps
    /// run in either order give their new tuples each other's roots, and the two states differ.
    /// Nothing the explorer reports shows a root's value (its verdicts are error kinds, deadlocks,
    /// orphans, which table a statement waited on, the longest wait chain; a report line names a
    /// lock's row by its key columns, by its root only when the row is gone): roots are seen only
    /// through their order (a table's scan order, so the order UPDATE, DELETE, SELECT ... FOR and
    /// the RI and unique checks meet tuples and lock rows in; the order of the lock table's
    /// resources, (table, root) with the table first) and equality (which tuples form one row,
    /// which row a lock is on). If the two steps draw roots for different tables, the two states
    /// differ by exchanging the two adjacent blocks of roots, which keeps every table's order (each
    /// block lies above every older root and below every newer one, and a table holds roots of one
    /// block only) and the order of lock resources: the same verdicts follow from both. In one
    /// table the exchange reverses the order of the new tuples, which a later scan can show (the
    /// lock order of a multi-row UPDATE decides whether it deadlocks), so two root-drawing steps
    /// that both write into one tree are dependent.
    pub fn independent(&self, other: &Footprint) -> bool {
        let globals = (self.writes_commits && other.reads_commits)
            || (other.writes_commits && self.reads_commits)
            || (self.checks_views && other.ends_view)
            || (other.checks_views && self.ends_view)
            || (self.draws_serial && other.draws_serial)
            || (self.draws_root && other.draws_root && writes_a_common_tree(&self.store, &other.store));
        let locks = match (&self.locks, &other.locks) {
            (LockTrace::Inno(a), LockTrace::Inno(b)) => locks_conflict(a, b),
            (LockTrace::Pg(a), LockTrace::Pg(b)) => locks_conflict(a, b),
            _ => true,
        };
        !globals && !locks && !touches_conflict(&self.store, &other.store)
    }
}
