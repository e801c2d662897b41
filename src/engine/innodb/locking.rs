//! InnoDB's lock calls over the pure lock table: record and table locks, implicit-lock conversion,
//! lock inheritance when records come and go, lock-struct accounting, and deadlock detection with
//! MariaDB's victim choice. Each rule cites its source in MariaDB 10.11's storage/innobase.

use super::modes::{InnoLock, Span, Strength, TableMode};
use super::{InnoDb, Why};

use crate::engine::{DbError, DeadlockInfo, EngineError, ErrorKind, LockDesc, Parts, SessionId, WaitInfo};
use crate::lock::{Grant, Locks, Request, TxnId};
use crate::sql::value::{show_assignments, show_literal};
use crate::store::{Key, Store, TreeId};
use std::ops::Bound;
use std::sync::Arc;

/// A position in an index: a user record, or the page supremum (the gap after the last record;
/// the model's tables fit in one page per index).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum RecPos {
    Rec(Key),
    Supremum,
}

/// What a lock struct belongs to: a table, or an index page (one per index in the model).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Page {
    Table(u32),
    Index(TreeId),
}

/// A lockable resource.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Res {
    Table(u32),
    Rec(TreeId, RecPos),
}

/// Why a lock was taken, formatted only when reported.
#[derive(Debug, Clone)]
pub enum Purpose {
    /// A locking read, UPDATE or DELETE scanning an index.
    Scan(&'static str),
    /// The FK check of a child row against its parent (`check_ref = TRUE`).
    FkCheck { fk_table: usize, fk: usize, key: Key },
    /// The check of child rows when a parent row is deleted or its key changes.
    ParentCheck { fk_table: usize, fk: usize, key: Key },
    /// A referential action (CASCADE, SET NULL) on a child row of a parent row deleted
    /// (`delete`) or re-keyed.
    Action { fk_table: usize, fk: usize, key: Key, delete: bool },
    /// A duplicate-key check.
    DupCheck,
    /// An insert into an index (insert intention).
    Insert,
    /// A secondary index entry being delete-marked.
    Modify,
    /// The implicit lock of this transaction's uncommitted change, made explicit by another.
    Implicit,
    /// A table intention lock.
    TableIntent,
    /// The lookup of a `NOT IN (SELECT col FROM table)` subquery for one value.
    Subquery { table: usize, col: usize, value: crate::sql::Value },
}

/// How a record lock request treats an implicit lock on the record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Implicit {
    /// `lock_*_rec_read_check_and_lock` and clustered modify: make it explicit first.
    Convert,
    /// `lock_sec_rec_modify_check_and_lock`: the caller already owns the clustered record.
    Ignore,
}

/// Who runs a deadlock check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Check {
    /// The transaction that just started to wait (`Deadlock::check_and_resolve`).
    Requester,
    /// A check for a wait edge re-pointed at a waiting blocker (`lock_sys_t::deadlock_check`).
    Deferred,
}

/// The outcome of a lock call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Got {
    Granted,
    Blocked,
    /// The requester closed a deadlock cycle and was chosen as its victim (already rolled back).
    Deadlock(DbError),
}

impl<P: Parts> InnoDb<P> {
    pub(super) fn tag(&mut self, label: &Arc<str>, purpose: Purpose) -> u32 {
        self.tag_why(Why::new(label, purpose))
    }

    fn tag_why(&mut self, why: Why) -> u32 {
        self.whys.push(why) as u32
    }

    /// Count a new lock struct unless an identical one can be reused (`lock_rec_add_to_queue`:
    /// reuse only when the record has no waiters).
    fn count_struct(&mut self, trx: TxnId, res: &Res, mode: InnoLock, waiting: bool) {
        let waiters = self.locks.queue(res).iter().any(|e| !e.granted);
        // A table lock is a struct of its own; record locks share one per (page, mode).
        let page = match res {
            Res::Rec(t, _) => Page::Index(*t),
            Res::Table(t) => Page::Table(*t),
        };
        if let Some(t) = self.trxs.get_mut(&trx) {
            if waiting || waiters || !t.struct_kinds.contains(&(page, mode)) {
                t.n_structs += 1;
            }
            if !waiting && !t.struct_kinds.contains(&(page, mode)) {
                t.struct_kinds.push((page, mode));
            }
        }
    }

