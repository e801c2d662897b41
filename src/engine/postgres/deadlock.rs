//! PostgreSQL's deadlock check (deadlock.c, `DeadLockCheck`): hard wait-for edges (to a holder of
//! a conflicting lock) and soft ones (to a conflicting request ahead in the same wait queue), and
//! the rearrangement of wait queues that breaks a cycle made only through soft edges.

use super::modes::PgLock;
use super::PgRes;
use crate::lock::{LockMode, Locks, TxnId};

/// `waiter` waits behind `blocker`'s request in the wait queue of `res` (deadlock.c's `EDGE`).
/// As a constraint: `waiter` must be put ahead of `blocker`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Edge {
    waiter: TxnId,
    blocker: TxnId,
    res: PgRes,
}

/// What the check found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Verdict {
    /// No cycle through the checking transaction (`DS_NO_DEADLOCK`).
    None,
    /// A cycle that putting these wait queues in these orders breaks (`DS_SOFT_DEADLOCK`).
    Soft(Vec<(PgRes, Vec<TxnId>)>),
    /// A cycle no reordering breaks (`DS_HARD_DEADLOCK`): the checker is the victim.
    Hard,
}

struct Checker<'a, L> {
    locks: &'a L,
    /// `curConstraints`
    constraints: Vec<Edge>,
    /// `waitOrders`: the hypothetical wait queues the constraints give.
    orders: Vec<(PgRes, Vec<TxnId>)>,
    /// At most this many constraints (`maxCurConstraints`: one per backend).
    max_constraints: usize,
}

/// Run the check for `start`, a waiting transaction (`DeadLockCheck`).
pub(super) fn check<L: Locks<PgRes, PgLock>>(locks: &L, start: TxnId) -> Verdict {
    let max_constraints = locks.waiters().count().max(1);
    let mut c = Checker { locks, constraints: Vec::new(), orders: Vec::new(), max_constraints };
    if c.recurse(start) {
        Verdict::Hard
    } else if c.orders.is_empty() {
        Verdict::None
    } else {
        Verdict::Soft(c.orders)
    }
}

