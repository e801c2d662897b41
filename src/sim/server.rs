//! The machine's shared resources in the simulator: the cores (a FIFO run queue that the server's
//! threads and, on one machine, the clients share) and the log that commits are flushed to
//! together (group commit).

use super::events::Nanos;
use std::collections::VecDeque;

/// `n` cores and the jobs waiting for one, first come first served.
#[derive(Debug)]
pub struct Cores<J> {
    n: u32,
    busy: u32,
    queue: VecDeque<J>,
    /// Core time used, per class of job.
    pub used: [Nanos; 2],
}

/// Who a job's core time is counted for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Class {
    Server = 0,
    Client = 1,
}

impl<J> Cores<J> {
    pub fn new(n: u32) -> Self {
        Cores { n, busy: 0, queue: VecDeque::new(), used: [0; 2] }
    }

    /// A job wants a core: it gets one now (returned) or waits in the queue.
    pub fn submit(&mut self, job: J) -> Option<J> {
        if self.busy < self.n {
            self.busy += 1;
            Some(job)
        } else {
            self.queue.push_back(job);
            None
        }
    }

    /// A job gave its core back (it ran for `ran`): the next job waiting gets it.
    pub fn release(&mut self, class: Class, ran: Nanos) -> Option<J> {
        self.used[class as usize] += ran;
        match self.queue.pop_front() {
            Some(j) => Some(j),
            None => {
                self.busy -= 1;
                None
            }
        }
    }

    /// Jobs waiting for a core.
    pub fn waiting(&self) -> usize {
        self.queue.len()
    }
}

/// The log commits are flushed to: one flush at a time, and every commit that asked while it ran
/// goes in the next one together (InnoDB's `log_write_up_to`, PostgreSQL's `XLogFlush`: a commit
/// whose record a flush already covers does not flush again).
#[derive(Debug)]
pub struct GroupLog<C> {
    flush: Nanos,
    running: Option<Vec<C>>,
    next: Vec<C>,
    /// Flushes done.
    pub flushes: u64,
}

impl<C> GroupLog<C> {
    /// A log whose flush takes `flush`.
    pub fn new(flush: Nanos) -> Self {
        GroupLog { flush, running: None, next: Vec::new(), flushes: 0 }
    }

    /// `c` asks for its commit to be flushed at `now`; returns when the flush that covers it
    /// ends if one starts now (the caller schedules that), or None if it waits for the next.
    pub fn request(&mut self, c: C, now: Nanos) -> Option<Nanos> {
        if self.running.is_none() {
            self.running = Some(vec![c]);
            Some(now + self.flush)
        } else {
            self.next.push(c);
            None
        }
    }

    /// The running flush ended at `now`: the commits it covered, and the end of the next flush
    /// if commits were waiting for one.
    pub fn done(&mut self, now: Nanos) -> (Vec<C>, Option<Nanos>) {
        self.flushes += 1;
        let covered = self.running.take().unwrap_or_default();
        if self.next.is_empty() {
            (covered, None)
        } else {
            self.running = Some(std::mem::take(&mut self.next));
            (covered, Some(now + self.flush))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jobs_wait_for_a_free_core_in_order() {
        let mut c = Cores::new(2);
        assert_eq!(c.submit("a"), Some("a"));
        assert_eq!(c.submit("b"), Some("b"));
        assert_eq!(c.submit("c"), None);
        assert_eq!(c.submit("d"), None);
        assert_eq!(c.release(Class::Server, 10), Some("c"));
        assert_eq!(c.release(Class::Client, 5), Some("d"));
        assert_eq!(c.release(Class::Server, 1), None);
        assert_eq!(c.release(Class::Server, 1), None);
        assert_eq!(c.submit("e"), Some("e"));
        assert_eq!(c.used, [12, 5]);
    }

    #[test]
    fn commits_that_ask_during_a_flush_share_the_next_one() {
        let mut log = GroupLog::new(100);
        assert_eq!(log.request(1, 0), Some(100));
        assert_eq!(log.request(2, 10), None);
        assert_eq!(log.request(3, 20), None);
        assert_eq!(log.done(100), (vec![1], Some(200)));
        assert_eq!(log.done(200), (vec![2, 3], None));
        assert_eq!(log.request(4, 250), Some(350));
        assert_eq!(log.flushes, 2);
    }
}
