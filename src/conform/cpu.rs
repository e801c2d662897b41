//! CPU time on this machine, read from `/proc` (Linux's per-task `schedstat`, in nanoseconds):
//! the live server's processes, one of its threads, and this process, for `conform --load` and
//! `calibrate`. The servers must run on this machine; elsewhere the readings are unavailable.

use super::dialect::Live;
use std::path::Path;

/// Nanoseconds a task has run on a CPU (the first field of its `schedstat`).
fn task_ns(schedstat: &Path) -> Option<u64> {
    std::fs::read_to_string(schedstat).ok()?.split_whitespace().next()?.parse().ok()
}

/// Every live thread's CPU time of process `pid`.
pub(crate) fn process_ns(pid: u32) -> Option<u64> {
    let dir = std::fs::read_dir(format!("/proc/{pid}/task")).ok()?;
    Some(dir.flatten().filter_map(|t| task_ns(&t.path().join("schedstat"))).sum())
}

/// One thread's CPU time.
pub(crate) fn thread_ns(pid: u32, tid: u32) -> Option<u64> {
    task_ns(Path::new(&format!("/proc/{pid}/task/{tid}/schedstat")))
}

/// This thread's CPU time.
pub(crate) fn own_thread_ns() -> u64 {
    task_ns(Path::new("/proc/thread-self/schedstat")).unwrap_or(0)
}

/// This process's CPU time (its live threads).
pub(crate) fn own_process_ns() -> u64 {
    process_ns(std::process::id()).unwrap_or(0)
}

/// The processes of the server on this machine: `mariadbd` (or `mysqld`), or every `postgres`
/// process (the postmaster, its backends and helpers). Empty if none is found.
pub(crate) fn server_pids(live: Live) -> Vec<u32> {
    let names: &[&str] = match live {
        Live::MariaDb => &["mariadbd", "mysqld"],
        Live::Postgres => &["postgres"],
    };
    let Ok(dir) = std::fs::read_dir("/proc") else { return Vec::new() };
    let mut pids: Vec<u32> = dir
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| std::fs::read_to_string(format!("/proc/{pid}/comm")).is_ok_and(|c| names.contains(&c.trim())))
        .collect();
    pids.sort_unstable();
    pids
}

/// The server's CPU time, all its processes together (`pids` from [`server_pids`]).
pub(crate) fn server_ns(pids: &[u32]) -> u64 {
    pids.iter().filter_map(|&p| process_ns(p)).sum()
}

/// The threads of process `pid`, with their CPU time.
pub(crate) fn threads(pid: u32) -> Vec<(u32, u64)> {
    let Ok(dir) = std::fs::read_dir(format!("/proc/{pid}/task")) else { return Vec::new() };
    dir.flatten()
        .filter_map(|t| {
            let tid = t.file_name().to_str()?.parse().ok()?;
            Some((tid, task_ns(&t.path().join("schedstat"))?))
        })
        .collect()
}

/// Threads that keep every core busy at the lowest priority (`SCHED_IDLE`: they run only when
/// nothing else would), so that a single client's measurement sees the cores as a loaded
/// machine has them, awake, rather than paying for each wake-up from idle. Dropping it stops them.
pub(crate) struct BusyCores {
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    threads: Vec<std::thread::JoinHandle<()>>,
}

impl BusyCores {
    pub(crate) fn start() -> BusyCores {
        use std::sync::atomic::{AtomicBool, Ordering};
        let stop = std::sync::Arc::new(AtomicBool::new(false));
        let n = std::thread::available_parallelism().map_or(1, |n| n.get());
        let threads = (0..n)
            .map(|_| {
                let stop = stop.clone();
                std::thread::spawn(move || {
                    let param = libc::sched_param { sched_priority: 0 };
                    // SAFETY: sets the calling thread's own policy; `param` outlives the call.
                    let ok = unsafe { libc::sched_setscheduler(0, libc::SCHED_IDLE, &param) } == 0;
                    while ok && !stop.load(Ordering::Relaxed) {
                        std::hint::spin_loop();
                    }
                })
            })
            .collect();
        BusyCores { stop, threads }
    }
}

impl Drop for BusyCores {
    fn drop(&mut self) {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn this_threads_cpu_time_grows_when_it_works() {
        let before = own_thread_ns();
        // Busy for 20 ms, then asleep for a moment: a running task's time is accounted when it
        // leaves the CPU (or at a scheduler tick), not while it runs.
        let t = std::time::Instant::now();
        let mut x = 0u64;
        while t.elapsed() < std::time::Duration::from_millis(20) {
            x = std::hint::black_box(x.wrapping_mul(31).wrapping_add(1));
        }
        std::thread::sleep(std::time::Duration::from_millis(2));
        let after = own_thread_ns();
        assert!(after >= before + 1_000_000, "{before} -> {after}");
        assert!(own_process_ns() >= after);
    }
}
