//! The wait-for graph and cycle detection over it.

use super::TxnId;
use std::collections::BTreeMap;

/// Each waiting transaction and the transactions it waits behind.
pub type WaitForGraph = BTreeMap<TxnId, Vec<TxnId>>;

/// A cycle through `start` in `graph`, as the list of transactions from `start` along wait-for edges
/// (each waits for the next, the last waits for `start`); the shortest such cycle found by a
/// breadth-first search, with ties broken by edge order, so the answer is deterministic.
pub fn find_cycle(graph: &WaitForGraph, start: TxnId) -> Option<Vec<TxnId>> {
    find_cycle_by(start, |t, edges| edges.extend(graph.get(&t).into_iter().flatten()))
}

/// [`find_cycle`] over a graph given by `expand`, which appends a transaction's wait-for edges in
/// order; it is asked once for each transaction the search reaches, in the search's order.
pub fn find_cycle_by(start: TxnId, mut expand: impl FnMut(TxnId, &mut Vec<TxnId>)) -> Option<Vec<TxnId>> {
    let mut parent: BTreeMap<TxnId, TxnId> = BTreeMap::new();
    let mut frontier = vec![start];
    let mut edges = Vec::new();
    while !frontier.is_empty() {
        let mut next = Vec::new();
        for &t in &frontier {
            edges.clear();
            expand(t, &mut edges);
            for &u in &edges {
                if u == start {
                    let mut path = vec![t];
                    let mut cur = t;
                    while cur != start {
                        cur = parent[&cur];
                        path.push(cur);
                    }
                    path.reverse();
                    return Some(path);
                }
                if let std::collections::btree_map::Entry::Vacant(v) = parent.entry(u) {
                    v.insert(t);
                    next.push(u);
                }
            }
        }
        frontier = next;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn g(edges: &[(TxnId, &[TxnId])]) -> WaitForGraph {
        edges.iter().map(|(t, b)| (*t, b.to_vec())).collect()
    }

    #[test]
    fn two_cycle() {
        let graph = g(&[(1, &[2]), (2, &[1])]);
        assert_eq!(find_cycle(&graph, 2), Some(vec![2, 1]));
        assert_eq!(find_cycle(&graph, 1), Some(vec![1, 2]));
    }

    #[test]
    fn chain_is_not_a_cycle() {
        let graph = g(&[(1, &[2]), (2, &[3])]);
        assert_eq!(find_cycle(&graph, 1), None);
    }

    #[test]
    fn cycle_not_through_start_is_not_reported() {
        let graph = g(&[(1, &[2]), (2, &[3]), (3, &[2])]);
        assert_eq!(find_cycle(&graph, 1), None);
        assert_eq!(find_cycle(&graph, 2), Some(vec![2, 3]));
    }

    #[test]
    fn three_cycle_via_second_edge() {
        let graph = g(&[(1, &[4, 2]), (2, &[3]), (3, &[1])]);
        assert_eq!(find_cycle(&graph, 1), Some(vec![1, 2, 3]));
    }
}