    /// Add a granted lock with no conflict check (`lock_rec_add_to_queue`).
    fn add_granted(&mut self, trx: TxnId, res: &Res, mode: InnoLock, tag: u32) {
        if self.locks.holds(trx, res, mode) {
            return;
        }
        self.count_struct(trx, res, mode, false);
        self.locks.add_granted(trx, res, mode, tag);
    }

    /// A table lock (`lock_table`, lock0lock.cc): IX for INSERT/UPDATE/DELETE/FOR UPDATE, IS for
    /// FOR SHARE and for the other table of an FK check. IS/IX never wait on each other.
    pub(super) fn lock_table(&mut self, trx: TxnId, table: usize, mode: TableMode, label: &Arc<str>) {
        let res = Res::Table(table as u32);
        let m = InnoLock::Table(mode);
        if self.locks.holds(trx, &res, m) {
            return;
        }
        let tag = self.tag(label, Purpose::TableIntent);
        self.count_struct(trx, &res, m, false);
        // Only LOCK TABLES and DDL take S/X table locks, which specs cannot issue.
        let _ = self.locks.request(trx, &res, m, tag);
    }

    /// The active transaction holding an implicit lock on a record, if any: the writer of its
    /// newest version (`lock_clust_rec_some_has_impl`; for secondary records the model stores the
    /// writer, which is what `row_vers_impl_x_locked` reconstructs).
    fn implicit_owner(&self, tree: TreeId, key: &Key) -> Result<Option<TxnId>, EngineError> {
        let Some(rec) = self.store.get(tree, key)? else {
            return Ok(None);
        };
        let owner = rec.trx();
        Ok(self.is_active(owner).then_some(owner))
    }

    /// Ask for a record lock (`lock_rec_lock`, lock0lock.cc), converting an implicit lock first
    /// (`lock_rec_convert_impl_to_expl`). Waits are registered and checked for deadlock.
    pub(super) fn lock_rec(
        &mut self,
        trx: TxnId,
        tree: TreeId,
        pos: &RecPos,
        mode: InnoLock,
        implicit: Implicit,
        why: Why,
    ) -> Result<Got, EngineError> {
        let InnoLock::Rec(strength, span) = mode else { unreachable!("record locks only") };
        let Why { label, purpose, .. } = why;
        let label = &label;
        // Every lock on the supremum acts as a gap lock (lock_rec_add_to_queue strips the flags).
        let span = if *pos == RecPos::Supremum && span != Span::InsertIntention { Span::Gap } else { span };
        let res = Res::Rec(tree, pos.clone());
        if implicit == Implicit::Convert && self.convert_implicit(trx, tree, pos)? && span == Span::Record {
            // The caller's own implicit lock already covers a record lock.
            return Ok(Got::Granted);
        }
        let mode = InnoLock::Rec(strength, span);
        if self.locks.holds(trx, &res, mode) {
            return Ok(Got::Granted);
        }
        // A next-key request satisfied on the record by a held record lock adds a gap lock
        // without any conflict check (lock_rec_lock / lock_reuse_for_next_key_lock).
        if span == Span::NextKey && self.locks.holds(trx, &res, InnoLock::Rec(strength, Span::Record)) {
            let tag = self.tag(label, purpose);
            self.add_granted(trx, &res, InnoLock::Rec(strength, Span::Gap), tag);
            return Ok(Got::Granted);
        }
        // An insert intention that need not wait creates no lock (lock_rec_insert_check_and_lock).
        if span == Span::InsertIntention && self.locks.conflicting(trx, &res, mode).is_empty() {
            return Ok(Got::Granted);
        }
        let tag = self.tag(label, purpose);
        let waiting = !self.locks.conflicting(trx, &res, mode).is_empty();
        self.count_struct(trx, &res, mode, waiting);
        match self.locks.request(trx, &res, mode, tag) {
            Request::Granted => Ok(Got::Granted),
            Request::Waiting { behind } => self.start_wait(trx, res, mode, tag, behind[0]),
        }
    }

    /// `lock_rec_convert_impl_to_expl`: another transaction's implicit lock on the record becomes
    /// an explicit X record lock it owns. Returns whether the implicit lock is `trx`'s own.
    fn convert_implicit(&mut self, trx: TxnId, tree: TreeId, pos: &RecPos) -> Result<bool, EngineError> {
        let RecPos::Rec(key) = pos else { return Ok(false) };
        let Some(owner) = self.implicit_owner(tree, key)? else { return Ok(false) };
        if owner == trx {
            return Ok(true);
        }
        let res = Res::Rec(tree, pos.clone());
        let m = InnoLock::Rec(Strength::X, Span::Record);
        if !self.locks.holds(owner, &res, m) {
            let olabel = self.implicit_label(owner);
            let tag = self.tag(&olabel, Purpose::Implicit);
            self.add_granted(owner, &res, m, tag);
        }
        Ok(false)
    }

