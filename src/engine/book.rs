//! What every engine keeps besides its locks, rows and sessions: the commit order, counters, the
//! virtual clock, the names reports show, why each lock was taken, and the committed state a
//! permutation starts from.

use super::SETUP_TRX;
use super::{DeadlockInfo, EngineError, SessionId};
use crate::lock::TxnId;
use crate::sql::Catalog;
use crate::store::{MemStore, Record, Row, Store, TreeId, Write};
use std::collections::BTreeMap;
use std::sync::{Arc, OnceLock};

/// The committed state after a spec's setup, from which every permutation starts.
#[derive(Debug, Clone)]
pub struct Snapshot {
    pub store: MemStore,
    pub serials: Vec<i64>,
    /// The engine's next row identifier (PostgreSQL's tuple roots).
    pub next_id: i64,
    /// PostgreSQL's sequences, committed (empty for InnoDB).
    pub sequences: Vec<crate::sql::sequence::SeqState>,
}

impl Snapshot {
    /// The committed state of `trees` in `store`: each record `keep` accepts, with only its newest
    /// version, owned by the setup transaction (everything is committed now).
    pub(crate) fn of_trees(
        store: &impl Store,
        trees: impl IntoIterator<Item = TreeId>,
        keep: impl Fn(&Record) -> bool,
        serials: Vec<i64>,
        next_id: i64,
    ) -> Result<Snapshot, EngineError> {
        let mut snap = MemStore::default();
        let mut batch = Vec::new();
        for tree in trees {
            for (k, r) in store.scan(tree)?.into_iter().filter(|(_, r)| keep(r)) {
                batch.push(Write::Put(tree, k, r.current_only(|v| v.trx = SETUP_TRX)));
            }
        }
        snap.apply(batch)?;
        Ok(Snapshot { store: snap, serials, next_id, sequences: Vec::new() })
    }
}

/// Orphans over every declared foreign key (stripped or not): live child rows whose non-NULL
/// referencing values match no live parent row. `live_rows(table)` gives a table's live rows.
pub fn count_orphans(
    cat: &Catalog,
    live_rows: impl Fn(usize) -> Result<Vec<Row>, EngineError>,
) -> Result<usize, EngineError> {
    Ok(orphans_where(cat, live_rows, |_| true)?.iter().map(|(_, n)| n).sum())
}

/// Orphans over each logical reference (a foreign key the DDL does not declare, see
/// [`crate::references`]), named `table.column`, in catalog order; empty when there is none.
pub fn logical_orphans(
    cat: &Catalog,
    live_rows: impl Fn(usize) -> Result<Vec<Row>, EngineError>,
) -> Result<Vec<(String, usize)>, EngineError> {
    orphans_where(cat, live_rows, |fk| fk.logical)
}

/// Orphans over each foreign key `which` picks: (`table.column`, rows).
fn orphans_where(
    cat: &Catalog,
    live_rows: impl Fn(usize) -> Result<Vec<Row>, EngineError>,
    which: impl Fn(&crate::sql::ForeignKey) -> bool,
) -> Result<Vec<(String, usize)>, EngineError> {
    let mut out = Vec::new();
    for (t, table) in cat.tables.iter().enumerate() {
        for fk in table.fks.iter().filter(|fk| which(fk)) {
            let cols: Vec<&str> = fk.cols.iter().map(|&c| table.columns[c].name.as_str()).collect();
            let mut orphans = 0;
            let parents = live_rows(fk.parent)?;
            for row in live_rows(t)? {
                if fk.cols.iter().any(|&c| row[c].is_null()) {
                    continue;
                }
                let found = parents.iter().any(|p| {
                    let mut pairs = fk.parent_cols.iter().zip(&fk.cols);
                    pairs.all(|(&pc, &c)| p[pc].sql_cmp(&row[c]) == Some(std::cmp::Ordering::Equal))
                });
                orphans += usize::from(!found);
            }
            out.push((format!("{}.{}", table.name, cols.join(",")), orphans));
        }
    }
    Ok(out)
}

/// Why a lock was taken: the step's label and the engine's purpose. Formatted only when reported,
/// and once: copies of the state share it through the engine's [`Chain`].
#[derive(Debug, Clone)]
pub(crate) struct Why<P> {
    pub label: Arc<str>,
    pub purpose: P,
    text: OnceLock<Arc<str>>,
}

