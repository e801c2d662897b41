//! The rough edges a new user hits, each tried as they would, on the built binary: bad numbers
//! refused, runs too big to start, workloads too big to hold, the help text, the transcript's
//! first line, sled's files, progress and Ctrl-C, conform's connection errors.

mod common;

use common::{fksim, Ran, GOOD};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_fksim");
const UPGRADE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/model/scenarios/upgrade-deadlock.spec");
const HOT_USERS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/model/workloads/hot-users.toml");

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("fksim-rough-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir.join(name)
}

fn write(name: &str, text: &str) -> String {
    let path = scratch(name);
    std::fs::write(&path, text).expect("write");
    path.display().to_string()
}

/// Exit 2 and one stderr line that contains every one of `wants`.
fn refused(r: &Ran, what: &str, wants: &[&str]) {
    assert_eq!(r.code, 2, "{what}: exit code; stderr: {}", r.err);
    for w in wants {
        assert!(r.err.contains(w), "{what}: stderr lacks `{w}`: {}", r.err);
    }
    assert!(!r.err.contains("panicked"), "{what}: {}", r.err);
}

// 1. Bad numeric arguments.

#[test]
fn zero_counts_are_refused_naming_the_flag_and_its_range() {
    let r = fksim(&["explore", UPGRADE, "--threads", "0"]);
    refused(&r, "--threads 0", &["--threads", "1.."]);
    let r = fksim(&["explore", UPGRADE, "--sample", "0"]);
    refused(&r, "--sample 0", &["--sample", "1.."]);
    let r = fksim(&["workload", HOT_USERS, "--runs", "0"]);
    refused(&r, "--runs 0", &["--runs", "1.."]);
}

#[test]
fn seconds_that_are_not_positive_are_refused_by_every_command() {
    let commands: [&[&str]; 4] =
        [&["load", HOT_USERS], &["stress", UPGRADE], &["conform", "--load", HOT_USERS], &["bench", UPGRADE]];
    for cmd in commands {
        for bad in ["0", "-1", "NaN", "inf"] {
            let arg = format!("--seconds={bad}");
            let r = fksim(&[cmd, &[arg.as_str()]].concat());
            refused(&r, &format!("{cmd:?} {arg}"), &["--seconds", "positive"]);
        }
        // Written as two words, a negative number is still a value of --seconds.
        let r = fksim(&[cmd, &["--seconds", "-1"]].concat());
        refused(&r, &format!("{cmd:?} --seconds -1"), &["--seconds", "positive"]);
    }
}

#[test]
fn an_empty_permutation_is_refused() {
    for empty in ["", "   "] {
        let r = fksim(&["run", UPGRADE, "--permutation", empty]);
        refused(&r, "--permutation \"\"", &["--permutation", "at least one step"]);
    }
}

#[test]
fn a_sample_beyond_the_space_runs_each_interleaving_once_and_says_so() {
    // upgrade-deadlock has two sessions of three steps: 20 interleavings.
    let r = fksim(&["explore", UPGRADE, "--sample", "1000", "--seed", "1", "--json"]);
    assert_eq!(r.code, 0, "{}", r.err);
    assert!(r.err.contains("--sample 1000 is more than the 20 interleavings"), "{}", r.err);
    let v: serde_json::Value = serde_json::from_str(r.out.trim()).expect("one JSON line");
    assert_eq!(v["explored"], 20, "{v}");
    assert_eq!(v["reduced"], false, "{v}");
}

// 2. Runs too big to start.