    /// Would a clustered read lock on the record wait? The check of `lock_clust_rec_read_check_and_lock`
    /// and `lock_rec_lock` without enqueueing a request: an implicit lock is made explicit first,
    /// as there. A lock already held, or covered by the caller's own implicit lock, never waits.
    pub(super) fn read_lock_would_wait(
        &mut self,
        trx: TxnId,
        tree: TreeId,
        pos: &RecPos,
        mode: InnoLock,
    ) -> Result<bool, EngineError> {
        let InnoLock::Rec(strength, span) = mode else { unreachable!("record locks only") };
        let own = self.convert_implicit(trx, tree, pos)?;
        let res = Res::Rec(tree, pos.clone());
        if (own && span == Span::Record) || self.locks.holds(trx, &res, mode) {
            return Ok(false);
        }
        if span == Span::NextKey && self.locks.holds(trx, &res, InnoLock::Rec(strength, Span::Record)) {
            return Ok(false);
        }
        Ok(!self.locks.conflicting(trx, &res, mode).is_empty())
    }

    /// The label under which an implicit lock is reported: the owner's running or last step.
    fn implicit_label(&self, owner: TxnId) -> Arc<str> {
        let s = self.trxs[&owner].session;
        let name = self.book.session_label(s);
        Arc::from(format!("{name}'s uncommitted change").as_str())
    }

    /// Register a wait (`lock_rec_enqueue_waiting` sets the single edge `wait_trx` to the owner of
    /// the first conflicting lock) and run deadlock detection (`lock_wait` ->
    /// `Deadlock::check_and_resolve`, with `current_trx`: the requester learns at once whether it
    /// is the victim).
    fn start_wait(&mut self, trx: TxnId, res: Res, mode: InnoLock, tag: u32, first: TxnId) -> Result<Got, EngineError> {
        let session = self.trxs[&trx].session;
        self.sessions[session].waiting = Some((res, mode, tag));
        self.arm_timeout(session);
        self.trxs.get_mut(&trx).expect("active").wait_trx = Some(first);
        if self.detect_deadlock(trx, Check::Requester)? == Some(trx) {
            return Ok(Got::Deadlock(deadlock_error()));
        }
        Ok(Got::Blocked)
    }

    /// `Deadlock::find_cycle` (lock0lock.cc): Brent's cycle detection along `wait_trx` edges;
    /// returns a transaction on the cycle.
    fn find_cycle(&self, start: TxnId) -> Option<TxnId> {
        let edge = |t: TxnId| self.trxs.get(&t).and_then(|x| x.wait_trx);
        let (mut tortoise, mut hare) = (start, start);
        let (mut power, mut l) = (1u32, 1u32);
        loop {
            hare = edge(hare)?;
            if tortoise == hare {
                return Some(hare);
            }
            if l == power {
                power <<= 1;
                l = 0;
                tortoise = hare;
            }
            l += 1;
        }
    }

    /// `Deadlock::calc_victim_weight`: (undo_no + lock structs) << 1, plus 1 for every member that
    /// is not the transaction whose wait triggered detection. The smallest weight is the victim.
    fn victim_weight(&self, t: TxnId, orig: TxnId) -> u64 {
        let x = &self.trxs[&t];
        ((x.undo_no + x.n_structs) << 1) | u64::from(t != orig)
    }

