//! The rough edges a new user hits, each tried as they would, on the built binary: bad numbers
//! refused, runs too big to start, workloads too big to hold, the help text, the transcript's
//! first line, sled's files, progress and Ctrl-C, conform's connection errors.

use std::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_fksim");
const UPGRADE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/model/scenarios/upgrade-deadlock.spec");
const HOT_USERS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/model/workloads/hot-users.toml");

/// What a finished run printed.
struct Ran {
    code: i32,
    out: String,
    err: String,
}

fn fksim(args: &[&str]) -> Ran {
    let out = Command::new(BIN).args(args).output().expect("run fksim");
    Ran {
        code: out.status.code().unwrap_or(-1),
        out: String::from_utf8_lossy(&out.stdout).into(),
        err: String::from_utf8_lossy(&out.stderr).into(),
    }
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

