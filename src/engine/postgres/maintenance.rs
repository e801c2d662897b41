//! `VACUUM` and `ANALYZE` as the relation locks they take (vacuum.c, analyze.c, PostgreSQL 15).
//!
//! The model reclaims nothing here: a user's VACUUM is a lock-only statement (the engine's own
//! forgetting of old versions, `Engine::vacuum`, is another thing, run by long simulations). What
//! it does take, in order:
//! - `expand_vacuum_rel`: ACCESS SHARE on each relation named, released at once
//!   (`RangeVarGetRelidExtended`, then `UnlockRelationOid`); a partitioned table adds its
//!   partitions to the list, after it, without a name;
//! - then each relation of the list in a transaction of its own (`vacuum`: always for VACUUM; for
//!   ANALYZE outside a transaction block when the list has more than one relation), so its locks
//!   go when that relation is done: `vacuum_rel` takes SHARE UPDATE EXCLUSIVE (FULL: ACCESS
//!   EXCLUSIVE), `analyze_rel` SHARE UPDATE EXCLUSIVE, and the ANALYZE of a partitioned table
//!   samples its partitions under ACCESS SHARE on each (`acquire_inherited_sample_rows`, through
//!   `find_all_inheritors`), waiting for them even with SKIP_LOCKED.
//!
//! SKIP_LOCKED makes every other of these a conditional lock (`ConditionalLockRelationOid`): a
//! relation whose lock is not free is skipped, with `WARNING:  skipping vacuum of "name" --- lock
//! not available` ("skipping analyze of" for ANALYZE) only for a relation the statement named: a
//! partition reached through its partitioned table has no name to report (`vacuum_open_relation`
//! returns silently when `relation == NULL`). A relation VACUUM skips is not analyzed either
//! (`vacuum_rel` returns false). Locks on indexes and TOAST tables are not modelled.

use super::exec::{Lk, Step};
use super::modes::{Hw, PgLock};
use super::{PgDb, PgRes, Purpose};
use crate::engine::{err, DbError, EngineError, ErrorKind, Notice, Parts, SessionId};
use crate::lock::{Locks, Request, TxnId};
use crate::sql::{Maintenance, Plan, Relation};
use std::sync::Arc;

/// `PreventInTransactionBlock` (xact.c), which `vacuum` calls for VACUUM (not for ANALYZE).
pub(super) fn in_block_error(plan: &Plan, in_block: bool) -> Option<DbError> {
    match plan {
        Plan::Maintenance(m) if m.vacuum && in_block => {
            Some(err(ErrorKind::Other, "VACUUM cannot run inside a transaction block"))
        }
        _ => None,
    }
}

/// One entry of the list VACUUM works through (a `VacuumRelation`).
#[derive(Debug, Clone)]
struct Target {
    res: PgRes,
    /// The name the statement gave it (its RangeVar); None for a partition found through its
    /// partitioned table or a relation of a database-wide VACUUM.
    name: Option<String>,
}

/// How far a VACUUM or ANALYZE has got, kept in the statement's cursor across lock waits.
#[derive(Debug, Clone, Default)]
pub(super) struct Progress {
    /// Named relations looked up so far (`expand_vacuum_rel`).
    expanded: usize,
    listed: bool,
    list: Vec<Target>,
    /// Each relation in its own transaction (`use_own_xacts`).
    own_xacts: bool,
    /// The relation being processed, and its stage: 0 VACUUM's lock, 1 ANALYZE's lock, 2 + k the
    /// ACCESS SHARE lock on the k-th partition of a partitioned table being analyzed.
    next: usize,
    stage: usize,
    /// The locks the current relation's transaction took.
    held: Vec<(PgRes, Hw)>,
    /// The lock asked for last had to wait (so, once granted, it is this statement's own).
    waited: bool,
}

/// What asking for a relation lock came to.
enum Taken {
    /// Granted; `fresh`: taken now, not one the transaction already held.
    Got {
        fresh: bool,
    },
    Blocked,
    /// A conditional request that would have had to wait: nothing is held.
    Busy,
}

impl<P: Parts> PgDb<P> {
    fn warn(&mut self, s: SessionId, message: String) {
        self.sessions[s].notices.push(Notice { severity: "WARNING".into(), message });
    }

    /// Ask for `mode` on `res`: waiting for it (`LockRelationOid`), or, `conditional`, only if it
    /// is free now (`ConditionalLockRelationOid`: `LockAcquire` with dontWait, which gives up
    /// where the request would wait behind a holder or a waiter).
    #[allow(clippy::too_many_arguments)]
    fn take_relation(
        &mut self,
        s: SessionId,
        trx: TxnId,
        p: &mut Progress,
        res: PgRes,
        mode: Hw,
        conditional: bool,
        why: (&Arc<str>, Purpose),
    ) -> Result<Taken, EngineError> {
        let want = PgLock::Hw(mode);
        let fresh = !self.locks.holds(trx, &res, want) || std::mem::take(&mut p.waited);
        if conditional && fresh {
            let tag = super::REL_TAG | self.rel_whys.push(super::Why::new(why.0, why.1)) as u32;
            if let Request::Waiting { .. } = self.locks.request(trx, &res, want, tag) {
                let grants = self.locks.cancel_wait(trx);
                self.wake(grants.into_iter().map(|g| g.txn));
                return Ok(Taken::Busy);
            }
            return Ok(Taken::Got { fresh });
        }
        match self.lock_rel(s, trx, res, mode, false, why)? {
            Lk::Ok => Ok(Taken::Got { fresh }),
            Lk::Blocked => {
                p.waited = true;
                Ok(Taken::Blocked)
            }
            Lk::Failed(_) | Lk::Skipped => unreachable!("a waiting relation lock neither fails nor skips"),
        }
    }