    /// Detect and resolve a deadlock through `orig` (`Deadlock::report`): choose the victim over
    /// the cycle, visiting from the successor of the node Brent's search returned and ending with
    /// that node (`for (next= cycle;;) { next= next->lock.wait_trx; ... if (next == cycle) break; }`),
    /// strict minimum; cancel its wait and roll its transaction back. Returns the victim.
    ///
    /// Every victim but a requester that closed the cycle itself (which gets `Got::Deadlock` from
    /// its own lock call) is woken with the deadlock error: `report` sets
    /// `was_chosen_as_deadlock_victim` and `lock_cancel_waiting_and_release` ends its wait
    /// (`lock_wait_end` sets `DB_DEADLOCK`). A check run for a re-pointed wait
    /// (`lock_sys_t::deadlock_check`, `report(trx, false)`) has no requester: its victim is
    /// always woken, `orig` included.
    fn detect_deadlock(&mut self, orig: TxnId, check: Check) -> Result<Option<TxnId>, EngineError> {
        let Some(cycle) = self.find_cycle(orig) else {
            return Ok(None);
        };
        // Reported from the node Brent's search returned, each member waiting for the next.
        let mut members = vec![cycle];
        let (mut victim, mut best) = (cycle, u64::MAX);
        let mut next = cycle;
        loop {
            next = self.trxs[&next].wait_trx.expect("cycle members wait");
            let w = self.victim_weight(next, orig);
            if w < best {
                victim = next;
                best = w;
            }
            if next == cycle {
                break;
            }
            members.push(next);
        }
        let info = DeadlockInfo {
            cycle: members.iter().map(|&t| self.book.session_label(self.trxs[&t].session)).collect(),
            victim: self.book.session_label(self.trxs[&victim].session),
            waits: members.iter().filter_map(|&t| self.waiting_desc(self.trxs[&t].session)).collect(),
        };
        self.book.deadlocks.push(info);
        let session = self.trxs[&victim].session;
        self.sessions[session].waiting = None;
        self.timers.clear(session);
        self.trxs.get_mut(&victim).expect("active").wait_trx = None;
        // The victim's whole transaction is rolled back (row_mysql_handle_errors: DB_DEADLOCK
        // rolls back the whole transaction, in the victim's own thread as soon as it wakes).
        self.cancel_wait(victim);
        self.rollback(victim)?;
        if check == Check::Deferred || victim != orig {
            self.sessions[session].killed = Some(deadlock_error());
            self.book.wakeups.push(session);
        }
        Ok(Some(victim))
    }

    pub(super) fn waiting_desc(&self, session: SessionId) -> Option<WaitInfo> {
        let (res, mode, tag) = self.sessions[session].waiting.as_ref()?;
        Some(self.describe_wait(self.sessions[session].trx?, res, *mode, *tag))
    }

    /// After locks left the queues on `pages` (`lock_rec_dequeue_from_page`): wake the sessions
    /// whose requests were granted (in grant order), and point every request still waiting on
    /// those pages at the first lock ahead of it that it must wait for. A blocker that itself
    /// waits goes on the deferred check list (`Deadlock::to_check`), whether the edge changed or
    /// not; [`InnoDb::deadlock_check`] runs the list when InnoDB does. The model's pages are its
    /// index trees (one page per index).
    pub(super) fn on_grants(&mut self, grants: Vec<Grant<Res>>, pages: &[TreeId]) {
        for g in &grants {
            if let Some(t) = self.trxs.get_mut(&g.txn) {
                t.wait_trx = None;
                let s = t.session;
                self.book.wakeups.push(s);
            }
        }
        if pages.is_empty() {
            return;
        }
        let waiters = self.locks.first_blockers(&|r| matches!(r, Res::Rec(t, _) if pages.contains(t)));
        for (w, first) in waiters {
            if let (Some(c), Some(t)) = (first, self.trxs.get_mut(&w)) {
                t.wait_trx = Some(c);
                if self.trxs.get(&c).is_some_and(|x| x.wait_trx.is_some()) {
                    if let Err(at) = self.to_check.binary_search(&c) {
                        self.to_check.insert(at, c);
                    }
                }
            }
        }
    }

    /// `lock_sys_t::deadlock_check`: look for a cycle from every transaction on the deferred list,
    /// in the list's order, and resolve each found (`Deadlock::report(trx, false)`). InnoDB keeps
    /// the list as a `std::set<trx_t*>`, ordered by the transactions' addresses; the model orders
    /// it by transaction id (the order in which the transactions began). Called where InnoDB calls
    /// it: after a commit or rollback released its locks (`trx_t::commit_in_memory`) and after a
    /// lock wait timeout (`lock_wait`).
    pub(super) fn deadlock_check(&mut self) -> Result<(), EngineError> {
        while !self.to_check.is_empty() {
            let c = self.to_check.remove(0);
            if self.trxs.get(&c).is_some_and(|x| x.wait_trx.is_some()) {
                self.detect_deadlock(c, Check::Deferred)?;
            }
        }
        Ok(())
    }

