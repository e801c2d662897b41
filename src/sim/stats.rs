//! What a load run measured: committed transactions, aborts by error, latency percentiles per
//! transaction kind, lock waits (per table, the hottest rows), CPU use; and its text form.

use super::events::Nanos;
use crate::app::workload::LoadSettings;
use crate::engine::MultixactCount;
use hdrhistogram::Histogram;
use serde::Serialize;
use std::collections::{BTreeMap, HashMap};
use std::fmt::Write;
use std::sync::Arc;

/// Counters collected while a run goes.
#[derive(Debug, Default)]
pub struct Stats {
    committed: u64,
    latency: BTreeMap<Arc<str>, Histogram<u64>>,
    aborts: BTreeMap<&'static str, u64>,
    retries: u64,
    waits: u64,
    wait_ns: Nanos,
    tables: BTreeMap<Arc<str>, (u64, Nanos)>,
    rows: HashMap<(Arc<str>, String), (u64, Nanos)>,
    statements: u64,
}

/// Latency percentiles of one transaction kind, in milliseconds.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Latency {
    pub count: u64,
    pub p50: f64,
    pub p95: f64,
    pub p99: f64,
}

/// Lock waits on one table or row.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Waits {
    pub count: u64,
    pub total_ms: f64,
}

/// A row lock waited on, and how much.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HotRow {
    pub table: String,
    pub key: String,
    pub count: u64,
    pub total_ms: f64,
}

/// Every lock wait of a run.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LockWaits {
    pub count: u64,
    pub total_ms: f64,
    pub per_table: BTreeMap<String, Waits>,
    /// The five rows waited on longest.
    pub hottest_rows: Vec<HotRow>,
}

/// How busy the cores were: the share of `cores` x the run's time each class used.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Cpu {
    pub cores: u32,
    pub utilisation: f64,
    pub server: f64,
    pub clients: f64,
}

/// The result of one load run, on one engine with the FK on or off.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LoadResult {
    pub engine: &'static str,
    pub fk: &'static str,
    pub seed: u64,
    pub clients: u32,
    pub seconds: f64,
    pub txn_per_s: f64,
    pub committed: u64,
    pub aborted: u64,
    pub aborts: BTreeMap<&'static str, u64>,
    pub retries: u64,
    pub statements_per_s: f64,
    pub latency_ms: BTreeMap<String, Latency>,
    pub lock_waits: LockWaits,
    pub cpu: Cpu,
    pub settings: LoadSettings,
    /// The MultiXacts the run created, the rows with the most members first (the simulator on
    /// PostgreSQL; None on InnoDB and on a live server).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub multixacts: Option<MultixactCount>,
    /// Orphans over each reference the DDL does not declare (a schema file's references file),
    /// `table.column` -> rows, in the rows as they stand when the run stops (the simulator; empty
    /// without such references and on a live server).
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub orphans_no_constraint: BTreeMap<String, usize>,
}

fn ms(ns: Nanos) -> f64 {
    (ns as f64 / 1e6 * 1000.0).round() / 1000.0
}

impl Stats {
    /// A transaction of `kind` committed `latency` after it began.
    pub fn committed(&mut self, kind: &Arc<str>, latency: Nanos) {
        self.committed += 1;
        let h = self
            .latency
            .entry(kind.clone())
            .or_insert_with(|| Histogram::new_with_bounds(1, 3_600_000_000, 3).expect("valid bounds"));
        h.saturating_record((latency / 1000).max(1));
    }

    /// A transaction rolled back after `error` (counted once, whether or not it is run again).
    pub fn aborted(&mut self, error: &'static str, retried: bool) {
        *self.aborts.entry(error).or_default() += 1;
        self.retries += u64::from(retried);
    }

    pub fn statement(&mut self) {
        self.statements += 1;
    }

    /// A lock wait on `key` of `table` ended after `waited`.
    pub fn waited(&mut self, table: &Arc<str>, key: String, waited: Nanos) {
        self.waits += 1;
        self.wait_ns += waited;
        let t = self.tables.entry(table.clone()).or_default();
        t.0 += 1;
        t.1 += waited;
        let r = self.rows.entry((table.clone(), key)).or_default();
        r.0 += 1;
        r.1 += waited;
    }

    /// Lock waits counted elsewhere (a live server's counters): `count` waits, `ns` in all, on
    /// no table in particular.
    pub fn waits_counted(&mut self, count: u64, ns: Nanos) {
        self.waits += count;
        self.wait_ns += ns;
    }

