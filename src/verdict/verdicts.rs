//! Each setting against every FK on: the verdict (waits removed, throughput, orphans, safeguards)
//! and the property checks, computed from the runs of [`super::SettingReport`].

use super::{ChildFk, Explored, Setting, SettingReport};
use crate::app::workload::Workload;
use crate::sim::LoadResult;
use serde::Serialize;

/// One setting that drops FKs, against every FK on.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Verdict {
    pub setting: String,
    /// The child tables whose FK this setting drops.
    pub dropped: Vec<String>,
    /// Workload runs: waits for an FK check's lock on a user row (every FK on, this setting).
    pub fk_check_waits: (u64, u64),
    /// Races explored: interleavings in which a child statement waited on a parent row's lock.
    pub parent_lock_waits: (u64, u64),
    /// Races explored: interleavings that deadlock.
    pub deadlocks: (u64, u64),
    /// The load at the largest client count: its clients, txn/s, and lock-wait time on
    /// `auth_user` (ms, over the run).
    pub clients: u32,
    pub txn_per_s: (f64, f64),
    /// This setting's txn/s over every-FK-on's.
    pub gain: f64,
    pub user_lock_wait_ms: (f64, f64),
    /// MultiXact members the load created (PostgreSQL).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub multixact_members: Option<(u64, u64)>,
    /// Some interleaving of a race on a dropped table, or some workload run, leaves an orphan.
    pub orphans_possible: bool,
    /// The first such interleaving: `race: permutation ...`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub orphan_example: Option<String>,
    pub safeguards: Vec<Safeguard>,
}

/// What the application must do instead of the FK, whether this setting needs it, and its cost.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Safeguard {
    pub name: &'static str,
    pub needed: bool,
    pub why: String,
    pub cost: String,
}

/// A property checked over the runs, and whether it held.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Check {
    pub property: String,
    pub holds: bool,
    pub evidence: String,
}

fn most_clients(s: &SettingReport) -> Option<&LoadResult> {
    s.load.iter().max_by_key(|r| r.clients)
}

fn user_wait_ms(r: Option<&LoadResult>) -> f64 {
    r.and_then(|r| r.lock_waits.per_table.get("auth_user")).map_or(0.0, |w| w.total_ms)
}

/// Races on the tables `dropped`: interleavings with parent waits, deadlocks; the first orphan.
fn race_totals<'a>(races: impl Iterator<Item = &'a Explored>) -> (u64, u64, Option<String>) {
    let (mut waits, mut deadlocks, mut orphan) = (0, 0, None);
    for r in races {
        waits += r.summary.with_parent_lock_waits;
        deadlocks += r.summary.with_deadlocks;
        if orphan.is_none() && r.summary.with_orphans > 0 {
            let class = r.summary.classes.iter().find(|c| c.outcome.contains("orphans"));
            orphan = class.map(|c| format!("{}: {}", r.name, c.example));
        }
    }
    (waits, deadlocks, orphan)
}

/// The verdict of each setting but the first (every FK on), and the property checks.
pub fn judge(w: &Workload, fks: &[ChildFk], settings: &[SettingReport]) -> (Vec<Verdict>, Vec<Check>) {
    let Some(on) = settings.first() else { return (vec![], vec![]) };
    let mut verdicts = Vec::new();
    let mut checks = vec![no_orphans_with_fks(on, fks)];
    for s in &settings[1..] {
        let setting = setting_of(s);
        let dropped: Vec<String> =
            fks.iter().filter(|f| f.declared && setting.drops(&f.table)).map(|f| f.table.clone()).collect();
        let on_dropped = |r: &&Explored| dropped.contains(&r.table);
        let (w_on, d_on, _) = race_totals(on.races.iter().filter(on_dropped));
        let (w_off, d_off, orphan_race) = race_totals(s.races.iter().filter(on_dropped));
        let fk_waits =
            |r: &SettingReport| dropped.iter().map(|t| r.workload.fk_check_waits.get(t).copied().unwrap_or(0)).sum();
        let (a, b) = (most_clients(on), most_clients(s));
        let tps = (a.map_or(0.0, |r| r.txn_per_s), b.map_or(0.0, |r| r.txn_per_s));
        let mx = |r: Option<&LoadResult>| r.and_then(|r| r.multixacts.as_ref()).map(|m| m.members);
        let orphan_example = orphan_race.or_else(|| s.workload.first_orphans.clone());
        let orphans_possible = orphan_example.is_some() || s.workload.with_orphans > 0;
        let v = Verdict {
            setting: s.setting.clone(),
            dropped: dropped.clone(),
            fk_check_waits: (fk_waits(on), fk_waits(s)),
            parent_lock_waits: (w_on, w_off),
            deadlocks: (d_on, d_off),
            clients: b.map_or(0, |r| r.clients),
            txn_per_s: tps,
            gain: if tps.0 > 0.0 { (tps.1 / tps.0 * 1000.0).round() / 1000.0 } else { 0.0 },
            user_lock_wait_ms: (user_wait_ms(a), user_wait_ms(b)),
            multixact_members: mx(a).zip(mx(b)),
            orphans_possible,
            orphan_example,
            safeguards: safeguards(w, s, orphans_possible),
        };
        checks.push(no_fk_waits_when_dropped(s, &v));
        verdicts.push(v);
    }
    checks.push(nothing_stranded(settings));
    (verdicts, checks)
}

