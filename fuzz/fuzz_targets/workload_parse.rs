//! Any text, as a workload file: `Workload::parse` gives a workload within the size limits (the
//! `MAX_` constants, the `[load]` settings' ranges) or an error at `file:line` with a line of the
//! text, never a panic; a small workload that parses also generates its session scripts. Run
//! with `cargo fuzz run workload_parse` (see docs/fuzzing.md).
#![no_main]

use fksim::app::workload::{
    LoadOverrides, Workload, WorkloadError, MAX_ACTIONS_PER_SESSION, MAX_ACTIONS_PER_TXN, MAX_TRANSACTIONS, MAX_USERS,
};
use libfuzzer_sys::fuzz_target;

const FILE: &str = "fuzz.toml";

/// Workloads at most this many actions in all (sessions x transactions x max actions) are generated.
const GENERATE_UP_TO: u64 = 2_000;

fn within_limits(w: &Workload) {
    let sessions = *w.sessions.get_ref();
    let transactions = *w.transactions.get_ref();
    let [lo, hi] = *w.actions_per_txn.get_ref();
    assert!((1..=8).contains(&sessions), "sessions {sessions}");
    assert!((1..=MAX_TRANSACTIONS).contains(&transactions), "transactions {transactions}");
    assert!(1 <= lo && lo <= hi && hi <= MAX_ACTIONS_PER_TXN, "actions_per_txn [{lo}, {hi}]");
    assert!(u64::from(transactions) * u64::from(hi) <= MAX_ACTIONS_PER_SESSION);
    let users = u64::from(*w.users.hot.get_ref()) + u64::from(*w.users.cold.get_ref());
    assert!(*w.users.hot.get_ref() >= 1 && users <= u64::from(MAX_USERS), "users {users}");
    assert!((0.0..=1.0).contains(w.users.hot_weight.get_ref()));
    assert!(w.mix.get_ref().total() > 0);
    let settings = w.load_settings(&LoadOverrides::default());
    assert!(settings.is_ok(), "a parsed workload whose [load] settings fail: {settings:?}");
    if u64::from(sessions) * u64::from(transactions) * u64::from(hi) <= GENERATE_UP_TO {
        let concrete = w.generate(7);
        assert_eq!(concrete.sessions.len(), sessions as usize);
    }
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    match Workload::parse(FILE, text) {
        Ok(w) => within_limits(&w),
        Err(WorkloadError::Invalid { file, line, what }) => {
            let lines = text.matches('\n').count() + 1;
            assert_eq!(file, FILE);
            assert!((1..=lines).contains(&line), "error at line {line} of a {lines}-line text: {what}");
            let shown = WorkloadError::Invalid { file, line, what }.to_string();
            assert!(shown.starts_with(&format!("{FILE}:{line}: ")), "{shown}");
        }
        Err(e @ WorkloadError::Io { .. }) => panic!("parsing text gave an I/O error: {e}"),
    }
});
