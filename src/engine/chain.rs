//! An append-only list whose copies share what they have in common, so copying it is one count.

use std::sync::Arc;

struct Link<T> {
    item: T,
    prev: Option<Arc<Link<T>>>,
}

/// Items numbered from 0 in the order pushed. A copy shares every item pushed before it; pushing
/// to one copy does not change the other. Reading item `i` walks back from the newest, so it suits
/// lists that are written often, copied often and read rarely (why each lock was taken).
pub struct Chain<T> {
    head: Option<Arc<Link<T>>>,
    len: usize,
    /// Items numbered below this were forgotten ([`Chain::forget_before`]).
    base: usize,
}

impl<T> Chain<T> {
    pub fn new() -> Self {
        Chain { head: None, len: 0, base: 0 }
    }

    /// Append `item`; returns its number.
    pub fn push(&mut self, item: T) -> usize {
        self.head = Some(Arc::new(Link { item, prev: self.head.take() }));
        self.len += 1;
        self.len - 1
    }

    /// How many items were pushed (forgotten ones too).
    pub fn len(&self) -> usize {
        self.len
    }

    /// Item number `i`, if pushed.
    pub fn get(&self, i: usize) -> Option<&T> {
        if i < self.base {
            return None;
        }
        let mut back = self.len.checked_sub(i + 1)?;
        let mut link = self.head.as_deref()?;
        while back > 0 {
            link = link.prev.as_deref()?;
            back -= 1;
        }
        Some(&link.item)
    }
}

impl<T: Clone> Chain<T> {
    /// Forget the items numbered below `first` (no one will ask for them again); the rest keep
    /// their numbers. Copies the items kept, so that what is forgotten is freed.
    pub fn forget_before(&mut self, first: usize) {
        let first = first.min(self.len);
        if first <= self.base {
            return;
        }
        let mut kept = Vec::with_capacity(self.len - first);
        let mut link = self.head.as_deref();
        for _ in first..self.len {
            let Some(l) = link else { break };
            kept.push(l.item.clone());
            link = l.prev.as_deref();
        }
        let len = self.len;
        *self = Chain::new();
        for item in kept.into_iter().rev() {
            self.push(item);
        }
        self.base = first;
        self.len = len;
    }
}

impl<T> Default for Chain<T> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T> Clone for Chain<T> {
    fn clone(&self) -> Self {
        Chain { head: self.head.clone(), len: self.len, base: self.base }
    }
}

/// Dropped link by link, not recursively, so a long list cannot overflow the stack.
impl<T> Drop for Chain<T> {
    fn drop(&mut self) {
        let mut next = self.head.take();
        while let Some(link) = next {
            match Arc::try_unwrap(link) {
                Ok(mut owned) => next = owned.prev.take(),
                // Another copy still holds the rest.
                Err(_) => break,
            }
        }
    }
}

impl<T> std::fmt::Debug for Chain<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Chain(len {})", self.len)
    }
}

#[cfg(test)]
mod tests {
    use super::Chain;

    #[test]
    fn copies_share_the_prefix_and_diverge_after() {
        let mut a = Chain::new();
        assert_eq!(a.push("x"), 0);
        assert_eq!(a.push("y"), 1);
        let mut b = a.clone();
        assert_eq!(a.push("a2"), 2);
        assert_eq!(b.push("b2"), 2);
        assert_eq!((a.get(0), a.get(1), a.get(2), a.get(3)), (Some(&"x"), Some(&"y"), Some(&"a2"), None));
        assert_eq!(b.get(2), Some(&"b2"));
        drop(a);
        assert_eq!((b.get(0), b.get(3)), (Some(&"x"), None));
        assert!(Chain::<u8>::new().get(0).is_none());
    }

    #[test]
    fn forgotten_items_are_gone_and_the_rest_keep_their_numbers() {
        let mut a = Chain::new();
        for i in 0..10u32 {
            a.push(i);
        }
        let old = a.clone();
        a.forget_before(7);
        assert_eq!((a.get(6), a.get(7), a.get(9), a.get(10)), (None, Some(&7), Some(&9), None));
        assert_eq!(a.push(10), 10);
        assert_eq!(a.get(10), Some(&10));
        a.forget_before(3);
        assert_eq!(a.get(7), Some(&7));
        assert_eq!(old.get(0), Some(&0));
    }

    #[test]
    fn a_long_chain_drops_without_recursion() {
        let mut c = Chain::new();
        for i in 0..1_000_000u32 {
            c.push(i);
        }
        let copy = c.clone();
        drop(c);
        assert_eq!(copy.get(999_999), Some(&999_999));
        drop(copy);
    }
}