impl<P> Why<P> {
    pub fn new(label: &Arc<str>, purpose: P) -> Self {
        Why { label: label.clone(), purpose, text: OnceLock::new() }
    }

    /// `label: purpose`, the purpose as `show` writes it.
    pub fn text(&self, show: impl FnOnce(&P) -> String) -> Arc<str> {
        self.text.get_or_init(|| format!("{}: {}", self.label, show(&self.purpose)).into()).clone()
    }
}

/// The names lock descriptions show, made once per database and shared by every copy of it.
#[derive(Debug)]
pub(crate) struct Names {
    pub sessions: Vec<Arc<str>>,
    pub tables: Vec<Arc<str>>,
    /// Per table, per index.
    pub indexes: Vec<Vec<Arc<str>>>,
    /// The empty name (a table lock's index, a transaction lock's table).
    pub none: Arc<str>,
}

impl Names {
    fn new(sessions: Vec<String>, cat: &Catalog) -> Names {
        Names {
            sessions: sessions.into_iter().map(Arc::from).collect(),
            tables: cat.tables.iter().map(|t| Arc::from(t.name.as_str())).collect(),
            indexes: cat
                .tables
                .iter()
                .map(|t| t.indexes.iter().map(|i| Arc::from(i.name.as_str())).collect())
                .collect(),
            none: Arc::from(""),
        }
    }
}

/// What every engine keeps besides its locks, rows and sessions: the commit order, counters, the
/// virtual clock, and the events the runner collects.
#[derive(Debug, Clone)]
pub(crate) struct Book {
    /// Commits so far; a snapshot is a value of this counter.
    pub commit_seq: u64,
    /// Snapshots that outlive their statement (REPEATABLE READ) taken so far: the explorer treats
    /// taking one as reading every transaction's commit state.
    pub views: u64,
    /// Read views closed so far (InnoDB: a transaction or READ COMMITTED statement that had one
    /// ended), and commits that looked for open read views before purging (InnoDB: a commit with
    /// delete-marked records). A commit that purges and the end of a view are dependent.
    pub view_ends: u64,
    pub purge_checks: u64,
    /// The commit sequence number of every committed transaction.
    pub commits: BTreeMap<TxnId, u64>,
    pub names: Arc<Names>,
    pub next_trx: TxnId,
    /// The statement clock CURRENT_TIMESTAMP reads.
    pub tick: i64,
    /// Virtual time (µs), moved by the runner.
    pub now: u64,
    /// Serial counters, per table.
    pub serials: Vec<i64>,
    /// Sessions whose blocked statement may proceed, in release order.
    pub wakeups: Vec<SessionId>,
    pub deadlocks: Vec<DeadlockInfo>,
}

impl Book {
    pub fn new(session_names: Vec<String>, cat: &Catalog, first_trx: TxnId) -> Book {
        let tables = cat.tables.len();
        Book {
            commit_seq: 0,
            views: 0,
            view_ends: 0,
            purge_checks: 0,
            commits: BTreeMap::new(),
            names: Arc::new(Names::new(session_names, cat)),
            next_trx: first_trx,
            tick: 0,
            now: 0,
            serials: vec![0; tables],
            wakeups: Vec::new(),
            deadlocks: Vec::new(),
        }
    }

    /// The name of the session of a lock's transaction (`trx<id>` once the session is unknown).
    pub fn holder_label(&self, session: Option<SessionId>, trx: TxnId) -> Arc<str> {
        session.map(|s| self.session_label(s)).unwrap_or_else(|| format!("trx{trx}").into())
    }

    /// The session's name, shared.
    pub fn session_label(&self, s: SessionId) -> Arc<str> {
        self.names.sessions.get(s).cloned().unwrap_or_else(|| format!("session{s}").into())
    }

    /// The woken sessions that `keep` accepts, each once, in the order they were woken.
    pub fn take_wakeups(&mut self, keep: impl Fn(SessionId) -> bool) -> Vec<SessionId> {
        let mut out: Vec<SessionId> = Vec::new();
        for s in self.wakeups.drain(..) {
            if !out.contains(&s) && keep(s) {
                out.push(s);
            }
        }
        out
    }
}
