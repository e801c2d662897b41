//! Unit tests of the lock table, and a proptest against the naive reference.

use super::reference::NaiveLocks;
use super::*;
use crate::engine::innodb::modes::{InnoLock, Span, Strength};
use proptest::prelude::*;

/// Plain reader/writer locks for the unit tests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Rw {
    R,
    W,
}

impl LockMode for Rw {
    fn must_wait_for(self, other: Self) -> bool {
        self == Rw::W || other == Rw::W
    }
    fn covers(self, req: Self) -> bool {
        self == Rw::W || req == Rw::R
    }
}

#[test]
fn shared_locks_are_granted_together() {
    let mut t: LockTable<u8, Rw> = LockTable::new();
    assert_eq!(t.request(1, &0, Rw::R, 0), Request::Granted);
    assert_eq!(t.request(2, &0, Rw::R, 0), Request::Granted);
    assert_eq!(t.request(3, &0, Rw::W, 0), Request::Waiting { behind: vec![1, 2] });
}

#[test]
fn new_shared_request_waits_behind_waiting_writer() {
    let mut t: LockTable<u8, Rw> = LockTable::new();
    t.request(1, &0, Rw::R, 0);
    t.request(2, &0, Rw::W, 0);
    assert_eq!(t.request(3, &0, Rw::R, 0), Request::Waiting { behind: vec![2] });
    // Releasing the reader grants the writer, and the reader behind it stays waiting.
    let g = t.release_all(1);
    assert_eq!(g, vec![Grant { txn: 2, resource: 0 }]);
    assert_eq!(t.blockers(3).map(|e| e.txn).collect::<Vec<_>>(), vec![2]);
    assert_eq!(t.release_all(2), vec![Grant { txn: 3, resource: 0 }]);
    assert!(t.waiting_for(3).is_none());
}

#[test]
fn upgrade_waits_for_other_reader_and_deadlocks() {
    let mut t: LockTable<u8, Rw> = LockTable::new();
    t.request(1, &0, Rw::R, 0);
    t.request(2, &0, Rw::R, 0);
    assert_eq!(t.request(1, &0, Rw::W, 0), Request::Waiting { behind: vec![2] });
    assert_eq!(t.request(2, &0, Rw::W, 0), Request::Waiting { behind: vec![1] });
    let graph = t.wait_for_graph();
    assert_eq!(find_cycle(&graph, 2), Some(vec![2, 1]));
    // Rolling back 2 lets 1's upgrade through.
    assert_eq!(t.release_all(2), vec![Grant { txn: 1, resource: 0 }]);
    assert!(t.holds(1, &0, Rw::W));
}

#[test]
fn covered_request_adds_nothing() {
    let mut t: LockTable<u8, Rw> = LockTable::new();
    t.request(1, &0, Rw::W, 0);
    assert_eq!(t.request(1, &0, Rw::R, 0), Request::Granted);
    assert_eq!(t.queue(&0).len(), 1);
}

#[test]
fn cancel_wait_regrants_those_behind() {
    let mut t: LockTable<u8, Rw> = LockTable::new();
    t.request(1, &0, Rw::R, 0);
    t.request(2, &0, Rw::W, 0);
    t.request(3, &0, Rw::R, 0);
    assert_eq!(t.cancel_wait(2), vec![Grant { txn: 3, resource: 0 }]);
    assert!(t.holds(3, &0, Rw::R));
}

#[test]
fn insert_intention_waits_for_gap_but_gap_never_waits() {
    let mut t: LockTable<u8, InnoLock> = LockTable::new();
    let gap = InnoLock::Rec(Strength::S, Span::Gap);
    let ii = InnoLock::Rec(Strength::X, Span::InsertIntention);
    assert_eq!(t.request(1, &0, gap, 0), Request::Granted);
    assert_eq!(t.request(2, &0, ii, 0), Request::Waiting { behind: vec![1] });
    // A gap lock asked after the waiting insert intention is granted at once...
    assert_eq!(t.request(3, &0, InnoLock::Rec(Strength::X, Span::Gap), 0), Request::Granted);
    // ...and, as in InnoDB, only locks ahead in the queue keep the waiter waiting.
    assert_eq!(t.release_all(1), vec![Grant { txn: 2, resource: 0 }]);
}

#[test]
fn move_queue_wakes_waiters_and_converts_granted() {
    let mut t: LockTable<u8, Rw> = LockTable::new();
    t.request(1, &0, Rw::W, 7);
    t.request(2, &0, Rw::R, 0);
    let g = t.move_queue(&0, &1, &mut |_| Some(Rw::R));
    assert_eq!(g, vec![Grant { txn: 2, resource: 0 }]);
    assert!(t.holds(1, &1, Rw::R));
    assert_eq!(t.queue(&1)[0].tag, 7);
    assert!(t.queue(&0).is_empty());
    assert!(t.waiting_for(2).is_none());
}

