//! Step interleavings, enumerated in isolationtester's order for specs without permutations.

use super::Spec;

/// The number of interleavings of sessions with these step counts: the multinomial
/// `(sum n_i)! / prod(n_i!)`. Saturates at `u128::MAX` when the true value is larger.
pub fn count_interleavings(step_counts: &[usize]) -> u128 {
    let mut total: u128 = 1;
    let mut placed: u128 = 0;
    for &count in step_counts {
        let count = count as u128;
        placed = match placed.checked_add(count) {
            Some(p) => p,
            None => return u128::MAX,
        };
        // Ways to place this session's steps among all steps placed so far.
        total = match total.checked_mul(binomial(placed, count)) {
            Some(t) => t,
            None => return u128::MAX,
        };
    }
    total
}

/// `n choose k` for `k <= n`, saturating at `u128::MAX`.
fn binomial(n: u128, k: u128) -> u128 {
    let k = k.min(n - k);
    let mut result: u128 = 1;
    // Invariant: result == C(n - k + j, j). Each step multiplies by (n - k + j) / j,
    // which is exact; dividing by gcd first keeps the intermediate product small.
    // Overflow is reached within ~128 steps, since C(n, j) >= 2^j for j <= n / 2.
    let mut j: u128 = 1;
    while j <= k {
        let g = gcd(result, j);
        let factor = (n - k + j) / (j / g);
        result = match (result / g).checked_mul(factor) {
            Some(r) => r,
            None => return u128::MAX,
        };
        j += 1;
    }
    result
}

fn gcd(mut a: u128, mut b: u128) -> u128 {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a
}

/// All interleavings of sessions with these step counts, each a sequence of session
/// indices (`[0, 1, 0]`: session 0's next step, then session 1's, then session 0's).
///
/// They come in lexicographic order, which is the order of isolationtester's
/// `run_all_permutations_recurse` (it tries sessions in index order at each position).
/// They are computed one at a time; sessions with no steps are simply absent.
/// With no steps at all there is exactly one, empty, interleaving.
pub fn all_interleavings(step_counts: &[usize]) -> impl Iterator<Item = Vec<usize>> {
    let first: Vec<usize> =
        step_counts.iter().enumerate().flat_map(|(session, &count)| std::iter::repeat_n(session, count)).collect();
    Interleavings { next: Some(first), remaining: count_interleavings(step_counts) }
}

/// Iterator behind [`all_interleavings`]: steps through multiset permutations.
struct Interleavings {
    next: Option<Vec<usize>>,
    /// How many are left to yield (saturated at `u128::MAX` if too many to count).
    remaining: u128,
}

impl Iterator for Interleavings {
    type Item = Vec<usize>;

    fn next(&mut self) -> Option<Vec<usize>> {
        let current = self.next.take()?;
        let mut successor = current.clone();
        if next_permutation(&mut successor) {
            self.next = Some(successor);
        }
        if self.remaining != u128::MAX {
            self.remaining = self.remaining.saturating_sub(1);
        }
        Some(current)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        if self.next.is_none() {
            return (0, Some(0));
        }
        match usize::try_from(self.remaining) {
            Ok(n) if self.remaining != u128::MAX => (n, Some(n)),
            _ => (usize::MAX, None),
        }
    }
}

/// Rearranges `seq` into its lexicographic successor; false if it was the last one.
fn next_permutation(seq: &mut [usize]) -> bool {
    // The pivot is the last position whose value is smaller than its right neighbour.
    let Some(pivot) = (1..seq.len()).rev().find(|&i| seq[i - 1] < seq[i]).map(|i| i - 1) else {
        return false;
    };
    // Swap it with the rightmost larger value, then make the tail ascending again.
    let Some(larger) = (pivot + 1..seq.len()).rev().find(|&j| seq[j] > seq[pivot]) else {
        return false;
    };
    seq.swap(pivot, larger);
    seq[pivot + 1..].reverse();
    true
}

impl Spec {
    /// The number of steps of each session, in session order.
    pub fn step_counts(&self) -> Vec<usize> {
        self.sessions.iter().map(|s| s.steps.len()).collect()
    }

