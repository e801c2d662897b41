//! What one step touched: store keys and ranges, lock resources with their modes, and the global
//! counters (commits, lasting snapshots, serials). Two steps of different sessions whose
//! footprints do not conflict commute: the explorer runs only one of their two orders.

use super::traced_locks::Tracing;
use super::traced_store::{touches_conflict, Touch};
use crate::engine::{Counters, Engine};
use crate::lock::LockMode;
use crate::run::{Play, RunError};
use crate::spec::PermStep;
use crate::store::TreeId;
use std::sync::Arc;

/// Everything one step touched, on an engine of resources `R` and modes `M`.
#[derive(Debug, Clone)]
pub struct Footprint<R, M> {
    store: Vec<Touch>,
    /// The lock resources and modes the step requested, checked, was granted or released.
    locks: Vec<(R, M)>,
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

impl<'a, E: Engine<Parts = Tracing>> Play<'a, E> {
    /// Issue the next step and return what it touched.
    pub fn step_traced(&mut self, p: Arc<PermStep>) -> Result<Footprint<E::Res, E::Mode>, RunError> {
        let before = {
            let db = self.engine_mut();
            let (store, locks) = db.parts_mut();
            // An engine that reads no predicates needs no rows in its writes' log.
            store.start_trace(E::TRACES_ROWS);
            locks.start_trace();
            db.counters()
        };
        let r = self.step(p);
        let db = self.engine_mut();
        let after = db.counters();
        let (store, locks) = db.parts_mut();
        let fp = Footprint::between(&before, &after, store.take_trace(), locks.take_trace());
        r.map(|_| fp)
    }
}

impl<R: Eq, M: LockMode> Footprint<R, M> {
    /// What a step touched, from its traces and the counters before and after it.
    fn between(before: &Counters, after: &Counters, store: Vec<Touch>, locks: Vec<(R, M)>) -> Self {
        Footprint {
            store,
            locks,
            reads_commits: after.lasting_views != before.lasting_views,
            writes_commits: after.commits != before.commits,
            draws_serial: after.serials != before.serials,
            draws_root: after.next_root != before.next_root,
            ends_view: after.view_ends != before.view_ends,
            checks_views: after.purge_checks != before.purge_checks,
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
    /// footprint ([`Traced::committed`](super::traced_store::Traced::committed)): two PostgreSQL commits commute
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
    pub fn independent(&self, other: &Footprint<R, M>) -> bool {
        let globals = (self.writes_commits && other.reads_commits)
            || (other.writes_commits && self.reads_commits)
            || (self.checks_views && other.ends_view)
            || (other.checks_views && self.ends_view)
            || (self.draws_serial && other.draws_serial)
            || (self.draws_root && other.draws_root && writes_a_common_tree(&self.store, &other.store));
        !globals && !locks_conflict(&self.locks, &other.locks) && !touches_conflict(&self.store, &other.store)
    }
}
