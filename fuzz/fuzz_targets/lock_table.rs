//! An arbitrary sequence of lock operations (request, try-acquire, release-all, cancel-wait,
//! release-one; 4 transactions, 3 resources) applied to the lock table and to its naive
//! reference (`fksim::lock::reference`), with InnoDB's or PostgreSQL's modes: the same answers
//! and grants after every operation, the same waiters, the lazy cycle search agreeing with the
//! whole-graph one, no conflicting grants, no panic. Run with `cargo fuzz run lock_table`.
#![no_main]

use arbitrary::{Arbitrary, Unstructured};
use fksim::engine::innodb::modes::{InnoLock, Span, Strength, TableMode};
use fksim::engine::postgres::modes::{Hw, PgLock, RowMode};
use fksim::lock::reference::NaiveLocks;
use fksim::lock::{find_cycle, LockMode, LockTable, Locks, Request, TxnId};
use libfuzzer_sys::fuzz_target;

const TXNS: TxnId = 4;
const RESOURCES: u8 = 3;
/// Operations decoded from one input at most.
const MAX_OPS: usize = 200;

/// One operation; each number is reduced modulo what it picks from.
#[derive(Debug, Arbitrary)]
enum Op {
    Request { txn: u8, res: u8, mode: u8 },
    TryAcquire { txn: u8, res: u8, mode: u8 },
    ReleaseAll { txn: u8 },
    CancelWait { txn: u8 },
    ReleaseOne { txn: u8, res: u8, mode: u8 },
}

fn innodb_modes() -> Vec<InnoLock> {
    let tables = [TableMode::IS, TableMode::IX, TableMode::S, TableMode::X].map(InnoLock::Table);
    let spans = [Span::NextKey, Span::Record, Span::Gap, Span::InsertIntention];
    let recs = [Strength::S, Strength::X].into_iter().flat_map(|s| spans.map(|k| InnoLock::Rec(s, k)));
    tables.into_iter().chain(recs).collect()
}

fn postgres_modes() -> Vec<PgLock> {
    let rows = [RowMode::KeyShare, RowMode::Share, RowMode::NoKeyUpdate, RowMode::Update].map(PgLock::Row);
    let hw = [
        Hw::AccessShare,
        Hw::RowShare,
        Hw::RowExclusive,
        Hw::ShareUpdateExclusive,
        Hw::Share,
        Hw::ShareRowExclusive,
        Hw::Exclusive,
        Hw::AccessExclusive,
    ]
    .map(PgLock::Hw);
    rows.into_iter().chain(hw).collect()
}

fn sorted(grants: Vec<fksim::lock::Grant<u8>>) -> Vec<(TxnId, u8)> {
    let mut out: Vec<(TxnId, u8)> = grants.into_iter().map(|g| (g.txn, g.resource)).collect();
    out.sort();
    out
}

/// Apply `ops` to both tables, comparing them after each.
fn check<M: LockMode + Send>(modes: &[M], ops: &[Op]) {
    let mut real: LockTable<u8, M> = LockTable::new();
    let mut naive: NaiveLocks<M> = NaiveLocks::default();
    // The no-conflicting-grants invariant holds for FIFO requests (every mode waits behind
    // waiters) and no try-acquire: a lock taken past a waiter can conflict with it once granted,
    // which the engines avoid by how they use them (PostgreSQL queues row-lock waiters on a
    // FIFO tuple lock).
    let mut fifo_only = true;
    let pick = |txn: u8, res: u8, mode: u8| {
        (1 + TxnId::from(txn) % TXNS, res % RESOURCES, modes[usize::from(mode) % modes.len()])
    };
    for op in ops {
        match *op {
            Op::Request { txn, res, mode } => {
                let (t, r, m) = pick(txn, res, mode);
                if naive.is_waiting(t) {
                    continue;
                }
                fifo_only &= m.waits_behind_waiters();
                let want = naive.request(t, r, m);
                let got = match real.request(t, &r, m, 0) {
                    Request::Granted => None,
                    Request::Waiting { mut behind } => {
                        behind.sort();
                        Some(behind)
                    }
                };
                assert_eq!(got, want, "{op:?}");
            }
            Op::TryAcquire { txn, res, mode } => {
                let (t, r, m) = pick(txn, res, mode);
                fifo_only = false;
                assert_eq!(real.try_acquire(t, &r, m, 0), naive.try_acquire(t, r, m), "{op:?}");
            }
            Op::ReleaseAll { txn } => {
                let (t, _, _) = pick(txn, 0, 0);
                assert_eq!(sorted(real.release_all(t)), naive.release(t), "{op:?}");
            }
            Op::CancelWait { txn } => {
                let (t, _, _) = pick(txn, 0, 0);
                assert_eq!(sorted(real.cancel_wait(t)), naive.cancel_wait(t), "{op:?}");
            }
            Op::ReleaseOne { txn, res, mode } => {
                let (t, r, m) = pick(txn, res, mode);
                assert_eq!(sorted(real.release_one(t, &r, m)), naive.release_one(t, r, m), "{op:?}");
            }
        }
        for t in 1..=TXNS {
            assert_eq!(real.waiting_for(t).is_some(), naive.is_waiting(t), "txn {t} after {op:?}");
            for r in 0..RESOURCES {
                for &m in modes {
                    assert_eq!(real.holds(t, &r, m), naive.holds(t, r, m), "txn {t} holds {m:?} on {r} after {op:?}");
                }
            }
            assert_eq!(real.find_cycle_from(t), find_cycle(&real.wait_for_graph(), t), "cycle from {t} after {op:?}");
        }
        for r in 0..RESOURCES {
            let on = |x: &u8| *x != r;
            let one_by_one: Vec<(TxnId, Option<TxnId>)> = real
                .waiters()
                .filter(|&w| real.waiting_for(w).is_some_and(|(x, _)| on(x)))
                .map(|w| (w, real.blockers(w).next().map(|e| e.txn)))
                .collect();
            assert_eq!(real.first_blockers(&on), one_by_one, "after {op:?}");
        }
        if fifo_only {
            assert_eq!(real.granted_conflict(), None, "after {op:?}");
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let mut u = Unstructured::new(data);
    let Ok(postgres) = u.arbitrary::<bool>() else { return };
    let Ok(decoded) = u.arbitrary_take_rest_iter::<Op>() else { return };
    let ops: Vec<Op> = decoded.take(MAX_OPS).map_while(Result::ok).collect();
    if postgres {
        check(&postgres_modes(), &ops);
    } else {
        check(&innodb_modes(), &ops);
    }
});