/// Wait for a child at most `limit`; a child still running then is killed and the test fails.
fn finish(mut child: Child, limit: Duration, what: &str) -> Ran {
    let started = Instant::now();
    while child.try_wait().expect("wait").is_none() {
        if started.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{what}: still running after {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let out = child.wait_with_output().expect("output");
    Ran {
        code: out.status.code().unwrap_or(-1),
        out: String::from_utf8_lossy(&out.stdout).into(),
        err: String::from_utf8_lossy(&out.stderr).into(),
    }
}

/// Run fksim with at most 8 GB of address space (so a run that would exhaust memory fails instead
/// of taking the machine) and at most `secs` seconds.
fn fksim_bounded(args: &[&str], secs: u64) -> Ran {
    let child = Command::new("sh")
        .arg("-c")
        .arg("ulimit -v 8000000; exec \"$0\" \"$@\"")
        .arg(BIN)
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn fksim");
    finish(child, Duration::from_secs(secs), &format!("fksim {args:?}"))
}

/// A spec of `sessions` sessions of `steps` single-row updates each, no permutation lines.
fn wide_spec(sessions: usize, steps: usize) -> String {
    let mut s =
        String::from("setup { CREATE TABLE t (id INT PRIMARY KEY, n INT); INSERT INTO t VALUES (1, 0), (2, 0); }\n");
    for i in 0..sessions {
        s.push_str(&format!("session s{i}\n"));
        for j in 0..steps {
            s.push_str(&format!("step s{i}x{j} {{ UPDATE t SET n = {j} WHERE id = {}; }}\n", 1 + (i + j) % 2));
        }
    }
    s
}

#[test]
fn run_refuses_an_astronomical_number_of_interleavings_at_once() {
    let p = write("astronomical.spec", &wide_spec(8, 20));
    let r = fksim_bounded(&["run", &p], 10);
    refused(
        &r,
        "run astronomical",
        &["more than 2^128 interleavings", "at most 100000", "fksim explore", "--sample N"],
    );
    assert!(r.out.is_empty(), "{}", r.out);
    // Big but countable: the count is given, and the limit.
    let p = write("big.spec", &wide_spec(4, 6));
    let r = fksim_bounded(&["run", &p], 10);
    refused(&r, "run big", &["2308743493056 interleavings", "at most 100000", "fksim explore", "--sample N"]);
    // A permutation of one's own still runs on such a spec.
    let r = fksim_bounded(&["run", &p, "--permutation", "s0x0 s1x0"], 10);
    assert_eq!(r.code, 0, "{}", r.err);
}

// 3. Workloads too big to hold.

#[test]
fn workload_sizes_that_would_exhaust_memory_are_refused_at_their_line() {
    let text = std::fs::read_to_string(HOT_USERS).expect("workload");
    for (from, to, limit) in [
        ("cold = 3", "cold = 100000000", "users.hot + users.cold must be at most"),
        ("actions_per_txn = [1, 2]", "actions_per_txn = [1, 1000000]", "actions_per_txn's max must be at most"),
        ("transactions = 2", "transactions = 100000", "transactions must be at most"),
    ] {
        assert!(text.contains(from), "{from}");
        let line = text.lines().position(|l| l.starts_with(from)).expect("line") + 1;
        let p = write("big.toml", &text.replacen(from, to, 1));
        for cmd in ["workload", "load"] {
            let r = fksim_bounded(&[cmd, &p, "--seed", "1"], 10);
            refused(&r, &format!("{cmd} {to}"), &[&format!("fksim: {p}:{line}: "), limit]);
        }
    }
}

// 4. The help text.

/// Does a help text say something besides clap's `[default: ...]` and `[possible values: ...]`?
fn described(text: &str) -> bool {
    let mut text = text.to_string();
    while let Some(start) = text.find("[default:").or_else(|| text.find("[possible values:")) {
        let end = text[start..].find(']').map_or(text.len(), |e| start + e + 1);
        text.replace_range(start..end, "");
    }
    !text.trim().is_empty()
}

/// The subcommands `fksim --help` lists.
fn subcommands() -> Vec<String> {
    let r = fksim(&["--help"]);
    assert_eq!(r.code, 0);
    let commands = r.out.split("Commands:\n").nth(1).expect("a Commands section");
    commands
        .lines()
        .take_while(|l| l.starts_with("  "))
        .filter_map(|l| l.split_whitespace().next())
        .filter(|c| *c != "help")
        .map(String::from)
        .collect()
}

/// The arguments and options of one `-h` text that have no description of their own (clap's
/// `[default: ...]` and `[possible values: ...]` are not one).
fn undocumented(help: &str) -> Vec<String> {
    let mut missing = Vec::new();
    let mut in_section = false;
    let lines: Vec<&str> = help.lines().collect();
    for (i, line) in lines.iter().enumerate() {
        if matches!(*line, "Arguments:" | "Options:") {
            in_section = true;
            continue;
        }
        if !line.starts_with(' ') {
            in_section = false;
            continue;
        }
        // An entry is indented by 2 (`  -h, --help`, `  <SPEC>`) or 6 (`      --json`); a
        // description on lines of its own, deeper.
        let indent = |l: &str| l.len() - l.trim_start().len();
        let entry = line.trim_start();
        if !in_section || indent(line) > 6 || !entry.starts_with(['-', '<', '[']) {
            continue;
        }
        let (name, rest) = entry.split_once("  ").unwrap_or((entry, ""));
        let below = lines.get(i + 1).filter(|n| indent(n) > 6).map_or("", |n| n.trim());
        if !described(rest) && !described(below) {
            missing.push(name.trim().to_string());
        }
    }
    missing
}

#[test]
fn every_flag_of_every_subcommand_has_a_description() {
    let commands = subcommands();
    assert!(commands.len() >= 8, "{commands:?}");
    let mut missing = Vec::new();
    for c in &commands {
        let r = fksim(&[c, "-h"]);
        assert_eq!(r.code, 0, "{c} -h: {}", r.err);
        missing.extend(undocumented(&r.out).into_iter().map(|m| format!("{c} {m}")));
    }
    assert!(missing.is_empty(), "without a description: {missing:?}");
    // The check itself sees a flag without one.
    let help = "Options:\n      --json\n      --engine <E>\n          [default: a]\n  -h, --help  Print help\n";
    assert_eq!(undocumented(help), vec!["--json", "--engine <E>"]);
}

#[test]
fn the_top_level_text_names_both_engines_as_modelled() {
    let r = fksim(&["--help"]);
    let about = r.out.lines().next().expect("about");
    assert!(!about.contains("next"), "{about}");
    assert!(about.contains("InnoDB") && about.contains("PostgreSQL"), "{about}");
}

// 5. The transcript's first line.

#[test]
fn the_transcript_opens_with_the_engine_fk_setting_and_isolation_level() {
    let p = write("good.spec", GOOD);
    let first = |args: &[&str]| {
        let r = fksim(&[&["run", p.as_str()], args].concat());
        assert_eq!(r.code, 0, "{}", r.err);
        r.out.lines().next().unwrap_or("").to_string()
    };
    assert_eq!(
        first(&["--engine", "postgres"]),
        "-- fksim run: engine postgres, fk on, isolation read committed (the server's default; sessions may SET their own)"
    );
    assert_eq!(
        first(&["--fk", "off"]),
        "-- fksim run: engine innodb, fk off, isolation repeatable read (the server's default; sessions may SET their own)"
    );
    assert_eq!(
        first(&["--fk", "off=child.parent_id", "--engine", "postgres"]),
        "-- fksim run: engine postgres, fk on, off=child.parent_id, isolation read committed (the server's default; sessions may SET their own)"
    );
    // isolationtester's own first line follows; JSON has neither.
    let r = fksim(&["run", &p]);
    assert_eq!(r.out.lines().nth(1), Some("Parsed test spec with 2 sessions"), "{}", r.out);
    let r = fksim(&["run", &p, "--json"]);
    assert!(r.out.starts_with('{'), "{}", r.out);
}

// 6. sled's files.

fn sigint(child: &Child) {
    let ok = Command::new("kill").args(["-INT", &child.id().to_string()]).status().expect("kill");
    assert!(ok.success());
}

/// Start fksim with piped output.
fn start(args: &[&str]) -> Child {
    Command::new(BIN).args(args).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().expect("spawn fksim")
}

#[test]
fn sled_keeps_its_files_in_the_directory_it_names_and_removes_them() {
    let p = write("good.spec", GOOD);
    let dir = scratch("sled-data");
    let d = dir.display().to_string();
    let r = fksim(&["run", &p, "--store", "sled", "--data-dir", &d]);
    assert_eq!(r.code, 0, "{}", r.err);
    assert!(r.out.contains("step s2u: UPDATE parent SET note = 'b' WHERE id = 1; <waiting ...>"), "{}", r.out);
    assert!(r.err.contains(&format!("sled files in {d}")), "{}", r.err);
    assert!(!dir.exists(), "{d} left behind");
    // Without --data-dir: a fresh temporary directory, printed, and gone at the end.
    let r = fksim(&["run", &p, "--store", "sled"]);
    assert_eq!(r.code, 0, "{}", r.err);
    let named =
        r.err.split("sled files in ").nth(1).and_then(|s| s.split(" (removed").next()).expect("the directory named");
    assert!(!Path::new(named).exists(), "{named} left behind");
}

#[test]
fn sled_files_are_removed_on_ctrl_c_too() {
    // 34650 interleavings: minutes on sled.
    let p = write("long.spec", &wide_spec(3, 4));
    let dir = scratch("sled-interrupted");
    let d = dir.display().to_string();
    // Its transcript is not read: it goes nowhere, so that a full pipe never blocks the run.
    let child = Command::new(BIN)
        .args(["run", &p, "--store", "sled", "--data-dir", &d])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn fksim");
    let started = Instant::now();
    while !dir.exists() && started.elapsed() < Duration::from_secs(10) {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(dir.exists(), "{d} never made");
    std::thread::sleep(Duration::from_millis(500));
    sigint(&child);
    let r = finish(child, Duration::from_secs(10), "run --store sled after SIGINT");
    assert_eq!(r.code, 130, "{}", r.err);
    assert!(!dir.exists(), "{d} left behind after Ctrl-C");
}

#[test]
fn explore_refuses_a_store_it_does_not_use() {
    let r = fksim(&["explore", UPGRADE, "--store", "sled"]);
    refused(&r, "explore --store sled", &["--store sled", "explore"]);
}

// 7. Ctrl-C on a long run.

#[test]
fn ctrl_c_on_explore_prints_the_summary_so_far_marked_partial() {
    // 4 sessions of 5 steps, every interleaving: billions.
    let p = write("endless.spec", &wide_spec(4, 5));
    for json in [false, true] {
        let mut args = vec!["explore", p.as_str(), "--no-reduce", "--threads", "2"];
        if json {
            args.push("--json");
        }
        let child = start(&args);
        std::thread::sleep(Duration::from_millis(1500));
        sigint(&child);
        let r = finish(child, Duration::from_secs(20), "explore after SIGINT");
        assert_eq!(r.code, 130, "{}", r.err);
        if json {
            let v: serde_json::Value = serde_json::from_str(r.out.trim()).expect("one JSON line");
            assert_eq!(v["partial"], true, "{v}");
            assert!(v["explored"].as_u64().expect("explored") > 0, "{v}");
        } else {
            assert!(r.out.starts_with("PARTIAL (interrupted)"), "{}", r.out);
            assert!(r.out.contains(" interleavings explored\n  with orphans:"), "{}", r.out);
        }
    }
}

#[test]
fn ctrl_c_on_workload_prints_the_runs_so_far_marked_partial() {
    let child = start(&["workload", HOT_USERS, "--runs", "100000000", "--seed", "1"]);
    std::thread::sleep(Duration::from_millis(1500));
    sigint(&child);
    let r = finish(child, Duration::from_secs(20), "workload after SIGINT");
    assert_eq!(r.code, 130, "{}", r.err);
    assert!(r.out.contains("  PARTIAL (interrupted)"), "{}", r.out);
    let runs: u64 = r.out.split("runs:").nth(1).and_then(|s| s.split_whitespace().next()?.parse().ok()).expect("runs");
    assert!(runs > 0 && runs < 100_000_000, "{}", r.out);
}

#[test]
fn ctrl_c_on_load_stops_after_the_run_in_progress_and_says_partial() {
    // Some 3 s a run, 28 runs (seven points, two engines, FK on and off): long enough to be
    // interrupted, and one run is soon over.
    let args = ["load", HOT_USERS, "--seconds", "100", "--sweep", "clients=8,9,10,11,12,13,14", "--seed", "1"];
    let child = start(&args);
    std::thread::sleep(Duration::from_millis(1500));
    sigint(&child);
    let r = finish(child, Duration::from_secs(60), "load after SIGINT");
    assert_eq!(r.code, 130, "{}", r.err);
    let last = r.out.lines().last().unwrap_or("");
    assert!(last.starts_with("PARTIAL (interrupted): ") && last.ends_with("of 28 runs done"), "{last}");
}

/// Is PostgreSQL at 127.0.0.1:5432? Without it a live test prints a loud SKIPPED line; with
/// CI=true it fails (as tests/common's `live_or_skip`).
fn postgres_reachable() -> bool {
    let up =
        std::net::TcpStream::connect_timeout(&"127.0.0.1:5432".parse().expect("addr"), Duration::from_secs(2)).is_ok();
    if !up {
        assert_ne!(std::env::var("CI").as_deref(), Ok("true"), "CI=true and PostgreSQL is not reachable");
        eprintln!("\n*** SKIPPED: no PostgreSQL at 127.0.0.1:5432 ***\n");
    }
    up
}

#[test]
fn ctrl_c_on_conform_stops_after_the_case_running_and_says_partial() {
    if !postgres_reachable() {
        return;
    }
    // The same spec many times over: more cases than run in a second.
    let specs: Vec<&str> = std::iter::repeat_n(UPGRADE, 200).collect();
    let child = start(&[&["conform", "--engine", "postgres", "--fk", "on"], &specs[..]].concat());
    std::thread::sleep(Duration::from_millis(2500));
    sigint(&child);
    let r = finish(child, Duration::from_secs(30), "conform after SIGINT");
    assert_eq!(r.code, 130, "{}", r.err);
    let last = r.out.lines().last().unwrap_or("");
    assert!(last.starts_with("PARTIAL (interrupted): ") && last.ends_with("(200 cases in all)"), "{last}");
}

// 8. conform's connection errors.

#[test]
fn connection_errors_give_the_cause_and_hide_the_password() {
    for (engine, flag, url) in [
        ("postgres", "--postgres-url", "postgresql://postgres:s3cret@127.0.0.1:1/test"),
        ("innodb", "--mysql-url", "mysql://root:s3cret@127.0.0.1:1/test"),
    ] {
        let r = fksim(&["conform", UPGRADE, "--engine", engine, flag, url]);
        assert_eq!(r.code, 2, "{engine}: {}", r.err);
        assert!(r.err.to_lowercase().contains("connection refused"), "{engine}: {}", r.err);
        assert!(!r.err.contains("s3cret"), "{engine}: {}", r.err);
        assert!(r.err.contains(":***@127.0.0.1:1"), "{engine}: {}", r.err);
    }
}