    /// The index trees a transaction has record locks on (the pages a release dequeues from).
    fn pages_of(&self, trx: TxnId) -> Vec<TreeId> {
        let mut pages: Vec<TreeId> = Vec::new();
        for (res, _) in self.locks.locks_of(trx) {
            if let Res::Rec(t, _) = res {
                if !pages.contains(t) {
                    pages.push(*t);
                }
            }
        }
        pages
    }

    /// Release every lock of a finished transaction (`lock_release`).
    pub(super) fn release(&mut self, trx: TxnId) {
        let pages = self.pages_of(trx);
        let grants = self.locks.release_all(trx);
        self.on_grants(grants, &pages);
    }

    /// Withdraw a waiting request (`lock_cancel_waiting_and_release`).
    pub(super) fn cancel_wait(&mut self, trx: TxnId) {
        let pages: Vec<TreeId> = match self.locks.waiting_for(trx) {
            Some((Res::Rec(t, _), _)) => vec![*t],
            _ => Vec::new(),
        };
        let grants = self.locks.cancel_wait(trx);
        self.on_grants(grants, &pages);
    }

    /// Release one lock (READ COMMITTED unlock of a non-matching row, `lock_rec_unlock`).
    pub(super) fn release_one(&mut self, trx: TxnId, res: &Res, mode: InnoLock) {
        let grants = self.locks.release_one(trx, res, mode);
        let pages: Vec<TreeId> = match res {
            Res::Rec(t, _) => vec![*t],
            Res::Table(_) => Vec::new(),
        };
        self.on_grants(grants, &pages);
    }

    /// The record after `key` in a tree, or the supremum.
    pub(super) fn successor(&self, tree: TreeId, key: &Key) -> Result<RecPos, EngineError> {
        Ok(match self.store.seek(tree, Bound::Excluded(&key[..]))? {
            Some((k, _)) => RecPos::Rec(k),
            None => RecPos::Supremum,
        })
    }

    /// A record was removed (purge or insert rollback): `lock_update_delete` ->
    /// `lock_rec_inherit_to_gap`: every lock on it except insert intentions becomes a granted gap
    /// lock of the same mode on the successor (READ COMMITTED owners keep only S locks); waiters
    /// on it are woken to retry.
    pub(super) fn inherit_removed(&mut self, tree: TreeId, key: &Key) -> Result<(), EngineError> {
        let from = Res::Rec(tree, RecPos::Rec(key.clone()));
        let entries: Vec<_> = self.locks.queue(&from).to_vec();
        if entries.is_empty() {
            return Ok(());
        }
        let to = Res::Rec(tree, self.successor(tree, key)?);
        let mut adds = Vec::new();
        for e in &entries {
            let InnoLock::Rec(strength, span) = e.mode else {
                continue;
            };
            let rc = self.trxs.get(&e.txn).is_some_and(|t| t.iso <= crate::sql::Isolation::ReadCommitted);
            if span != Span::InsertIntention && (!rc || strength == Strength::S) {
                adds.push((e.txn, InnoLock::Rec(strength, Span::Gap), e.tag));
            }
        }
        let grants = self.locks.move_queue(&from, &to, &mut |_| None);
        for (txn, mode, tag) in adds {
            self.add_granted(txn, &to, mode, tag);
        }
        for g in &grants {
            if let Some(t) = self.trxs.get_mut(&g.txn) {
                t.wait_trx = None;
                let s = t.session;
                self.sessions[s].waiting = None;
                self.timers.clear(s);
            }
        }
        self.on_grants(grants, &[]);
        Ok(())
    }

    /// A record was inserted before `next`: `lock_update_insert` ->
    /// `lock_rec_inherit_to_gap_if_gap_lock`: the new record gets a granted gap lock for every gap
    /// or next-key lock (granted or waiting, not insert intention) on its successor.
    pub(super) fn inherit_inserted(&mut self, tree: TreeId, key: &Key, next: &RecPos) {
        let from = Res::Rec(tree, next.clone());
        let to = Res::Rec(tree, RecPos::Rec(key.clone()));
        let adds: Vec<_> = self
            .locks
            .queue(&from)
            .iter()
            .filter_map(|e| match e.mode {
                InnoLock::Rec(s, span)
                    if span != Span::InsertIntention && (*next == RecPos::Supremum || span != Span::Record) =>
                {
                    Some((e.txn, InnoLock::Rec(s, Span::Gap), e.tag))
                }
                _ => None,
            })
            .collect();
        for (txn, mode, tag) in adds {
            self.add_granted(txn, &to, mode, tag);
        }
    }

