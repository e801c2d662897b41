//! The multixact rules of `compute_new_xmax_infomask` and `MultiXactIdExpand`, one case each.

use super::*;
use std::collections::BTreeSet;

#[derive(Default)]
struct World {
    running: BTreeSet<TxnId>,
    committed: BTreeSet<TxnId>,
}

impl Fate for World {
    fn running(&self, x: TxnId) -> bool {
        self.running.contains(&x)
    }
    fn committed(&self, x: TxnId) -> bool {
        self.committed.contains(&x)
    }
}

fn world(running: &[TxnId]) -> World {
    World { running: running.iter().copied().collect(), ..World::default() }
}

const ROW: Tid = (0, 1, 0);

#[test]
fn one_locker_is_its_xid_alone() {
    let w = world(&[1]);
    let mut mx = Multixacts::default();
    mx.lock(ROW, 1, Strength::KeyShare, &w);
    assert_eq!((mx.created, mx.members), (0, 0));
    assert_eq!(mx.xmax(ROW), Some(&Xmax::One(Member { xid: 1, status: Status::ForKeyShare })));
}

#[test]
fn two_lockers_make_one_multixact_of_two() {
    let w = world(&[1, 2]);
    let mut mx = Multixacts::default();
    mx.lock(ROW, 1, Strength::KeyShare, &w);
    mx.lock(ROW, 2, Strength::KeyShare, &w);
    assert_eq!((mx.created, mx.members), (1, 2));
    assert_eq!(mx.per_row.get(&(0, 1)), Some(&(1, 2)));
}

#[test]
fn three_lockers_make_two_multixacts_of_two_and_three() {
    let w = world(&[1, 2, 3]);
    let mut mx = Multixacts::default();
    for x in 1..=3 {
        mx.lock(ROW, x, Strength::KeyShare, &w);
    }
    assert_eq!((mx.created, mx.members), (2, 5));
}

#[test]
fn a_locker_that_already_holds_creates_none() {
    let w = world(&[1, 2]);
    let mut mx = Multixacts::default();
    mx.lock(ROW, 1, Strength::KeyShare, &w);
    mx.lock(ROW, 2, Strength::KeyShare, &w);
    mx.lock(ROW, 2, Strength::KeyShare, &w);
    mx.lock(ROW, 1, Strength::KeyShare, &w);
    assert_eq!((mx.created, mx.members), (1, 2));
    // Alone, a stronger lock of its own replaces the weaker one: still no multixact.
    let mut alone = Multixacts::default();
    alone.lock(ROW, 1, Strength::KeyShare, &w);
    alone.lock(ROW, 1, Strength::Exclusive, &w);
    assert_eq!(alone.created, 0);
    assert_eq!(alone.xmax(ROW), Some(&Xmax::One(Member { xid: 1, status: Status::ForUpdate })));
}

#[test]
fn a_non_key_update_of_a_key_shared_row_makes_one_of_two() {
    let w = world(&[1, 2]);
    let mut mx = Multixacts::default();
    let new = (0, 1, 1);
    mx.lock(ROW, 1, Strength::KeyShare, &w);
    mx.update(ROW, Some(new), 2, Strength::NoKeyExclusive, &w);
    assert_eq!((mx.created, mx.members), (1, 2));
    // The new version carries the locker alone.
    assert_eq!(mx.xmax(new), Some(&Xmax::One(Member { xid: 1, status: Status::ForKeyShare })));
}

#[test]
fn ended_lockers_are_left_out() {
    let mut w = world(&[1, 2]);
    let mut mx = Multixacts::default();
    mx.lock(ROW, 1, Strength::KeyShare, &w);
    mx.lock(ROW, 2, Strength::KeyShare, &w);
    w.running = [2, 3].into();
    w.committed.insert(1);
    mx.lock(ROW, 3, Strength::KeyShare, &w);
    assert_eq!((mx.created, mx.members), (2, 4), "the second multixact is of 2 and 3");
    w.running = [4].into();
    mx.lock(ROW, 4, Strength::KeyShare, &w);
    assert_eq!((mx.created, mx.members), (2, 4), "nobody left: the xid alone");
}

#[test]
fn a_committed_updater_stays_with_a_later_key_share_locker() {
    let mut w = world(&[1]);
    let mut mx = Multixacts::default();
    mx.update(ROW, Some((0, 1, 1)), 1, Strength::NoKeyExclusive, &w);
    w.running = [2].into();
    w.committed.insert(1);
    mx.lock(ROW, 2, Strength::KeyShare, &w);
    assert_eq!((mx.created, mx.members), (1, 2));
}

#[test]
fn a_member_set_already_made_in_the_transaction_is_reused() {
    let w = world(&[1, 2]);
    let mut mx = Multixacts::default();
    let other = (0, 2, 0);
    mx.lock(ROW, 1, Strength::KeyShare, &w);
    mx.lock(other, 1, Strength::KeyShare, &w);
    mx.lock(ROW, 2, Strength::KeyShare, &w);
    mx.lock(other, 2, Strength::KeyShare, &w);
    assert_eq!((mx.created, mx.members), (1, 2), "the same {{1, 2}} on both rows");
    mx.end(2);
    let mut again = mx.clone();
    again.lock((0, 3, 0), 1, Strength::KeyShare, &w);
    again.lock((0, 3, 0), 2, Strength::KeyShare, &w);
    assert_eq!(again.created, 2, "the cache went with the transaction");
}