impl<L: Locks<PgRes, PgLock>> Checker<'_, L> {
    /// `DeadLockCheckRecurse`: true if no set of constraints removes every cycle.
    fn recurse(&mut self, start: TxnId) -> bool {
        let Some(edges) = self.test(start) else { return true };
        if edges.is_empty() {
            return false;
        }
        if self.constraints.len() >= self.max_constraints {
            return true;
        }
        for e in edges {
            self.constraints.push(e);
            if !self.recurse(start) {
                return false;
            }
            self.constraints.pop();
        }
        true
    }

    /// `TestConfiguration`: `None` for a hard cycle or inconsistent constraints; otherwise the
    /// soft edges of the last cycle found (none: this configuration has no cycle).
    fn test(&mut self, start: TxnId) -> Option<Vec<Edge>> {
        if !self.expand() {
            return None;
        }
        let mut found = Vec::new();
        let procs: Vec<TxnId> = self.constraints.iter().flat_map(|c| [c.waiter, c.blocker]).chain([start]).collect();
        for p in procs {
            if let Some(soft) = self.find_cycle(p) {
                if soft.is_empty() {
                    return None;
                }
                found = soft;
            }
        }
        Some(found)
    }

    /// `ExpandConstraints`: one wait order per lock the constraints name, newest constraint first.
    fn expand(&mut self) -> bool {
        self.orders.clear();
        for i in (0..self.constraints.len()).rev() {
            let res = self.constraints[i].res;
            if self.orders.iter().any(|(r, _)| *r == res) {
                continue;
            }
            let Some(order) = self.topo_sort(res, &self.constraints[..=i]) else { return false };
            self.orders.push((res, order));
        }
        true
    }

    /// `TopoSort`: the real wait queue of `res` reordered so that each constraint's waiter comes
    /// before its blocker, moving as little as the backward scan does.
    fn topo_sort(&self, res: PgRes, constraints: &[Edge]) -> Option<Vec<TxnId>> {
        let procs: Vec<TxnId> = self.locks.queue(&res).iter().filter(|e| !e.granted).map(|e| e.txn).collect();
        let n = procs.len();
        let mut before = vec![0usize; n];
        let mut after: Vec<Vec<usize>> = vec![Vec::new(); n];
        for c in constraints {
            let (Some(jj), Some(kk)) =
                (procs.iter().rposition(|&p| p == c.waiter), procs.iter().rposition(|&p| p == c.blocker))
            else {
                continue;
            };
            before[jj] += 1;
            after[kk].push(jj);
        }
        let mut slots: Vec<Option<TxnId>> = procs.into_iter().map(Some).collect();
        let mut out = vec![0; n];
        for i in (0..n).rev() {
            let j = (0..n).rev().find(|&j| slots[j].is_some() && before[j] == 0)?;
            out[i] = slots[j].take()?;
            for &p in &after[j] {
                before[p] -= 1;
            }
        }
        Some(out)
    }

    /// The waiters of `res` in queue order, hypothetical if a constraint reordered it.
    fn wait_queue(&self, res: &PgRes) -> Vec<(TxnId, PgLock)> {
        let queue = self.locks.queue(res);
        let mode_of = |t: TxnId| queue.iter().find(|e| e.txn == t && !e.granted).map(|e| e.mode);
        match self.orders.iter().find(|(r, _)| r == res) {
            Some((_, order)) => order.iter().filter_map(|&t| mode_of(t).map(|m| (t, m))).collect(),
            None => queue.iter().filter(|e| !e.granted).map(|e| (e.txn, e.mode)).collect(),
        }
    }

    /// `FindLockCycle`: a cycle through `start`, as the soft edges on it (innermost first).
    fn find_cycle(&self, start: TxnId) -> Option<Vec<Edge>> {
        let mut visited = Vec::new();
        let mut soft = Vec::new();
        self.find_from(start, &mut visited, &mut soft).then_some(soft)
    }

    /// `FindLockCycleRecurse` and `FindLockCycleRecurseMember`: depth first, each transaction
    /// visited once; hard edges first, then soft edges to conflicting requests ahead.
    fn find_from(&self, t: TxnId, visited: &mut Vec<TxnId>, soft: &mut Vec<Edge>) -> bool {
        if let Some(i) = visited.iter().position(|&v| v == t) {
            return i == 0;
        }
        visited.push(t);
        let Some((res, entry)) = self.locks.waiting_for(t) else { return false };
        let (res, mode) = (*res, entry.mode);
        let mut holders: Vec<TxnId> = Vec::new();
        for e in self.locks.queue(&res) {
            if e.granted && e.txn != t && mode.must_wait_for(e.mode) && !holders.contains(&e.txn) {
                holders.push(e.txn);
            }
        }
        for h in holders {
            if self.find_from(h, visited, soft) {
                return true;
            }
        }
        if !mode.waits_behind_waiters() {
            return false;
        }
        for (w, wmode) in self.wait_queue(&res) {
            if w == t {
                break;
            }
            if mode.must_wait_for(wmode) && self.find_from(w, visited, soft) {
                soft.push(Edge { waiter: t, blocker: w, res });
                return true;
            }
        }
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::postgres::modes::Hw;
    use crate::lock::LockTable;

    const AS: PgLock = PgLock::Hw(Hw::AccessShare);
    const AE: PgLock = PgLock::Hw(Hw::AccessExclusive);

    /// deadlock-soft: d1 (1) and d2 (2) share a1 and a2; e1 (3) and e2 (4) wait for ACCESS
    /// EXCLUSIVE behind them; then d1 asks a2 and d2 asks a1, each queued behind an e.
    fn soft() -> LockTable<PgRes, PgLock> {
        let (a1, a2) = (PgRes::Rel(1), PgRes::Rel(2));
        let mut t = LockTable::new();
        t.request(1, &a1, AS, 0);
        t.request(2, &a2, AS, 0);
        t.request(3, &a1, AE, 0);
        t.request(4, &a2, AE, 0);
        t.request(1, &a2, AS, 0);
        t.request(2, &a1, AS, 0);
        t
    }

    #[test]
    fn a_soft_cycle_is_broken_by_moving_the_innermost_waiter_ahead() {
        let mut t = soft();
        assert!(t.find_cycle_from(2).is_some());
        let Verdict::Soft(orders) = check(&t, 2) else { panic!("not soft") };
        // d1 goes ahead of e2 on a2 (the innermost soft edge of the cycle from d2).
        assert_eq!(orders, vec![(PgRes::Rel(2), vec![1, 4])]);
        let grants = t.reorder_waiters(&PgRes::Rel(2), &[1, 4]);
        assert_eq!(grants.iter().map(|g| g.txn).collect::<Vec<_>>(), [1]);
        assert_eq!(check(&t, 2), Verdict::None);
    }

    #[test]
    fn a_cycle_of_holders_is_hard() {
        let (a1, a2) = (PgRes::Rel(1), PgRes::Rel(2));
        let mut t = LockTable::new();
        t.request(1, &a1, AE, 0);
        t.request(2, &a2, AE, 0);
        t.request(1, &a2, AE, 0);
        t.request(2, &a1, AE, 0);
        assert_eq!(check(&t, 2), Verdict::Hard);
        t.cancel_wait(2);
        assert_eq!(check(&t, 1), Verdict::None);
    }
}
