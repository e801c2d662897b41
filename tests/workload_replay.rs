//! `fksim workload --write DIR` keeps each run as a spec headed by the `fksim run` command that
//! replays it; that command, run by the binary, prints the run's transcript byte for byte.

use fksim::app::drive::AppRun;
use fksim::app::summary::{run_path, workload_runs};
use fksim::app::workload::Workload;
use fksim::run::EngineKind;
use std::path::{Path, PathBuf};
use std::process::Command;

const RUNS: u64 = 40;
const SEED: u64 = 42;

fn workload_file() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("model/workloads/hot-users.toml")
}

fn fksim(args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_fksim")).args(args).output().expect("run fksim");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "fksim {args:?}: {err}");
    String::from_utf8(out.stdout).expect("utf-8 output")
}

/// The words of a command line in the form `AppRun::replay_command` writes (plain words and
/// single-quoted ones).
fn shell_words(line: &str) -> Vec<String> {
    let (mut words, mut word, mut quoted, mut any) = (Vec::new(), String::new(), false, false);
    for c in line.chars() {
        match c {
            '\'' => {
                quoted = !quoted;
                any = true;
            }
            ' ' if !quoted => {
                if any {
                    words.push(std::mem::take(&mut word));
                }
                any = false;
            }
            _ => {
                word.push(c);
                any = true;
            }
        }
    }
    if any {
        words.push(word);
    }
    words
}

/// Write the runs with the binary, as a user would; pick the first run the driver (the library,
/// same file, seed and settings) says `pick` of; run the command in its header; compare.
fn replays(engine: EngineKind, fk: &str, dir: &Path, pick: impl Fn(&AppRun) -> bool) -> String {
    let w = workload_file();
    let (w_path, dir_path) = (w.to_str().expect("utf-8 path"), dir.to_str().expect("utf-8 path"));
    let runs = RUNS.to_string();
    let seed = SEED.to_string();
    fksim(&[
        "workload",
        w_path,
        "--engine",
        engine.name(),
        "--fk",
        fk,
        "--seed",
        &seed,
        "--runs",
        &runs,
        "--write",
        dir_path,
    ]);
    let workload = Workload::load(&w).expect("workload file");
    let (i, run) = (0..)
        .zip(workload_runs(&workload, engine, fk == "on", SEED, RUNS))
        .map(|(i, r)| (i, r.expect("generated run")))
        .find(|(_, r)| pick(r))
        .expect("a run of the kind wanted");
    let written = std::fs::read_to_string(run_path(dir, i)).expect("written spec");
    let (header, spec) = written.split_once('\n').expect("a header line");
    assert_eq!(spec, run.spec, "the file holds the run's spec after its header");
    let command = header.strip_prefix("# replay: ").expect("the header names the replay command");
    assert!(command.contains(&format!(" --engine {} --fk {fk}", engine.name())), "{command}");
    let words = shell_words(command);
    assert_eq!(words[0], "fksim");
    let args: Vec<&str> = words[1..].iter().map(String::as_str).collect();
    let replayed = fksim(&args);
    // `fksim run`'s own first line names what it models; the transcript follows, byte for byte.
    let (first, transcript) = replayed.split_once('\n').expect("a first line");
    let names = format!("-- fksim run: engine {}, fk {fk}, isolation ", engine.name());
    assert!(first.starts_with(&names), "{first}");
    assert_eq!(transcript, run.transcript().expect("the driver's transcript"), "{command}");
    transcript.to_string()
}

#[test]
fn a_written_workload_run_replays_byte_for_byte() {
    let tmp = tempfile::tempdir().expect("temp dir");
    // An orphan case without the FK: `fksim run`'s own default is `--fk on`, which would hide it.
    let out = replays(EngineKind::Innodb, "off", &tmp.path().join("innodb-off"), |r| r.report.orphans > 0);
    assert!(!out.contains("\norphans: 0\n"), "{out}");
    // Another engine and FK setting, a run where something failed.
    let out = replays(EngineKind::Postgres, "on", &tmp.path().join("postgres on"), |r| {
        r.report.events.iter().any(|e| e.error.is_some())
    });
    assert!(out.contains("\nERROR:  "), "{out}");
}
