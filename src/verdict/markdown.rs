//! `report.md`: the verdict table first, then per engine the checks, races, workload runs, load
//! and figures that back it.

use super::figures::Figure;
use super::{EngineReport, Report};
use std::fmt::Write;

fn yes(b: bool) -> &'static str {
    if b {
        "yes"
    } else {
        "no"
    }
}

/// The report as Markdown; `command` is the command line that made it.
pub fn markdown(report: &Report, figures: &[Figure], command: &str) -> String {
    let mut o = String::new();
    let _ = writeln!(o, "# fksim report: {}\n", report.workload);
    if report.partial {
        let _ = writeln!(o, "**PARTIAL: interrupted; what follows is what was done by then.**\n");
    }
    let clients: Vec<String> = report.clients.iter().map(u32::to_string).collect();
    let _ = writeln!(
        o,
        "Made by `{command}`. Seed {}: {} workload runs per engine and FK setting; each race explored over \
         every interleaving (up to the order of commuting steps); the load simulated for {} s at {} clients. \
         Every figure is computed by fksim's model of the engines' lock rules (`docs/tradeoffs.md` says what \
         that covers). `fk on` is the schema as declared, `off=T.C` that one FK dropped (Django's \
         `db_constraint=False`), `fk off` every FK dropped.\n",
        report.seed,
        report.runs,
        report.seconds,
        clients.join(", ")
    );
    verdict_table(&mut o, report);
    for e in &report.engines {
        engine_section(&mut o, e, figures);
    }
    o
}

fn verdict_table(o: &mut String, report: &Report) {
    let _ = writeln!(o, "## Verdicts\n");
    let _ = writeln!(
        o,
        "Each setting against every FK on (`fk on` → the setting). Waits: FK-check waits on `auth_user` rows in \
         the workload runs; interleavings of the races with a child statement waiting on a parent row's lock; \
         interleavings that deadlock. Throughput and lock-wait time on `auth_user`: the load at the largest \
         client count.\n"
    );
    let _ = writeln!(
        o,
        "| engine | setting | FK-check waits | races: parent lock waits | races: deadlocks | txn/s | gain | \
         auth_user lock waits (ms) | orphans possible | safeguards needed |"
    );
    let _ = writeln!(o, "|---|---|---|---|---|---|---|---|---|---|");
    for e in &report.engines {
        for v in &e.verdicts {
            let needed: Vec<&str> = v.safeguards.iter().filter(|s| s.needed).map(|s| s.name).collect();
            let _ = writeln!(
                o,
                "| {} | {} | {} → {} | {} → {} | {} → {} | {:.1} → {:.1} ({} clients) | ×{:.3} | {:.1} → {:.1} | {} | {} |",
                e.engine,
                v.setting,
                v.fk_check_waits.0,
                v.fk_check_waits.1,
                v.parent_lock_waits.0,
                v.parent_lock_waits.1,
                v.deadlocks.0,
                v.deadlocks.1,
                v.txn_per_s.0,
                v.txn_per_s.1,
                v.clients,
                v.gain,
                v.user_lock_wait_ms.0,
                v.user_lock_wait_ms.1,
                yes(v.orphans_possible),
                if needed.is_empty() { "none".to_string() } else { needed.join(", ") }
            );
        }
    }
    let _ = writeln!(o);
}

fn engine_section(o: &mut String, e: &EngineReport, figures: &[Figure]) {
    let _ = writeln!(o, "## {}\n", e.engine);
    let _ = writeln!(o, "Schema: `{}`. The child tables of `auth_user` the workload writes:\n", e.schema);
    for f in &e.child_fks {
        let how = match (f.declared, f.known) {
            (true, _) => "a declared FOREIGN KEY",
            (false, true) => {
                "no constraint in the DDL (`db_constraint=False`); orphans counted over Django's reference"
            }
            (false, false) => "no reference at all",
        };
        let _ = writeln!(o, "- `{}`: {how}", f.fk);
    }
    let _ = writeln!(o, "\n### Property checks\n");
    for c in &e.checks {
        let _ = writeln!(o, "- **{}** {}: {}", if c.holds { "holds" } else { "FAILS" }, c.property, c.evidence);
    }
    let _ = writeln!(o, "\n### Orphans and safeguards\n");
    for v in &e.verdicts {
        let _ = writeln!(o, "**{}** (drops the FK of {}):\n", v.setting, v.dropped.join(", "));
        match &v.orphan_example {
            Some(x) => {
                let _ = writeln!(o, "- orphans possible; first interleaving: `{x}`");
            }
            None => {
                let _ = writeln!(o, "- no orphan in any interleaving of the races or any workload run");
            }
        }
        if let Some((on, off)) = v.multixact_members {
            let _ = writeln!(o, "- multixact members under load: {on} → {off}");
        }
        for s in &v.safeguards {
            let _ = writeln!(
                o,
                "- {} {}: {}. Cost: {}.",
                s.name,
                if s.needed { "needed" } else { "not needed" },
                s.why,
                s.cost
            );
        }
        let _ = writeln!(o);
    }
    races(o, e);
    workload(o, e);
    load(o, e);
    let _ = writeln!(o, "### Figures\n");
    for f in figures.iter().filter(|f| f.file.contains(e.engine)) {
        let _ = writeln!(o, "![{}](figures/{})\n", f.caption, f.file);
    }
}