    fn release_relation(&mut self, trx: TxnId, res: PgRes, mode: Hw) {
        let grants = self.locks.release_one(trx, &res, PgLock::Hw(mode));
        self.wake(grants.into_iter().map(|g| g.txn));
    }

    /// The current relation is done: its own transaction commits (`CommitTransactionCommand`)
    /// and gives its locks back; in the outer transaction they stay to its end.
    fn end_relation(&mut self, trx: TxnId, p: &mut Progress) {
        for (res, mode) in std::mem::take(&mut p.held) {
            if p.own_xacts {
                self.release_relation(trx, res, mode);
            }
        }
    }

    /// Run a VACUUM or ANALYZE from where `p` says (`vacuum`, vacuum.c); `in_block`: inside a
    /// transaction block (only ANALYZE gets here so).
    pub(super) fn maintenance(
        &mut self,
        s: SessionId,
        trx: TxnId,
        m: &Maintenance,
        in_block: bool,
        p: &mut Progress,
        label: &Arc<str>,
    ) -> Result<Step, EngineError> {
        let cmd = match (m.vacuum, m.full) {
            (true, true) => "VACUUM FULL",
            (true, false) => "VACUUM",
            (false, _) => "ANALYZE",
        };
        let verb = if m.vacuum { "vacuum" } else { "analyze" };
        let why = (label, Purpose::Statement(cmd));
        if m.rels.is_empty() && !p.listed {
            // get_all_vacuum_rels: every table, partitioned or not, without names.
            for t in 0..self.cat.tables.len() {
                p.list.push(Target { res: PgRes::Rel(t as u32), name: None });
                p.list.extend(self.partitions(t).into_iter().map(|i| Target { res: PgRes::Part(i), name: None }));
            }
        }
        while p.expanded < m.rels.len() {
            let (rel, name) = &m.rels[p.expanded];
            let res = match *rel {
                Relation::Table(t) => PgRes::Rel(t as u32),
                Relation::Partition { index, .. } => PgRes::Part(index as u32),
            };
            match self.take_relation(s, trx, p, res, Hw::AccessShare, m.skip_locked, why)? {
                Taken::Blocked => return Ok(Step::Blocked),
                Taken::Busy => self.warn(s, format!("skipping {verb} of \"{name}\" --- lock not available")),
                Taken::Got { fresh } => {
                    p.list.push(Target { res, name: Some(name.clone()) });
                    if let Relation::Table(t) = *rel {
                        let parts = self.partitions(t);
                        p.list.extend(parts.into_iter().map(|i| Target { res: PgRes::Part(i), name: None }));
                    }
                    if fresh {
                        self.release_relation(trx, res, Hw::AccessShare);
                    }
                }
            }
            p.expanded += 1;
        }
        if !p.listed {
            p.listed = true;
            p.own_xacts = m.vacuum || (!in_block && p.list.len() > 1);
        }
        while p.next < p.list.len() {
            let target = p.list[p.next].clone();
            if p.stage == 0 && m.vacuum {
                // vacuum_rel -> vacuum_open_relation.
                let mode = if m.full { Hw::AccessExclusive } else { Hw::ShareUpdateExclusive };
                match self.take_relation(s, trx, p, target.res, mode, m.skip_locked, why)? {
                    Taken::Blocked => return Ok(Step::Blocked),
                    Taken::Busy => {
                        if let Some(name) = &target.name {
                            self.warn(s, format!("skipping vacuum of \"{name}\" --- lock not available"));
                        }
                        self.end_relation(trx, p);
                        p.next += 1;
                        continue;
                    }
                    Taken::Got { fresh } => {
                        if fresh {
                            p.held.push((target.res, mode));
                        }
                        self.end_relation(trx, p);
                    }
                }
            }
            p.stage = p.stage.max(1);
            if m.analyze {
                if p.stage == 1 {
                    // analyze_rel -> vacuum_open_relation, without VACOPT_VACUUM.
                    let mode = Hw::ShareUpdateExclusive;
                    match self.take_relation(s, trx, p, target.res, mode, m.skip_locked, why)? {
                        Taken::Blocked => return Ok(Step::Blocked),
                        Taken::Busy => {
                            if let Some(name) = &target.name {
                                self.warn(s, format!("skipping analyze of \"{name}\" --- lock not available"));
                            }
                            self.end_relation(trx, p);
                            p.next += 1;
                            p.stage = 0;
                            continue;
                        }
                        Taken::Got { fresh } => {
                            if fresh {
                                p.held.push((target.res, mode));
                            }
                        }
                    }
                    p.stage = 2;
                }
                if let PgRes::Rel(t) = target.res {
                    // do_analyze_rel with inh -> acquire_inherited_sample_rows.
                    let parts = self.partitions(t as usize);
                    let sample = (label, Purpose::Statement("ANALYZE's sample of a partitioned table"));
                    while let Some(&i) = parts.get(p.stage - 2) {
                        match self.take_relation(s, trx, p, PgRes::Part(i), Hw::AccessShare, false, sample)? {
                            Taken::Blocked => return Ok(Step::Blocked),
                            Taken::Busy => unreachable!("an unconditional request is never busy"),
                            Taken::Got { fresh } => {
                                if fresh {
                                    p.held.push((PgRes::Part(i), Hw::AccessShare));
                                }
                            }
                        }
                        p.stage += 1;
                    }
                }
                self.end_relation(trx, p);
            }
            p.next += 1;
            p.stage = 0;
        }
        Ok(Step::Done(Ok(())))
    }
}