fn arb_mode() -> impl Strategy<Value = InnoLock> {
    let strength = prop_oneof![Just(Strength::S), Just(Strength::X)];
    let span = prop_oneof![Just(Span::NextKey), Just(Span::Record), Just(Span::Gap), Just(Span::InsertIntention)];
    (strength, span).prop_map(|(s, k)| InnoLock::Rec(s, k))
}

#[derive(Debug, Clone)]
enum Op {
    Request(TxnId, u8, InnoLock),
    Release(TxnId),
    CancelWait(TxnId),
    ReleaseOne(TxnId, u8, InnoLock),
}

fn arb_op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => (1u32..5, 0u8..3, arb_mode()).prop_map(|(t, r, m)| Op::Request(t, r, m)),
        1 => (1u32..5).prop_map(Op::Release),
        1 => (1u32..5).prop_map(Op::CancelWait),
        1 => (1u32..5, 0u8..3, arb_mode()).prop_map(|(t, r, m)| Op::ReleaseOne(t, r, m)),
    ]
}

proptest! {
    /// The lock table and the naive flat-list reference agree on every answer and every grant.
    #[test]
    fn agrees_with_naive_reference(ops in proptest::collection::vec(arb_op(), 1..60)) {
        let mut real: LockTable<u8, InnoLock> = LockTable::new();
        let mut naive: NaiveLocks<InnoLock> = NaiveLocks::default();
        for op in ops {
            match op {
                Op::Request(t, r, m) => {
                    if naive.is_waiting(t) { continue; }
                    let want = naive.request(t, r, m);
                    let got = match real.request(t, &r, m, 0) {
                        Request::Granted => None,
                        Request::Waiting { mut behind } => { behind.sort(); Some(behind) }
                    };
                    prop_assert_eq!(got, want);
                }
                Op::Release(t) => {
                    let want = naive.release(t);
                    let mut got: Vec<(TxnId, u8)> = real.release_all(t).into_iter().map(|g| (g.txn, g.resource)).collect();
                    got.sort();
                    prop_assert_eq!(got, want);
                }
                Op::CancelWait(t) => {
                    let want = naive.cancel_wait(t);
                    let mut got: Vec<(TxnId, u8)> = real.cancel_wait(t).into_iter().map(|g| (g.txn, g.resource)).collect();
                    got.sort();
                    prop_assert_eq!(got, want);
                }
                Op::ReleaseOne(t, r, m) => {
                    let want = naive.release_one(t, r, m);
                    let mut got: Vec<(TxnId, u8)> = real.release_one(t, &r, m).into_iter().map(|g| (g.txn, g.resource)).collect();
                    got.sort();
                    prop_assert_eq!(got, want);
                }
            }
            for t in 1..5 {
                prop_assert_eq!(real.waiting_for(t).is_some(), naive.is_waiting(t));
            }
            // The one-walk-per-queue answer is the one of finding each waiter in its queue.
            for r in 0..3u8 {
                let on = |x: &u8| *x != r;
                let one_by_one: Vec<(TxnId, Option<TxnId>)> = real
                    .waiters()
                    .filter(|&w| real.waiting_for(w).is_some_and(|(x, _)| on(x)))
                    .map(|w| (w, real.blockers(w).next().map(|e| e.txn)))
                    .collect();
                prop_assert_eq!(real.first_blockers(&on), one_by_one);
            }
            // The lazy search finds the cycle the search over the whole graph finds.
            for t in 1..5 {
                prop_assert_eq!(real.find_cycle_from(t), find_cycle(&real.wait_for_graph(), t));
            }
            // Requests and releases never grant two locks that conflict.
            prop_assert_eq!(real.granted_conflict(), None);
        }
    }
}

#[test]
fn granted_conflict_names_a_lock_granted_against_the_rules() {
    let mut t: LockTable<u8, Rw> = LockTable::new();
    t.request(1, &0, Rw::R, 0);
    t.request(2, &0, Rw::R, 0);
    assert_eq!(t.granted_conflict(), None);
    // `add_granted` skips the conflict check (InnoDB's implicit-lock conversion): a writer added
    // beside two readers breaks the invariant, and the check says where.
    t.add_granted(3, &0, Rw::W, 0);
    let broken = t.granted_conflict().expect("a writer granted beside readers");
    assert!(broken.contains("txn 3 holds W although it must wait for txn 1's R"), "{broken}");
}