fn races(o: &mut String, e: &EngineReport) {
    let _ = writeln!(o, "### Races explored\n");
    let _ = writeln!(
        o,
        "| race | setting | interleavings | deadlocks | orphans | parent lock waits | outcomes (first interleaving) |"
    );
    let _ = writeln!(o, "|---|---|---|---|---|---|---|");
    for s in &e.settings {
        for r in &s.races {
            let m = &r.summary;
            let classes: Vec<String> =
                m.classes.iter().map(|c| format!("{} ×{}: `{}`", c.outcome, c.interleavings, c.example)).collect();
            let _ = writeln!(
                o,
                "| {} | {} | {} of {} | {} | {} | {} | {} |",
                r.name,
                s.setting,
                m.explored,
                m.space,
                m.with_deadlocks,
                m.with_orphans,
                m.with_parent_lock_waits,
                classes.join("<br>")
            );
        }
    }
    let _ = writeln!(o, "\nEach race's spec is in `report.json` (`races[].spec`); `fksim explore` and `fksim run --permutation` replay it.\n");
}

fn workload(o: &mut String, e: &EngineReport) {
    let _ = writeln!(o, "### Workload runs\n");
    let _ = writeln!(o, "| setting | runs | with orphans (rows) | orphans, no constraint | FK-check waits | lock waits | runs with errors |");
    let _ = writeln!(o, "|---|---|---|---|---|---|---|");
    for s in &e.settings {
        let w = &s.workload;
        let logical: Vec<String> =
            w.orphans_no_constraint.iter().map(|(k, (runs, rows))| format!("{k}: {runs} ({rows})")).collect();
        let fk: Vec<String> = w.fk_check_waits.iter().map(|(k, n)| format!("{k}: {n}")).collect();
        let errors: Vec<String> = w.with_error.iter().map(|(k, n)| format!("{k}: {n}")).collect();
        let _ = writeln!(
            o,
            "| {} | {} | {} ({}) | {} | {} | {} | {} |",
            s.setting,
            w.runs,
            w.with_orphans,
            w.orphans,
            if logical.is_empty() { "-".into() } else { logical.join(", ") },
            if fk.is_empty() { "0".into() } else { fk.join(", ") },
            w.waits,
            if errors.is_empty() { "-".into() } else { errors.join(", ") }
        );
    }
    for s in &e.settings {
        if let Some(cmd) = &s.workload.first_orphans {
            let _ = writeln!(o, "\n{}: the first run with orphans: `{cmd}`", s.setting);
        }
    }
    let _ = writeln!(o);
}

fn load(o: &mut String, e: &EngineReport) {
    let _ = writeln!(o, "### Load\n");
    let _ = writeln!(o, "| setting | clients | txn/s | aborted | lock waits | waited (ms) | auth_user waited (ms) | multixact members |");
    let _ = writeln!(o, "|---|---|---|---|---|---|---|---|");
    for s in &e.settings {
        for r in s.load.iter().chain(&s.load_with_sweeper) {
            let sweeper = if s.load_with_sweeper.as_ref() == Some(r) { " + sweeper" } else { "" };
            let _ = writeln!(
                o,
                "| {}{sweeper} | {} | {:.1} | {} | {} | {:.1} | {:.1} | {} |",
                s.setting,
                r.clients,
                r.txn_per_s,
                r.aborted,
                r.lock_waits.count,
                r.lock_waits.total_ms,
                r.lock_waits.per_table.get("auth_user").map_or(0.0, |w| w.total_ms),
                r.multixacts.as_ref().map_or("-".into(), |m| m.members.to_string())
            );
        }
    }
    let _ = writeln!(o);
}
