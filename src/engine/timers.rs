//! The lock-wait timers of an engine's sessions (timeouts, deadlock checks), ordered by when they fire.
//!
//! An engine arms a session's timers when its wait begins and clears them when the wait ends.
//! Finding the next one is a look at the first entry, not a walk over every session: with
//! thousands of sessions (`fksim load --clients 10000`) that walk was most of a run's time.

use super::SessionId;
use std::collections::BTreeSet;

/// A kind of timer: a session has at most one of each kind armed.
pub(crate) trait TimerKind: Ord + Copy + 'static {
    /// The kinds, in the order ties fire.
    const ALL: &'static [Self];
    /// This kind's place in [`TimerKind::ALL`].
    fn index(self) -> usize;
}

/// Armed timers of kind `K`; the earliest fires first, ties broken by kind, then by session.
#[derive(Debug, Clone)]
pub(crate) struct Timers<K> {
    due: BTreeSet<(u64, K, SessionId)>,
    /// When each session's timer of each kind fires (`s * K::ALL.len() + kind`), to clear it
    /// without a search.
    armed: Vec<Option<u64>>,
}

impl<K> Default for Timers<K> {
    fn default() -> Self {
        Timers { due: BTreeSet::new(), armed: Vec::new() }
    }
}

impl<K: TimerKind> Timers<K> {
    fn slot(s: SessionId, kind: K) -> usize {
        s * K::ALL.len() + kind.index()
    }

    /// Arm session `s`'s timer of `kind` to fire at `at` (replacing one of that kind).
    pub fn arm(&mut self, s: SessionId, kind: K, at: u64) {
        self.disarm(s, kind);
        let slot = Self::slot(s, kind);
        if self.armed.len() <= slot {
            self.armed.resize((s + 1) * K::ALL.len(), None);
        }
        self.armed[slot] = Some(at);
        self.due.insert((at, kind, s));
    }

    /// Disarm session `s`'s timer of `kind`, if armed.
    pub fn disarm(&mut self, s: SessionId, kind: K) {
        if let Some(at) = self.armed.get_mut(Self::slot(s, kind)).and_then(Option::take) {
            self.due.remove(&(at, kind, s));
        }
    }

    /// Disarm all of session `s`'s timers.
    pub fn clear(&mut self, s: SessionId) {
        K::ALL.iter().for_each(|&kind| self.disarm(s, kind));
    }

    /// Disarm every timer.
    pub fn clear_all(&mut self) {
        self.due.clear();
        self.armed.clear();
    }

    /// When the earliest armed timer fires.
    pub fn next(&self) -> Option<u64> {
        self.due.first().map(|&(at, _, _)| at)
    }

    /// The earliest timer due by `now`: its kind and session (still armed).
    pub fn due_by(&self, now: u64) -> Option<(K, SessionId)> {
        self.due.first().filter(|&&(at, _, _)| at <= now).map(|&(_, kind, s)| (kind, s))
    }

    /// Whether session `s` has any timer armed.
    #[cfg(test)]
    pub fn is_armed(&self, s: SessionId) -> bool {
        K::ALL.iter().any(|&kind| self.armed.get(Self::slot(s, kind)).is_some_and(Option::is_some))
    }
}

#[cfg(test)]
mod tests {
    use super::{TimerKind, Timers};

    impl TimerKind for u8 {
        const ALL: &'static [u8] = &[0, 1];
        fn index(self) -> usize {
            self as usize
        }
    }

    #[test]
    fn earliest_first_then_kind_then_session() {
        let mut t = Timers::default();
        t.arm(2, 1u8, 50);
        t.arm(1, 1u8, 50);
        t.arm(3, 0u8, 50);
        t.arm(0, 0u8, 70);
        assert_eq!(t.next(), Some(50));
        assert_eq!(t.due_by(49), None);
        assert_eq!(t.due_by(50), Some((0, 3)));
        t.disarm(3, 0);
        assert_eq!(t.due_by(50), Some((1, 1)));
        t.clear(1);
        assert_eq!(t.due_by(100), Some((1, 2)));
        assert!(!t.is_armed(1));
        t.arm(2, 1, 10);
        assert_eq!(t.due_by(100), Some((1, 2)));
        assert_eq!(t.next(), Some(10));
        t.clear_all();
        assert_eq!(t.next(), None);
        assert!(!t.is_armed(0));
    }
}