    /// Add what `other` counted (another client's counters, on a live run).
    pub fn merge(&mut self, other: Stats) {
        self.committed += other.committed;
        for (k, h) in other.latency {
            match self.latency.get_mut(&k) {
                Some(mine) => mine.add(&h).expect("histograms of the same bounds"),
                None => {
                    self.latency.insert(k, h);
                }
            }
        }
        for (k, n) in other.aborts {
            *self.aborts.entry(k).or_default() += n;
        }
        self.retries += other.retries;
        self.waits_counted(other.waits, other.wait_ns);
        for (t, (n, w)) in other.tables {
            let e = self.tables.entry(t).or_default();
            e.0 += n;
            e.1 += w;
        }
        for (r, (n, w)) in other.rows {
            let e = self.rows.entry(r).or_default();
            e.0 += n;
            e.1 += w;
        }
        self.statements += other.statements;
    }

    /// The result, over `seconds` of the run, with core use `used` (server, clients).
    pub fn result(
        &self,
        engine: &'static str,
        fk_on: bool,
        seed: u64,
        settings: LoadSettings,
        used: [Nanos; 2],
    ) -> LoadResult {
        let secs = settings.seconds;
        let per_s = |n: u64| (n as f64 / secs * 10.0).round() / 10.0;
        let latency_ms = self
            .latency
            .iter()
            .map(|(k, h)| {
                let q = |p: f64| ms(h.value_at_quantile(p) * 1000);
                (k.to_string(), Latency { count: h.len(), p50: q(0.50), p95: q(0.95), p99: q(0.99) })
            })
            .collect();
        let mut hot: Vec<_> = self.rows.iter().collect();
        hot.sort_by(|a, b| b.1 .1.cmp(&a.1 .1).then(b.1 .0.cmp(&a.1 .0)).then(a.0.cmp(b.0)));
        let hottest_rows = hot
            .into_iter()
            .take(5)
            .map(|((t, k), (n, w))| HotRow { table: t.to_string(), key: k.clone(), count: *n, total_ms: ms(*w) })
            .collect();
        let span = secs * 1e9 * f64::from(settings.server_cores);
        let share = |ns: Nanos| (ns as f64 / span * 1000.0).round() / 1000.0;
        LoadResult {
            engine,
            fk: if fk_on { "on" } else { "off" },
            seed,
            clients: settings.clients,
            seconds: secs,
            txn_per_s: per_s(self.committed),
            committed: self.committed,
            aborted: self.aborts.values().sum(),
            aborts: self.aborts.clone(),
            retries: self.retries,
            statements_per_s: per_s(self.statements),
            latency_ms,
            lock_waits: LockWaits {
                count: self.waits,
                total_ms: ms(self.wait_ns),
                per_table: self
                    .tables
                    .iter()
                    .map(|(t, (n, w))| (t.to_string(), Waits { count: *n, total_ms: ms(*w) }))
                    .collect(),
                hottest_rows,
            },
            cpu: Cpu {
                cores: settings.server_cores,
                utilisation: share(used[0] + used[1]),
                server: share(used[0]),
                clients: share(used[1]),
            },
            settings,
            multixacts: None,
            orphans_no_constraint: BTreeMap::new(),
        }
    }
}

impl LoadResult {
    /// The readable form.
    pub fn text(&self) -> String {
        let mut o = String::new();
        let _ = writeln!(
            o,
            "{} fk {}: {} clients, {} s, seed {}: {:.1} txn/s ({} committed, {} aborted)",
            self.engine, self.fk, self.clients, self.seconds, self.seed, self.txn_per_s, self.committed, self.aborted
        );
        if !self.aborts.is_empty() {
            let a: Vec<String> = self.aborts.iter().map(|(k, n)| format!("{k} {n}")).collect();
            let _ = writeln!(o, "  aborts: {}{}", a.join(", "), retried(self.retries));
        }
        for (k, l) in &self.latency_ms {
            let _ = writeln!(
                o,
                "  latency {k}: p50 {:.3} ms, p95 {:.3} ms, p99 {:.3} ms ({} committed)",
                l.p50, l.p95, l.p99, l.count
            );
        }
        let w = &self.lock_waits;
        let _ = writeln!(o, "  lock waits: {} ({:.1} ms in all)", w.count, w.total_ms);
        for (t, x) in &w.per_table {
            let _ = writeln!(o, "    on {t}: {} ({:.1} ms)", x.count, x.total_ms);
        }
        for r in &w.hottest_rows {
            let _ = writeln!(o, "    row {} {}: {} ({:.1} ms)", r.table, r.key, r.count, r.total_ms);
        }
        if let Some(m) = &self.multixacts {
            let _ = writeln!(o, "  multixacts: {}", m.line(5));
        }
        for (name, n) in &self.orphans_no_constraint {
            let _ = writeln!(o, "  orphans, no constraint, at the end: {name}: {n}");
        }
        let _ = writeln!(
            o,
            "  cpu: {:.1}% of {} cores (server {:.1}%, clients {:.1}%)",
            self.cpu.utilisation * 100.0,
            self.cpu.cores,
            self.cpu.server * 100.0,
            self.cpu.clients * 100.0
        );
        o
    }
}

fn retried(n: u64) -> String {
    if n == 0 {
        String::new()
    } else {
        format!(" ({n} run again)")
    }
}
