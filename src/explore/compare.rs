//! Two explorations of one spec, FK on and FK off, in one table (`fksim explore --fk both`): each
//! count beside the other, then each outcome class with its interleavings on both sides and the
//! first example of each.

use super::Summary;

/// A row of the table: what, FK on, FK off.
fn row(out: &mut String, what: &str, on: &str, off: &str) {
    out.push_str(&format!("  {what:<24} {on:>12} {off:>12}\n"));
}

/// The readable comparison of `on` (FK on) and `off` (FK off).
pub fn compare_text(on: &Summary, off: &Summary) -> String {
    let mut out = String::new();
    if on.partial || off.partial {
        out.push_str("PARTIAL (interrupted): the counts below are of the interleavings run until then\n");
    }
    out.push_str(&format!("engine {}: {} interleavings, FK on beside FK off", on.engine, on.space));
    if let Some(seed) = on.seed {
        out.push_str(&format!(" (random sample, seed {seed})"));
    }
    out.push('\n');
    if on.reduced || off.reduced {
        out.push_str(
            "  (reduced: orders of commuting steps run once, and fewer steps commute with the FK: counts are of \
             interleavings run, so they differ between the sides even where outcomes do not; --no-reduce counts \
             every interleaving)\n",
        );
    }
    row(&mut out, "", "fk on", "fk off");
    let n = |v: u64| v.to_string();
    row(&mut out, "explored", &n(on.explored), &n(off.explored));
    row(&mut out, "with orphans", &n(on.with_orphans), &n(off.with_orphans));
    row(&mut out, "with deadlocks", &n(on.with_deadlocks), &n(off.with_deadlocks));
    let mut kinds: Vec<&String> = on.with_error.keys().chain(off.with_error.keys()).collect();
    kinds.sort();
    kinds.dedup();
    for k in kinds.into_iter().filter(|k| k.as_str() != "deadlock") {
        let count = |s: &Summary| n(s.with_error.get(k).copied().unwrap_or(0));
        row(&mut out, &format!("with {k}"), &count(on), &count(off));
    }
    row(&mut out, "parent lock waits", &n(on.parent_lock_waits), &n(off.parent_lock_waits));
    row(&mut out, "  in interleavings", &n(on.with_parent_lock_waits), &n(off.with_parent_lock_waits));
    row(&mut out, "longest wait chain", &on.longest_wait_chain.to_string(), &off.longest_wait_chain.to_string());
    if let (Some(a), Some(b)) = (&on.multixacts, &off.multixacts) {
        row(&mut out, "multixacts created", &n(a.created), &n(b.created));
        row(&mut out, "multixact members", &n(a.members), &n(b.members));
    }
    let invariant = |s: &Summary| if s.stranded == 0 { "holds".to_string() } else { format!("BROKEN {}", s.stranded) };
    row(&mut out, "end invariant", &invariant(on), &invariant(off));
    out.push_str("  outcome classes (interleavings; first example, replay with fksim run SPEC --fk on|off --permutation \"...\"):\n");
    let mut classes: Vec<&str> = on.classes.iter().chain(&off.classes).map(|c| c.outcome.as_str()).collect();
    classes.dedup();
    let mut seen = Vec::new();
    for class in classes {
        if seen.contains(&class) {
            continue;
        }
        seen.push(class);
        let of = |s: &'_ Summary| {
            s.classes.iter().find(|c| c.outcome == class).map(|c| (c.interleavings, c.example.clone()))
        };
        let (a, b) = (of(on), of(off));
        let count = |x: &Option<(u64, String)>| x.as_ref().map_or("0".to_string(), |(n, _)| n.to_string());
        row(&mut out, &format!("  {class}"), &count(&a), &count(&b));
        for (side, x) in [("fk on ", &a), ("fk off", &b)] {
            if let Some((_, example)) = x {
                out.push_str(&format!("      {side}: {example}\n"));
            }
        }
    }
    if let (Some(a), Some(b)) = (&on.stranded_example, &off.stranded_example) {
        out.push_str(&format!("  first broken: fk on {a}; fk off {b}\n"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::super::Class;
    use super::*;

    fn summary(fk: &str, classes: &[(&str, u64)], waits: u64) -> Summary {
        Summary {
            engine: "innodb".into(),
            fk: fk.into(),
            space: "6".into(),
            explored: classes.iter().map(|c| c.1).sum(),
            reduced: false,
            partial: false,
            seed: None,
            with_orphans: 0,
            with_deadlocks: 0,
            with_error: Default::default(),
            parent_lock_waits: waits,
            with_parent_lock_waits: waits,
            longest_wait_chain: if waits > 0 { 2 } else { 0 },
            classes: classes
                .iter()
                .map(|(o, n)| Class { outcome: o.to_string(), interleavings: *n, example: format!("permutation {o}") })
                .collect(),
            stranded: 0,
            stranded_example: None,
            multixacts: None,
        }
    }

    #[test]
    fn every_class_of_either_side_has_a_row_with_both_counts() {
        let on = summary("on", &[("clean", 4), ("deadlock", 2)], 3);
        let off = summary("off", &[("clean", 5), ("orphans", 1)], 0);
        let text = compare_text(&on, &off);
        let row_of = |what: &str| text.lines().find(|l| l.trim_start().starts_with(what)).unwrap_or("").to_string();
        let cells = |what: &str| row_of(what).split_whitespace().map(str::to_string).collect::<Vec<_>>();
        assert_eq!(cells("clean"), ["clean", "4", "5"], "{text}");
        assert_eq!(cells("deadlock "), ["deadlock", "2", "0"], "{text}");
        assert_eq!(cells("orphans "), ["orphans", "0", "1"], "{text}");
        assert_eq!(cells("parent lock waits"), ["parent", "lock", "waits", "3", "0"], "{text}");
        assert!(text.contains("fk off: permutation orphans") && !text.contains("fk on : permutation orphans"));
    }
}