    /// The step names an interleaving (from [`all_interleavings`] of
    /// [`Spec::step_counts`]) stands for. Entries naming no remaining step of a
    /// session (a bad index, or one too many) are skipped.
    pub fn interleaving_names(&self, interleaving: &[usize]) -> Vec<String> {
        let mut next_step = vec![0usize; self.sessions.len()];
        interleaving
            .iter()
            .filter_map(|&session| {
                let steps = &self.sessions.get(session)?.steps;
                let index = next_step.get_mut(session)?;
                let step = steps.get(*index)?;
                *index += 1;
                Some(step.name.clone())
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::parse_spec;
    use proptest::prelude::*;

    /// A direct transcription of isolationtester's `run_all_permutations_recurse`.
    fn reference(step_counts: &[usize]) -> Vec<Vec<usize>> {
        fn recurse(counts: &[usize], piles: &mut Vec<usize>, prefix: &mut Vec<usize>, out: &mut Vec<Vec<usize>>) {
            let mut found = false;
            for session in 0..counts.len() {
                if piles[session] < counts[session] {
                    piles[session] += 1;
                    prefix.push(session);
                    recurse(counts, piles, prefix, out);
                    prefix.pop();
                    piles[session] -= 1;
                    found = true;
                }
            }
            if !found {
                out.push(prefix.clone());
            }
        }
        let mut out = Vec::new();
        recurse(step_counts, &mut vec![0; step_counts.len()], &mut Vec::new(), &mut out);
        out
    }

    #[test]
    fn counts() {
        assert_eq!(count_interleavings(&[]), 1);
        assert_eq!(count_interleavings(&[0, 0]), 1);
        assert_eq!(count_interleavings(&[5]), 1);
        assert_eq!(count_interleavings(&[1, 1]), 2);
        assert_eq!(count_interleavings(&[2, 2]), 6);
        assert_eq!(count_interleavings(&[3, 3, 3]), 1680);
        assert_eq!(count_interleavings(&[3, 3, 3, 3]), 369_600);
        assert_eq!(count_interleavings(&[2, 0, 3]), 10);
        // 60 choose 30
        assert_eq!(count_interleavings(&[30, 30]), 118_264_581_564_861_424);
        // 200! / (100! 100!) is about 9e58, more than u128::MAX: saturates.
        assert_eq!(count_interleavings(&[100, 100]), u128::MAX);
        assert_eq!(count_interleavings(&[usize::MAX, usize::MAX]), u128::MAX);
        assert_eq!(count_interleavings(&[usize::MAX, 1]), (usize::MAX as u128) + 1);
        assert_eq!(count_interleavings(&[usize::MAX, 0]), 1);
    }

    #[test]
    fn largest_exact_binomial() {
        // C(130, 65) ~ 9.5e37 < u128::MAX ~ 3.4e38; C(131, 65) ~ 1.9e38 still fits;
        // C(132, 66) ~ 3.8e38 overflows.
        assert_eq!(binomial(130, 65), 95_067_625_827_960_698_145_584_333_020_095_113_100);
        assert_eq!(binomial(131, 65), 188_694_833_082_770_476_622_296_176_145_946_360_850);
        assert_eq!(binomial(132, 66), u128::MAX);
    }

    #[test]
    fn enumeration_matches_counts() {
        assert_eq!(all_interleavings(&[3, 3, 3]).count(), 1680);
        assert_eq!(all_interleavings(&[3, 3, 3, 3]).count(), 369_600);
    }

    #[test]
    fn order_is_lexicographic_like_isolationtester() {
        let all: Vec<Vec<usize>> = all_interleavings(&[2, 1]).collect();
        assert_eq!(all, [vec![0, 0, 1], vec![0, 1, 0], vec![1, 0, 0]]);
        for counts in [&[][..], &[0], &[3], &[1, 1, 1], &[2, 2], &[0, 2, 0, 1], &[3, 1, 2], &[2, 2, 2]] {
            let ours: Vec<Vec<usize>> = all_interleavings(counts).collect();
            assert_eq!(ours, reference(counts), "counts {counts:?}");
            assert_eq!(ours.len() as u128, count_interleavings(counts));
        }
    }

    #[test]
    fn empty_input_has_one_empty_interleaving() {
        let all: Vec<Vec<usize>> = all_interleavings(&[]).collect();
        assert_eq!(all, [Vec::<usize>::new()]);
    }

    #[test]
    fn size_hint_counts_down() {
        let mut it = all_interleavings(&[2, 2]);
        assert_eq!(it.size_hint(), (6, Some(6)));
        it.next();
        assert_eq!(it.size_hint(), (5, Some(5)));
        assert_eq!(it.by_ref().count(), 5);
        assert_eq!(it.size_hint(), (0, Some(0)));
        assert_eq!(all_interleavings(&[100, 100]).size_hint(), (usize::MAX, None));
    }

    #[test]
    fn names_of_an_interleaving() {
        let spec = parse_spec("t.spec", "session a step a1 {} step a2 {}\nsession b step b1 {}").expect("valid spec");
        assert_eq!(spec.step_counts(), [2, 1]);
        let named: Vec<Vec<String>> =
            all_interleavings(&spec.step_counts()).map(|il| spec.interleaving_names(&il)).collect();
        assert_eq!(named, [["a1", "a2", "b1"], ["a1", "b1", "a2"], ["b1", "a1", "a2"],]);
        // Invalid entries are skipped rather than panicking.
        assert_eq!(spec.interleaving_names(&[1, 1, 7, 0]), ["b1", "a1"]);
    }

    proptest! {
        #[test]
        fn matches_reference(counts in prop::collection::vec(0usize..4, 0..4)) {
            let ours: Vec<Vec<usize>> = all_interleavings(&counts).collect();
            prop_assert_eq!(ours.len() as u128, count_interleavings(&counts));
            prop_assert_eq!(ours, reference(&counts));
        }
    }
}