    /// Describe a lock for people.
    pub(super) fn describe(&self, trx: TxnId, res: &Res, mode: InnoLock, tag: u32, granted: bool) -> LockDesc {
        let names = &self.book.names;
        let session = self.book.holder_label(self.trxs.get(&trx).map(|t| t.session), trx);
        let why = self.whys.get(tag as usize).expect("every tag names a why");
        let (table, index, key) = match res {
            Res::Table(t) => (names.tables[*t as usize].clone(), names.none.clone(), String::new()),
            Res::Rec((t, ix), pos) => {
                let table = &self.cat.tables[*t as usize];
                let index = &table.indexes[*ix as usize];
                let key = match pos {
                    RecPos::Supremum => "supremum".to_string(),
                    RecPos::Rec(k) => {
                        let pk = if index.clustered { &[][..] } else { table.pk() };
                        let cols = index.cols.iter().chain(pk).map(|&c| table.columns[c].name.as_str());
                        show_assignments(cols.zip(k.iter()))
                    }
                };
                (names.tables[*t as usize].clone(), names.indexes[*t as usize][*ix as usize].clone(), key)
            }
        };
        let (mode_s, kind) = match mode {
            InnoLock::Table(m) => (m.name(), "table"),
            InnoLock::Rec(s, span) => (
                s.name(),
                match span {
                    Span::NextKey => "next-key",
                    Span::Record => "record",
                    Span::Gap => "gap",
                    Span::InsertIntention => "insert-intention",
                },
            ),
        };
        LockDesc {
            table,
            index,
            key,
            mode: mode_s,
            kind,
            session,
            granted,
            taken_by: why.text(|p| self.purpose_text(p)),
            fk_check: matches!(why.purpose, Purpose::FkCheck { .. } | Purpose::ParentCheck { .. }),
        }
    }

    fn purpose_text(&self, p: &Purpose) -> String {
        let fk_text = |fk_table: usize, fk: usize, key: &Key| {
            let child = &self.cat.tables[fk_table];
            let fk = &child.fks[fk];
            let parent = &self.cat.tables[fk.parent];
            let cols =
                show_assignments(fk.parent_cols.iter().map(|&c| parent.columns[c].name.as_str()).zip(key.iter()));
            (child.name.clone(), parent.name.clone(), cols)
        };
        match p {
            Purpose::Scan(what) => what.to_string(),
            Purpose::FkCheck { fk_table, fk, key } => {
                let (child, parent, cols) = fk_text(*fk_table, *fk, key);
                format!("FK check of a {child} row on {parent} {cols}")
            }
            Purpose::ParentCheck { fk_table, fk, key } => {
                let (child, parent, cols) = fk_text(*fk_table, *fk, key);
                format!("FK check for {child} rows referencing {parent} {cols}")
            }
            Purpose::Action { fk_table, fk, key, delete } => {
                let (child, parent, cols) = fk_text(*fk_table, *fk, key);
                let f = &self.cat.tables[*fk_table].fks[*fk];
                let (event, action) = if *delete { ("DELETE", f.on_delete) } else { ("UPDATE", f.on_update) };
                let words = action.sql().unwrap_or("NO ACTION");
                format!("ON {event} {words} of a {child} row referencing {parent} {cols}")
            }
            Purpose::DupCheck => "duplicate-key check".into(),
            Purpose::Insert => "insert".into(),
            Purpose::Modify => "index entry update".into(),
            Purpose::Implicit => "implicit lock made explicit".into(),
            Purpose::TableIntent => "table intention lock".into(),
            Purpose::Subquery { table, col, value } => {
                let t = &self.cat.tables[*table];
                format!("NOT IN subquery lookup of {} {}={}", t.name, t.columns[*col].name, show_literal(value))
            }
        }
    }

    pub(super) fn describe_wait(&self, trx: TxnId, res: &Res, mode: InnoLock, tag: u32) -> WaitInfo {
        let wants = self.describe(trx, res, mode, tag, false);
        let behind = self.locks.blockers(trx).map(|e| self.describe(e.txn, res, e.mode, e.tag, e.granted)).collect();
        WaitInfo { wants, behind }
    }
}

pub fn deadlock_error() -> DbError {
    DbError {
        kind: ErrorKind::Deadlock,
        message: "Deadlock found when trying to get lock; try restarting transaction".into(),
    }
}
