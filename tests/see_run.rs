//! Seeing a run, on the built binary: `--fk both` on run and explore (FK on beside FK off, each
//! side what the single-FK run computes), `run --graph DIR` (DOT graphs with the deadlock cycle,
//! timelines that parse as XML), and the refusals.

mod common;

use common::fksim;
use std::path::{Path, PathBuf};

const UPDATE_INSERT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/model/scenarios/update-then-insert.spec");
const CROSS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/model/scenarios/cross-deadlock.spec");
/// A deadlock PostgreSQL has too (its FK check's KEY SHARE lock does not block cross-deadlock's
/// updates of a non-key column).
const UPDATE_ORDER: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/model/scenarios/update-order-deadlock.spec");

/// The side-by-side column width (src/report/side_by_side.rs).
const WIDTH: usize = fksim::report::side_by_side::COLUMN_WIDTH;

fn ok(args: &[&str]) -> String {
    let r = fksim(args);
    assert_eq!(r.code, 0, "{args:?}: {}", r.err);
    r.out
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("fksim-see-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

/// The left and right columns of a side-by-side line.
fn columns(line: &str) -> (&str, &str) {
    match line.char_indices().nth(WIDTH) {
        Some((i, _)) if line[i..].starts_with(" |") => (&line[..i], line[i + 2..].trim_start()),
        _ => (line, ""),
    }
}

/// InnoDB's FK check waits behind the user row's update with the FK, and not without it
/// (PostgreSQL's KEY SHARE lock does not wait there: both sides are the single runs all the same).
#[test]
fn run_fk_both_shows_the_wait_on_the_left_only() {
    for engine in ["innodb", "postgres"] {
        let out = ok(&["run", UPDATE_INSERT, "--engine", engine, "--fk", "both"]);
        let first = out.lines().next().unwrap_or("");
        assert!(first.contains(&format!("engine {engine}")) && first.contains("left fk on | right fk off"), "{first}");
        let body: Vec<(&str, &str)> = out.lines().skip(2).map(columns).collect();
        let waits_left = body.iter().filter(|(l, _)| l.contains("<waiting ...>")).count();
        let waits_right = body.iter().filter(|(_, r)| r.contains("<waiting ...>")).count();
        if engine == "innodb" {
            assert!(
                waits_left > 0 && waits_right == 0,
                "{engine}: {waits_left} waits left, {waits_right} right:\n{out}"
            );
        }
        // Each side's step lines are the single run's, in its order.
        for (fk, side) in [("on", 0), ("off", 1)] {
            let single = ok(&["run", UPDATE_INSERT, "--engine", engine, "--fk", fk]);
            let steps = |lines: Vec<&str>| -> Vec<String> {
                lines.into_iter().filter(|l| l.starts_with("step ")).map(str::to_string).collect()
            };
            let from_both: Vec<&str> = body.iter().map(|c| if side == 0 { c.0.trim_end() } else { c.1 }).collect();
            let want = steps(single.lines().collect());
            let got = steps(from_both);
            // A long step line wraps: its first row is where it starts.
            assert_eq!(got.len(), want.len(), "{engine} fk {fk}:\n{out}");
            for (g, w) in got.iter().zip(&want) {
                assert!(w.starts_with(g.as_str()) && g.len() > "step s1u:".len(), "{engine} fk {fk}: `{g}` vs `{w}`");
            }
        }
    }
}

#[test]
fn run_json_fk_both_tags_each_line_and_each_side_is_the_single_run() {
    let out = ok(&["run", UPDATE_INSERT, "--json", "--fk", "both"]);
    let mut sides: [Vec<serde_json::Value>; 2] = [Vec::new(), Vec::new()];
    for line in out.lines() {
        let mut v: serde_json::Value = serde_json::from_str(line).expect("a JSON line");
        let fk = v.as_object_mut().expect("an object").remove("fk").expect("an fk key");
        sides[if fk == "on" {
            0
        } else {
            assert_eq!(fk, "off");
            1
        }]
        .push(v);
    }
    let waiting = |vs: &[serde_json::Value]| vs.iter().filter(|v| v["outcome"] == "waiting").count();
    assert!(waiting(&sides[0]) > 0 && waiting(&sides[1]) == 0, "{out}");
    for (fk, side) in [("on", &sides[0]), ("off", &sides[1])] {
        let single: Vec<serde_json::Value> = ok(&["run", UPDATE_INSERT, "--json", "--fk", fk])
            .lines()
            .map(|l| serde_json::from_str(l).expect("a JSON line"))
            .collect();
        assert_eq!(side, &single, "fk {fk}");
    }
}

#[test]
fn explore_fk_both_compares_the_two_summaries() {
    let out = ok(&["explore", UPDATE_INSERT, "--json", "--fk", "both", "--threads", "1"]);
    let both: serde_json::Value = serde_json::from_str(out.trim()).expect("one JSON object");
    for (key, fk) in [("fk_on", "on"), ("fk_off", "off")] {
        let single: serde_json::Value =
            serde_json::from_str(ok(&["explore", UPDATE_INSERT, "--json", "--fk", fk, "--threads", "1"]).trim())
                .expect("one JSON object");
        assert_eq!(both[key], single, "{key}");
    }
    let waits = |key: &str| both[key]["parent_lock_waits"].as_u64().expect("a count");
    assert!(waits("fk_on") > 0 && waits("fk_off") == 0, "{both}");

    let text = ok(&["explore", UPDATE_INSERT, "--fk", "both", "--threads", "1"]);
    let row = text.lines().find(|l| l.trim_start().starts_with("parent lock waits")).expect("a waits row");
    let cells: Vec<&str> = row.split_whitespace().collect();
    assert_eq!(cells[3..], [waits("fk_on").to_string(), "0".to_string()], "{text}");
    // Every class of either side has its row with both counts.
    for key in ["fk_on", "fk_off"] {
        for class in both[key]["classes"].as_array().expect("classes") {
            let name = class["outcome"].as_str().expect("a name");
            let row = text.lines().find(|l| l.split_whitespace().next() == Some(name)).expect("a class row");
            let count = |k: &str| {
                both[k]["classes"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .find(|c| c["outcome"] == name)
                    .map_or(0, |c| c["interleavings"].as_u64().unwrap())
            };
            let cells: Vec<&str> = row.split_whitespace().collect();
            assert_eq!(cells[1..], [count("fk_on").to_string(), count("fk_off").to_string()], "{text}");
        }
    }
}

fn files_with(dir: &Path, ext: &str) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .expect("the graph dir")
        .map(|e| e.expect("an entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == ext))
        .collect();
    v.sort();
    v
}

#[test]
fn graph_writes_the_deadlock_cycle_as_dot_and_timelines_that_parse() {
    for (engine, spec) in [("innodb", CROSS), ("postgres", UPDATE_ORDER)] {
        let dir = scratch(&format!("graph-{engine}"));
        let out = ok(&["run", spec, "--engine", engine, "--graph", dir.to_str().expect("a path")]);
        let (dots, svgs) = (files_with(&dir, "dot"), files_with(&dir, "svg"));
        let last = out.lines().last().unwrap_or("");
        assert_eq!(last, format!("graphs: {} DOT files and {} timelines in {}", dots.len(), svgs.len(), dir.display()));
        let perms = out.lines().filter(|l| l.starts_with("starting permutation")).count();
        assert_eq!(svgs.len(), perms, "{engine}");
        // The transcript's deadlock, and a DOT file with both edges of its cycle in red.
        let note =
            out.lines().find(|l| l.contains("-- deadlock:")).unwrap_or_else(|| panic!("{engine}: no deadlock\n{out}"));
        let victim = note.split("victim ").nth(1).and_then(|v| v.split(',').next()).expect("a victim");
        let red_edge = |dot: &str, a: &str, b: &str| {
            dot.lines().any(|l| l.trim_start().starts_with(&format!("\"{a}\" -> \"{b}\"")) && l.contains("color=red"))
        };
        let cycles: Vec<String> = dots
            .iter()
            .map(|p| std::fs::read_to_string(p).expect("a DOT file"))
            .filter(|d| red_edge(d, "s1", "s2") && red_edge(d, "s2", "s1"))
            .collect();
        assert!(!cycles.is_empty(), "{engine}: no DOT file with the cycle in {dots:?}");
        assert!(cycles.iter().all(|d| d.contains(&format!("victim {victim}"))), "{engine}: {cycles:?}");
        for svg in &svgs {
            let text = std::fs::read_to_string(svg).expect("an SVG file");
            let doc = roxmltree::Document::parse(&text).unwrap_or_else(|e| panic!("{}: {e}", svg.display()));
            assert_eq!(doc.root_element().tag_name().name(), "svg");
            let texts: Vec<&str> = doc.descendants().filter_map(|n| n.text()).collect();
            // The boxes name the steps.
            let first_step = out.lines().find_map(|l| l.strip_prefix("step ")).and_then(|l| l.split(':').next());
            assert!(texts.iter().any(|t| Some(t.trim()) == first_step), "{}: no {first_step:?}", svg.display());
        }
        let with_victim = svgs.iter().filter(|p| {
            let text = std::fs::read_to_string(p).expect("an SVG file");
            let doc = roxmltree::Document::parse(&text).expect("parsed above");
            let found = doc.descendants().filter_map(|n| n.text()).any(|t| t.contains(&format!("victim {victim}")));
            found
        });
        assert!(with_victim.count() > 0, "{engine}: no timeline names victim {victim}");
        let _ = std::fs::remove_dir_all(&dir);
    }
}

/// With `--fk both`, each side's pictures in a directory of its own: InnoDB's cross deadlock's
/// waits with the FK, none without it.
#[test]
fn graph_with_fk_both_writes_each_side_apart() {
    let dir = scratch("graph-both");
    let out = ok(&["run", CROSS, "--fk", "both", "--graph", dir.to_str().expect("a path")]);
    let (on, off) = (dir.join("fk-on"), dir.join("fk-off"));
    let perms = out.lines().filter(|l| l.starts_with("starting permutation")).count();
    for side in [&on, &off] {
        let (dots, svgs) = (files_with(side, "dot").len(), files_with(side, "svg").len());
        assert_eq!(svgs, perms, "{}", side.display());
        let line = format!("graphs: {dots} DOT files and {svgs} timelines in {}", side.display());
        assert!(out.lines().any(|l| l == line), "no `{line}` in\n{out}");
    }
    assert!(!files_with(&on, "dot").is_empty() && files_with(&off, "dot").is_empty());
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn bad_uses_are_refused_with_exit_2() {
    let r = fksim(&["run", UPDATE_INSERT, "--fk", "both", "--fk", "off=student_courseenrollment.user_id"]);
    assert_eq!(r.code, 2, "{}", r.err);
    assert!(
        r.err.contains("--fk both") && r.err.contains("off=TABLE.COLUMN") && !r.err.contains("panicked"),
        "{}",
        r.err
    );
    let r = fksim(&["explore", UPDATE_INSERT, "--fk", "off=student_courseenrollment.user_id", "--fk", "both"]);
    assert_eq!(r.code, 2, "{}", r.err);
    let file = scratch("not-a-dir");
    std::fs::write(&file, "x").expect("write");
    let r = fksim(&["run", CROSS, "--graph", file.to_str().expect("a path")]);
    assert_eq!(r.code, 2, "{}", r.err);
    assert!(r.err.contains("not a directory"), "{}", r.err);
    let _ = std::fs::remove_file(&file);
}