fn setting_of(s: &SettingReport) -> Setting {
    match s.fk_arg.as_str() {
        "on" => Setting::AllOn,
        "off" => Setting::AllOff,
        other => Setting::Off(other.trim_start_matches("off=").to_string()),
    }
}

/// The application's replacements for the FK, with their costs from the runs.
fn safeguards(w: &Workload, s: &SettingReport, orphans_possible: bool) -> Vec<Safeguard> {
    let m = w.mix.get_ref();
    let sweep_cost = match (s.load_with_sweeper.as_ref(), most_clients(s)) {
        (Some(with), Some(without)) if without.txn_per_s > 0.0 => format!(
            "with a sweep in the mix (weight 1 of {}): {:.1} txn/s against {:.1} without ({:+.1} %), \
             {:.1} ms of lock waits against {:.1} at {} clients",
            mix_total(w) + 1,
            with.txn_per_s,
            without.txn_per_s,
            (with.txn_per_s / without.txn_per_s - 1.0) * 100.0,
            with.lock_waits.total_ms,
            without.lock_waits.total_ms,
            with.clients
        ),
        _ => "not measured".into(),
    };
    vec![
        Safeguard {
            name: "cascade",
            needed: m.delete_user > 0,
            why: if m.delete_user > 0 {
                "the workload deletes users: Django's Collector must delete the child rows first \
                 (on_delete=CASCADE, emulated in Python with or without the constraint)"
                    .into()
            } else {
                "the workload deletes no user".into()
            },
            cost: "none added: Django sends the same DELETEs with the FK".into(),
        },
        Safeguard {
            name: "sweeper",
            needed: orphans_possible,
            why: if orphans_possible {
                "an interleaving of the races (or a workload run) leaves an orphan the cascade does not prevent".into()
            } else {
                "no race explored and no workload run left an orphan".into()
            },
            cost: sweep_cost,
        },
        Safeguard {
            name: "get_or_create",
            needed: m.get_or_create_new_user > 0,
            why: if m.get_or_create_new_user > 0 {
                "the workload creates rows for unsaved users: the user must be saved first, which \
                 Django enforces (save() prohibited ... unsaved related object); nothing in the \
                 database checks it once the FK is dropped"
                    .into()
            } else {
                "the workload creates no row for an unsaved user".into()
            },
            cost: "none added: the same INSERT of the user, which Django sends with the FK too".into(),
        },
    ]
}

fn mix_total(w: &Workload) -> u32 {
    let m = w.mix.get_ref();
    [
        m.enroll,
        m.bookmark_add,
        m.bookmark_delete,
        m.login,
        m.rename,
        m.delete_user,
        m.get_or_create,
        m.get_or_create_new_user,
        m.sweep,
        m.studentmodule,
        m.completion,
    ]
    .iter()
    .sum()
}

/// With every FK on, nothing leaves an orphan over a declared FK.
fn no_orphans_with_fks(on: &SettingReport, fks: &[ChildFk]) -> Check {
    let declared: Vec<&Explored> =
        on.races.iter().filter(|r| fks.iter().any(|f| f.declared && f.table == r.table)).collect();
    let race_orphans: u64 = declared.iter().map(|r| r.summary.with_orphans).sum();
    let interleavings: u64 = declared.iter().map(|r| r.summary.explored).sum();
    Check {
        property: "every FK on: no orphan over a declared FK".into(),
        holds: race_orphans == 0 && on.workload.with_orphans == 0,
        evidence: format!(
            "{race_orphans} of {interleavings} interleavings of the races on declared FKs, {} of {} workload runs",
            on.workload.with_orphans, on.workload.runs
        ),
    }
}

/// With an FK dropped, no statement of its child table waits on a user row for an FK check.
fn no_fk_waits_when_dropped(s: &SettingReport, v: &Verdict) -> Check {
    Check {
        property: format!("{}: no FK-check wait on auth_user for {}", s.setting, v.dropped.join(", ")),
        holds: v.fk_check_waits.1 == 0 && v.parent_lock_waits.1 == 0,
        evidence: format!(
            "{} FK-check waits in {} workload runs, {} race interleavings with a parent lock wait",
            v.fk_check_waits.1, s.workload.runs, v.parent_lock_waits.1
        ),
    }
}

/// The explorer's end invariant: no interleaving leaves a statement unfinished without a reason.
fn nothing_stranded(settings: &[SettingReport]) -> Check {
    let races = settings.iter().flat_map(|s| &s.races);
    let (stranded, explored) = races.fold((0, 0), |(a, b), r| (a + r.summary.stranded, b + r.summary.explored));
    Check {
        property: "the model: every interleaving ends with each statement done or blocked on a lock".into(),
        holds: stranded == 0,
        evidence: format!("{stranded} of {explored} interleavings stranded"),
    }
}
